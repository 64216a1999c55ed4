"""Faults from outside: an ingest killed with SIGKILL, an LLM server that is down, slow or
answers garbage, a Chroma server restarting under queries. Real processes and servers on
loopback, real Chroma and SQLite; no mocks."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import free_port, text_of, write_mini_corpus

from assistant.core import EuroAssist
from assistant.embedders import embedder_id
from assistant.index.catalog import Catalog
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CHROMA = Path(sys.executable).parent / "chroma"


# -- 1. ingest killed at random points ---------------------------------------------------

TOPICS = [
    "cofinanziamento",
    "spese ammissibili",
    "beneficiari",
    "cronoprogramma",
    "rendicontazione",
    "pubblicità",
    "stabilità delle operazioni",
    "anticipazioni",
]
LARGE = {1, 2, 3}  # three embedding batches (32 chunks): vectors land in three upserts


def corpus_text(number: int, edition: int = 0) -> str:
    sections = 70 if number in LARGE else 2 + number % 3
    topic = TOPICS[number % len(TOPICS)]
    lines = [f"# Scheda {number} sul bando {topic}", ""]
    for s in range(sections + edition):
        lines += [
            f"## Misura {s} della scheda {number}",
            "",
            f"La misura {s} della scheda {number} riguarda {topic}: codice S{number}M{s}E{edition}, "
            f"importo {1000 * (s + 1) + number} euro per il comune numero {number * 7 + s}.",
            "",
        ]
    return "\n".join(lines)


def corpus_path(root: Path, number: int) -> Path:
    if number in LARGE:  # first in the run's order: where the "vectors" kills land
        return root / f"a-grande-{number:02d}.md"
    return root / (f"scheda-{number:02d}.md" if number % 5 else f"nota-{number:02d}.txt")


def write_corpus(root: Path, count: int) -> dict[Path, set[str]]:
    """The corpus, and for each file the SHA-256 of every content it has had."""
    root.mkdir(parents=True)
    history: dict[Path, set[str]] = {}
    for number in range(count):
        path = corpus_path(root, number)
        path.write_text(corpus_text(number), encoding="utf-8")
        history[path.resolve()] = {hashlib.sha256(path.read_bytes()).hexdigest()}
    return history


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EUROASSIST_")}
    env.update(
        EUROASSIST_DATA_DIR=str(data_dir),
        EUROASSIST_CONFIG=str(data_dir.parent / "no-such-config.toml"),
        EUROASSIST_LLM_PROVIDER="extractive",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def chroma_files(data_dir: Path) -> list[tuple[str, int, int]]:
    root = data_dir / "index" / "chroma"
    return sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
    )


def run_ingest_until_killed(
    corpus: Path, data_dir: Path, rng: random.Random, when: str | int, signal_number: int
) -> tuple[int | None, list[str]]:
    """`euroassist ingest` in its own process, killed (SIGKILL, or SIGINT as Ctrl-C sends)
    at a random moment: `when` = "start" (from the start: start-up, model load, reconcile),
    "vectors" (soon after this run's first write to Chroma: inside the store of a file), or
    N (after N more files were stored). Returns (return code, the lines it wrote)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", str(corpus)],
        cwd=data_dir.parent,
        env=cli_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    stored = threading.Semaphore(0)

    def read() -> None:
        for line in process.stderr:  # type: ignore[union-attr]
            lines.append(line.rstrip())
            if line.startswith(("added ", "updated ")):
                stored.release()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    if when == "start":
        time.sleep(rng.uniform(0.5, 4.0))
    elif when == "vectors":
        # The journal holds this run's pid once reconcile() is done; then the first
        # change to Chroma's files is this run storing vectors.
        journal = data_dir / "index" / f"{embedder_id(Settings().embedder)}.journal"
        while process.poll() is None and time.monotonic() < deadline:
            if journal.exists() and journal.read_text() == str(process.pid):
                break
            time.sleep(0.01)
        before = chroma_files(data_dir)
        while process.poll() is None and time.monotonic() < deadline:
            if chroma_files(data_dir) != before:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.5))
    else:
        for _ in range(int(when)):
            if not stored.acquire(timeout=300) or process.poll() is not None:
                break
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside the next files' store
    if process.poll() is None:
        process.send_signal(signal_number)
    process.wait(timeout=60)
    reader.join(timeout=10)
    return process.returncode, lines


