"""The proposal tabs of the web page on loopback: gradio_client and headless Chromium."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from gradio_client import Client, handle_file
from test_web import ARTIFACTS, CHROMIUM, free_port

from ui.proposals import EXAMPLE_PROJECT

REPO = Path(__file__).resolve().parents[1]
CALL = "avviso-facilitazione-digitale-ambito-lecce"


@pytest.fixture(scope="module")
def web(sample_indexed):
    from ui.app import serve

    port = free_port()
    app = serve(sample_indexed, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


def test_eligibility_tab_gives_the_verdict_and_the_rules(web):
    client = Client(web, verbose=False)
    summary, table, download = client.predict(
        CALL, EXAMPLE_PROJECT, "shared", api_name="/eligibility"
    )
    assert "AMMISSIBILE" in summary and "NON" not in summary
    rows = table["data"]
    assert any(r[0] == "Contributo richiesto" and r[1] == "✓ sì" for r in rows)
    assert all(r[3] and r[4] for r in rows)  # every criterion quotes its rule and place
    over = EXAMPLE_PROJECT.replace("requested_contribution: 56710", "requested_contribution: 90000")
    summary, _, _ = client.predict(CALL, over, "shared", api_name="/eligibility")
    assert "NON AMMISSIBILE" in summary and "Contributo richiesto" in summary


def test_a_bad_profile_is_a_clear_error_not_a_crash(web):
    client = Client(web, verbose=False)
    with pytest.raises(Exception, match="applicant"):
        client.predict(CALL, "title: X\n", "shared", api_name="/eligibility")
    # the app is still up
    summary, _, _ = client.predict(CALL, EXAMPLE_PROJECT, "shared", api_name="/eligibility")
    assert "AMMISSIBILE" in summary


def test_calls_are_matched_to_the_project(web):
    client = Client(web, verbose=False)
    table, _ = client.predict(EXAMPLE_PROJECT, api_name="/match_calls")
    first = table["data"][0]
    assert CALL in first[1] and first[2] == "✓ ammissibile"


def test_draft_tab_writes_a_section_within_its_limit(web):
    client = Client(web, verbose=False)
    text, info = client.predict(CALL, "1", "it", EXAMPLE_PROJECT, api_name="/draft")
    assert "Arnesano" in text and len(text) <= 1500
    assert "/ 1.500 caratteri spazi inclusi" in info and "entro il limite" in info
    assert "[1]" in info or "[2]" in info


def test_skeletons_tab_returns_a_zip_of_word_and_markdown(web, tmp_path):
    rows = (REPO / "corpus" / "ideas" / "idee-ambito-lecce.csv").read_text().splitlines()
    ideas = tmp_path / "idee.csv"
    ideas.write_text("\n".join(rows[:3]) + "\n", encoding="utf-8")
    client = Client(web, verbose=False)
    log, archive = client.predict(
        CALL, handle_file(str(ideas)), "1", "shared", api_name="/skeletons"
    )
    assert log.count("- ✅ **") == 2 and "❌" not in log
    with zipfile.ZipFile(archive["value"] if isinstance(archive, dict) else archive) as bundle:
        names = sorted(bundle.namelist())
        assert names == ["01-lecce.docx", "01-lecce.md", "02-arnesano.docx", "02-arnesano.md"]
        document = Document(io.BytesIO(bundle.read("02-arnesano.docx")))
    assert any(p.text == "Sintesi del progetto" for p in document.paragraphs)


def test_each_tab_in_headless_chromium(web):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(web, wait_until="load")
        page.get_by_role("tab", name="Ammissibilità").click()
        page.locator("#check").click()
        page.wait_for_function(
            "() => document.querySelector('#verdict') && "
            "document.querySelector('#verdict').innerText.includes('AMMISSIBILE')",
            timeout=60_000,
        )
        page.screenshot(path=str(ARTIFACTS / "web-eligibility.png"), full_page=True)
        verdict = page.locator("#verdict").inner_text()
        page.get_by_role("tab", name="Bozza").click()
        page.locator("#draft").click()
        page.wait_for_function(
            "() => document.querySelector('#draft-info') && "
            "document.querySelector('#draft-info').innerText.includes('entro il limite')",
            timeout=120_000,
        )
        page.screenshot(path=str(ARTIFACTS / "web-draft.png"), full_page=True)
        draft = page.locator("#draft-text textarea").input_value()
        browser.close()
    assert "AMMISSIBILE" in verdict
    assert "Arnesano" in draft


@pytest.mark.parametrize(
    ("language", "present", "absent"),
    [
        ("it", ["Ammissibilità", "Spazio di lavoro"], ["Eligibility"]),
        (
            "en",
            ["Eligibility", "Workspace", "Past projects"],
            ["Ammissibilità", "Spazio di lavoro"],
        ),
    ],
)
def test_the_page_is_italian_by_default_and_english_on_request(
    sample_indexed, language, present, absent
):
    import json

    from assistant.core import EuroAssist
    from ui.app import build_app

    settings = sample_indexed.settings.model_copy(update={"ui_language": language})
    config = json.dumps(build_app(EuroAssist(settings)).config, ensure_ascii=False, default=str)
    for word in present:
        assert word in config, word
    for word in absent:
        assert word not in config, word
