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


def _assistant():
    from assistant.core import EuroAssist

    return EuroAssist()
