"""Query latency, memory and HNSW recall as the index grows: 5k, 50k and 200k chunks.

    python -m bench.scale [--sizes 5000,50000,200000] [--modes embedded,server] [--rebuild]

The synthetic indexes are made from the real one (`bench/out/data-real`, built by
`euroassist ingest ../shared/corpus-real` when missing): its chunks are copied, with their
stored vectors, until the index holds the size asked for. Copy 0 is the real index itself;
every other copy gets new document and chunk ids, its vectors a little Gaussian noise
(renormalised) and its text its sentences shuffled and a few words dropped (then analysed
for BM25 like any ingested text), so neither BM25 nor HNSW sees exact duplicates. Nothing is
re-embedded: rows go in through the project's own `Catalog.replace_document` and
`ChromaVectorStore.add`, so the retriever measured is the real one.

Each size and Chroma mode (embedded PersistentClient, or a `chroma run` server this bench
starts and stops) runs in a fresh subprocess (`--one SIZE --chroma MODE`) so peak RSS is
that run's own. It times `EuroAssist.retrieve(q, k=10)` and `EuroAssist.ask(q)` (the
extractive answer) over the dev questions, and compares Chroma's top 10 with exact cosine
top 10 (numpy, over the same vectors, computed while building) for the dev questions and
their gold answers as queries; when recall@10 is under 0.95 it raises `hnsw_ef_search`
until it is not. Writes the `scale` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from bench.common import (
    CORPUS_REAL,
    DEV_QUESTIONS,
    EXE,
    ROOT,
    machine,
    require_shared,
    run,
    stopwatch,
    write_section,
)

OUT = ROOT / "bench" / "out"
SOURCE = OUT / "data-real"
CHROMA_EXE = Path(sys.executable).with_name("chroma")
SIGMA = 0.02  # per-dimension noise on the copies' unit vectors (cosine to the original ~0.93)
DROP_WORDS = 0.03  # share of a copy's words left out
TOP_K = 10
RECALL_TARGET = 0.95
EF_SWEEP = (800, 1600, 3200)
WARM_UP = 5
TARGET_SIZE, TARGET_P95_MS = 50_000, 150.0


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def scale_dir(size: int) -> Path:
    return OUT / f"scale-{size}"


def settings_for(data_dir: Path, chroma_url: str | None = None, **extra):
    from assistant.settings import Settings

    return Settings(data_dir=data_dir, chroma_url=chroma_url, **extra)


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "p99": math.nan, "mean": math.nan}
    values = np.asarray(samples) * 1000.0
    return {
        "n": len(samples),
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "mean": float(values.mean()),
    }


def recall_queries() -> list[str]:
    """The dev questions and their gold answers (a question-like and a passage-like query
    for each): about 50 queries."""
    from assistant.evaluation import load_questions

    questions = load_questions(DEV_QUESTIONS)
    return [q.question for q in questions] + [
        q.gold_answer for q in questions if getattr(q, "gold_answer", None)
    ]


# -- building ------------------------------------------------------------------------


def ensure_source() -> None:
    if list((SOURCE / "index").glob("*.sqlite")):
        return
    require_shared()
    log(f"no real index in {SOURCE}: ingesting {CORPUS_REAL} (about 8 minutes)")
    run([str(EXE), "ingest", str(CORPUS_REAL)], {"EUROASSIST_DATA_DIR": str(SOURCE)})


_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+")


def perturb_text(text: str, rng: random.Random) -> str:
    """Sentences in another order and a few words left out: another text that says
    nearly the same, as a near-duplicate document would."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) > 1:
        rng.shuffle(sentences)
    kept = []
    for sentence in sentences:
        parts = re.split(r"(\s+)", sentence)
        kept.append("".join(p for p in parts if p.isspace() or not p or rng.random() >= DROP_WORDS))
    return " ".join(kept).strip() or text


def copy_source(source: str, copy: int) -> str:
    path = PurePosixPath(source)
    return str(path.parent / f"copy{copy:03d}" / path.name)