@contextmanager
def opened(data_dir: Path) -> Iterator[EuroAssist]:
    """The index as a fresh process would open it: no Chroma client cached from before."""
    import chromadb.api.shared_system_client as shared

    shared.SharedSystemClient.clear_system_cache()
    assistant = EuroAssist(Settings(data_dir=data_dir, llm_provider="extractive"))
    try:
        yield assistant
    finally:
        del assistant
        gc.collect()
        shared.SharedSystemClient.clear_system_cache()


def chroma_ids(assistant: EuroAssist) -> dict[str, dict]:
    collection = assistant.index.vectors.collection
    got = collection.get(include=["metadatas"], limit=100_000)
    return dict(zip(got["ids"], got["metadatas"], strict=True))


def catalogue_state(catalog: Catalog) -> dict[str, tuple[str, str, int, list[tuple]]]:
    """doc_id -> (version, sha256, chunk_count, [(chunk_id, ordinal, text, rowid)])."""
    with catalog.engine.connect() as connection:
        docs = connection.exec_driver_sql(
            "SELECT doc_id, version, sha256, chunk_count FROM documents"
        ).all()
        rows = connection.exec_driver_sql(
            "SELECT doc_id, chunk_id, ordinal, text, rowid FROM chunks ORDER BY ordinal"
        ).all()
    chunks: dict[str, list[tuple]] = {d[0]: [] for d in docs}
    for doc_id, *rest in rows:
        assert doc_id in chunks, f"chunk rows of a document the catalogue does not list: {doc_id}"
        chunks[doc_id].append(tuple(rest))
    return {d[0]: (d[1], d[2], d[3], chunks[d[0]]) for d in docs}


def check_consistent(
    data_dir: Path, history: dict[Path, set[str]], final: bool
) -> tuple[dict[str, tuple[str, int]], int]:
    """The invariants a reader relies on after any kill; `final`: after a run that completed,
    Chroma holds exactly the catalogue's chunks. Returns doc_id -> (version, chunk count),
    and how many vectors of no current chunk wait for the next run's reconcile()."""
    with opened(data_dir) as assistant:
        catalog = assistant.index.catalog
        with catalog.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            fts = {r[0] for r in connection.exec_driver_sql("SELECT rowid FROM chunks_fts")}
            fts_count = connection.exec_driver_sql("SELECT count(*) FROM chunks_fts").scalar()
            names = Counter(
                r[0] for r in connection.exec_driver_sql("SELECT doc_id FROM documents_fts")
            )
            sources = dict(connection.exec_driver_sql("SELECT doc_id, source FROM documents").all())
        state = catalogue_state(catalog)
        all_rowids = {c[3] for _, _, _, chunks in state.values() for c in chunks}
        assert fts == all_rowids and fts_count == len(all_rowids), "FTS rows != chunk rows"
        assert names == Counter(state.keys()), "one documents_fts row per current document"
        for doc_id, (version, sha, count, chunks) in state.items():
            assert sha in history[Path(sources[doc_id])], "a version the file never had"
            assert version == sha[:12]
            assert count == len(chunks) > 0, (doc_id, count, len(chunks))
            assert [c[1] for c in chunks] == list(range(count)), "ordinals 0..n-1 once each"
            assert all(c[0] == f"{doc_id}:{version}:{c[1]}" for c in chunks)
            texts = [c[2] for c in chunks]
            assert len(set(texts)) == len(texts), f"duplicate chunk texts in {doc_id}"

        vectors = chroma_ids(assistant)
        current = {c[0] for _, _, _, chunks in state.values() for c in chunks}
        assert current <= set(vectors), "a current chunk without its vector"
        leftovers = set(vectors) - current
        for chunk_id in leftovers:  # what an interrupted run leaves, until the next run
            meta = vectors[chunk_id]
            assert meta["doc_id"] not in state or meta["version"] != state[meta["doc_id"]][0]
        journal = assistant.settings.index_dir / f"{assistant.index.embedder_id}.journal"
        # Leftovers with no journal would stay for ever: only a journal triggers reconcile().
        assert journal.exists() or not leftovers, f"{len(leftovers)} leftovers, no journal"
        if final:
            assert not leftovers, f"{len(leftovers)} vectors of no current chunk"
            assert not journal.exists()

        # What a reader is served: current chunks only, whatever Chroma still holds.
        for question in ("codice S2M33E0 importo", "misura della scheda 3 cofinanziamento"):
            for hit in assistant.retrieve(question, 10):
                assert hit.chunk_id in current, hit.chunk_id
        return {doc_id: (s[0], s[2]) for doc_id, s in state.items()}, len(leftovers)


