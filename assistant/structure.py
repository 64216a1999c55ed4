"""Legal and call structure: turn a loader's blocks into units that know their heading path.

Regulations are recognised by Article / Articolo / Art. headings (EN/IT/FR), divisions
(TITRE, CHAPTER, CAPO ...), annexes, recitals, numbered paragraphs and lettered points;
calls by sections such as `A.1`, `B.2.3`, `5. CONTRIBUTO`, `Art. 5 - ...`. Explicit headings
(Markdown, DOCX, HTML) keep their own levels; the patterns then only name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.schema import Block, BlockKind, MetaValue

# Pattern depths for documents without explicit heading levels (PDF, text).
DEPTH = {
    "part": 10,
    "annex": 10,
    "title": 20,
    "chapter": 30,
    "division": 40,
    "article": 50,
    "recital": 50,
    "letter_section": 50,
    "numbered_section": 50,
}
PARAGRAPH_DEPTH, POINT_DEPTH, SUBPOINT_DEPTH = 100, 110, 120
DIVISION_KINDS = {"part", "title", "chapter", "division"}

_ARTICLE = re.compile(
    r"^(?:Article|ARTICLE|Articolo|ARTICOLO|Art\.|ART\.|Artikel|Artículo)\s+"
    r"(\d{1,3}(?:\s?[a-z])?(?:[\s-]?(?:bis|ter|quater|quinquies))?)"
    r"\s*(?:$|[-–—:.]\s*(\S.{0,160})$|\(([^)]{2,120})\)\s*$)"
)
_DIVISION = re.compile(
    r"^(PARTIE|PART|PARTE|TITRE|TITLE|TITOLO|CHAPITRE|CHAPTER|CAPO|CAPITOLO|"
    r"SECTION|Section|SEZIONE|Sezione|SOUS-SECTION)\s+"
    r"([IVXLC]+|\d{1,2}|PREMIER|PRIMO|UNICO|ONE)\b\.?\s*(?:[-–—:.]\s*)?(.{0,150})$"
)
_DIVISION_KIND = {
    "PARTIE": "part",
    "PART": "part",
    "PARTE": "part",
    "TITRE": "title",
    "TITLE": "title",
    "TITOLO": "title",
    "CHAPITRE": "chapter",
    "CHAPTER": "chapter",
    "CAPO": "chapter",
    "CAPITOLO": "chapter",
}
_ANNEX = re.compile(
    r"^(ANNEXE|ANNEX|ALLEGATO|ANEXO|ANHANG|Annexe|Annex|Allegato)\s+([IVXLC]+|\d{1,2}|[A-Z])\b"
    r"\s*(?:[-–—:.]\s*)?(.{0,150})$"
)
_RECITAL = re.compile(r"^\((\d{1,3})\)\s+\S")
_LETTER_SECTION = re.compile(r"^([A-Z])\.(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.{1,140})$")
_LETTER_PART = re.compile(r"^([A-Z])\.\s+([A-ZÀ-Ý][A-ZÀ-Ý'’ ,\-]{3,100})$")
_NUMBERED_UPPER = re.compile(
    r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-ZÀ-Ý][A-ZÀ-Ý0-9'’ ,.\-/()«»\"]{3,140})$"
)
_NUMBERED_TITLE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){1,3})\.?\s+([A-ZÀ-Ý][^.;:]{2,90})$")
_PARAGRAPH = re.compile(r"^(\d{1,3})\.\s+\S")
_POINT = re.compile(r"^\(?([a-z])\)\s+\S")
_SUBPOINT = re.compile(r"^\(?((?:x{0,3})(?:ix|iv|v?i{0,3}))\)\s+\S")
_DOT_LEADER = re.compile(r"(?:\.{4,}|…{2,}|(?:\. ){3,})\s*\d{0,3}\s*$")
_TOC_LINE = re.compile(r"\s\d{1,3}\s*$")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")


def clean_inline(text: str) -> str:
    return _BOLD.sub(r"\2", text).strip().strip("*_ ").strip()


@dataclass
class PathEntry:
    kind: str
    label: str
    depth: int
    title: str = ""
    seq: str = ""  # number, letter or roman numeral of paragraphs and points, for sequence checks


@dataclass
class Unit:
    """Consecutive source lines under one heading path (the smallest chunkable piece)."""

    path: list[PathEntry]
    lines: list[str]
    pages: list[int | None]
    page_label: str | None
    kind: BlockKind = "text"
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    summary: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()

    @property
    def page(self) -> int | None:
        return next((p for p in self.pages if p is not None), None)

    @property
    def page_end(self) -> int | None:
        return next((p for p in reversed(self.pages) if p is not None), None)


def section_label(path: list[PathEntry]) -> str:
    """`Art. 65 › 1 › a)`: divisions are left out once something finer is in the path."""
    entries = path
    if any(e.kind not in DIVISION_KINDS for e in path):
        entries = [e for e in path if e.kind not in DIVISION_KINDS]
    return " › ".join(e.label for e in entries)


def anchor_title(path: list[PathEntry]) -> str:
    """Title of the deepest heading that has one (the article or section title)."""
    return next((e.title for e in reversed(path) if e.title), "")


def heading_context(path: list[PathEntry]) -> str:
    """Full path with titles, for the text the embedder sees."""
    return " › ".join(f"{e.label} {e.title}".strip() for e in path)


def _roman(value: str) -> bool:
    return bool(value) and re.fullmatch(r"x{0,3}(ix|iv|v?i{0,3})", value) is not None


class StructureParser:
    """Feeds blocks through a heading stack; emits units."""

    def __init__(self, regulation_like: bool = False) -> None:
        self.regulation_like = regulation_like
        self.path: list[PathEntry] = []
        self.units: list[Unit] = []
        self.current: Unit | None = None
        self.seen_article = False
        self.pending_title: PathEntry | None = None  # heading that may take the next line as title
        self.body_since_heading = True
        self.title_taken = False
        self.document_title: str | None = None
        self.units_at_title = 0
        self.last_number: dict[int, str] = {}

    # -- heading stack ---------------------------------------------------------------
    def _outranks(self, held: PathEntry, entry: PathEntry) -> bool:
        """Whether `held` must leave the path when `entry` arrives."""
        if held.depth >= entry.depth:
            return True
        if entry.kind == "article" and held.kind == "annex":
            return True  # articles never sit inside an annex (a list of annexes came first)
        if entry.kind == held.kind and entry.kind in ("letter_section", "numbered_section"):
            # "B.2.3" is not inside "A.1", "6.1" not inside "5": only true prefixes nest.
            parent = held.label.removeprefix("§ ").rstrip(".") + "."
            return not entry.label.removeprefix("§ ").startswith(parent)
        return False

    def _push(self, entry: PathEntry) -> None:
        self._close()
        while self.path and any(self._outranks(held, entry) for held in self.path[-1:]):
            popped = self.path.pop()
            self.last_number.pop(popped.depth, None)
        # an entry deeper in the path may still outrank (annex under divisions)
        self.path = [held for held in self.path if not self._outranks(held, entry)]
        # numbering of finer levels restarts under a new heading
        for depth in [d for d in self.last_number if d > entry.depth]:
            del self.last_number[depth]
        self.path.append(entry)
        if entry.seq:
            self.last_number[entry.depth] = entry.seq
        if entry.kind == "article":
            self.seen_article = True
        self.body_since_heading = False

    def _close(self) -> None:
        if self.current and self.current.text:
            self.units.append(self.current)
        self.current = None

    def _add_line(self, line: str, page: int | None, label: str | None) -> None:
        if self.current is None:
            self.current = Unit(path=list(self.path), lines=[], pages=[], page_label=label)
        self.current.lines.append(line)
        self.current.pages.append(page)
        self.body_since_heading = True

    # -- explicit headings -----------------------------------------------------------
    def heading(self, text: str, level: int, page: int | None, label: str | None) -> None:
        text = clean_inline(text)
        if not text:
            return
        if level == 1 and not self.path:
            if self.document_title is None:
                self.document_title = text
                self.units_at_title = len(self.units) + (1 if self.current else 0)
                return
            if self.current is None and len(self.units) == self.units_at_title:
                return  # a subtitle, or the title repeated in capitals: adds nothing to paths
        entry = self._pattern_entry(text) or PathEntry("heading", text[:90], 0)
        previous = self.path[-1] if self.path else None
        if (
            entry.kind == "heading"
            and previous is not None
            and previous.kind != "heading"
            and not previous.title
            and not self.body_since_heading
        ):
            previous.title = text  # "#### Article 3" then "##### Specific objectives ..."
            return
        entry.depth = level * 10
        self._push(entry)

    def _pattern_entry(self, line: str) -> PathEntry | None:
        if _DOT_LEADER.search(line):
            return None  # a table-of-contents line names a heading, it is not one
        if m := _ARTICLE.match(line):
            number = m.group(1).replace(" ", "")
            return PathEntry(
                "article",
                f"Art. {number}",
                DEPTH["article"],
                (m.group(2) or m.group(3) or "").strip(),
            )
        if m := _DIVISION.match(line):
            word = m.group(1)
            kind = _DIVISION_KIND.get(word.upper(), "division")
            return PathEntry(
                kind, f"{word.capitalize()} {m.group(2)}", DEPTH[kind], m.group(3).strip()
            )
        # "ALLEGATO A" atop a call names the document itself, so annexes need context.
        if (
            (m := _ANNEX.match(line))
            and (self.path or self.regulation_like)
            and (m.group(1).isupper() or not m.group(3))
        ):
            return PathEntry(
                "annex",
                f"{m.group(1).capitalize()} {m.group(2)}",
                DEPTH["annex"],
                m.group(3).strip(),
            )
        if _TOC_LINE.search(line):
            return None
        if m := _LETTER_SECTION.match(line):
            number = f"{m.group(1)}.{m.group(2)}"
            title = m.group(3).strip()
            if not title.endswith((".", ";", ",")) or title.isupper():
                return PathEntry(
                    "letter_section",
                    number,
                    DEPTH["letter_section"] + 10 * (number.count(".")),
                    title,
                )
        if m := _LETTER_PART.match(line):
            return PathEntry(
                "letter_section", f"{m.group(1)}.", DEPTH["letter_section"], m.group(2).strip()
            )
        m = _NUMBERED_UPPER.match(line)
        if not (m and sum(c.isalpha() for c in m.group(2)) >= 4):
            m = _NUMBERED_TITLE.match(line)
        if m:
            number = m.group(1)
            return PathEntry(
                "numbered_section",
                f"§ {number}",
                DEPTH["numbered_section"] + 10 * number.count("."),
                m.group(2).strip(),
            )
        return None

    # -- body lines ------------------------------------------------------------------
    def line(self, raw: str, page: int | None, label: str | None) -> None:
        line = raw.strip()
        if not line:
            return
        if self.pending_title is not None:
            entry = self.pending_title
            self.pending_title = None
            if (
                len(line) <= 150
                and not line.endswith((".", ";", ","))
                and self._marker(line) is None
                and self._pattern_entry(line) is None
            ):
                entry.title = line
                return
        entry = self._pattern_entry(line)
        if entry is not None and self._accept_heading(entry, line):
            self._push(entry)
            if not entry.title and entry.kind in {"article", "annex", *DIVISION_KINDS}:
                self.pending_title = entry
            return
        marker = self._marker(line)
        if marker is not None:
            self._push(marker)
        self._add_line(line, page, label)

    def _accept_heading(self, entry: PathEntry, line: str) -> bool:
        if entry.kind == "numbered_section":
            # Inside a regulation article, "2. TEXT" in capitals is rare; numbered paragraphs win.
            return not self.seen_article or not self.regulation_like
        return not (entry.kind == "article" and entry.title and len(entry.title) > 120)

    def _marker(self, line: str) -> PathEntry | None:
        """Numbered paragraph, lettered point or roman subpoint, checked against the sequence."""
        if self.regulation_like and not self.seen_article and (m := _RECITAL.match(line)):
            return PathEntry("recital", f"({m.group(1)})", DEPTH["recital"])
        if not self.path:
            return None
        if m := _PARAGRAPH.match(line):
            number = int(m.group(1))
            previous = self.last_number.get(PARAGRAPH_DEPTH)
            if number == 1 or (previous is not None and number == int(previous) + 1):
                return PathEntry("paragraph", str(number), PARAGRAPH_DEPTH, seq=str(number))
            return None
        point = _POINT.match(line)
        sub = _SUBPOINT.match(line)
        previous_point = self.last_number.get(POINT_DEPTH)
        next_letter = chr(ord(previous_point) + 1) if previous_point else "a"
        if (
            point
            and point.group(1) in ("a", next_letter)
            and not (sub and previous_point is not None and point.group(1) != next_letter)
        ):
            letter = point.group(1)
            return PathEntry("point", f"{letter})", POINT_DEPTH, seq=letter)
        if sub and _roman(sub.group(1)) and previous_point is not None:
            return PathEntry("subpoint", f"{sub.group(1)})", SUBPOINT_DEPTH, seq=sub.group(1))
        return None

    # -- whole blocks ----------------------------------------------------------------
    def block(self, block: Block) -> None:
        if block.kind == "heading":
            self.heading(block.text, block.level or 2, block.page, block.page_label)
            return
        if block.kind in ("table", "record"):
            self._close()
            self.units.append(
                Unit(
                    path=list(self.path),
                    lines=[block.text],
                    pages=[block.page],
                    page_label=block.page_label,
                    kind=block.kind,
                    metadata=dict(block.metadata),
                    summary=block.summary,
                )
            )
            self.body_since_heading = True
            return
        for raw in block.text.split("\n"):
            self.line(raw, block.page, block.page_label)
        last = self.current.lines[-1] if self.current is not None and self.current.lines else ""
        if last.rstrip().endswith((".", ":", ";", "!", "?")):
            self.current.lines.append("")  # paragraph break between blocks of one unit
            self.current.pages.append(None)

    def finish(self) -> list[Unit]:
        self._close()
        return self.units


def parse_structure(
    blocks: list[Block], regulation_like: bool = False
) -> tuple[list[Unit], str | None]:
    """Units in reading order, and the document title if the first heading gave one."""
    parser = StructureParser(regulation_like=regulation_like)
    for block in blocks:
        parser.block(block)
    return parser.finish(), parser.document_title