class ExactTopK:
    """Running brute-force cosine top k of some queries over vectors seen batch by batch."""

    def __init__(self, queries: np.ndarray, k: int = TOP_K) -> None:
        self.queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        self.k = k
        self.sims = np.full((len(queries), 0), -np.inf, dtype=np.float32)
        self.ids = np.empty((len(queries), 0), dtype=object)

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        sims = np.concatenate([self.sims, self.queries @ unit.T], axis=1)
        all_ids = np.concatenate(
            [self.ids, np.broadcast_to(np.asarray(ids, dtype=object), (len(sims), len(ids)))],
            axis=1,
        )
        keep = min(self.k, sims.shape[1])
        top = np.argpartition(-sims, keep - 1, axis=1)[:, :keep]
        self.sims = np.take_along_axis(sims, top, axis=1).astype(np.float32)
        self.ids = np.take_along_axis(all_ids, top, axis=1)

    def result(self) -> list[list[str]]:
        order = np.argsort(-self.sims, axis=1)
        return np.take_along_axis(self.ids, order, axis=1).tolist()


def read_source(index) -> tuple[list[dict], dict[str, list[dict]], dict[str, np.ndarray], dict]:
    """The real index's documents, chunks (by document, in order), vectors and vector
    metadata, read from the copy of it that starts every synthetic index."""
    with sqlite3.connect(index.catalog.path) as db:
        db.row_factory = sqlite3.Row
        documents = [dict(r) for r in db.execute("SELECT * FROM documents ORDER BY doc_id")]
        by_doc: dict[str, list[dict]] = {}
        for row in db.execute("SELECT * FROM chunks ORDER BY doc_id, ordinal"):
            by_doc.setdefault(row["doc_id"], []).append(dict(row))
    collection = index.vectors.collection
    vectors: dict[str, np.ndarray] = {}
    metadatas: dict[str, dict] = {}
    total = collection.count()
    for offset in range(0, total, 5000):
        page = collection.get(include=["embeddings", "metadatas"], limit=5000, offset=offset)
        for i, vector, meta in zip(page["ids"], page["embeddings"], page["metadatas"], strict=True):
            vectors[i] = np.asarray(vector, dtype=np.float32)
            metadatas[i] = dict(meta or {})
    return documents, by_doc, vectors, metadatas


