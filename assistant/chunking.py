"""Structure-aware chunking, measured in the embedder's own tokens.

Units of one article or section are packed together up to `max_tokens`; a unit that is too
long on its own is split at line, sentence and clause boundaries; a table too long is split
by rows with its header row repeated. Every chunk carries its heading path, and the text the
embedder sees starts with the document title and that path, so nothing is truncated silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.structure import (
    PARAGRAPH_DEPTH,
    PathEntry,
    Unit,
    anchor_title,
    heading_context,
    section_label,
)
from assistant.text_analysis import dehyphenate

TokenCounter = Callable[[str], int]
HEADER_CHAR_LIMIT = 160
TABLE_EMBED_TOKENS = 128
DOC_LABEL_CHARS = 60
INTRO_CHARS = 120
# A piece under this many tokens is joined to its neighbour in the same article: alone, the
# tail of a split paragraph ("della richiesta dello stesso.") is a vector that matches
# anything through its header and says nothing.
MIN_CHUNK_TOKENS = 32


@dataclass
class DraftChunk:
    text: str
    embed_text: str
    section: str
    section_title: str
    page: int | None
    page_end: int | None
    page_label: str | None
    kind: str
    token_count: int
    metadata: dict


def _anchor_key(path: list[PathEntry]) -> tuple[str, ...]:
    return tuple(e.label for e in path if e.depth < PARAGRAPH_DEPTH)


def _labels(path: list[PathEntry]) -> list[str]:
    return section_label(path).split(" › ") if path else []


def _merged_section(units: list[Unit]) -> str:
    """`Art. 65 › 1-2` for a chunk holding paragraphs 1 and 2 of article 65."""
    label_lists = [_labels(u.path) for u in units]
    prefix: list[str] = []
    for parts in zip(*label_lists, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    depth = len(prefix)
    tails = [labels[depth] for labels in label_lists if len(labels) > depth]
    if tails:
        first, last = tails[0], tails[-1]
        prefix.append(first if first == last else f"{first}-{last}")
    return " › ".join(prefix)


class Chunker:
    def __init__(self, count_tokens: TokenCounter, max_tokens: int, model_max_tokens: int) -> None:
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.model_max_tokens = model_max_tokens
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=max_tokens,
            chunk_overlap=max(0, max_tokens // 10),
            length_function=count_tokens,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    # -- public ----------------------------------------------------------------------
    def chunk(self, units: list[Unit], document_title: str) -> list[DraftChunk]:
        chunks: list[DraftChunk] = []
        intros: dict[tuple[str, ...], str] = {}
        group: list[Unit] = []
        group_tokens = 0

        def flush() -> None:
            nonlocal group, group_tokens
            if group:
                chunks.append(self._make(group, document_title, intros))
            group, group_tokens = [], 0

        for unit in units:
            text = dehyphenate(unit.text)
            if not text.strip():
                continue
            key = tuple(e.label for e in unit.path)
            intros.setdefault(key, text.split("\n", 1)[0][:200])
            if unit.kind in ("table", "record"):
                flush()
                chunks.extend(self._table_or_record(unit, document_title, intros))
                continue
            tokens = self.count(text)
            same_anchor = group and _anchor_key(group[0].path) == _anchor_key(unit.path)
            if tokens > self.max_tokens:
                lead: list[Unit] = []
                if same_anchor and group_tokens < MIN_CHUNK_TOKENS:
                    lead, group, group_tokens = group, [], 0  # opens the long unit's first piece
                flush()
                chunks.extend(self._split_long(unit, text, document_title, intros, lead))
                continue
            full = group_tokens + tokens > self.max_tokens and group_tokens >= MIN_CHUNK_TOKENS
            if group and (not same_anchor or full):
                flush()
            group.append(unit)
            group_tokens += tokens
        flush()
        return chunks

    # -- helpers ---------------------------------------------------------------------
    def _header(self, document_title: str, path: list[PathEntry], intro: str | None) -> str:
        """Short context for the embedder: every token here is paid once per chunk, and the
        lexical index already knows the document's names."""
        anchor = [e for e in path if e.depth < PARAGRAPH_DEPTH][-1:]
        header = f"{document_title[:DOC_LABEL_CHARS]} | {heading_context(anchor)}"
        header = header[:HEADER_CHAR_LIMIT]
        if intro:
            header += f"\n{intro[:INTRO_CHARS]} …"
        return header

    def _intro_for(self, path: list[PathEntry], intros: dict, included: set) -> str | None:
        """Lead-in of the enclosing paragraph when a chunk starts at its points."""
        for cut in range(len(path) - 1, 0, -1):
            if path[cut - 1].depth < PARAGRAPH_DEPTH:
                break
            key = tuple(e.label for e in path[:cut])
            if key in intros and key not in included:
                return intros[key]
        return None

    def _finish(
        self,
        text: str,
        path: list[PathEntry],
        section: str,
        document_title: str,
        pages: tuple[int | None, int | None],
        page_label: str | None,
        kind: str,
        intro: str | None,
        metadata: dict,
        summary: str | None = None,
    ) -> DraftChunk:
        header = self._header(document_title, path, intro)
        body = summary or text
        embed_text = f"{header}\n{body}"
        tokens = self.count(embed_text)
        if tokens > self.model_max_tokens:
            # Shorten the context, never the text: prose bodies are at most max_tokens long.
            embed_text = f"{heading_context(path)[:120]}\n{body}"
            tokens = self.count(embed_text)
        if tokens > self.model_max_tokens:
            # Only a record summary can still be too long; it is cut on purpose (the full row
            # stays in the shown text and the lexical index), never the prose of a document.
            pieces = self.splitter.split_text(body)
            embed_text = f"{heading_context(path)[:120]}\n{pieces[0] if pieces else ''}"
            tokens = self.count(embed_text)
        return DraftChunk(
            text=text,
            embed_text=embed_text,
            section=section,
            section_title=anchor_title(path),
            page=pages[0],
            page_end=pages[1],
            page_label=page_label,
            kind=kind,
            token_count=tokens,
            metadata=metadata,
        )

    def _make(self, units: list[Unit], document_title: str, intros: dict) -> DraftChunk:
        text = "\n".join(dehyphenate(u.text) for u in units).strip()
        included = {tuple(e.label for e in u.path) for u in units}
        path = units[0].path
        intro = self._intro_for(path, intros, included)
        return self._finish(
            text,
            path,
            _merged_section(units),
            document_title,
            (units[0].page, units[-1].page_end),
            units[0].page_label,
            "text",
            intro,
            {},
        )

    def _split_long(
        self, unit: Unit, text: str, document_title: str, intros: dict, lead: list[Unit]
    ) -> list[DraftChunk]:
        """Pieces of a unit longer than the limit; `lead` (short units of the same article
        just before it) opens the first piece."""
        line_starts: list[tuple[int, int | None]] = []
        offset = 0
        for line, page in zip(unit.lines, unit.pages, strict=False):
            line_starts.append((offset, page))
            offset += len(line) + 1
        spans: list[tuple[str, int | None, int | None]] = []
        cursor = 0
        for piece in self.splitter.split_text(text):
            start = text.find(piece[:50], max(0, cursor - len(piece)))
            start = cursor if start < 0 else start
            cursor = start + len(piece)
            page = next((p for off, p in reversed(line_starts) if off <= start and p), unit.page)
            page_end = next((p for off, p in reversed(line_starts) if off <= cursor and p), page)
            piece = piece.strip()
            if spans and self.count(piece) < MIN_CHUNK_TOKENS:
                previous, first_page, _ = spans[-1]
                if not previous.endswith(piece):  # the splitter's overlap may hold it already
                    previous = f"{previous}\n{piece}"
                spans[-1] = (previous, first_page, page_end)
                continue
            spans.append((piece, page, page_end))
        if len(spans) > 1 and self.count(spans[0][0]) < MIN_CHUNK_TOKENS:
            (first, page, _), (second, _, page_end) = spans[:2]
            spans[:2] = [(f"{first}\n{second}", page, page_end)]
        intro = self._intro_for((lead or [unit])[0].path, intros, set())
        out: list[DraftChunk] = []
        for i, (piece, page, page_end) in enumerate(spans):
            section = section_label(unit.path)
            path = unit.path
            if i == 0 and lead:
                piece = "\n".join([*(dehyphenate(u.text).strip() for u in lead), piece])
                section, path, page = _merged_section([*lead, unit]), lead[0].path, lead[0].page
            piece_intro = (
                intro if i == 0 else (intros.get(tuple(e.label for e in unit.path)) or intro)
            )
            out.append(
                self._finish(
                    piece,
                    path,
                    section,
                    document_title,
                    (page, page_end),
                    unit.page_label,
                    "text",
                    piece_intro,
                    {},
                )
            )
        return out

    def _table_or_record(self, unit: Unit, document_title: str, intros: dict) -> list[DraftChunk]:
        text = unit.text
        section = section_label(unit.path)
        if unit.kind == "record":
            label = str(unit.metadata.get("record_label", ""))
            section = " › ".join(p for p in (section, label) if p)
        if unit.kind == "record" or self.count(text) <= self.max_tokens:
            summary = unit.summary if unit.kind == "record" else self._condense_table(text)
            return [
                self._finish(
                    text,
                    unit.path,
                    section,
                    document_title,
                    (unit.page, unit.page_end),
                    unit.page_label,
                    unit.kind,
                    None,
                    dict(unit.metadata),
                    summary,
                )
            ]
        rows = text.split("\n")
        header = rows[0]
        pieces: list[str] = []
        current: list[str] = []
        for row in rows[1:]:
            # A single row longer than the limit is split like prose.
            for piece in (
                self.splitter.split_text(row) if self.count(row) > self.max_tokens else [row]
            ):
                candidate = "\n".join([header, *current, piece])
                if current and self.count(candidate) > self.max_tokens:
                    pieces.append("\n".join([header, *current]))
                    current = []
                current.append(piece)
        if current:
            pieces.append("\n".join([header, *current]))
        return [
            self._finish(
                piece,
                unit.path,
                section,
                document_title,
                (unit.page, unit.page_end),
                unit.page_label,
                "table",
                None,
                dict(unit.metadata),
                self._condense_table(piece),
            )
            for piece in pieces
        ]

    def _condense_table(self, table: str) -> str:
        """What the embedder sees of a table: the header and each row's first two cells
        (criteria, cost items), up to TABLE_EMBED_TOKENS. Number grids cost many tokens and
        say little to a sentence embedder; the lexical index keeps every cell."""
        rows = [r for r in table.split("\n") if r.strip()]
        if not rows or self.count(table) <= TABLE_EMBED_TOKENS:
            return table
        lines = [rows[0][:200]]
        for row in rows[1:]:
            cells = [c.strip()[:80] for c in row.split(" | ") if c.strip()]
            line = " | ".join(cells[:2])
            if not line or self.count("\n".join([*lines, line])) > TABLE_EMBED_TOKENS:
                break
            lines.append(line)
        return "\n".join(lines)
