"""The shared office on the web: login required everywhere, and a user of comune A never gets
a chunk, a file, a chat or a draft of comune B, through any endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from test_web import ARTIFACTS, CHROMIUM, free_port, text_of
from test_workspaces import LECCE, SHARED, SURBO

from assistant.core import EuroAssist
from assistant.office import OfficeStore
from assistant.settings import Settings

PASSWORD = {"mario": "lecce-password-1", "sara": "surbo-password-1"}
CALL = "avviso-facilitazione-digitale-ambito-lecce"
LECCE_CHAT = "Quale biblioteca di Lecce ospita il Punto di facilitazione con apertura serale?"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    from ui.app import serve

    root = tmp_path_factory.mktemp("office-web")
    settings = Settings(
        data_dir=root / "data", llm_provider="extractive", calls_dir=REPO / "corpus" / "calls"
    )
    assistant = EuroAssist(settings)
    for name, text in (("shared", SHARED), ("lecce", LECCE), ("surbo", SURBO)):
        folder = root / name
        folder.mkdir()
        (folder / f"nota-{name}.md").write_text(text, encoding="utf-8")
        assert [r.status for r in assistant.ingest([folder], workspace=name)] == ["added"]
    store = OfficeStore(settings.database)
    store.ensure_default_workspaces()
    for user, workspace in (("mario", "lecce"), ("sara", "surbo")):
        store.add_user(user, PASSWORD[user], "officer")
        store.grant(user, workspace, can_write=True)
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False, store=store)
    yield f"http://127.0.0.1:{port}/", assistant, store, root
    app.close()


def client(url: str, user: str) -> Client:
    return Client(url, auth=(user, PASSWORD[user]), verbose=False)


def test_without_login_every_endpoint_gives_nothing(office):
    url, _, _, _ = office
    for path in ("config", "gradio_api/info", "gradio_api/file=/etc/passwd"):
        assert httpx.get(url + path).status_code == 401, path
    for api in ("ask", "documents", "eligibility", "draft", "add_files", "admin_users"):
        response = httpx.post(f"{url}gradio_api/call/{api}", json={"data": []})
        assert response.status_code == 401, api
    assert (
        httpx.post(url + "gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 401
    )
    with pytest.raises(Exception, match="credentials|login|Login"):
        Client(url, verbose=False)
    with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a bare ValueError)
        Client(url, auth=("mario", "wrong-password"), verbose=False)


def test_a_lecce_officer_gets_no_surbo_chunk_in_chat_or_documents(office):
    url, _, _, _ = office
    mario = client(url, "mario")
    history, _ = mario.predict(
        "Quale biblioteca di Giorgilorio ospita il Punto di facilitazione digitale?",
        [],
        [],
        [],
        "lecce",
        api_name="/ask",
    )
    everything = " ".join(text_of(m["content"]) for m in history)
    assert "Surbo" not in everything and "nota-surbo.md" not in everything
    documents = mario.predict(api_name="/documents")["data"]
    assert {row[3] for row in documents} == {"shared", "lecce"}
    sara_documents = client(url, "sara").predict(api_name="/documents")["data"]
    assert {row[3] for row in sara_documents} == {"shared", "surbo"}


def test_a_lecce_officer_cannot_write_or_remove_in_surbo(office, tmp_path):
    url, assistant, _, _ = office
    mario = client(url, "mario")
    surbo_doc = next(d for d in assistant.documents() if d.metadata["workspace"] == "surbo")
    with pytest.raises(Exception, match="Nessun documento"):
        mario.predict(surbo_doc.doc_id, api_name="/remove_document")
    note = tmp_path / "intruso.md"
    note.write_text("# Nota\n\nTesto.", encoding="utf-8")
    with pytest.raises(Exception, match="surbo"):
        mario.predict([handle_file(str(note))], "surbo", api_name="/add_files")
    assert surbo_doc.doc_id in {d.doc_id for d in assistant.documents()}
    assert "intruso.md" not in {Path(d.source).name for d in assistant.documents()}


def test_chats_and_drafts_stay_in_their_workspace(office):
    url, _, store, _ = office
    mario, sara = client(url, "mario"), client(url, "sara")
    mario.predict("Che cosa prevede la nota interna?", [], [], [], "lecce", api_name="/ask")
    chats = store.list_chats("mario", "lecce")
    assert chats and chats[0].title.startswith("Che cosa prevede")
    with pytest.raises(PermissionError):
        store.list_chats("sara", "lecce")
    saved, history = mario.predict(
        "lecce",
        CALL,
        "1",
        "Bozza di Lecce: Punto in biblioteca.",
        "prima stesura",
        api_name="/save_draft",
    )
    assert "Versione 1" in saved and "mario" in history and "prima stesura" in history
    # Sara asks for Lecce's draft through the API, naming the workspace herself
    assert sara.predict("lecce", CALL, "1", api_name="/draft_history") == ""
    with pytest.raises(Exception, match="lecce"):
        sara.predict("lecce", CALL, "1", "Testo di Sara", "", api_name="/save_draft")
    with pytest.raises(Exception, match="lecce"):
        sara.predict("lecce", CALL, "1", "commento", api_name="/comment_draft")
    # Sara's own draft of the same section in Surbo is separate
    saved, _ = sara.predict("surbo", CALL, "1", "Bozza di Surbo.", "", api_name="/save_draft")
    assert "Versione 1" in saved and "surbo" in saved


def test_only_admins_manage_users(office):
    url, _, store, _ = office
    with pytest.raises(Exception, match="amministratori"):
        client(url, "mario").predict(api_name="/admin_users")
    store.add_user("anna", "admin-password-1", "admin")
    admin = Client(url, auth=("anna", "admin-password-1"), verbose=False)
    rows = admin.predict(api_name="/admin_users")["data"]
    assert {r[0] for r in rows} >= {"mario", "sara", "anna"}
    assert all("password" not in str(r).lower() and "$argon2" not in str(r) for r in rows)


def test_login_is_rate_limited(office):
    url, _, store, _ = office
    store.add_user("luca", "luca-password-1", "consultant")
    for _ in range(6):
        httpx.post(url + "login", data={"username": "luca", "password": "nope"})
    locked = httpx.post(url + "login", data={"username": "luca", "password": "luca-password-1"})
    assert locked.status_code != 200 or "success" not in locked.text.lower()
    user = store.get_user("luca")
    assert user.locked_until is not None


def test_two_comuni_in_headless_chromium(office):
    from playwright.sync_api import sync_playwright

    url, _, _, _ = office
    ARTIFACTS.mkdir(exist_ok=True)
    seen, chats_seen = {}, {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for user in ("mario", "sara"):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url, wait_until="load")
            page.locator("input[data-testid=textbox]").first.fill(user)
            page.locator("input[data-testid=password]").first.fill(PASSWORD[user])
            page.get_by_role("button", name="Login").click()
            page.wait_for_selector("#question textarea", timeout=60_000)
            page.wait_for_function(
                f"() => document.querySelector('#who') && document.querySelector('#who').innerText.includes('{user}')",
                timeout=30_000,
            )
            if user == "mario":  # a chat saved in Lecce, which Sara must not see
                page.locator("#question textarea").fill(LECCE_CHAT)
                page.locator("#send").click()
                page.wait_for_function(
                    "() => document.querySelector('#chat').innerText.includes('nota-lecce.md')",
                    timeout=60_000,
                )
                page.wait_for_timeout(1500)  # the saved-chats list refreshes after the answer
            page.locator("#saved-chats input").click()
            page.wait_for_timeout(800)
            options = page.locator("#saved-chats [data-testid=dropdown-option]")
            chats_seen[user] = " | ".join(
                options.nth(i).get_attribute("aria-label") or "" for i in range(options.count())
            )
            page.keyboard.press("Escape")
            for tab in (
                "Progetto",
                "Bandi",
                "Ammissibilità",
                "Bozza",
                "Schede progetto",
                "Progetti passati",
            ):
                page.get_by_role("tab", name=tab, exact=True).click()
                page.screenshot(path=str(ARTIFACTS / f"web-{user}-{tab.split()[0].lower()}.png"))
            page.get_by_role("tab", name="Documenti", exact=True).click()
            page.get_by_role("button", name="Aggiorna l'elenco").click()
            page.wait_for_function(
                "() => document.body.innerText.includes('nota-shared.md')", timeout=30_000
            )
            page.screenshot(path=str(ARTIFACTS / f"web-{user}-documenti.png"), full_page=True)
            seen[user] = page.locator("body").inner_text()
        browser.close()
    assert "nota-lecce.md" in seen["mario"] and "nota-surbo.md" not in seen["mario"]
    assert "nota-surbo.md" in seen["sara"] and "nota-lecce.md" not in seen["sara"]
    assert LECCE_CHAT[:40] in chats_seen["mario"]
    assert LECCE_CHAT[:40] not in chats_seen["sara"]


def test_eligibility_results_are_saved_in_the_workspace(office):
    from ui.proposals import EXAMPLE_PROJECT

    url, _, store, _ = office
    summary, _, _ = client(url, "mario").predict(
        CALL, EXAMPLE_PROJECT, "lecce", api_name="/eligibility"
    )
    assert "salvato nello spazio «lecce»" in summary
    saved = store.list_eligibility("mario", "lecce")
    assert saved and saved[-1].call_id == CALL
    with pytest.raises(PermissionError):
        store.list_eligibility("sara", "lecce")
    # asking to save in a workspace she cannot write: checked, nothing saved there
    summary, _, _ = client(url, "sara").predict(
        CALL, EXAMPLE_PROJECT, "lecce", api_name="/eligibility"
    )
    assert "salvato" not in summary
    assert len(store.list_eligibility("mario", "lecce")) == len(saved)


def test_a_saved_chat_reopens_for_its_workspace_only(office):
    url, _, store, _ = office
    mario = client(url, "mario")
    mario.predict("Dove si trova il Punto di Lecce?", [], [], [], "lecce", api_name="/ask")
    chat = store.list_chats("mario", "lecce")[0]
    history = mario.predict(chat.id, api_name="/reopen_chat")
    assert [m["role"] for m in history[:2]] == ["user", "assistant"]
    assert "Lecce" in text_of(history[0]["content"])
    with pytest.raises(Exception, match="cannot read workspace lecce"):
        client(url, "sara").predict(chat.id, api_name="/reopen_chat")
