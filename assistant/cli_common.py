"""What every command module shares: the consoles, one-line errors, the assistant."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one error, one line


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error; the caller raises what this returns."""
    errors.print(f"[red]error[/red] {escape(message.splitlines()[0] if message else message)}")
    return typer.Exit(code)


# Set by `euroassist --user NAME …`: every command then reads only that user's workspaces.
session: dict[str, object] = {"user": None}


def login(username: str, password: str) -> None:
    """Check the user's password once, for the whole command."""
    from assistant.office import OfficeStore
    from assistant.settings import get_settings

    user = OfficeStore(get_settings().database).authenticate(username, password)
    if user is None:
        raise fail(f"user {username}: wrong password, unknown or locked account")
    session["user"] = user.username


def _assistant():
    from assistant.core import EuroAssist

    assistant = EuroAssist()
    username = session["user"]
    if username is None:
        return assistant
    from assistant.office import OfficeStore

    store = OfficeStore(assistant.settings.database)
    return assistant.for_workspaces(store.readable_workspaces(str(username)))
