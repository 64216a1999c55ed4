"""What a document is: type, programme, title, from its path and its first pages."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.schema import DocType, LoadedDocument
from assistant.text_analysis import fold

_REGULATION = re.compile(
    r"\b(?:regulation|r[eè]glement|regolamento|directive|direttiva|decision)\s*\((?:eu|ue|ce|ec)\)",
    re.I,
)
_CALL = re.compile(
    r"\b(bando|avviso pubblico|avviso|invito a presentare|call for proposals|appel à propositions)\b",
    re.I,
)
_FAQ = re.compile(r"\b(faq|domande frequenti|frequently asked)\b", re.I)
_GUIDANCE = re.compile(
    r"\b(linee guida|guidance|guida|vademecum|manuale|orientamenti|circolare|nota)\b", re.I
)
_DECREE = re.compile(r"\b(decreto|decree|dpcm|d\.m\.|deliberazione|delibera)\b", re.I)

# Canonical programme tags, looked for in title and first pages (order: most specific first).
PROGRAMMES: list[tuple[str, re.Pattern[str]]] = [
    (
        "PNRR",
        re.compile(
            r"\b(PNRR|Piano nazionale di ripresa|NextGenerationEU|Next Generation EU|Italia domani|M\dC\d)\b",
            re.I,
        ),
    ),
    ("Interreg", re.compile(r"\bInterreg\b", re.I)),
    ("FESR-FSE+", re.compile(r"\bFESR[- ]FSE\s?\+|FESR e FSE\+", re.I)),
    (
        "FSE+",
        re.compile(
            r"\b(FSE\s?\+|ESF\s?\+|FSE plus|ESF plus|2021/1057|Fondo sociale europeo|"
            r"European Social Fund|Fonds social européen)",
            re.I,
        ),
    ),
    (
        "FESR",
        re.compile(
            r"\b(FESR|ERDF|FEDER|2021/1058|Fondo europeo di sviluppo regionale|"
            r"European Regional Development Fund|Fonds européen de développement régional)\b",
            re.I,
        ),
    ),
    ("JTF", re.compile(r"\b(JTF|Just Transition Fund|2021/1056)\b", re.I)),
    ("Cohesion policy", re.compile(r"\b2021/1060\b", re.I)),
]


def guess_doc_type(path: Path, document: LoadedDocument, head: str) -> DocType:
    if document.doc_type_hint:
        return document.doc_type_hint
    name = fold(" ".join(path.parts[-3:]))
    head_start = head[:3000]
    if _FAQ.search(name) or _FAQ.search(head_start[:500]):
        return "faq"
    if _CALL.search(name):
        return "call"
    if re.search(
        r"regulation|regolament|reglement|eu_regulations|\b3\d{4}r\d{4}", name
    ) or _REGULATION.search(head_start[:600]):
        return "regulation"
    if _GUIDANCE.search(name):
        return "guidance"
    if _CALL.search(head_start):
        return "call"
    if _DECREE.search(name) or _DECREE.search(head_start[:600]):
        return "guidance"
    return "other"


def guess_programme(title: str, head: str) -> str | None:
    for text in (title, head[:6000]):
        for tag, pattern in PROGRAMMES:
            if pattern.search(text):
                return tag
    return None


def fallback_title(path: Path) -> str:
    return re.sub(r"[_\-]+", " ", path.stem).strip() or path.name
