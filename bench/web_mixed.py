"""Mixed load on the logged-in web app, shared by `python -m bench.web_load --mixed` and
tests/test_load.py.

N gradio_client users, officers of the Ambito's comuni (so uploads go to different
workspaces), log in (`login`, all at once) and each loop (bounded by a number of rounds and
by time) over:

- `chat`: a question through `/ask` (the extractive provider by default);
- `retrieve`: a question through `/ask` narrowed by a document-type filter (the web app has
  no bare retrieval endpoint: this is the retrieval path a user reaches with the filters);
- `upload`: a small Markdown file written for this round, with a unique token, sent to
  `/add_files` into the user's own workspace;
- `documents`: the documents list (`/documents`), which must show that upload with its
  passages, else the upload counts as lost.

Latency is per call, from request to complete response, queueing included.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from gradio_client import Client, handle_file

from assistant.core import EuroAssist
from assistant.office import OfficeStore
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = [REPO / "corpus" / name for name in ("regulations", "calls", "projects")]
PASSWORD = "carico-password-1"
OPERATIONS = ("login", "chat", "retrieve", "upload", "documents")
LOGIN_TIMEOUT_S = 300.0  # 20 logins at once: each is an argon2 check, see `login` below
MAX_ROUNDS = 200  # per user: the loop ends at this count or at the deadline, whichever first
QUESTIONS = [
    "Per quanti anni va garantita la stabilità delle operazioni con investimenti in infrastrutture?",
    "Qual è il tasso massimo di cofinanziamento per le regioni meno sviluppate?",
    "Chi può presentare domanda per l'avviso sui servizi di inclusione sociale degli Ambiti?",
    "Quali spese sono ammissibili per il Punto di facilitazione digitale?",
    "Quali obblighi di comunicazione ha il beneficiario di un finanziamento FESR?",
    "Quali interventi di efficientamento energetico degli edifici pubblici sono finanziati?",
]
RETRIEVALS = [  # (question, document types it is narrowed to)
    ("Stabilità delle operazioni e pagamento finale al beneficiario", ["regulation"]),
    ("Soggetti ammissibili e importo massimo del contributo", ["call"]),
    ("Progetti di facilitazione digitale dei comuni dell'Ambito di Lecce", ["project"]),
    ("Obiettivi specifici del FSE+ per l'inclusione sociale", ["regulation", "call"]),
]


@dataclass
class Upload:
    user: str
    workspace: str
    name: str
    token: str
    status: str = "sent"  # sent | found | lost | failed


@dataclass
class MixedResult:
    users: int
    seconds: float
    elapsed: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # chat answers per user
    hung: int = 0  # user threads still running after the grace period

    def error_count(self, operation: str) -> int:
        return sum(1 for e in self.errors if e.startswith(f"{operation}:"))

    def lost(self) -> list[Upload]:
        return [u for u in self.uploads if u.status == "lost"]

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per operation: count, errors, latency p50 and p95 (s)."""
        return {
            op: {
                "count": len(self.latencies.get(op, [])),
                "errors": self.error_count(op),
                "p50": percentile(self.latencies.get(op, []), 0.50),
                "p95": percentile(self.latencies.get(op, []), 0.95),
            }
            for op in OPERATIONS
        }

    def as_dict(self) -> dict:
        return {
            "users": self.users,
            "seconds": self.seconds,
            "elapsed": round(self.elapsed, 1),
            "operations": self.summary(),
            "errors": self.errors,
            "uploads": len(self.uploads),
            "lost_uploads": [asdict(u) for u in self.lost()],
            "answers_per_user": dict(self.answers),
            "hung": self.hung,
        }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; the median for q=0.5. None without values."""
    if not values:
        return None
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def officers(store: OfficeStore, users: int, password: str = PASSWORD) -> list[tuple[str, str]]:
    """(username, workspace) for `users` officers, the Ambito's comuni in turn, each with
    write access to their comune's workspace (and read access to the shared one)."""
    store.ensure_default_workspaces()
    comuni = [w.id for w in store.list_workspaces() if w.kind == "comune"]
    accounts = []
    for n in range(users):
        username, workspace = f"ufficio{n:02d}", comuni[n % len(comuni)]
        if store.get_user(username) is None:
            store.add_user(username, password, "officer")
            store.grant(username, workspace, can_write=True)
        accounts.append((username, workspace))
    return accounts


@contextmanager
def sample_app(
    root: Path, users: int, provider: str = "extractive"
) -> Iterator[tuple[str, EuroAssist, list[tuple[str, str]]]]:
    """The logged-in web app on loopback over a fresh index of the sample corpus, with
    `users` officer accounts: yields (url, assistant, accounts)."""
    from ui.app import serve

    settings = Settings(
        data_dir=root / "data", llm_provider=provider, calls_dir=REPO / "corpus" / "calls"
    )
    assistant = EuroAssist(settings)
    results = assistant.ingest(SAMPLE_CORPUS)
    failed = [(r.path, r.reason) for r in results if r.status == "failed"]
    if failed:
        raise RuntimeError(f"sample corpus not indexed: {failed}")
    store = OfficeStore(settings.database)
    accounts = officers(store, users)
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False, store=store)
    try:
        yield f"http://127.0.0.1:{port}/", assistant, accounts
    finally:
        app.close()