def test_ingest_killed_at_random_points_leaves_a_consistent_index(tmp_path):
    rng = random.Random(20240611)
    corpus = tmp_path / "corpus"
    history = write_corpus(corpus, 48)
    data_dir = tmp_path / "data"
    outcomes, leftovers = [], 0
    kill, interrupt = signal.SIGKILL, signal.SIGINT
    plans = [("start", kill), ("vectors", kill), (3, kill), ("vectors", interrupt)]
    plans += [("vectors", kill), (6, kill), (2, interrupt), ("vectors", kill), (1, kill)]
    edition = 0

    def change_files(round_number: int, count: int) -> None:
        """A large file (replaced while killed the next time), and files that grow a
        section or get their text rewritten."""
        nonlocal edition
        edition += 1
        large = sorted(LARGE)[round_number % len(LARGE)]
        for number in [large, *rng.sample(range(48), count)]:
            path = corpus_path(corpus, number)
            text = corpus_text(number, edition if number % 2 else 0)
            if number % 2 == 0:
                text = text.replace("riguarda", f"(edizione {edition}) riguarda")
            path.write_text(text, encoding="utf-8")
            history[path.resolve()].add(hashlib.sha256(path.read_bytes()).hexdigest())

    for round_number, (when, signal_number) in enumerate(plans):
        for _ in range(3):
            code, lines = run_ingest_until_killed(corpus, data_dir, rng, when, signal_number)
            if signal_number == kill:
                assert not any("Traceback" in line for line in lines), "\n".join(lines)
            if (data_dir / "index").exists():
                leftovers += check_consistent(data_dir, history, final=False)[1]
            if code != 0:
                change_files(round_number, 2)
                break
            # The run finished before the signal: give it more to do and try again.
            change_files(round_number, 12)
        outcomes.append(code)
    killed = sum(code != 0 for code in outcomes)
    assert killed >= 7, outcomes  # the signals really landed while the runs were working
    # Some kills fell between a file's vectors and its catalogue swap (or the removal of
    # the replaced version): what reconcile() is for.
    assert leftovers > 0

    final = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", str(corpus)],
        cwd=tmp_path,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr[-3000:]
    recovered, _ = check_consistent(data_dir, history, final=True)

    clean_dir = tmp_path / "clean"
    with opened(clean_dir) as clean:
        results = clean.ingest([corpus])
        assert {r.status for r in results} == {"added"}
    expected, _ = check_consistent(clean_dir, history, final=True)
    assert recovered == expected
    assert len(recovered) == 48


# -- 2. the LLM server down, slow or answering garbage -----------------------------------

LLM_TIMEOUT_S = 2.0
QUESTION_IT = "Per quanti anni va garantita la stabilità delle operazioni?"
QUESTION_EN = "For how many years must the durability of operations be ensured?"


def sse(pieces: list[str]) -> bytes:
    out = b""
    for piece in pieces:
        chunk = {
            "id": "fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "fake",
            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
        }
        out += b"data: " + json.dumps(chunk).encode() + b"\n\n"
    return out + b"data: [DONE]\n\n"


