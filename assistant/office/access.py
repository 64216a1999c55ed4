"""The access rules, in one place. Pure functions of a user's role and grants, so the store
(the only caller that enforces them) and the tests read the same rules.

- admin: reads and writes every workspace;
- officer: reads "shared" and its granted workspaces; writes the granted ones with can_write
  ("shared" too, but only when granted with can_write);
- consultant: reads "shared" and its granted workspaces; writes nothing;
- a deactivated account reads and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SHARED = "shared"


def readable(
    role: str, active: bool, grants: Mapping[str, bool], all_workspaces: Iterable[str]
) -> set[str]:
    if not active:
        return set()
    if role == "admin":
        return set(all_workspaces)
    if role in ("officer", "consultant"):
        return {SHARED, *grants}
    return set()  # an unknown role gets nothing rather than something


def writable(
    role: str, active: bool, grants: Mapping[str, bool], all_workspaces: Iterable[str]
) -> set[str]:
    if not active:
        return set()
    if role == "admin":
        return set(all_workspaces)
    if role == "officer":
        return {workspace for workspace, can_write in grants.items() if can_write}
    return set()


def may_continue_chat(role: str, actor_id: int, owner_id: int) -> bool:
    """A chat is one person's conversation: others with write access read it, but only its
    owner (or an admin) adds to it."""
    return role == "admin" or actor_id == owner_id
