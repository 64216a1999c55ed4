"""Commands for the office's accounts and workspaces (`euroassist users`, `workspaces`).

Passwords are read from a hidden prompt or from standard input, never from the command line
(where `ps` and the shell history would keep them), and never printed.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from assistant.cli_common import _assistant, console, errors, fail

users_app = typer.Typer(
    help="Accounts of the office: add, list, grant, passwords.", no_args_is_help=True
)
workspaces_app = typer.Typer(
    help="Workspaces: the shared office and one per comune.", no_args_is_help=True
)
UserArg = Annotated[str, typer.Argument(help="Username")]
WorkspaceArg = Annotated[str, typer.Argument(help="Workspace slug, e.g. lecce")]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin")
]


def _store():
    from assistant.office import OfficeStore

    try:
        store = OfficeStore(_assistant().settings.database)
        store.ensure_default_workspaces()  # the Ambito's workspaces exist before any grant
    except Exception as error:  # a bad URL or an unreachable server: one line, not a trace
        raise fail(f"database: {error}") from error
    return store


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        return password.removesuffix("\r")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(action):
    """Run a store call; its refusals (bad input, unknown names) become one-line errors."""
    try:
        return action()
    except (ValueError, LookupError, PermissionError) as error:
        raise fail(str(error)) from error


@users_app.command("add")
def users_add(
    username: UserArg,
    role: Annotated[str, typer.Option("--role", help="admin | officer | consultant")] = "officer",
    workspace: Annotated[
        list[str] | None, typer.Option("--workspace", "-w", help="Grant this workspace (repeat)")
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="The grants allow writing")] = False,
    display_name: Annotated[str, typer.Option("--name", help="Full name")] = "",
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Add an account, with access to the given workspaces."""
    from assistant.office.models import ROLES
    from assistant.office.passwords import check_strength
    from assistant.office.store import normalize_username

    # Every check that needs no password first: nobody types a password twice for nothing.
    name = _run(lambda: normalize_username(username))
    if role not in ROLES:
        raise fail(f"role {role!r}: use one of {', '.join(ROLES)}")
    if write and role == "consultant":
        raise fail("consultants write nothing: drop --write")
    store = _store()
    known = {w.id for w in store.list_workspaces()}
    for slug in workspace or []:
        if slug not in known:
            raise fail(f"no workspace {slug}")
    if store.get_user(name) is not None:
        raise fail(f"user {name} exists")
    password = _read_password(password_stdin)
    _run(lambda: check_strength(password))
    _run(lambda: store.add_user(name, password, role=role, display_name=display_name))
    for slug in workspace or []:
        _run(lambda slug=slug: store.grant(name, slug, can_write=write))
    grants = ", ".join(f"{s} ({'rw' if write else 'r'})" for s in workspace or []) or "-"
    console.print(f"added {escape(name)} ({role}); workspaces: {escape(grants)}")


@users_app.command("list")
def users_list() -> None:
    """The accounts, their role and workspaces (r: read, rw: read and write)."""
    store = _store()
    table = Table("username", "nome", "ruolo", "workspaces", "attivo")
    for user in store.list_users():
        if user.role == "admin":
            spaces = "tutti (rw)"
        else:
            grants = user.grants()
            if user.role in ("officer", "consultant") and "shared" not in grants:
                grants = {"shared": False, **grants}  # everyone reads the shared workspace
            spaces = ", ".join(
                f"{slug} ({'rw' if can_write and user.role == 'officer' else 'r'})"
                for slug, can_write in sorted(grants.items())
            )
        table.add_row(
            escape(user.username),
            escape(user.display_name),
            user.role,
            escape(spaces),
            "sì" if user.active else "no",
        )
    console.print(table)


@users_app.command("grant")
def users_grant(
    username: UserArg,
    workspace: WorkspaceArg,
    write: Annotated[bool, typer.Option("--write", help="Allow writing too")] = False,
) -> None:
    """Give a user access to a workspace (read; with --write, read and write)."""
    store = _store()
    _run(lambda: store.grant(username, workspace, can_write=write))
    console.print(f"{escape(username)}: {escape(workspace)} ({'rw' if write else 'r'})")


@users_app.command("revoke")
def users_revoke(username: UserArg, workspace: WorkspaceArg) -> None:
    """Take a workspace away from a user."""
    store = _store()
    if not _run(lambda: store.revoke(username, workspace)):
        raise fail(f"{username} has no grant on {workspace}")
    console.print(f"{escape(username)}: {escape(workspace)} revoked")


@users_app.command("passwd")
def users_passwd(username: UserArg, password_stdin: PasswordStdinOpt = False) -> None:
    """Set a user's password (this also lifts a lockout)."""
    store = _store()
    if store.get_user(username) is None:
        raise fail(f"no user {username}")
    password = _read_password(password_stdin)
    _run(lambda: store.set_password(username, password))
    console.print(f"password of {escape(username)} changed")


@users_app.command("bootstrap-admin")
def users_bootstrap_admin(
    username: Annotated[str, typer.Option("--username", help="Name of the admin")] = "admin",
) -> None:
    """Create the first admin and print its generated password, once."""
    store = _store()
    password = _run(lambda: store.bootstrap_admin(username))
    if password is None:
        errors.print("an admin exists: nothing to do")
        return
    console.print(f"admin {escape(username)} created; password (shown only now): {password}")


@workspaces_app.command("list")
def workspaces_list() -> None:
    """The workspaces."""
    table = Table("slug", "nome", "tipo", "comune")
    for workspace in _store().list_workspaces():
        table.add_row(
            workspace.id, escape(workspace.name), workspace.kind, escape(workspace.comune or "")
        )
    console.print(table)


@workspaces_app.command("add")
def workspaces_add(
    slug: Annotated[str, typer.Argument(help="Short id: lowercase letters, digits, '-'")],
    name: Annotated[str, typer.Option("--name", help="Name shown to users")],
    comune: Annotated[str | None, typer.Option("--comune", help="The comune it serves")] = None,
) -> None:
    """Add a workspace (a comune's, with --comune)."""
    store = _store()
    workspace = _run(lambda: store.add_workspace(slug, name, comune=comune))
    console.print(f"added workspace {escape(workspace.id)} ({workspace.kind})")