def run_mixed(
    url: str,
    accounts: list[tuple[str, str]],
    seconds: float,
    workdir: Path,
    max_rounds: int = MAX_ROUNDS,
    password: str = PASSWORD,
    grace: float = 600.0,
) -> MixedResult:
    """Every account loops over chat, retrieve, upload and documents until `max_rounds`
    rounds or `seconds` have passed (a call started before the end is finished)."""
    result = MixedResult(
        users=len(accounts), seconds=seconds, latencies={op: [] for op in OPERATIONS}
    )
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def fail(operation: str, message: str) -> None:
        with lock:
            result.errors.append(f"{operation}: {message[:300]}")

    def timed(operation: str, call):
        started = time.perf_counter()
        try:
            value = call()
        except Exception as error:  # counted and reported, never fatal to the run
            fail(operation, f"{type(error).__name__}: {error}")
            return None
        with lock:
            result.latencies[operation].append(time.perf_counter() - started)
        return value

    def answered(outputs) -> bool:
        """/ask returns (chat messages, export file): the answer is the second message."""
        chat = outputs[0] if outputs else []
        return len(chat) >= 2 and bool(text_of(chat[1]["content"]).strip())

    def session(number: int, username: str, workspace: str) -> None:
        # httpx's 5 s default is too short when 20 users log in at once: each login is an
        # argon2 check (~0.1-0.5 s) that the web server runs one after another
        client = timed(
            "login",
            partial(
                Client,
                url,
                auth=(username, password),
                verbose=False,
                httpx_kwargs={"timeout": LOGIN_TIMEOUT_S},
            ),
        )
        if client is None:
            return
        folder = workdir / username
        folder.mkdir(parents=True, exist_ok=True)
        for turn in range(max_rounds):
            if time.perf_counter() >= deadline:
                return
            question = QUESTIONS[(number + turn) % len(QUESTIONS)]
            outputs = timed(
                "chat", partial(client.predict, question, [], [], [], workspace, api_name="/ask")
            )
            if outputs is not None:
                if answered(outputs):
                    with lock:
                        result.answers[username] += 1
                else:
                    fail("chat", f"{username}: empty answer to {question!r}")
            if time.perf_counter() >= deadline:
                return
            query, types = RETRIEVALS[(number + turn) % len(RETRIEVALS)]
            outputs = timed(
                "retrieve",
                partial(client.predict, query, [], types, [], workspace, api_name="/ask"),
            )
            if outputs is not None and not answered(outputs):
                fail("retrieve", f"{username}: nothing back for {query!r} in {types}")
            if time.perf_counter() >= deadline:
                return
            name = f"nota-carico-{username}-{turn:03d}.md"
            token = f"CARICO{number:02d}R{turn:03d}{uuid.uuid4().hex[:8].upper()}"
            path = folder / name
            path.write_text(
                f"# Nota di prova di carico {username} {turn}\n\n"
                f"Nota dell'ufficio comunale scritta durante la prova di carico, codice {token}. "
                "Il Punto di facilitazione digitale apre il lunedì mattina.\n",
                encoding="utf-8",
            )
            upload = Upload(username, workspace, name, token)
            with lock:
                result.uploads.append(upload)
            log = timed(
                "upload",
                partial(client.predict, [handle_file(str(path))], workspace, api_name="/add_files"),
            )
            if log is None:
                upload.status = "failed"
            elif f"**{name}**: added" not in str(log):
                upload.status = "failed"
                fail("upload", f"{username}: {name} not added: {log!r}")
            rows = timed("documents", partial(client.predict, api_name="/documents"))
            if rows is not None and upload.status == "sent":
                listed = any(
                    row[1] == name and row[3] == workspace and int(row[6] or 0) > 0
                    for row in rows["data"]
                )
                upload.status = "found" if listed else "lost"

    started = time.perf_counter()
    threads = [
        threading.Thread(target=session, args=(n, user, ws), daemon=True)
        for n, (user, ws) in enumerate(accounts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline + grace - time.perf_counter()))
    result.hung = sum(thread.is_alive() for thread in threads)
    result.elapsed = time.perf_counter() - started
    return result


def missing_from_index(assistant: EuroAssist, uploads: list[Upload]) -> list[Upload]:
    """Uploads reported added whose document is not in the index, in its workspace, with
    chunks holding its token."""
    documents = {
        (Path(d.source).name, d.metadata.get("workspace", "shared")): d
        for d in assistant.documents()
    }
    missing = []
    for upload in uploads:
        if upload.status == "failed":
            continue
        document = documents.get((upload.name, upload.workspace))
        chunks = assistant.index.catalog.document_chunks(document.doc_id) if document else []
        if not chunks or upload.token not in " ".join(c.text for c in chunks):
            missing.append(upload)
    return missing


def markdown_table(result: MixedResult) -> str:
    rows = []
    for op, row in result.summary().items():
        p50 = "–" if row["p50"] is None else f"{row['p50']:.2f}"
        p95 = "–" if row["p95"] is None else f"{row['p95']:.2f}"
        rows.append(f"| {op} | {row['count']} | {row['errors']} | {p50} | {p95} |")
    return (
        "| operation | calls | errors | latency p50 (s) | latency p95 (s) |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows)
    )
