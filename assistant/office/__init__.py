"""Accounts, workspaces and saved work of the shared office of the Ambito Sociale di Lecce."""

from assistant.office.models import ROLES, User, Workspace
from assistant.office.passwords import generate_password, hash_password, verify_password
from assistant.office.store import OfficeStore

__all__ = [
    "ROLES",
    "OfficeStore",
    "User",
    "Workspace",
    "generate_password",
    "hash_password",
    "verify_password",
]