def build(size: int, rebuild: bool) -> dict:
    """bench/out/scale-<size>: the real index plus perturbed copies up to `size` chunks."""
    from assistant.index import Index
    from assistant.ingest import lexical_terms, name_terms
    from assistant.schema import Chunk, DocumentInfo

    target = scale_dir(size)
    manifest_path = target / "scale.json"
    if manifest_path.exists() and not rebuild:
        return json.loads(manifest_path.read_text())
    ensure_source()
    if target.exists():
        shutil.rmtree(target)
    started = time.perf_counter()
    shutil.copytree(SOURCE / "index", target / "index", ignore=shutil.ignore_patterns("*.lock"))
    index = Index(settings_for(target))
    catalog, store = index.catalog, index.vectors
    documents, by_doc, vectors, vector_meta = read_source(index)
    n_source = sum(len(c) for c in by_doc.values())
    missing = [c["chunk_id"] for cs in by_doc.values() for c in cs if c["chunk_id"] not in vectors]
    if missing:
        raise SystemExit(f"{len(missing)} catalogue chunks have no vector, e.g. {missing[0]}")
    queries = recall_queries()
    exact = ExactTopK(index.embedder.embed_queries(queries))
    source_ids = [c["chunk_id"] for cs in by_doc.values() for c in cs]
    exact.add(source_ids, np.stack([vectors[i] for i in source_ids]))

    total, n_docs, copies = n_source, len(documents), 1
    catalog_s = vectors_s = 0.0
    pending_ids: list[str] = []
    pending_vectors: list[np.ndarray] = []
    pending_meta: list[dict] = []

    def flush() -> None:
        nonlocal vectors_s
        if not pending_ids:
            return
        matrix = np.stack(pending_vectors)
        t = time.perf_counter()
        store.add(pending_ids, matrix, pending_meta)
        vectors_s += time.perf_counter() - t
        exact.add(pending_ids, matrix)
        pending_ids.clear(), pending_vectors.clear(), pending_meta.clear()

    copy = 0
    add_started = time.perf_counter()
    while total < size:
        copy += 1
        copies += 1
        rng_vectors = np.random.default_rng([copy, 2024])
        for doc in documents:
            if total >= size:
                break
            rows = by_doc.get(doc["doc_id"], [])
            new_id = hashlib.sha256(f"{doc['doc_id']}:copy{copy}".encode()).hexdigest()[:16]
            meta = json.loads(doc["meta"]) if isinstance(doc["meta"], str) else doc["meta"]
            info = DocumentInfo(
                doc_id=new_id,
                source=copy_source(doc["source"], copy),
                title=doc["title"],
                doc_type=doc["doc_type"],
                language=doc["language"],
                sha256=hashlib.sha256(new_id.encode()).hexdigest(),
                identifiers=json.loads(doc["identifiers"] or "[]"),
                programme=doc["programme"],
                comune=doc["comune"],
                page_count=doc["page_count"],
                chunk_count=len(rows),
                version=doc["version"],
                metadata=meta or {},
            )
            items = []
            for row in rows:
                rng = random.Random(f"{copy}:{row['chunk_id']}")
                chunk = Chunk(
                    chunk_id=f"{new_id}:{doc['version']}:{row['ordinal']}",
                    doc_id=new_id,
                    ordinal=row["ordinal"],
                    text=perturb_text(row["text"], rng),
                    embed_text="",
                    section=row["section"],
                    section_title=row["section_title"],
                    page=row["page"],
                    page_end=row["page_end"],
                    page_label=row["page_label"],
                    language=row["language"],
                    kind=row["kind"],
                    token_count=row["token_count"],
                    metadata=json.loads(row["meta"]) if isinstance(row["meta"], str) else {},
                )
                items.append((chunk, *lexical_terms(chunk, info)))
                noisy = vectors[row["chunk_id"]] + rng_vectors.normal(0.0, SIGMA, 384)
                pending_ids.append(chunk.chunk_id)
                pending_vectors.append((noisy / np.linalg.norm(noisy)).astype(np.float32))
                pending_meta.append(
                    {**vector_meta[row["chunk_id"]], "doc_id": new_id, "source": info.source}
                )
            t = time.perf_counter()
            catalog.replace_document(
                info, items, doc["workspace"], doc["size"] or 0, doc["mtime"] or 0.0,
                name_terms(info),
            )  # fmt: skip
            catalog_s += time.perf_counter() - t
            total += len(rows)
            n_docs += 1
            if len(pending_ids) >= store.batch_size:
                flush()
        flush()
        log(
            f"scale-{size}: copy {copy} done, {total} chunks in {time.perf_counter() - started:.0f} s"
            f" (so far: catalogue {catalog_s:.0f} s, Chroma {vectors_s:.0f} s)"
        )
    build_s = time.perf_counter() - started
    if store.count() != total or catalog.chunk_count() != total:
        raise SystemExit(
            f"scale-{size}: {store.count()} vectors, {catalog.chunk_count()} catalogue chunks, "
            f"{total} expected"
        )
    manifest = {
        "size": size,
        "chunks": total,
        "documents": n_docs,
        "copies": copies,
        "source_chunks": n_source,
        "build_s": build_s,
        "add_s": time.perf_counter() - add_started,
        "catalog_s": catalog_s,
        "vectors_s": vectors_s,
        "added_chunks": total - n_source,
        "sigma": SIGMA,
        "recall_queries": queries,
        "exact_top10": exact.result(),
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest


# -- measuring -----------------------------------------------------------------------


def breakdown(assistant, questions: list[str]) -> dict[str, float]:
    """Where a retrieval's time goes, in ms per question, from one instrumented pass:
    Chroma queries with a metadata filter and without, catalogue SQL (FTS5 BM25, the
    vocabulary, rows), the query embedding, and the rest (Python: analysis, scoring)."""
    from sqlalchemy import event

    spent: dict[str, float] = {"chroma_filtered": 0.0, "chroma_unfiltered": 0.0, "sql": 0.0}
    store, embedder = assistant.index.vectors, assistant.index.embedder
    # every Chroma query of the retriever goes through query_with_metadata
    original_query, original_embed = store.query_with_metadata, embedder.embed_queries

    def query(vector, n, where=None):
        t = time.perf_counter()
        try:
            return original_query(vector, n, where)
        finally:
            key = "chroma_filtered" if where else "chroma_unfiltered"
            spent[key] += time.perf_counter() - t

    def embed(texts):
        t = time.perf_counter()
        try:
            return original_embed(texts)
        finally:
            spent["embed"] = spent.get("embed", 0.0) + time.perf_counter() - t

    def before(connection, *_):
        connection.info["bench_t"] = time.perf_counter()

    def after(connection, *_):
        spent["sql"] += time.perf_counter() - connection.info.pop("bench_t")

    engine = assistant.index.catalog.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    store.query_with_metadata, embedder.embed_queries = query, embed
    try:
        t = time.perf_counter()
        for question in questions:
            assistant.retrieve(question, k=10)
        total = time.perf_counter() - t
    finally:
        del store.query_with_metadata, embedder.embed_queries
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    out = {k: v * 1000 / len(questions) for k, v in spent.items()}
    out["total"] = total * 1000 / len(questions)
    out["other"] = out["total"] - sum(v for k, v in out.items() if k != "total")
    return out


def hnsw_recall(store, vectors: np.ndarray, exact: list[list[str]]) -> tuple[float, list[float]]:
    overlaps, times = [], []
    for vector, truth in zip(vectors, exact, strict=True):
        t = time.perf_counter()
        found = store.query(vector, TOP_K)
        times.append(time.perf_counter() - t)
        overlaps.append(len({i for i, _ in found} & set(truth)) / TOP_K)
    return float(np.mean(overlaps)), times


def measure(
    size: int, mode: str, passes: int, answer_passes: int, profile: bool, ef: int | None
) -> dict:
    """One size and Chroma mode, in a fresh process. With `ef`, that `hnsw_ef_search`
    (Chroma applies it when a process first loads the HNSW index, not to a loaded one)."""
    from assistant.core import EuroAssist
    from assistant.evaluation import load_questions
    from assistant.index.vector_store import ChromaVectorStore

    data_dir = scale_dir(size)
    manifest = json.loads((data_dir / "scale.json").read_text())
    url = os.environ.get("EUROASSIST_CHROMA_URL") if mode == "server" else None
    if mode == "server" and not url:
        raise SystemExit("server mode needs EUROASSIST_CHROMA_URL")
    settings = settings_for(data_dir, url, **({"hnsw_ef_search": ef} if ef else {}))
    questions = [q.question for q in load_questions(DEV_QUESTIONS)]
    assistant = EuroAssist(settings)

    t = time.perf_counter()
    assistant.retrieve(questions[0], k=10)
    cold_s = time.perf_counter() - t
    count = assistant.index.vectors.count()
    for question in questions[1 : 1 + WARM_UP]:
        assistant.retrieve(question, k=10)
    if answer_passes:
        assistant.ask(questions[0])

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    retrieve_times = []
    for _ in range(passes):
        for question in questions:
            t = time.perf_counter()
            assistant.retrieve(question, k=10)
            retrieve_times.append(time.perf_counter() - t)
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        log(f"profile of retrieve, {size} chunks, {mode}:\n{text.getvalue()}")
    answer_times = []
    for _ in range(answer_passes):
        for question in questions:
            t = time.perf_counter()
            assistant.ask(question)
            answer_times.append(time.perf_counter() - t)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large
    # process (make bench runs every module in one) reported the parent's peak
    peak_rss_kb = own_peak_rss_kb()
    where_time_goes = breakdown(assistant, questions)

    # Chroma's top 10 against the exact top 10 (the retriever's own store, already loaded)
    embedder = assistant.index.embedder
    query_vectors = embedder.embed_queries(manifest["recall_queries"])
    recall, times = hnsw_recall(assistant.index.vectors, query_vectors, manifest["exact_top10"])
    log(f"{size} {mode}: ef_search={settings.hnsw_ef_search} recall@10={recall:.3f}")
    if ef:
        # leave the configured ef_search stored for the next process
        ChromaVectorStore(settings_for(data_dir, url), embedder.id)
    return {
        "size": size,
        "mode": mode,
        "chunks": count,
        "ef_search": settings.hnsw_ef_search,
        "cold_first_query_s": cold_s,
        "retrieve_ms": percentiles(retrieve_times),
        "answer_ms": percentiles(answer_times),
        "peak_rss_mib": peak_rss_kb / 1024,
        "recall": recall,
        "query_ms": percentiles(times),
        "breakdown_ms": where_time_goes,
    }


# -- the Chroma server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                out.extend(process_tree(int(child)))
    return out


def own_peak_rss_kb() -> int:
    match = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(match.group(1)) if match else 0


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a process and its children, MiB."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            match = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{member}/status").read_text())
            total += int(match.group(1)) if match else 0
    return total / 1024


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    log_path = path.parent / "chroma-server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            [str(CHROMA_EXE), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"chroma run exited ({server.returncode}), see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"chroma run did not answer, see {log_path}") from None
                    time.sleep(0.3)
            yield url, server
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


