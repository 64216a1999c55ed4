"""Security of the web app and the CLI: headers on every response, a limit on failed logins
per address, and secrets (the LLM key, passwords, the database password) that never reach
logs, answers or exported files.

Everything runs for real: the app on loopback, HTTP requests, headless Chromium, SQLite, and
an OpenAI-compatible server on loopback that rejects the key and echoes it back in its error.
"""

from __future__ import annotations

import json
import logging
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from test_web import ARTIFACTS, CHROMIUM, free_port, text_of
from typer.testing import CliRunner

from assistant.core import EuroAssist
from assistant.feedback import FeedbackStore
from assistant.office import OfficeStore
from assistant.settings import Settings, get_settings
from ui.proposals import EXAMPLE_PROJECT
from ui.server import CONTENT_SECURITY_POLICY, LoginLimiter

REPO = Path(__file__).resolve().parents[1]
CALL = "avviso-facilitazione-digitale-ambito-lecce"
KEY = "sk-test-EUROASSIST-9f8e7d6c5b4a3210"
PASSWORD = "mario-Passw0rd-segreta"
WRONG = "mario-sbagliata-Xq7"
DB_PASSWORD = "s3cretPW-db-77"
QUESTION = "Chi può presentare domanda per la facilitazione digitale?"
LIMIT = 4
LOGGERS = (
    "",
    "gradio",
    "httpx",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "langchain",
    "langchain_openai",
    "openai",
    "sqlalchemy.engine",
    "multipart",
    "python_multipart",
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class EchoingLlmServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that refuses every key and puts it in the error."""

    seen: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization", "")
        EchoingLlmServer.seen.append(auth)
        body = json.dumps({"error": {"message": f"{auth} rejected", "type": "invalid_key"}})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llm_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingLlmServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def debug_log(tmp_path_factory):
    """Every logger of the stack at DEBUG, into one file."""
    path = tmp_path_factory.mktemp("logs") / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = {name: logging.getLogger(name).level for name in LOGGERS}

    def attach() -> None:  # after launch: uvicorn configures its own loggers then
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.DEBUG)
            if handler not in logger.handlers:
                logger.addHandler(handler)

    yield path, attach
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).removeHandler(handler)
    handler.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, llm_server, debug_log):
    from ui.app import serve

    root = tmp_path_factory.mktemp("security-web")
    settings = Settings(
        data_dir=root / "data",
        calls_dir=REPO / "corpus" / "calls",
        llm_provider="openai",
        openai_base_url=llm_server,
        openai_api_key=KEY,
        llm_timeout_s=10,
    )
    assistant = EuroAssist(settings)
    calls = sorted((REPO / "corpus" / "calls").glob("*.md"))
    results = assistant.ingest(calls)
    assert all(r.status == "added" for r in results), [(r.path, r.reason) for r in results]
    store = OfficeStore(settings.database)
    store.ensure_default_workspaces()
    store.add_user("mario", PASSWORD, "officer")
    store.grant("mario", "lecce", can_write=True)
    clock = FakeClock()
    limiter = LoginLimiter(LIMIT, window_s=60, clock=clock)
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False, store=store, limiter=limiter)
    debug_log[1]()
    yield f"http://127.0.0.1:{port}/", assistant, clock
    app.close()


def logged_in(url: str, address: str = "127.0.0.1") -> httpx.Client:
    client = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address))
    response = client.post("login", data={"username": "mario", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def assert_secure_headers(response: httpx.Response, cacheable: bool = False) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path}"
    assert headers["x-content-type-options"] == "nosniff", where
    assert headers["x-frame-options"] == "DENY", where
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, where
    assert headers["referrer-policy"] == "no-referrer", where
    assert "camera=()" in headers["permissions-policy"], where
    assert "microphone=()" in headers["permissions-policy"], where
    assert "geolocation=()" in headers["permissions-policy"], where
    assert headers["cross-origin-opener-policy"] == "same-origin", where
    if not cacheable:
        assert headers["cache-control"] == "no-store", where


# -- headers ---------------------------------------------------------------------------


def test_content_security_policy_is_strict_where_it_can_be():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "*" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_every_response_has_the_security_headers(site):
    url, _, _ = site
    page = httpx.get(url)
    assert page.status_code == 200
    assert_secure_headers(page)
    asset = next(part.split('"')[0] for part in page.text.split('src="./assets/')[1:])
    script = httpx.get(f"{url}assets/{asset}")
    assert script.status_code == 200
    assert_secure_headers(script, cacheable=True)
    for path in ("config", "gradio_api/info", "gradio_api/file=/etc/passwd"):
        refused = httpx.get(url + path)
        assert refused.status_code == 401, path
        assert_secure_headers(refused)
    refused = httpx.post(f"{url}gradio_api/call/ask", json={"data": []})
    assert refused.status_code == 401
    assert_secure_headers(refused)

    login = httpx.post(url + "login", data={"username": "mario", "password": PASSWORD})
    assert login.status_code == 200
    assert_secure_headers(login)
    cookies = login.headers.get_list("set-cookie")
    assert len(cookies) == 2
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=lax" in flags, cookie
        assert "samesite=none" not in flags, cookie

    client = logged_in(url)
    for path in ("", "config", "gradio_api/info"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secure_headers(response)
    upload = client.post("gradio_api/upload", files={"files": ("nota.txt", b"testo")})
    assert upload.status_code == 200
    assert_secure_headers(upload)
    downloaded = client.get(f"gradio_api/file={upload.json()[0]}")
    assert downloaded.status_code == 200 and downloaded.content == b"testo"
    assert_secure_headers(downloaded)


def test_the_page_works_under_the_policy_in_headless_chromium(site):
    from playwright.sync_api import sync_playwright

    url, _, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    violations, framed = [], None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => "
            "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))"
        )
        page.goto(url, wait_until="load")
        page.locator("input[data-testid=textbox]").first.fill("mario")
        page.locator("input[data-testid=password]").first.fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#send").click()
        page.wait_for_function(
            "() => document.querySelector('#chat').innerText.includes('[1]')", timeout=60_000
        )
        page.get_by_role("tab", name="Bozza", exact=True).click()
        page.screenshot(path=str(ARTIFACTS / "web-security-csp.png"))
        chat = page.locator("#chat").inner_text()
        # another site framing the app gets an empty frame
        other = browser.new_page()
        other.set_content(f'<iframe id="app" src="{url}" width="600" height="400"></iframe>')
        other.wait_for_timeout(1500)
        frame = other.frame_locator("#app")
        framed = frame.locator("input[data-testid=password]").count()
        browser.close()
    assert "[1]" in chat
    assert violations == []
    assert framed == 0


# -- the login limit -------------------------------------------------------------------


def fail(limiter: LoginLimiter, client: str) -> float:
    wait = limiter.begin(client)
    if not wait:
        limiter.end(client, succeeded=False)
    return wait


def test_the_limiter_counts_each_address_on_its_own():
    clock = FakeClock()
    limiter = LoginLimiter(3, window_s=60, clock=clock)
    assert [fail(limiter, "10.0.0.1") for _ in range(3)] == [0, 0, 0]
    assert limiter.begin("10.0.0.1") == pytest.approx(60)
    assert fail(limiter, "10.0.0.2") == 0  # another address: its own count
    clock.now += 30
    assert limiter.begin("10.0.0.1") == pytest.approx(30)
    for _ in range(5):  # good passwords are not counted
        assert limiter.begin("10.0.0.2") == 0
        limiter.end("10.0.0.2", succeeded=True)
    assert [fail(limiter, "10.0.0.2") for _ in range(2)] == [0, 0]
    assert limiter.begin("10.0.0.2") > 0
    clock.now += 30.5
    assert fail(limiter, "10.0.0.1") == 0


def test_logins_in_flight_are_not_failures_but_are_bounded():
    limiter = LoginLimiter(3, window_s=60, clock=FakeClock(), max_in_flight=20)
    # twenty officers behind one address logging in together
    assert [limiter.begin("10.0.0.9") for _ in range(20)] == [0] * 20
    assert limiter.begin("10.0.0.9") > 0  # a burst beyond that waits
    for _ in range(20):
        limiter.end("10.0.0.9", succeeded=True)
    assert limiter.begin("10.0.0.9") == 0


def test_failed_logins_from_one_address_get_429_then_the_window_passes(site):
    url, _, clock = site
    clock.now += 3600  # nothing left from earlier tests
    attacker = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    # good passwords are not counted: a whole office behind one address can log in
    for _ in range(LIMIT + 2):
        logged_in(url, "127.0.0.2")
    names = [f"utente{i}" for i in range(LIMIT)]
    for name in names:  # one address trying many usernames
        response = attacker.post("login", data={"username": name, "password": "indovina"})
        assert response.status_code == 400
    blocked = attacker.post("login", data={"username": "mario", "password": PASSWORD})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert "Troppi tentativi" in blocked.json()["detail"]
    assert_secure_headers(blocked)
    # another address is not affected
    logged_in(url, "127.0.0.3")
    other = httpx.post(url + "login", data={"username": "utente0", "password": "indovina"})
    assert other.status_code == 400
    clock.now += 61
    assert attacker.post("login", data={"username": "mario", "password": PASSWORD}).is_success


def test_the_store_still_locks_an_account_after_five_wrong_passwords(site):
    url, assistant, clock = site
    store = OfficeStore(assistant.settings.database)
    store.add_user("luca", "luca-Password-1", "consultant")
    for address in ("127.0.0.4", "127.0.0.5"):  # spread over addresses: under the limit
        client = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address))
        for _ in range(3):
            assert (
                client.post("login", data={"username": "luca", "password": "no"}).status_code == 400
            )
    right = httpx.post(url + "login", data={"username": "luca", "password": "luca-Password-1"})
    assert right.status_code == 400
    assert store.get_user("luca").locked_until is not None


# -- secrets ---------------------------------------------------------------------------


def secrets_in(text: str) -> list[str]:
    return [s for s in (KEY, PASSWORD, WRONG, DB_PASSWORD) if s in text]


def test_secrets_stay_out_of_logs_answers_and_exports(site, debug_log, capfd, tmp_path):
    url, assistant, clock = site
    clock.now += 3600
    log_path, _ = debug_log
    assert httpx.post(url + "login", data={"username": "mario", "password": WRONG}).status_code
    mario = Client(url, auth=("mario", PASSWORD), verbose=False)
    EchoingLlmServer.seen.clear()
    history, exported = mario.predict(QUESTION, [], [], [], "lecce", api_name="/ask")
    assert EchoingLlmServer.seen and KEY in EchoingLlmServer.seen[0]  # the key was used
    answer = " ".join(text_of(m["content"]) for m in history)
    assert "non è disponibile" in answer and "401" in answer  # the fallback says why
    markdown = Path(exported["value"] if isinstance(exported, dict) else exported)
    texts = {"answer": answer, "markdown export": markdown.read_text(encoding="utf-8")}

    events = list(assistant.answer_stream(QUESTION))
    library_answer = events[-1].answer
    texts["library answer"] = library_answer.model_dump_json()
    FeedbackStore(assistant.settings.database).add(library_answer, -1, "non va")
    feedback = mario.predict(api_name="/export_feedback")
    feedback = Path(feedback["value"] if isinstance(feedback, dict) else feedback)
    texts["feedback export"] = feedback.read_text(encoding="utf-8")
    assert "non va" in texts["feedback export"]

    text, info = mario.predict(CALL, "1", "it", EXAMPLE_PROJECT, api_name="/draft")
    texts["draft"] = text + info
    assert "[chiave nascosta]" in info  # the server's error is shown, without the key
    saved, draft_history = mario.predict(
        "lecce", CALL, "1", text, "prima stesura", api_name="/save_draft"
    )
    texts["saved draft"] = saved + draft_history
    rows = (REPO / "corpus" / "ideas" / "idee-ambito-lecce.csv").read_text().splitlines()
    ideas = tmp_path / "idee.csv"
    ideas.write_text("\n".join(rows[:2]) + "\n", encoding="utf-8")
    log, archive = mario.predict(CALL, handle_file(str(ideas)), "1", "lecce", api_name="/skeletons")
    texts["skeleton log"] = log
    with zipfile.ZipFile(archive["value"] if isinstance(archive, dict) else archive) as bundle:
        assert bundle.namelist()
        for name in bundle.namelist():
            texts[f"skeleton {name}"] = bundle.read(name).decode("utf-8", "replace")

    out, err = capfd.readouterr()
    texts["stdout"], texts["stderr"] = out, err
    logged = log_path.read_text(encoding="utf-8")
    assert "POST" in logged and "gradio" in logged  # the log did record the requests
    texts["debug log"] = logged
    assert {where: secrets_in(text) for where, text in texts.items() if secrets_in(text)} == {}


def test_an_error_of_the_openai_provider_hides_the_key(llm_server):
    import traceback

    from assistant.llm import LlmUnavailable, load_chat_model

    chat = load_chat_model(
        Settings(llm_provider="openai", openai_base_url=llm_server, openai_api_key=KEY)
    )
    EchoingLlmServer.seen.clear()
    with pytest.raises(LlmUnavailable) as caught:
        list(chat.stream([], max_tokens=5, temperature=0.0))
    assert EchoingLlmServer.seen == [f"Bearer {KEY}"]
    shown = "".join(traceback.format_exception(caught.value))
    assert "401" in str(caught.value) and "[chiave nascosta]" in str(caught.value)
    assert secrets_in(shown) == [] and secrets_in(repr(caught.value)) == []


def test_settings_never_show_the_key_or_the_database_password():
    settings = Settings(
        openai_api_key=KEY,
        database_url=f"postgresql+psycopg://euro:{DB_PASSWORD}@127.0.0.1:1/euroassist",
    )
    assert settings.database.endswith(f":{DB_PASSWORD}@127.0.0.1:1/euroassist")
    for shown in (
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
    ):
        assert secrets_in(shown) == []
    assert Settings(database_url="").database.startswith("sqlite:///")


@pytest.fixture
def cli_env(tmp_path, monkeypatch, debug_log):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EUROASSIST_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("EUROASSIST_LLM_PROVIDER", "extractive")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def run_cli(*args: str, input: str | None = None):
    from assistant.cli import app

    result = CliRunner().invoke(app, list(args), input=input)
    return result.output  # stdout and stderr, as the terminal shows them


def test_the_cli_shows_no_secret(cli_env, debug_log, tmp_path, monkeypatch):
    log_path, attach = debug_log
    attach()
    outputs = {}
    outputs["help"] = run_cli("--help")
    outputs["models list"] = run_cli("models", "list")
    outputs["status"] = run_cli("status")
    missing = tmp_path / "manca.pdf"
    outputs["ingest error"] = run_cli("ingest", str(missing))
    outputs["users add"] = run_cli("users", "add", "mario", "--password-stdin", input=PASSWORD)
    assert "added mario" in outputs["users add"]
    monkeypatch.setenv("EUROASSIST_PASSWORD", WRONG)
    outputs["wrong login"] = run_cli("--user", "mario", "status")
    assert "wrong password" in outputs["wrong login"]

    # the first start of the web app: the generated admin password is shown once, on the
    # terminal, and in no log
    import ui.app

    started = {}
    monkeypatch.setattr(ui.app, "serve", lambda *a, **k: started.update(k))
    outputs["web"] = run_cli("web", "--port", "1")
    assert started["store"] is not None and "admin" in outputs["web"]
    shown = outputs["web"].split("password ")[1].split()[0]
    assert len(shown) >= 16 and outputs["web"].count(shown) == 1
    assert shown not in log_path.read_text(encoding="utf-8")

    # a database URL with a password, a server that does not answer
    monkeypatch.setenv(
        "EUROASSIST_DATABASE_URL", f"postgresql+psycopg://euro:{DB_PASSWORD}@127.0.0.1:1/db"
    )
    get_settings.cache_clear()
    outputs["users list, no database"] = run_cli("users", "list")
    assert "database:" in outputs["users list, no database"]
    outputs["users add, no database"] = run_cli(
        "users", "add", "anna", "--password-stdin", input=PASSWORD
    )
    monkeypatch.setenv("EUROASSIST_DATABASE_URL", f"postgresql+psycopg://euro:{DB_PASSWORD}@/")
    get_settings.cache_clear()
    outputs["users list, bad URL"] = run_cli("users", "list")
    outputs["log"] = log_path.read_text(encoding="utf-8")
    assert {k: secrets_in(v) for k, v in outputs.items() if secrets_in(v)} == {}