class FakeLlmServer(ThreadingHTTPServer):
    """An OpenAI-compatible endpoint on loopback that misbehaves as told (`mode`)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), FakeLlmHandler)
        self.mode = mode
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class FakeLlmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLlmServer

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests += 1
        mode = self.server.mode
        if mode == "slow":  # accepts, then says nothing for longer than the timeout
            time.sleep(LLM_TIMEOUT_S * 3)
            self.reply(200, "text/event-stream", sse(["Troppo tardi [1]."]))
        elif mode == "stall":  # starts streaming, then stops in the middle of the answer
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(sse(["Il periodo ", "di stabilità "])[: -len(b"data: [DONE]\n\n")])
            self.wfile.flush()
            time.sleep(LLM_TIMEOUT_S * 3)
        elif mode == "garbage":
            self.reply(200, "application/json", b"\x00\xff<html>not JSON {{{")
        elif mode == "garbage-sse":
            self.reply(200, "text/event-stream", b"data: {not json\n\nevent: ???\n\n")
        elif mode == "nonsense":  # valid SSE, made-up text citing passages that do not exist
            pieces = ["Le giraffe ", "volano sulla luna [9]. ", "Il formaggio è blu [42]."]
            self.reply(200, "text/event-stream", sse(pieces))
        elif mode == "endless":  # ignores the request's length limit
            self.reply(200, "text/event-stream", sse(["parola "] * 5000))
        elif mode == "http500":
            self.reply(500, "application/json", b'{"error": {"message": "internal error"}}')
        else:  # "ok": a well-behaved model
            self.reply(200, "text/event-stream", sse(["Cinque anni dal pagamento ", "finale [1]."]))


def test_answer_length_is_capped_where_the_server_ignores_the_limit():
    """Some servers ignore max_completion_tokens (the name langchain-openai sends): the
    client stops reading at the limit instead of waiting for a full context."""
    from assistant.llm import ChatMessage
    from assistant.llm.openai_chat import openai_chat

    server = FakeLlmServer("endless")
    try:
        chat = openai_chat(server.url, "fake", None, 4096, LLM_TIMEOUT_S)
        pieces = list(chat.stream([ChatMessage("user", "Conta fino a mille.")], 12, 0.0))
    finally:
        server.stop()
    assert pieces == ["parola "] * 12


def llm_settings(indexed: EuroAssist, url: str) -> Settings:
    return Settings(
        data_dir=indexed.settings.data_dir,
        llm_provider="openai",
        openai_base_url=url,
        openai_model="fake",
        llm_timeout_s=LLM_TIMEOUT_S,
    )


def assert_cited_extractive(answer, notice_start: str, reason: str) -> None:
    """One line saying why, then the extractive answer, every marker a real passage."""
    import re

    assert answer.provider == "extractive"
    assert answer.notice.startswith(notice_start) and reason in answer.notice, answer.notice
    assert "\n" not in answer.notice
    lines = answer.text.splitlines()
    assert lines[0] == answer.notice
    assert len(lines) > 1 and all(line.startswith("- ") for line in lines[1:]), answer.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers and markers <= {p.number for p in answer.passages}, answer.text
    assert answer.cited and set(answer.cited) == markers
    assert "giraffe" not in answer.text and "[42]" not in answer.text


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("down", "server non raggiungibile"),
        ("slow", f"nessuna risposta entro {LLM_TIMEOUT_S:g} s"),
        ("stall", f"nessuna risposta entro {LLM_TIMEOUT_S:g} s"),
        ("garbage", "risposta non valida del server"),
        ("garbage-sse", "risposta non valida del server"),
        ("nonsense", "risposta non valida del server"),
        ("http500", "errore HTTP 500"),
    ],
)
def test_llm_fault_gives_a_notice_and_the_extractive_answer(indexed, mode, reason):
    from assistant.answers.grounded import GroundedAnswerer
    from assistant.llm import load_chat_model

    server = FakeLlmServer(mode)
    url = f"http://127.0.0.1:{free_port()}/v1" if mode == "down" else server.url
    try:
        settings = llm_settings(indexed, url)
        answerer = GroundedAnswerer(
            indexed.default_retriever, indexed.index.embedder, load_chat_model(settings), settings
        )
        events = list(answerer.stream(QUESTION_IT))  # nothing raises to the caller
    finally:
        server.stop()
    assert events[-1].kind == "final"
    assert_cited_extractive(events[-1].answer, "Il modello linguistico non è disponibile (", reason)
    assert any("regolamento-prova-fr.md" in p.hit.source for p in events[-1].answer.passages)
    # the answer came from the fault: a server that was asked, or none listening
    assert server.requests == 0 if mode == "down" else server.requests >= 1


def test_llm_fault_notice_follows_the_question_language(indexed):
    from assistant.answers.grounded import GroundedAnswerer
    from assistant.llm import load_chat_model

    server = FakeLlmServer("http500")
    try:
        settings = llm_settings(indexed, server.url)
        answerer = GroundedAnswerer(
            indexed.default_retriever, indexed.index.embedder, load_chat_model(settings), settings
        )
        answer = answerer.answer(QUESTION_EN)
    finally:
        server.stop()
    assert_cited_extractive(answer, "The language model is not available (", "HTTP error 500")


def test_web_app_survives_a_garbage_llm_and_recovers(indexed):
    from gradio_client import Client

    from ui.app import serve

    server = FakeLlmServer("nonsense")
    assistant = EuroAssist(llm_settings(indexed, server.url))
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        history, _ = client.predict(QUESTION_IT, [], [], [], api_name="/ask")
        first = text_of(history[1]["content"])
        sources = [(m.get("metadata") or {}).get("title") or "" for m in history[2:]]
        server.mode = "garbage"
        history, _ = client.predict(QUESTION_IT, [], [], [], api_name="/ask")
        second = text_of(history[1]["content"])
        server.mode = "ok"  # the model is back: the same app answers with it
        history, _ = client.predict(QUESTION_IT, [], [], [], api_name="/ask")
        third = text_of(history[1]["content"])
    finally:
        app.close()
        server.stop()
    for answer in (first, second):
        assert answer.startswith("Il modello linguistico non è disponibile (risposta non valida")
        assert "[1]" in answer and "giraffe" not in answer and "[42]" not in answer
    assert sources and sources[0].startswith("[") and "regolamento-prova-fr.md" in " ".join(sources)
    assert "Cinque anni dal pagamento finale" in third and "openai fake" in third
    assert server.requests >= 3


# -- 3. the Chroma server restarting under queries ---------------------------------------


class ChromaServer:
    """`chroma run` on a fixed port and path, to be killed and started again."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--port", str(self.port)]
                + ["--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while not self.alive():
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "chroma server did not start"
            time.sleep(0.1)

    def stop(self, signal_number: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal_number)
            self.process.wait(timeout=60)


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "chroma", tmp_path / "chroma.log")
    server.start()
    yield server
    server.stop(signal.SIGTERM)


