"""Accounts, workspaces and saved work: one contract, run on SQLite and on a real PostgreSQL
server that the tests start (they fail, never skip, when PostgreSQL cannot run)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import typer
from argon2 import PasswordHasher
from pgserver import PostgresServer, PostgresUnavailable
from typer.testing import CliRunner

from assistant.office import OfficeStore
from assistant.office.passwords import (
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from assistant.settings import get_settings

# Cheap parameters for the contract tests (hundreds of hashes); the hashing test and the
# CLI use the real defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PW = "una password lunga"
COMUNI = {
    "lecce",
    "arnesano",
    "cavallino",
    "lequile",
    "lizzanello",
    "monteroni-di-lecce",
    "san-cesario-di-lecce",
    "san-donato-di-lecce",
    "san-pietro-in-lama",
    "surbo",
}


@pytest.fixture(scope="session")
def postgres():
    try:
        server, problem = PostgresServer().start(), None
    except PostgresUnavailable as error:
        problem = str(error)
    if problem:  # a failure, not a skip: these tests are the proof that PostgreSQL works
        pytest.fail(f"PostgreSQL tests need a PostgreSQL server: {problem}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'office.db'}"
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(database_url):
    store = OfficeStore(database_url, hasher=FAST)
    store.ensure_default_workspaces()
    yield store
    store.close()


@pytest.fixture
def office(store):
    """An admin, an officer of Lecce, an officer of Surbo, a consultant for Lecce."""
    store.add_user("admin", PW, role="admin")
    store.add_user("anna", PW, role="officer", display_name="Anna (Lecce)")
    store.grant("anna", "lecce", can_write=True)
    store.add_user("sergio", PW, role="officer", display_name="Sergio (Surbo)")
    store.grant("sergio", "surbo", can_write=True)
    store.add_user("carla", PW, role="consultant")
    store.grant("carla", "lecce")
    return store


# -- passwords -------------------------------------------------------------------------


def test_password_hashing_with_the_default_argon2id():
    hashed = hash_password(PW)
    assert hashed != PW and PW not in hashed
    assert hashed.startswith("$argon2id$")
    assert hash_password(PW) != hashed  # salted
    assert verify_password(hashed, PW)
    assert not verify_password(hashed, PW + "!")
    assert not verify_password("not a hash", PW)
    assert not needs_rehash(hashed)
    assert needs_rehash(FAST.hash(PW))  # weaker parameters: upgraded at the next login
    generated = {generate_password() for _ in range(20)}
    assert len(generated) == 20 and all(len(p) >= 16 for p in generated)
    with pytest.raises(ValueError):
        generate_password(12)


# -- the store contract, on both backends ----------------------------------------------


def test_default_workspaces_are_the_shared_office_and_the_ten_comuni(store):
    slugs = {w.id for w in store.list_workspaces()}
    assert slugs == {"shared", *COMUNI}
    assert store.ensure_default_workspaces() == []  # idempotent
    monteroni = store.get_workspace("monteroni-di-lecce")
    assert (monteroni.kind, monteroni.comune) == ("comune", "Monteroni di Lecce")
    assert store.get_workspace("shared").kind == "shared"
    added = store.add_workspace("progetto-ats", "ATS Lecce-Surbo")
    assert added.kind == "shared"
    with pytest.raises(ValueError, match="exists"):
        store.add_workspace("lecce", "Lecce")
    with pytest.raises(ValueError, match="lowercase"):
        store.add_workspace("Bad Slug", "x")


def test_users_are_stored_without_their_password(store):
    user = store.add_user("M.Rossi", PW, role="officer", display_name="Mario Rossi")
    assert user.username == "m.rossi"
    assert store.get_user("M.ROSSI").display_name == "Mario Rossi"
    assert user.password_hash != PW and PW not in user.password_hash
    assert "hash" not in repr(user) and user.password_hash not in repr(user)
    with pytest.raises(ValueError, match="exists"):
        store.add_user("m.rossi", PW)
    with pytest.raises(ValueError, match="role"):
        store.add_user("x.y", PW, role="superuser")
    with pytest.raises(ValueError, match="too short"):
        store.add_user("x.y", "corta")
    with pytest.raises(ValueError, match="username"):
        store.add_user("no spaces allowed", PW)
    assert [u.username for u in store.list_users()] == ["m.rossi"]
    store.set_role("m.rossi", "consultant")
    assert store.get_user("m.rossi").role == "consultant"


def test_authenticate_locks_the_account_after_five_failures(store):
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    store.clock = lambda: now[0]
    store.add_user("anna", PW)
    assert store.authenticate("anna", PW).username == "anna"
    assert store.authenticate("ANNA", PW) is not None
    assert store.authenticate("nobody", PW) is None
    for _ in range(4):
        assert store.authenticate("anna", "sbagliata!") is None
    assert store.authenticate("anna", PW) is not None  # 4 failures: a success resets them
    for _ in range(5):
        assert store.authenticate("anna", "sbagliata!") is None
    assert store.get_user("anna").locked_until == now[0] + timedelta(minutes=5)
    assert store.authenticate("anna", PW) is None  # locked: even the right password
    now[0] += timedelta(minutes=4, seconds=59)
    assert store.authenticate("anna", PW) is None
    now[0] += timedelta(seconds=2)
    assert store.authenticate("anna", PW) is not None  # the lock expired
    for _ in range(5):
        store.authenticate("anna", "sbagliata!")
    store.set_password("anna", "una nuova password")  # an admin's reset lifts the lock
    assert store.authenticate("anna", "una nuova password") is not None
    assert store.authenticate("anna", PW) is None
    store.deactivate("anna")
    assert store.authenticate("anna", "una nuova password") is None


def test_access_rules_for_each_role(office):
    everything = {"shared", *COMUNI}
    assert office.readable_workspaces("admin") == everything
    assert office.writable_workspaces("admin") == everything
    assert office.readable_workspaces("anna") == {"shared", "lecce"}
    assert office.writable_workspaces("anna") == {"lecce"}  # shared: read only unless granted
    assert office.readable_workspaces("carla") == {"shared", "lecce"}
    assert office.writable_workspaces("carla") == set()
    office.grant("anna", "shared", can_write=True)
    office.grant("anna", "cavallino")
    assert office.writable_workspaces("anna") == {"lecce", "shared"}
    assert office.readable_workspaces("anna") == {"shared", "lecce", "cavallino"}
    with pytest.raises(ValueError, match="consultant"):
        office.grant("carla", "lecce", can_write=True)
    with pytest.raises(LookupError):
        office.grant("anna", "atlantide")
    office.add_workspace("nuovo", "Nuovo spazio")
    assert "nuovo" in office.writable_workspaces("admin")  # admin: every workspace, new ones too


def test_officer_of_lecce_cannot_read_or_write_surbo(office):
    chat = office.create_chat("sergio", "surbo", "Bando asili nido")
    office.add_message("sergio", chat.id, "user", "Quali spese sono ammissibili?")
    draft = office.create_draft("sergio", "surbo", "asili-nido", "1", "Contesto", text="Surbo ...")
    office.add_comment("sergio", draft.id, "da rivedere")
    office.save_eligibility("sergio", "surbo", "asili-nido", "eligible", {"verdict": "eligible"})
    office.save_skeleton_run("sergio", "surbo", "asili-nido", ["01-surbo.docx"])
    denied_read = "anna cannot read workspace surbo"
    for attempt in (
        lambda: office.list_chats("anna", "surbo"),
        lambda: office.get_chat("anna", chat.id),
        lambda: office.list_drafts("anna", "surbo"),
        lambda: office.get_draft("anna", draft.id),
        lambda: office.versions("anna", draft.id),
        lambda: office.comments("anna", draft.id),
        lambda: office.list_eligibility("anna", "surbo"),
        lambda: office.list_skeleton_runs("anna", "surbo"),
    ):
        with pytest.raises(PermissionError, match=denied_read):
            attempt()
    denied_write = "anna cannot write workspace surbo"
    for attempt in (
        lambda: office.create_chat("anna", "surbo"),
        lambda: office.add_message("anna", chat.id, "user", "ciao"),
        lambda: office.create_draft("anna", "surbo", "asili-nido", "2"),
        lambda: office.add_version("anna", draft.id, "testo"),
        lambda: office.add_comment("anna", draft.id, "nota"),
        lambda: office.save_eligibility("anna", "surbo", "c", "eligible", {}),
        lambda: office.save_skeleton_run("anna", "surbo", "c", []),
    ):
        with pytest.raises(PermissionError, match=denied_write):
            attempt()
    assert [v.number for v in office.versions("sergio", draft.id)] == [1]  # nothing was added
    assert office.list_chats("anna", "lecce") == []


def test_consultant_reads_shared_and_granted_and_writes_nothing(office):
    shared_chat = office.create_chat("admin", "shared", "Regolamento FSE+")
    lecce_draft = office.create_draft("anna", "lecce", "pnrr-m5", "2", "Obiettivi", text="...")
    office.create_chat("sergio", "surbo", "privata di Surbo")
    assert [c.id for c in office.list_chats("carla", "shared")] == [shared_chat.id]
    assert office.get_draft("carla", lecce_draft.id).title == "Obiettivi"
    assert [v.text for v in office.versions("carla", lecce_draft.id)] == ["..."]
    with pytest.raises(PermissionError, match="carla cannot read workspace surbo"):
        office.list_chats("carla", "surbo")
    for attempt in (
        lambda: office.create_chat("carla", "shared"),
        lambda: office.create_chat("carla", "lecce"),
        lambda: office.add_version("carla", lecce_draft.id, "mio testo"),
        lambda: office.add_comment("carla", lecce_draft.id, "commento"),
        lambda: office.save_eligibility("carla", "lecce", "c", "eligible", {}),
    ):
        with pytest.raises(PermissionError, match="carla cannot write workspace"):
            attempt()


def test_admin_reads_and_writes_everything(office):
    surbo = office.create_chat("sergio", "surbo", "Surbo")
    office.add_message("admin", surbo.id, "assistant", "risposta dell'admin")
    assert [m.content for m in office.get_chat("admin", surbo.id).messages] == [
        "risposta dell'admin"
    ]
    for workspace in ("shared", "lecce", "surbo", "san-pietro-in-lama"):
        draft = office.create_draft("admin", workspace, "c", "1", text="v1")
        assert office.add_version("admin", draft.id, "v2") == 2
        assert office.list_drafts("admin", workspace)[0].id == draft.id


def test_changes_to_access_apply_at_once_even_to_a_held_user(office):
    anna = office.authenticate("anna", PW)  # what a web session would keep
    assert office.create_chat(anna, "lecce").workspace_id == "lecce"
    office.revoke("anna", "lecce")
    with pytest.raises(PermissionError, match="anna cannot write workspace lecce"):
        office.create_chat(anna, "lecce")
    with pytest.raises(PermissionError, match="anna cannot read workspace lecce"):
        office.list_chats(anna, "lecce")
    assert office.revoke("anna", "lecce") is False
    office.grant("anna", "lecce", can_write=True)
    office.deactivate("anna")
    with pytest.raises(PermissionError, match="anna cannot read workspace shared"):
        office.list_chats(anna, "shared")
    with pytest.raises(PermissionError, match="not a user"):
        office.list_chats("ghost", "shared")


def test_chats_keep_messages_in_order_with_their_sources(office):
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    office.clock = lambda: now[0]
    first = office.create_chat("anna", "lecce", "Cofinanziamento")
    now[0] += timedelta(minutes=1)
    second = office.create_chat("anna", "lecce", "Visibilità")
    sources = [{"source": "reg-2021-1060.pdf", "page": 12, "section": "Art. 112 — tassi"}]
    now[0] += timedelta(minutes=1)
    office.add_message("anna", first.id, "user", "Qual è il tasso massimo?")
    office.add_message("anna", first.id, "assistant", "L'85 % [1]", sources=sources)
    chat = office.get_chat("carla", first.id)
    assert [(m.role, m.content) for m in chat.messages] == [
        ("user", "Qual è il tasso massimo?"),
        ("assistant", "L'85 % [1]"),
    ]
    assert chat.messages[1].sources == sources and chat.messages[0].sources == []
    assert chat.user.username == "anna" and chat.updated_at == now[0]
    assert chat.created_at.tzinfo is not None
    assert [c.id for c in office.list_chats("anna", "lecce")] == [first.id, second.id]
    with pytest.raises(ValueError, match="message role"):
        office.add_message("anna", first.id, "system", "x")
    with pytest.raises(LookupError):
        office.get_chat("anna", 999_999)
    office.add_user("luca", PW, role="officer")
    office.grant("luca", "lecce", can_write=True)
    with pytest.raises(PermissionError, match="luca cannot write chat"):
        office.add_message("luca", first.id, "user", "mi intrometto")


def test_draft_versions_are_numbered_with_their_authors_and_comments(office):
    office.add_user("luca", PW, role="officer")
    office.grant("luca", "lecce", can_write=True)
    draft = office.create_draft(
        "anna", "lecce", "pnrr-m5c2", "3.1", "Descrizione", text="prima stesura", note="bozza"
    )
    assert draft.author.username == "anna" and draft.call_id == "pnrr-m5c2"
    assert office.add_version("luca", draft.id, "seconda stesura", note="budget") == 2
    assert office.add_version("anna", draft.id, "terza stesura") == 3
    versions = office.versions("anna", draft.id)
    assert [(v.number, v.author.username, v.note, v.text) for v in versions] == [
        (1, "anna", "bozza", "prima stesura"),
        (2, "luca", "budget", "seconda stesura"),
        (3, "anna", "", "terza stesura"),
    ]
    times = [v.created_at for v in versions]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    empty = office.create_draft("anna", "lecce", "pnrr-m5c2", "3.2")
    assert office.versions("anna", empty.id) == []
    assert office.add_version("anna", empty.id, "uno") == 1

    office.add_comment("luca", draft.id, "manca il cronoprogramma", version=2)
    office.add_comment("anna", draft.id, "ok nel complesso")
    comments = office.comments("carla", draft.id)
    assert [(c.version, c.author.username, c.text) for c in comments] == [
        (2, "luca", "manca il cronoprogramma"),
        (None, "anna", "ok nel complesso"),
    ]
    with pytest.raises(LookupError, match="no version 9"):
        office.add_comment("anna", draft.id, "?", version=9)
    with pytest.raises(LookupError, match="no draft"):
        office.versions("anna", 999_999)
    assert [d.section_id for d in office.list_drafts("anna", "lecce", call_id="pnrr-m5c2")] == [
        "3.1",
        "3.2",
    ]


def test_concurrent_saves_of_a_draft_get_distinct_numbers(office):
    draft = office.create_draft("anna", "lecce", "c", "1")
    numbers: list[int] = []
    failures: list[BaseException] = []

    def save(author: str) -> None:
        try:
            for i in range(4):
                numbers.append(office.add_version(author, draft.id, f"{author} {i}"))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    office.add_user("luca", PW, role="officer")
    office.grant("luca", "lecce", can_write=True)
    threads = [threading.Thread(target=save, args=(name,)) for name in ("anna", "luca")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(numbers) == list(range(1, 9))
    assert [v.number for v in office.versions("admin", draft.id)] == list(range(1, 9))


def test_eligibility_results_and_skeleton_runs(office):
    result = {
        "verdict": "not_eligible",
        "failed": ["Contributo richiesto"],
        "results": [{"criterion": "Popolazione", "status": "pass", "detail": "≤ 5.000 ab."}],
    }
    office.save_eligibility(
        "anna", "lecce", "facilitazione-digitale", "not_eligible", result, "Punto digitale"
    )
    office.save_eligibility("anna", "lecce", "altro-bando", "eligible", {"verdict": "eligible"})
    saved = office.list_eligibility("carla", "lecce", call_id="facilitazione-digitale")
    assert len(saved) == 1
    assert (saved[0].verdict, saved[0].project_title, saved[0].user.username) == (
        "not_eligible",
        "Punto digitale",
        "anna",
    )
    assert saved[0].result == result
    assert len(office.list_eligibility("anna", "lecce")) == 2
    files = [{"project": "Arnesano", "path": "out/01-arnesano.docx"}, "out/01-arnesano.md"]
    office.save_skeleton_run("anna", "lecce", "facilitazione-digitale", files)
    runs = office.list_skeleton_runs("admin", "lecce")
    assert [(r.call_id, r.files, r.user.username) for r in runs] == [
        ("facilitazione-digitale", files, "anna")
    ]


def test_bootstrap_admin_gives_a_password_only_once(store):
    password = store.bootstrap_admin()
    assert password and len(password) >= 16
    admin = store.get_user("admin")
    assert admin.role == "admin" and password not in admin.password_hash
    assert store.bootstrap_admin() is None
    assert store.bootstrap_admin("altro") is None
    assert store.authenticate("admin", password).role == "admin"
    with pytest.raises(ValueError, match="last active admin"):
        store.deactivate("admin")
    with pytest.raises(ValueError, match="last active admin"):
        store.set_role("admin", "officer")


# -- the commands ----------------------------------------------------------------------


@pytest.fixture
def cli(database_url, monkeypatch):
    """`euroassist users|workspaces` on the test database (a Typer app of their own, as
    assistant/cli.py registers them)."""
    from assistant.cli_office import users_app, workspaces_app

    monkeypatch.setenv("EUROASSIST_DATABASE_URL", database_url)
    get_settings.cache_clear()
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.add_typer(workspaces_app, name="workspaces")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, env={"COLUMNS": "200"})

    yield invoke
    get_settings.cache_clear()


def test_cli_users_add_list_grant_revoke(cli, database_url):
    added = cli(
        "users", "add", "anna", "--role", "officer", "--workspace", "lecce", "--write",
        "--password-stdin", input=PW + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert PW not in added.output
    store = OfficeStore(database_url)
    try:
        anna = store.authenticate("anna", PW)
        assert anna is not None and anna.grants() == {"lecce": True}
        hashed = anna.password_hash
    finally:
        store.close()

    listed = cli("users", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if "anna" in line)
    assert "officer" in row and "lecce (rw)" in row and "shared (r)" in row
    assert PW not in listed.output and hashed not in listed.output and "argon2" not in listed.output

    assert cli("users", "grant", "anna", "surbo").exit_code == 0
    assert "surbo (r)" in cli("users", "list").stdout
    assert cli("users", "revoke", "anna", "surbo").exit_code == 0
    assert "surbo" not in cli("users", "list").stdout
    again = cli("users", "revoke", "anna", "surbo")
    assert again.exit_code == 2 and again.stderr.strip() == "error anna has no grant on surbo"


def test_cli_prompts_twice_for_a_hidden_password(cli, database_url):
    done = cli("users", "add", "luca", "--role", "consultant", input=f"{PW}\n{PW}\n")
    assert done.exit_code == 0, done.output
    assert PW not in done.output
    mismatch = cli("users", "passwd", "luca", input=f"{PW}-1\n{PW}-2\n{PW}-3\n{PW}-3\n")
    assert mismatch.exit_code == 0, mismatch.output
    store = OfficeStore(database_url)
    try:
        assert store.authenticate("luca", f"{PW}-3") is not None
    finally:
        store.close()


def test_cli_errors_are_one_line_with_exit_code_2(cli):
    for args, message in (
        (("users", "add", "bob", "--role", "boss"), "role 'boss': use one of"),
        (("users", "add", "bob", "--workspace", "atlantide"), "no workspace atlantide"),
        (("users", "add", "bob", "--role", "consultant", "--write"), "consultants write nothing"),
        (("users", "grant", "nobody", "lecce"), "no user nobody"),
        (("users", "passwd", "nobody"), "no user nobody"),
        (("workspaces", "add", "Bad Slug", "--name", "x"), "lowercase letters"),
    ):
        done = cli(*args, input=PW + "\n")
        assert done.exit_code == 2, (args, done.output)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error ") and message in lines[0], lines
    short = cli("users", "add", "bob", "--password-stdin", input="corta\n")
    assert short.exit_code == 2 and "too short" in short.stderr
    assert "bob" not in cli("users", "list").stdout  # nothing half-created


def test_cli_workspaces_and_bootstrap(cli):
    listed = cli("workspaces", "list")
    assert listed.exit_code == 0 and "monteroni-di-lecce" in listed.stdout
    added = cli("workspaces", "add", "ats-nord", "--name", "ATS Nord", "--comune", "Surbo")
    assert added.exit_code == 0, added.output
    assert "ats-nord" in cli("workspaces", "list").stdout
    first = cli("users", "bootstrap-admin")
    assert first.exit_code == 0 and "password" in first.stdout
    second = cli("users", "bootstrap-admin")
    assert second.exit_code == 0 and "password" not in second.stdout
