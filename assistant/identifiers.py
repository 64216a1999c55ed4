"""Identifiers that documents cite: CELEX numbers, EU regulation numbers, CUP codes."""

from __future__ import annotations

import re

CELEX = re.compile(r"\b3(?:19|20)\d{2}[RLDH]\d{4}\b")
# "Regulation (EU) 2021/1060", "Règlement (UE) n° 1303/2013", "Reg. (UE) 2021/241"
REGULATION = re.compile(
    r"\b(?:Regulation|R[èe]glement|Regolamento|Reg\.)\s*\((?:EU|UE|CE|EC|EU,\s*Euratom)\)\s*"
    r"(?:n[.°o]?\s*|No\.?\s*)?(\d{4}/\d{1,4}|\d{1,4}/\d{4})",
    re.IGNORECASE,
)
# Codice Unico di Progetto: 15 characters, e.g. J97H20002070001.
CUP = re.compile(r"\b[A-Z]\d{2}[A-Z]\d{11}\b")


def find_regulations(text: str) -> list[str]:
    """The EU regulation numbers a text names as such ("Règlement (UE) 2021/1060")."""
    return [match.group(1) for match in REGULATION.finditer(text)]


def find_identifiers(text: str, limit: int = 200) -> list[str]:
    """Distinct identifiers in order of first appearance."""
    found: dict[str, None] = {}
    for match in CELEX.finditer(text):
        found.setdefault(match.group(), None)
    for number in find_regulations(text):
        found.setdefault(number, None)
    for match in CUP.finditer(text):
        found.setdefault(match.group(), None)
        if len(found) >= limit:
            break
    return list(found)[:limit]
