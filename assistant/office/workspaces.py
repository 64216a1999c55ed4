"""The workspaces of the Ambito Sociale di Lecce: the shared office and one per comune."""

from __future__ import annotations

import re
import unicodedata

from assistant.office.access import SHARED

SHARED_NAME = "Ufficio comune dell'Ambito Sociale di Lecce"
AMBITO_COMUNI = (
    "Lecce",
    "Arnesano",
    "Cavallino",
    "Lequile",
    "Lizzanello",
    "Monteroni di Lecce",
    "San Cesario di Lecce",
    "San Donato di Lecce",
    "San Pietro in Lama",
    "Surbo",
)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slugify(name: str) -> str:
    """ "Monteroni di Lecce" -> "monteroni-di-lecce" (accents dropped, not the letters)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValueError(
            f"workspace {slug!r}: use lowercase letters, digits and '-' (at most 64 characters)"
        )
    return slug


def default_workspaces() -> list[tuple[str, str, str, str | None]]:
    """(slug, name, kind, comune) of the shared office and of each comune of the Ambito."""
    rows: list[tuple[str, str, str, str | None]] = [(SHARED, SHARED_NAME, "shared", None)]
    rows += [(slugify(c), f"Comune di {c}", "comune", c) for c in AMBITO_COMUNI]
    return rows