# -- orchestration and the report ----------------------------------------------------


def child(args: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `python -m bench.scale ARGS` and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.scale {' '.join(args)} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_mode(size: int, mode: str, extra: list[str]) -> dict:
    args = ["--one", str(size), "--chroma", mode, *extra]
    if mode == "embedded":
        return child(args, {"EUROASSIST_CHROMA_URL": ""})
    with chroma_server(scale_dir(size) / "index" / "chroma") as (url, server):
        result = child(args, {"EUROASSIST_CHROMA_URL": url})
        result["server_peak_rss_mib"] = peak_rss_mib(server.pid)
    return result


def triple(m: dict) -> str:
    return f"{m['p50']:.0f} / {m['p95']:.0f} / {m['p99']:.0f}"


def report(builds: dict[int, dict], results: list[dict], command: str, runtime_s: float) -> str:
    rows = []
    for r in results:
        b = builds[r["size"]]
        server = f"{r['server_peak_rss_mib']:.0f}" if "server_peak_rss_mib" in r else "–"
        rows.append(
            f"| {b['chunks']:,} | {r['mode']} | {triple(r['retrieve_ms'])} | "
            f"{triple(r['answer_ms'])} | {r['peak_rss_mib']:.0f} | {server} | "
            f"{r['recall']:.3f} | {r['cold_first_query_s']:.1f} |"
        )
    build_rows = []
    for b in builds.values():
        added = b["added_chunks"]
        rate = f"{added / b['add_s']:.0f}" if added else "–"
        build_rows.append(
            f"| {b['chunks']:,} | {b['documents']} | {b['copies']} | {b['build_s']:.0f} | "
            f"{b['catalog_s']:.0f} | {b['vectors_s']:.0f} | {rate} |"
        )
    sweep_rows = []
    for r in results:
        for entry in [r, *r.get("sweep", [])]:
            sweep_rows.append(
                f"| {builds[r['size']]['chunks']:,} | {r['mode']} | {entry['ef_search']} | "
                f"{entry['recall']:.3f} | {entry['query_ms']['p50']:.1f} / "
                f"{entry['query_ms']['p95']:.1f} | {entry['retrieve_ms']['p50']:.0f} / "
                f"{entry['retrieve_ms']['p95']:.0f} ({entry['retrieve_ms']['n']}) |"
            )
    parts = ("embed", "chroma_unfiltered", "chroma_filtered", "sql", "other", "total")
    breakdown_rows = [
        f"| {builds[r['size']]['chunks']:,} | {r['mode']} | "
        + " | ".join(f"{r['breakdown_ms'].get(p, 0.0):.0f}" for p in parts)
        + " |"
        for r in results
    ]
    verdicts = []
    for r in results:
        if builds[r["size"]]["size"] == TARGET_SIZE:
            p95 = r["retrieve_ms"]["p95"]
            met = "met" if p95 <= TARGET_P95_MS else "**not met**"
            verdicts.append(f"{r['mode']}: p95 {p95:.0f} ms, {met}")
    target = (
        "; ".join(verdicts) if verdicts else f"not measured (no {TARGET_SIZE:,}-chunk run here)"
    )
    n_questions = results[0]["retrieve_ms"]["n"] if results else 0
    n_answers = results[0]["answer_ms"]["n"] if results else 0
    n_recall = len(next(iter(builds.values()))["recall_queries"]) if builds else 0
    load = os.getloadavg()
    busy = (
        "; other processes shared the cores, so figures are upper bounds"
        if max(load) > (os.cpu_count() or 1)
        else ""
    )
    return f"""
## Query latency and memory at scale

Machine: {machine()} (load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} /
{load[2]:.1f}{busy}).

Synthetic indexes made from the real one (`bench/out/data-real`, {next(iter(builds.values()))["source_chunks"] if builds else "?"} chunks):
copy 0 is the real index, the others copy its chunks with new ids, their stored vectors
plus Gaussian noise (σ = {SIGMA} per dimension, renormalised) and their text with its
sentences shuffled and {DROP_WORDS:.0%} of its words dropped (re-analysed for BM25); nothing is
re-embedded. Inserted through `Catalog.replace_document` and `ChromaVectorStore.add`.
Latency: per-query wall time of `EuroAssist.retrieve(q, k=10)` ({n_questions} timed queries:
the dev questions, several passes after {WARM_UP} warm-up queries) and of `EuroAssist.ask(q)`, the
extractive answer ({n_answers} timed). Peak RSS: the measuring process's VmHWM
(one fresh process per size and mode, embedder and Chroma client included), and the
`chroma run` server's VmHWM. Recall@10: mean share of Chroma's top 10 found in the exact
cosine top 10 (numpy over the same vectors) for {n_recall} queries (the dev questions and
their gold answers), at `hnsw_ef_search` = {results[0]["ef_search"] if results else "?"} (the setting).
"Cold" is the first query of a fresh process (loads the embedder, the terminology and the HNSW index).

**Target: retrieve p95 ≤ {TARGET_P95_MS:.0f} ms at {TARGET_SIZE:,} chunks on 2 cores — {target}.**

| chunks | Chroma | retrieve p50 / p95 / p99 (ms) | answer p50 / p95 / p99 (ms) | peak RSS client (MiB) | peak RSS server (MiB) | HNSW recall@10 | cold first query (s) |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Building the synthetic indexes (copying the real index, then adding the perturbed copies):

| chunks | documents | copies | build (s) | catalogue inserts (s) | Chroma inserts (s) | added chunks / s (whole loop) |
|---|---|---|---|---|---|---|
{chr(10).join(build_rows)}

Where a retrieval's time goes (mean ms per question, one instrumented pass over the dev
questions): the query embedding, Chroma's queries (one wide nearest-neighbour query, split
by language in Python; with a `where` filter only when the caller filters, e.g. by
workspace), the catalogue's SQL (FTS5 BM25 candidates, term statistics, rows) and the rest
(question analysis, coverage scoring, fusion):

| chunks | Chroma | embed | Chroma, no filter | Chroma with `where` | SQL | other | total |
|---|---|---|---|---|---|---|---|
{chr(10).join(breakdown_rows)}

HNSW search effort: `hnsw_ef_search` is raised (each value in a fresh process, and a fresh
server: Chroma applies it when it loads the index) only while recall@10 < {RECALL_TARGET}:

| chunks | Chroma | ef_search | recall@10 | Chroma top-10 query p50 / p95 (ms) | retrieve p50 / p95 (ms) (queries) |
|---|---|---|---|---|---|
{chr(10).join(sweep_rows)}

Command: `{command}` ({runtime_s / 60:.0f} min in all, builds included).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,50000,200000")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--passes", type=int, default=3, help="timed passes of retrieve")
    parser.add_argument("--answer-passes", type=int, default=3, help="timed passes of ask")
    parser.add_argument("--rebuild", action="store_true", help="rebuild existing indexes")
    parser.add_argument("--profile", action="store_true", help="cProfile the retrieve passes")
    parser.add_argument("--recall-target", type=float, default=RECALL_TARGET)
    parser.add_argument("--no-report", action="store_true", help="do not write the section")
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--chroma", choices=["embedded", "server"], help=argparse.SUPPRESS)
    parser.add_argument("--ef", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build:
        manifest = build(args.build, args.rebuild)
        print(
            json.dumps(
                {k: v for k, v in manifest.items() if k not in ("exact_top10", "recall_queries")}
            )
        )
        return
    if args.one:
        result = measure(
            args.one, args.chroma, args.passes, args.answer_passes, args.profile, args.ef
        )
        print(json.dumps(result))
        return

    require_shared()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - {"embedded", "server"}:
        raise SystemExit(f"unknown modes: {', '.join(sorted(unknown))}")
    extra = ["--passes", str(args.passes), "--answer-passes", str(args.answer_passes)]
    if args.profile:
        extra.append("--profile")
    started = time.perf_counter()
    builds: dict[int, dict] = {}
    results = []
    for size in sizes:
        with stopwatch() as took:
            child(["--build", str(size), *(["--rebuild"] if args.rebuild else [])])
        builds[size] = json.loads((scale_dir(size) / "scale.json").read_text())
        log(f"scale-{size}: {builds[size]['chunks']} chunks ready ({took['seconds']:.0f} s)")
        for mode in modes:
            result = run_mode(size, mode, extra)
            log(
                f"{size} {mode}: retrieve {triple(result['retrieve_ms'])} ms, "
                f"answer {triple(result['answer_ms'])} ms, rss {result['peak_rss_mib']:.0f} MiB"
            )
            result["sweep"] = []
            for ef in EF_SWEEP:
                recall = result["sweep"][-1]["recall"] if result["sweep"] else result["recall"]
                if recall >= args.recall_target:
                    break
                if ef > result["ef_search"]:
                    sweep = ["--passes", "1", "--answer-passes", "0", "--ef", str(ef)]
                    result["sweep"].append(run_mode(size, mode, sweep))
            results.append(result)
    command = "python -m bench.scale " + " ".join(sys.argv[1:])
    body = report(builds, results, command.strip(), time.perf_counter() - started)
    if not args.no_report:
        write_section("scale", body)
    print(body)
    (OUT / "scale-results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