def test_chroma_restart_under_queries_degrades_to_keywords_and_recovers(tmp_path, chroma):
    from assistant.index import IndexUnavailable
    from assistant.retrieval.hybrid import DENSE_UNAVAILABLE

    settings = Settings(
        data_dir=tmp_path / "data",
        chroma_url=chroma.url,
        chroma_timeout_s=10,
        llm_provider="extractive",
    )
    assistant = EuroAssist(settings)
    results = assistant.ingest([write_mini_corpus(tmp_path / "corpus")])
    assert {r.status for r in results} == {"added"}
    baseline = assistant.retrieve(QUESTION_IT, 5)
    assert baseline and not any(DENSE_UNAVAILABLE in h.scores for h in baseline)
    assert any(h.scores["dense"] > 0 for h in baseline)

    # Queries from another thread all along, as the web app's users would send them.
    outcomes: list[tuple[str, object]] = []
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            try:
                hits = assistant.retrieve(QUESTION_IT, 5)
                degraded = any(DENSE_UNAVAILABLE in h.scores for h in hits)
                outcomes.append(("keywords" if degraded else "hybrid", hits))
            except Exception as error:  # must not happen: recorded, and the test fails
                outcomes.append(("error", repr(error)))

    def wait_for(kind: str, after: int) -> None:
        deadline = time.monotonic() + 120
        while not any(k == kind for k, _ in outcomes[after:]):
            assert time.monotonic() < deadline, f"no {kind} result: {outcomes[after:][-3:]}"
            time.sleep(0.05)

    note = tmp_path / "nota-durante-il-riavvio.md"
    note.write_text(
        "# Nota\n\nIl cronoprogramma dei lavori va allegato alla domanda.\n", encoding="utf-8"
    )
    worker = threading.Thread(target=query_loop, daemon=True)
    worker.start()
    try:
        for cycle, signal_number in enumerate((signal.SIGKILL, signal.SIGTERM)):
            wait_for("hybrid", len(outcomes))
            chroma.stop(signal_number)
            wait_for("keywords", len(outcomes))

            # While it is down: one clear error where vectors are indispensable ...
            with pytest.raises(IndexUnavailable, match=f"Chroma server at {chroma.url} is not"):
                assistant.index.vectors.count()
            with pytest.raises(IndexUnavailable, match="not reachable"):
                assistant.retriever("dense").retrieve(QUESTION_IT, 5)
            # ... an answer from the keyword index that says so ...
            answer = assistant.answerer.answer(QUESTION_IT)
            assert answer.text.startswith("Ricerca semantica non disponibile"), answer.text
            assert answer.cited and "[1]" in answer.text
            assert "cinq ans" in " ".join(p.hit.text for p in answer.cited_passages())
            # ... and a file that cannot be stored fails alone, leaving the index as it was.
            if cycle == 0:
                (failed,) = assistant.ingest([note])
                assert failed.status == "failed" and "not reachable" in failed.reason

            chroma.start()  # same port, same path; our process and objects stay as they are
            wait_for("hybrid", len(outcomes))
    finally:
        stop.set()
        worker.join(timeout=120)
    assert not [o for o in outcomes if o[0] == "error"], outcomes[:3]
    after = assistant.retrieve(QUESTION_IT, 5)
    assert [h.chunk_id for h in after] == [h.chunk_id for h in baseline]
    assert not any(DENSE_UNAVAILABLE in h.scores for h in after)
    (added,) = assistant.ingest([note])
    assert added.status == "added"
    assert assistant.retrieve("cronoprogramma dei lavori allegato", 1)[0].source.endswith(note.name)
