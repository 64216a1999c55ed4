"""PDF: text with pypdf (1-based pages, page labels), tables with pdfplumber, OCR for scans."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pypdf
from pypdf.errors import PdfReadError

from assistant.loaders.base import LoadError
from assistant.loaders.ocr import OcrEngine
from assistant.schema import Block, LoadedDocument

logging.getLogger("pypdf").setLevel(logging.ERROR)
logging.getLogger("pdfminer").setLevel(logging.ERROR)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BAD_TITLE = re.compile(
    r"^(microsoft word|untitled|documento\d*|document\d*|\S+\.(docx?|pdf)|publications office|"
    r"office des publications|ufficio delle pubblicazioni|presentazione standard di powerpoint)",
    re.I,
)


_COMMON_WORDS = frozenset(
    [
        "de",
        "la",
        "le",
        "les",
        "des",
        "du",
        "et",
        "en",
        "un",
        "une",
        "pour",
        "par",
        "sur",
        "au",
        "aux",
        "est",
        "sont",
        "the",
        "of",
        "and",
        "to",
        "in",
        "for",
        "on",
        "by",
        "is",
        "are",
        "di",
        "il",
        "lo",
        "gli",
        "delle",
        "della",
        "dei",
        "per",
        "con",
        "che",
        "non",
        "una",
    ]
)


def _common_words(line: str) -> int:
    return sum(1 for w in re.findall(r"[^\W\d_]+", line.casefold()) if w in _COMMON_WORDS)


def unreverse(text: str) -> str:
    """Lines of rotated pages come out backwards (`noitarépooC` for `Coopération`): turn a
    line around when it reads as words only that way."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        backwards = line[::-1]
        if _common_words(line) == 0 and _common_words(backwards) >= 2:
            lines[i] = backwards
    return "\n".join(lines)


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates that broken PDFs emit; fix backwards lines."""
    return unreverse(_CONTROL.sub("", text).replace("\u00ad", ""))


_PAGE_NUMBER = re.compile(
    r"^\s*(?:-\s*)?(?:pag(?:e|ina)?\.?\s*)?\d{1,4}(?:\s*(?:/|di|of|de)\s*\d{1,4})?(?:\s*-)?\s*$",
    re.I,
)


_NUMBER = re.compile(r"\d[\d.,/]*\d|\d")
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d+")


def _line_key(line: str) -> str:
    """A line with its page numbers and dates blanked; amounts stay, so two body lines that
    differ only in an amount are not taken for one running header."""
    text = re.sub(r"\s+", " ", line.strip().casefold())
    text = _NUMBER.sub(lambda m: m.group() if _AMOUNT.fullmatch(m.group()) else "#", text)
    # Word order ignored: odd and even pages put the page number on either side. Tokens of
    # numbers alone are dropped: the Official Journal writes `L 231/254` on even pages and
    # `L 231 /253` on odd ones.
    return " ".join(sorted(w for w in text.split() if not _BLANKED.fullmatch(w)))


_BLANKED = re.compile(r"[#/.,:;()\-–]+")


def _exact_key(line: str) -> str:
    return "=" + re.sub(r"\s+", " ", line.strip().casefold())


def running_keys(pages: list[list[str]]) -> list[set[str]]:
    """For each page, the keys of its running lines: the outermost line with its numbers
    blanked (`L 231/159 ...`), the next one only verbatim (a two-line header), so that
    `Scheda intervento n. 3` under a header stays.

    A line is running when it sits at the edge of two pages in three (four at least). A line
    whose number changes from page to page (`L 231/254`) is running also when it sits at the
    edge of two pages in three from its first page to its last (six at least): the Official
    Journal prints one header over the articles and, in another font, a second over the
    annexes, neither on two pages in three. A form repeated page after page has no such
    number, and stays."""
    if len(pages) < 4:
        return [set() for _ in pages]
    found: dict[str, list[int]] = {}
    variants: dict[str, set[str]] = {}
    for index, lines in enumerate(pages):
        content = [x.strip() for x in lines if x.strip()]
        if not content:
            continue
        for line in {content[0], content[-1]}:
            key = _line_key(line)
            found.setdefault(key, []).append(index)
            variants.setdefault(key, set()).add(line)
        for line in content[1:2] + content[-2:-1]:
            found.setdefault(_exact_key(line), []).append(index)
    found = {key: sorted(set(pages_of)) for key, pages_of in found.items() if len(key) > 1}
    threshold = max(4, -(-2 * len(pages) // 3))
    everywhere = {key for key, pages_of in found.items() if len(pages_of) >= threshold}
    running = [set(everywhere) for _ in pages]
    for key, pages_of in found.items():
        span = pages_of[-1] - pages_of[0] + 1
        numbered = len(variants.get(key, ())) * 2 >= len(pages_of)
        if numbered and len(pages_of) >= NUMBERED_HEADER_PAGES and 3 * len(pages_of) >= 2 * span:
            for index in pages_of:
                running[index].add(key)
    return running


NUMBERED_HEADER_PAGES = 6


def drop_edge_lines(
    lines: list[str], running: set[str], top: bool = True, bottom: bool = True
) -> list[str]:
    """Lines without the running headers, footers and page numbers at their edges."""
    content = [i for i, x in enumerate(lines) if x.strip()]
    outer = set(content[:1] if top else []) | set(content[-1:] if bottom else [])
    inner = set(content[1:2] if top else []) | set(content[-2:-1] if bottom else [])

    def running_line(i: int, line: str) -> bool:
        if i in outer:
            return _line_key(line) in running or bool(_PAGE_NUMBER.match(line))
        if i in inner:
            return _exact_key(line) in running or bool(_PAGE_NUMBER.match(line))
        return False

    return [x for i, x in enumerate(lines) if not running_line(i, x)]


def _real_table(rows: list[list[str | None]]) -> bool:
    filled_rows = [r for r in rows if sum(1 for c in r if c and c.strip()) >= 2]
    return len(filled_rows) >= 2


_PAINT = frozenset([b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"])
_TOLERANCE = 3.0  # points; pdfplumber snaps and joins edges within 3 points


class RuledGrid:
    """The ruled lines a page paints, from the operators pypdf already reads for its text:
    pdfplumber (most of a PDF's load time) then runs only on pages whose lines cross into
    a grid that could hold a table. Clipping paths (`re W n`) are not painted, not kept."""

    def __init__(self) -> None:
        self.horizontal: list[tuple[float, float, float]] = []  # y, x0, x1
        self.vertical: list[tuple[float, float, float]] = []  # x, y0, y1
        self._path: list[tuple[str, float, float, float]] = []
        self._point: tuple[float, float] | None = None

    def __call__(self, operator: bytes, operands: list, cm: list, tm: list) -> None:
        try:
            self._visit(operator, operands, [float(v) for v in cm])
        except (TypeError, ValueError, IndexError):  # odd operands: not a ruling
            self._point = None

    @staticmethod
    def _page_point(cm: list[float], x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = cm
        return a * x + c * y + e, b * x + d * y + f

    def _segment(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        (x0, y0), (x1, y1) = start, end
        if abs(y1 - y0) < _TOLERANCE < abs(x1 - x0):
            self._path.append(("h", (y0 + y1) / 2, min(x0, x1), max(x0, x1)))
        elif abs(x1 - x0) < _TOLERANCE < abs(y1 - y0):
            self._path.append(("v", (x0 + x1) / 2, min(y0, y1), max(y0, y1)))

    def _visit(self, operator: bytes, operands: list, cm: list[float]) -> None:
        if operator == b"re":
            x, y, w, h = (float(v) for v in operands[:4])
            corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            points = [self._page_point(cm, *p) for p in corners]
            for i in range(4):  # a box's edges are rulings too (pdfplumber's `rect` edges)
                self._segment(points[i], points[(i + 1) % 4])
        elif operator == b"m":
            self._point = self._page_point(cm, float(operands[0]), float(operands[1]))
        elif operator == b"l" and self._point is not None:
            point = self._page_point(cm, float(operands[0]), float(operands[1]))
            self._segment(self._point, point)
            self._point = point
        elif operator in _PAINT:
            for kind, at, low, high in self._path:
                (self.horizontal if kind == "h" else self.vertical).append((at, low, high))
            self._path.clear()
        elif operator == b"n":
            self._path.clear()

    def may_hold_table(self) -> bool:
        # Two rows of two cells need crossings on three columns and three rows. On the real
        # corpus this kept all 392 table pages of 977 and sent 528 to pdfplumber (631 when
        # lines were only counted).
        columns: set[int] = set()
        rows: set[int] = set()
        for y, x0, x1 in self.horizontal:
            for x, y0, y1 in self.vertical:
                if (
                    x0 - _TOLERANCE <= x <= x1 + _TOLERANCE
                    and y0 - _TOLERANCE <= y <= y1 + _TOLERANCE
                ):
                    columns.add(round(x / _TOLERANCE))
                    rows.add(round(y / _TOLERANCE))
            if len(columns) >= 3 and len(rows) >= 3:  # a drawing of thousands of lines
                return True
        return False


def table_to_text(rows: list[list[str | None]]) -> str:
    """Rows in order, cells kept apart by ` | `; merged (empty) cells dropped."""
    out = []
    for row in rows:
        cells = [re.sub(r"\s+", " ", c).strip() for c in row if c is not None]
        if any(cells):
            out.append(" | ".join(cells))
    return "\n".join(out)


class PdfLoader:
    name = "pdf"
    suffixes = (".pdf",)

    def __init__(self, extract_tables: bool = True, ocr: OcrEngine | None = None) -> None:
        self.extract_tables = extract_tables
        self.ocr = ocr

    def _open(self, path: Path) -> pypdf.PdfReader:
        try:
            reader = pypdf.PdfReader(path, strict=False)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")
                except Exception as error:  # unsupported encryption algorithm
                    raise LoadError(f"encrypted PDF that cannot be opened: {error}") from error
                if opened == pypdf.PasswordType.NOT_DECRYPTED:
                    raise LoadError("encrypted PDF: a password is needed to open it")
            _ = len(reader.pages)
            return reader
        except LoadError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
            raise LoadError(
                f"corrupt or unreadable PDF ({type(error).__name__}: {error})"
            ) from error

    def load(self, path: Path) -> LoadedDocument:
        reader = self._open(path)
        page_count = len(reader.pages)
        if page_count == 0:
            raise LoadError("PDF has no pages")
        try:
            labels = list(reader.page_labels)
        except Exception:
            labels = [str(i + 1) for i in range(page_count)]
        warnings: list[str] = []
        page_lines: list[list[str]] = []
        table_pages: set[int] = set()
        for index, page in enumerate(reader.pages):
            rulings = RuledGrid()
            try:
                text = page.extract_text(
                    visitor_operand_before=rulings if self.extract_tables else None
                )
                text = clean_text(text or "")
            except Exception as error:
                warnings.append(f"page {index + 1}: text not readable ({type(error).__name__})")
                text = ""
            page_lines.append(text.split("\n"))
            if rulings.may_hold_table():
                table_pages.add(index)

        no_text = [
            i for i, lines in enumerate(page_lines) if sum(len(x.strip()) for x in lines) < 20
        ]
        ocr_pages: set[int] = set()
        if no_text:
            if self.ocr is not None and self.ocr.available():
                for i in no_text:
                    text = clean_text(self.ocr.page_text(path, i))
                    if text.strip():
                        page_lines[i] = text.split("\n")
                        ocr_pages.add(i)
                warnings.append(f"OCR used on {len(ocr_pages)} page(s) with no text layer")
            elif len(no_text) == page_count:
                raise LoadError(
                    "scanned PDF with no text layer: needs OCR (install tesseract-ocr and "
                    "tesseract-ocr-ita)"
                )
            else:
                warnings.append(
                    f"{len(no_text)} page(s) with no text layer need OCR: "
                    + ", ".join(str(i + 1) for i in no_text[:20])
                )

        table_pages -= ocr_pages
        tables = self._tables(path, table_pages, warnings) if table_pages else {}
        running = running_keys(page_lines)
        page_lines = [
            drop_edge_lines(lines, keys) for lines, keys in zip(page_lines, running, strict=True)
        ]
        for index, parts in tables.items():
            # Table pages come from pdfplumber: clean their edges the same way.
            texts = [i for i, (kind, _) in enumerate(parts) if kind == "text"]
            for i in texts:
                kind, text = parts[i]
                lines = drop_edge_lines(
                    text.split("\n"), running[index], top=i == 0, bottom=i == len(parts) - 1
                )
                parts[i] = (kind, "\n".join(lines))

        blocks: list[Block] = []
        for index, lines in enumerate(page_lines):
            page, label = index + 1, labels[index] if index < len(labels) else str(index + 1)
            if index in tables:
                for kind, text in tables[index]:
                    if text.strip():
                        blocks.append(Block(text=text, kind=kind, page=page, page_label=label))
                continue
            text = "\n".join(lines).strip()
            if text:
                blocks.append(Block(text=text, page=page, page_label=label))
        if not blocks:
            raise LoadError("no text found in PDF")
        return LoadedDocument(
            title=self._title(reader, page_lines),
            blocks=blocks,
            page_count=page_count,
            warnings=warnings,
        )

    def _tables(
        self, path: Path, pages: set[int], warnings: list[str]
    ) -> dict[int, list[tuple[str, str]]]:
        """For pages holding real tables: text and tables in vertical order (pdfplumber)."""
        import pdfplumber

        found: dict[int, list[tuple[str, str]]] = {}
        try:
            with pdfplumber.open(path, password="") as pdf:
                for index in sorted(pages):
                    page = pdf.pages[index]
                    try:
                        candidates = [t for t in page.find_tables() if _real_table(t.extract())]
                        if not candidates:
                            continue
                        candidates.sort(key=lambda t: t.bbox[1])
                        parts: list[tuple[str, str]] = []
                        top = 0.0
                        for table in candidates:
                            x0, t0, x1, t1 = table.bbox
                            if t0 > top:
                                above = (
                                    page.within_bbox((0, top, page.width, t0)).extract_text() or ""
                                )
                                parts.append(("text", clean_text(above)))
                            parts.append(("table", clean_text(table_to_text(table.extract()))))
                            top = max(top, t1)
                        if top < page.height:
                            below = (
                                page.within_bbox((0, top, page.width, page.height)).extract_text()
                                or ""
                            )
                            parts.append(("text", clean_text(below)))
                        found[index] = parts
                    except Exception as error:  # one bad page must not lose the others
                        warnings.append(
                            f"page {index + 1}: tables not readable ({type(error).__name__})"
                        )
                    finally:
                        page.flush_cache()
        except Exception as error:
            warnings.append(f"tables not extracted ({type(error).__name__}: {error})")
            return {}
        return found

    @staticmethod
    def _title(reader: pypdf.PdfReader, page_lines: list[list[str]]) -> str | None:
        try:
            meta_title = (reader.metadata or {}).get("/Title")
        except Exception:
            meta_title = None
        if isinstance(meta_title, str):
            meta_title = clean_text(meta_title).strip()
            if len(meta_title.split()) >= 3 and not _BAD_TITLE.match(meta_title):
                return meta_title[:200]
        for lines in page_lines[:2]:
            picked: list[str] = []
            for line in lines:
                line = line.strip()
                if len(line) < 4 or sum(c.isalpha() for c in line) < 4:
                    continue
                picked.append(line)
                if sum(len(x) for x in picked) >= 40 or len(picked) >= 3:
                    break
            if picked:
                return " ".join(picked)[:200]
        return None
