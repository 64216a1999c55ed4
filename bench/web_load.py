"""Answers per minute on the web app under 1, 4 and 8 concurrent users; and, with
`--mixed`, N users mixing chat, retrieval and uploads.

    python -m bench.web_load [--providers extractive,llamacpp] [--seconds 60]
    python -m bench.web_load --mixed [--users 20] [--seconds 120]

Starts the web app on loopback (with login) over the real-corpus index of
bench.retrieval_quality (bench/out/data-real), then for each provider and each number of
users runs that many gradio_client sessions, each asking the dev questions in turn through
`/ask` until the time is up (bounded in time; a question started before the end is
finished). Reports answers per minute and per-answer latency p50/p95. Writes the
`web-load` section of docs/benchmarks.md.

`--mixed` starts the web app over a fresh index of the sample corpus (uploads must not
change the real-corpus index) with N officer accounts of the Ambito's comuni, and runs the
driver of bench/web_mixed.py (shared with tests/test_load.py): each user loops over chat,
retrieval, upload and the documents list. Reports calls, errors and latency p50/p95 per
operation and lost uploads; writes the `web-mixed` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client

from assistant.core import EuroAssist
from assistant.evaluation import load_questions
from assistant.office import OfficeStore
from assistant.settings import Settings
from bench.common import DEV_QUESTIONS, machine, require_shared, write_section
from bench.retrieval_quality import DATA
from bench.web_mixed import MAX_ROUNDS, markdown_table, missing_from_index, run_mixed, sample_app

USERS = (1, 4, 8)
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_users(url: str, users: int, seconds: float, questions: list[str]) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def session(number: int) -> None:
        client = Client(url, auth=(f"utente{number}", PASSWORD), verbose=False)
        turn = number
        while time.perf_counter() < deadline:
            question = questions[turn % len(questions)]
            turn += 1
            started = time.perf_counter()
            try:
                client.predict(question, [], [], [], "shared", api_name="/ask")
            except Exception as error:  # counted, reported
                with lock:
                    errors.append(type(error).__name__)
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=session, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "users": users,
        "answers": len(latencies),
        "per_minute": len(latencies) / elapsed * 60,
        "p50": statistics.median(ordered) if ordered else None,
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else None,
        "errors": len(errors),
    }


def mixed(users: int, seconds: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="web-mixed-"))
    load_before = os.getloadavg()[0]
    with sample_app(root, users) as (url, assistant, accounts):
        result = run_mixed(url, accounts, seconds, root / "uploads")
        missing = missing_from_index(assistant, result.uploads)
    print(result.as_dict(), flush=True)
    lost = {u.name for u in result.lost()} | {u.name for u in missing}
    failed = sum(u.status == "failed" for u in result.uploads)
    answers = [result.answers.get(user, 0) for user, _ in accounts]
    errors = "; ".join(sorted(set(result.errors))[:5]) or "none"
    body = f"""## Mixed load on the web app (`python -m bench.web_load --mixed`)

Machine: {machine()}; load average {load_before:.1f} before the run (the server and the 20
clients share the 2 cores).
The web app on loopback (login on, one queue worker), over a fresh index of the sample
corpus (`corpus/regulations`, `corpus/calls`, `corpus/projects`), extractive provider.
{users} gradio_client users, officers of the Ambito's {len({w for _, w in accounts})}
comuni in turn (each writes to their comune's workspace), log in at once (*login*: one
argon2 password check each) and loop for {seconds:.0f} s (at most
{MAX_ROUNDS} rounds; a call started before the end is finished) over: *chat* (`/ask`),
*retrieve* (`/ask` narrowed by document type: the app has no bare retrieval endpoint),
*upload* (`/add_files` of a small Markdown file with a unique token into the user's
workspace) and *documents* (`/documents`, which must list that upload with its passages).
Latency is per call, from request to complete response, queueing included.

{markdown_table(result)}

Uploads: {len(result.uploads)} sent, {failed} failed, **{len(lost)} lost** (not in the
documents list right after, or not in the index with its token after the run). Errors:
{len(result.errors)} ({errors}). Chat answers per user: {min(answers)} to {max(answers)};
users still running after the grace period: {result.hung}. Wall time
{result.elapsed:.0f} s.

The same driver, with the same 20 users for 120 s, is `tests/test_load.py` (zero errors, no
lost upload, every user answered).
"""
    write_section("web-mixed", body)
    print(body)


def main() -> None:
    from ui.app import serve

    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", default="extractive,llamacpp")
    parser.add_argument("--seconds", type=float, default=None, help="60; 120 with --mixed")
    parser.add_argument("--mixed", action="store_true", help="chat, retrieve and upload")
    parser.add_argument("--users", type=int, default=20, help="with --mixed")
    options = parser.parse_args()
    if options.mixed:
        mixed(options.users, options.seconds or 120)
        return
    options.seconds = options.seconds or 60
    require_shared()
    questions = [q.question for q in load_questions(DEV_QUESTIONS)]
    rows = []
    for provider in options.providers.split(","):
        database = Path(tempfile.mkdtemp(prefix="web-load-")) / "office.db"
        settings = Settings(
            data_dir=DATA, llm_provider=provider, database_url=f"sqlite:///{database}"
        )
        store = OfficeStore(settings.database)
        store.ensure_default_workspaces()
        for n in range(max(USERS)):
            store.add_user(f"utente{n}", PASSWORD, "consultant")
        assistant = EuroAssist(settings)
        model = assistant.chat_model
        label = provider if model is None else f"{provider} ({model.model})"
        port = free_port()
        app = serve(assistant, "127.0.0.1", port, block=False, store=store)
        try:
            for users in USERS:
                result = run_users(f"http://127.0.0.1:{port}/", users, options.seconds, questions)
                result["provider"] = label
                rows.append(result)
                print(result, flush=True)
        finally:
            app.close()
    table = "\n".join(
        f"| {r['provider']} | {r['users']} | {r['answers']} | {r['per_minute']:.1f} | "
        f"{r['p50']:.1f} | {r['p95']:.1f} | {r['errors']} |"
        if r["p50"] is not None
        else f"| {r['provider']} | {r['users']} | 0 | 0 | – | – | {r['errors']} |"
        for r in rows
    )
    body = f"""## Answers per minute on the web app (`python -m bench.web_load`)

Machine: {machine()}. The web app on loopback (login on, one queue worker: a local model
answers one question at a time), over the real-corpus index; N gradio_client sessions,
each logged in as its own user, ask the dev questions through `/ask` for
{options.seconds:.0f} s (a question started before the end is finished). Latency is per
answer, from request to the complete streamed answer, queueing included.

| provider | users | answers | answers / min | latency p50 (s) | latency p95 (s) | errors |
|---|---|---|---|---|---|---|
{table}
"""
    write_section("web-load", body)
    print(body)


if __name__ == "__main__":
    main()
