"""Draft a Call (assistant/calls/schema.py) from a call document, without an LLM.

`extract_call` loads the file with the project's loaders (PDF text and tables, DOCX,
Markdown, text), splits it into passages under their headings (`A.4`, `5.`, `Art. 3`: see
assistant/structure.py) and reads the rules with regular expressions tuned on Italian calls:
dates, amounts, rates, applicants, proposal sections and their limits, the scoring grid,
attachments. Lombardy calls also carry a "scheda informativa" table (`DATA CHIUSURA | ...`):
it is read first, since it states the key facts once and plainly.

Every value keeps its Place (section, page, the sentence that states it); values of one
model found in different places keep the extra places in `notes`. What was not found is
listed in `missing`, never guessed: the result is a draft for a person to check.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.calls.schema import Call, CostCategory, Criterion, Indicator, Limit, Place, Section
from assistant.calls.schema import Unit as LimitUnit
from assistant.loaders import LoadError, build_loaders, loader_for
from assistant.loaders.ocr import OcrEngine
from assistant.schema import Block
from assistant.structure import PathEntry, StructureParser, Unit
from assistant.text_analysis import fold

QUOTE_MAX = 300
# What a call normally states: those not found are listed as missing.
CHECKLIST = (
    "title",
    "programme",
    "fund",
    "managing_authority",
    "region",
    "dates.opening",
    "dates.closing",
    "applicants",
    "costs.min_total",
    "costs.max_total",
    "funding.max_rate",
    "funding.max_contribution",
    "funding.budget",
    "cost_categories",
    "sections",
    "scoring",
    "required_documents",
    "cumulation_allowed",
)


class ExtractionResult(BaseModel):
    call: Call
    found: list[str] = Field(default_factory=list, description="field paths filled")
    missing: list[str] = Field(default_factory=list, description="field paths not found")
    warnings: list[str] = Field(default_factory=list)
    pages: int | None = Field(default=None, description="pages of the document read")


# ----------------------------------------------------------------------------- passages
def flat(text: str) -> str:
    """Lower case without accents, one character per character (offsets stay valid)."""
    return "".join((fold(c) or c)[:1] for c in text)


_BOUNDARY = re.compile(
    r"(?<=[.;!?])\s+(?=[A-ZÀ-Ý•➢▪✓\-–“\"«])|\s+(?=[•➢▪✓]\s)|\s+(?=[-–]\s)|\s\|\s"
    r"|(?<=:)\s+(?=[a-z]\)\s)"
)
_MARKER = re.compile(r"^(?:\(?[a-zA-Z]\)|[A-Z]\.(?=\s)|\d{1,2}[.)](?=\s)|[•➢▪✓\-–])\s*")


@dataclass
class Passage:
    """A paragraph or list item of the call, or one row of a table, as one line of text."""

    text: str
    section: str | None
    title: str  # flat title of the enclosing section, for keyword tests
    offsets: list[int]  # where each source line starts in `text`
    pages: list[int | None]
    lines: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    item: str | None = None  # "paragraph" or "point" for a numbered or lettered item
    order: int = 0
    flat: str = ""

    def __post_init__(self) -> None:
        self.flat = flat(self.text)

    @property
    def is_header(self) -> bool:
        return bool(self.cells) and self.cells == self.header

    def page_at(self, offset: int) -> int | None:
        index = bisect_right(self.offsets, offset) - 1
        return self.pages[max(index, 0)] if self.pages else None

    @cached_property
    def _sentences(self) -> tuple[list[int], list[int]]:
        """Where the sentences start and end (list items and table cells count as sentences)."""
        starts, ends = [0], []
        for m in _BOUNDARY.finditer(self.text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(self.text))
        return starts, ends

    def sentence_span(self, start: int, end: int | None = None) -> tuple[int, int]:
        starts, ends = self._sentences
        s = starts[max(bisect_right(starts, max(start, 0)) - 1, 0)]
        index = bisect_left(ends, start if end is None else end)
        return s, ends[min(index, len(ends) - 1)]

    def sentence(self, offset: int) -> str:
        s, e = self.sentence_span(offset)
        return self.flat[s:e]

    def context(self, offset: int) -> str:
        """The sentence at `offset` and the one before it (an intro ending with a colon)."""
        s, e = self.sentence_span(offset)
        previous = self.sentence_span(s - 2)[0] if s >= 2 else s
        return self.flat[previous:e]

    def sentences(self) -> Iterator[tuple[int, int]]:
        yield from zip(*self._sentences, strict=True)

    def quote(self, start: int, end: int) -> str:
        if self.cells and len(self.text) <= QUOTE_MAX:
            return self.text
        s, e = self.sentence_span(start, end)
        if e - s <= QUOTE_MAX:
            return self.text[s:e].strip()
        left = start if end - start >= QUOTE_MAX else start - (QUOTE_MAX - (end - start)) // 2
        left = max(s, min(left, e - QUOTE_MAX))
        right = min(e, left + QUOTE_MAX)
        if left > s and " " in self.text[left:right]:
            left = self.text.index(" ", left) + 1
        if right < e and " " in self.text[left:right]:
            right = self.text.rindex(" ", left, right)
        return self.text[left:right].strip()

    def place(self, start: int, end: int | None = None) -> Place:
        end = start if end is None else end
        return Place(section=self.section, page=self.page_at(start), quote=self.quote(start, end))


_STRUCTURAL = {"paragraph", "point", "subpoint", "recital"}


def section_entry(path: list[PathEntry]) -> PathEntry | None:
    """The deepest heading; a "heading" whose title starts in lower case is a body line
    that begins with a reference (`A.4 del bando, il quale ...`): skipped."""
    return next(
        (e for e in reversed(path) if e.kind not in _STRUCTURAL and not e.title[:1].islower()),
        None,
    )


def section_name(entry: PathEntry | None) -> str | None:
    """`3. Soggetti beneficiari`, `A.4 Soggetti beneficiari`, `Art. 5 Contributo`."""
    if entry is None:
        return None
    if entry.kind == "heading":
        return entry.label
    label = entry.label.removeprefix("§ ")
    if entry.kind == "numbered_section" and "." not in label:
        label += "."
    title = entry.title[:1] + entry.title[1:].lower() if entry.title.isupper() else entry.title
    return f"{label} {title}".strip()


def _join(lines: list[str], pages: list[int | None]) -> tuple[str, list[int], list[int | None]]:
    """Lines as one string, a word broken at a line end joined again; line starts kept."""
    text, offsets, kept = "", [], []
    for line, page in zip(lines, pages, strict=False):
        line = " ".join(line.split())
        if not line:
            continue
        if text.endswith("-") and text[-2:-1].isalpha() and line[:1].islower():
            text = text[:-1]
        elif text:
            text += " "
        offsets.append(len(text))
        kept.append(page)
        text += line
    return text, offsets, kept


def _cells(row: str) -> list[str]:
    # pdfplumber keeps the hyphen of a word broken inside a cell: "rila- scio"
    return [re.sub(r"(?<=[a-zà-ù])- (?=[a-zà-ù])", "", c.strip()) for c in row.split(" | ")]


def _table_passages(unit: Unit, section: str | None, title: str) -> list[Passage]:
    rows = [r for r in unit.text.split("\n") if r.strip()]
    header = _cells(rows[0]) if rows else []
    out = []
    for row in rows:
        cells = _cells(row)
        text = " | ".join(cells)
        out.append(Passage(text, section, title, [0], [unit.page], cells=cells, header=header))
    return out


def build_passages(units: list[Unit]) -> list[Passage]:
    passages: list[Passage] = []
    for unit in units:
        entry = section_entry(unit.path)
        section = section_name(entry)
        title = flat(entry.title or entry.label) if entry else ""
        if unit.kind == "table":
            passages += _table_passages(unit, section, title)
            continue
        text, offsets, pages = _join(unit.lines, unit.pages)
        if not text:
            continue
        kind = unit.path[-1].kind if unit.path else None
        lines = [" ".join(x.split()) for x in unit.lines if x.strip()]
        item = kind if kind in ("paragraph", "point") else None
        passages.append(Passage(text, section, title, offsets, pages, lines=lines, item=item))
    for order, passage in enumerate(passages):
        passage.order = order
    return passages


class _HeadingRecorder(StructureParser):
    """The structure parser, keeping every heading it meets with its page: a heading with
    no text under it (`Sezione 1 – Sintesi (max 1.500 caratteri)`) makes no unit."""

    def __init__(self) -> None:
        super().__init__()
        self.page: int | None = None
        self.headings: list[tuple[PathEntry, int | None]] = []

    def block(self, block: Block) -> None:
        self.page = block.page
        super().block(block)

    def _push(self, entry: PathEntry) -> None:
        super()._push(entry)
        if entry.kind not in _STRUCTURAL:
            self.headings.append((entry, self.page))


def parse_call(blocks: list[Block]) -> tuple[list[Unit], str | None, list[Passage]]:
    """Units, document title, and the headings as passages of their own."""
    parser = _HeadingRecorder()
    for block in blocks:
        parser.block(block)
    units = parser.finish()
    headings = []
    for entry, page in parser.headings:
        name = section_name(entry) or ""
        headings.append(
            Passage(name, name, flat(entry.title or entry.label), [0], [page], lines=[name])
        )
    return units, parser.document_title, headings


# ------------------------------------------------------------------------ values in text
_MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre".split()
)
DATE_RE = re.compile(
    r"\b(\d{1,2})\s?([/.-])\s?(\d{1,2})\s?\2\s?(\d{4})\b"
    r"|\b(\d{1,2})\s*[°º]?\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})\b",
    re.I,
)


def iter_dates(text: str) -> Iterator[tuple[int, int, date]]:
    """Italian dates: `02/03/2026`, `11.03.2025`, `2 marzo 2026`, `1° ottobre 2026`."""
    for m in DATE_RE.finditer(text):
        if m.group(1):
            d, mo, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        else:
            d, mo, y = int(m.group(5)), _MONTHS.index(m.group(6).lower()) + 1, int(m.group(7))
        try:
            yield m.start(), m.end(), date(y, mo, d)
        except ValueError:
            continue


_NUM = r"\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_MULT = r"milion[ei]|mln|miliard[oi]|mld|mila"
MONEY_RE = re.compile(
    rf"(?:€|\beuro\b|\beur\b)\s*(?P<a>{_NUM})(?:\s*(?P<am>{_MULT})\b)?"
    rf"|(?P<b>{_NUM})\s*(?:(?P<bm>{_MULT})\s*(?:di\s+)?)?(?:€|\beuro\b|\beur\b)(?!\s*/)"
    rf"|(?P<c>\d{{1,3}}(?:\.\d{{3}})+,\d{{2}})(?!\d)(?!\s*(?:€|euro)?\s*/)",
    re.I,
)
PERCENT_RE = re.compile(r"(\d{1,3}(?:[,.]\d{1,2})?)\s*(?:%|per\s?cento\b)", re.I)
_PLAIN_INT = r"(\d{1,3}(?:\.\d{3})+|\d+)"


def parse_number(text: str) -> float:
    """Italian number: `1.200.000,00`, `500.000`, `1,5`, `5000`."""
    return float(re.sub(r"[.\u00a0\u202f]", "", text).replace(",", "."))


def _multiplier(word: str | None) -> float:
    if not word:
        return 1.0
    word = word.lower()
    if word.startswith(("miliard", "mld")):
        return 1e9
    return 1e3 if word == "mila" else 1e6


def iter_money(text: str) -> Iterator[tuple[int, int, float]]:
    """Amounts: `€ 1.200.000,00`, `euro 500.000`, `1,5 milioni di euro`, `300.000,00`."""
    for m in MONEY_RE.finditer(text):
        number = m.group("a") or m.group("b") or m.group("c")
        value = parse_number(number) * _multiplier(m.group("am") or m.group("bm"))
        if value >= 1:
            yield m.start(), m.end(), value


def plain_int(text: str) -> int:
    return int(text.replace(".", ""))


# ------------------------------------------------------------------------- candidates
@dataclass
class Candidate:
    value: Any
    place: Place
    rank: int  # lower is more trustworthy
    order: int
    passage: int = -1
    span: tuple[int, int] = (0, 0)  # where the value is in its passage


def best(candidates: list[Candidate]) -> Candidate | None:
    return min(candidates, key=lambda c: (c.rank, c.order)) if candidates else None


def _distinct(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


@dataclass
class Draft:
    """The call being filled, and what the person must check."""

    data: dict[str, Any]
    found: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def mark(self, path: str) -> None:
        if path not in self.found:
            self.found.append(path)

    def note(self, path: str, place: Place) -> None:
        self.notes.append(f"{path}: {place.label() or 'senza pagina'} «{place.quote or ''}»")

    def set_model(self, name: str, values: dict[str, Any], places: list[tuple[str, Place]]):
        """A sub-model with its first place; the other places go to the notes."""
        if not values:
            return
        values["place"] = places[0][1]
        for path, place in places:
            self.mark(path)
            if place != values["place"]:
                self.note(path, place)
        self.data[name] = values


def scheda_rows(passages: list[Passage], key: str) -> Iterator[tuple[Passage, int]]:
    """Rows of a key | value table (the Lombardy "scheda informativa") whose key matches,
    with the offset of the value in the row."""
    for p in passages:
        if len(p.cells) < 2 or not 0 < len(p.cells[0]) <= 60:
            continue
        if re.fullmatch(key, flat(p.cells[0]).strip(" :")):
            value = next((c for c in p.cells[1:] if c.strip()), None)
            if value:
                yield p, p.text.index(value, len(p.cells[0]))


def _is_scheda(p: Passage, key: str) -> bool:
    return (
        len(p.cells) >= 2 and len(p.cells[0]) <= 60 and re.search(key, flat(p.cells[0])) is not None
    )


# ------------------------------------------------------------------- title and authority
_TITLE_START = re.compile(
    r"^(bando|avviso|manifestazione d['’]interesse|invito|call for proposals)\b"
)


def extract_title(
    passages: list[Passage], doc_title: str | None, structure_title: str | None, draft: Draft
) -> str | None:
    for p, at in scheda_rows(passages, r"titolo"):
        title = p.text[at:].split(" | ")[0].strip()
        draft.note("title", p.place(at, at + len(title)))
        return title
    if structure_title:
        return structure_title
    for p in passages[:60]:
        if p.cells or p.page_at(0) not in (None, 1, 2):
            continue
        for i, line in enumerate(p.lines):
            if _TITLE_START.match(flat(line)) and len(line) >= 10:
                short = len(line.split()) <= 3 and i + 1 < len(p.lines)
                title = f"{line} {p.lines[i + 1]}" if short else line
                draft.note(
                    "title", Place(section=p.section, page=p.page_at(0), quote=title[:QUOTE_MAX])
                )
                return title[:200]
    if doc_title and not flat(doc_title).startswith("allegato"):
        return doc_title
    return None


_REGIONS = {
    "Abruzzo": r"abruzz(?:o|es[ei])",
    "Basilicata": r"basilicata|lucan[oaie]",
    "Calabria": r"calabri(?:a|[ae]s[ei])",
    "Campania": r"campania",
    "Emilia-Romagna": r"emilia[- ]romagna|emilian[oaie]-romagnol[oaie]",
    "Friuli Venezia Giulia": r"friuli[- ]venezia giulia",
    "Lazio": r"lazio|lazial[ei]",
    "Liguria": r"liguria|ligur[ei]",
    "Lombardia": r"lombardia|lombard[oaie]",
    "Marche": r"marche|marchigian[oaie]",
    "Molise": r"molise|molisan[oaie]",
    "Piemonte": r"piemonte|piemontes[ei]",
    "Puglia": r"puglia|puglies[ei]",
    "Sardegna": r"sardegna",
    "Sicilia": r"sicilia|sicilian[oaie]",
    "Toscana": r"toscana|toscan[oaie]",
    "Trentino-Alto Adige": r"trentino[- ]alto adige",
    "Umbria": r"umbria|umbr[oaie]",
    "Valle d'Aosta": r"valle d['’]aosta|valdostan[oaie]",
    "Veneto": r"veneto|venet[aie]",
}
_REGION_RE = re.compile(r"\bregione\s+(" + "|".join(_REGIONS) + r")\b", re.I)
_MINISTRY_RE = re.compile(
    r"\bMinistero\s+(?:dell['’]\s?|della\s+|delle\s+|del\s+|degli\s+|dei\s+|per\s+(?:la|il|gli|le)\s+)?"
    r"[A-ZÀ-Ý][\wà-ù'’]+(?:\s+(?:e|del|della|delle|dei|degli|dell['’])\s*[A-ZÀ-Ý][\wà-ù'’]+){0,3}"
)


def region_mentioned(region: str, text_flat: str) -> bool:
    return re.search(rf"\b(?:{_REGIONS[region]})\b", text_flat) is not None


def extract_authority(passages: list[Passage], draft: Draft) -> str | None:
    """Regione X (the most cited), else the most cited Ministero; returns the region."""
    regions: Counter[str] = Counter()
    for p in passages:
        for m in _REGION_RE.finditer(p.text):
            regions[next(r for r in _REGIONS if r.lower() == m.group(1).lower())] += 1
    if regions:
        region = regions.most_common(1)[0][0]
        draft.data |= {"managing_authority": f"Regione {region}", "region": region}
        draft.mark("managing_authority")
        draft.mark("region")
        return region
    ministries = Counter(
        " ".join(m.group().split()) for p in passages for m in _MINISTRY_RE.finditer(p.text)
    )
    if ministries:
        draft.data["managing_authority"] = ministries.most_common(1)[0][0]
        draft.mark("managing_authority")
    return None


# -------------------------------------------------------------------- programme and fund
_PROGRAMME_RE = re.compile(
    r"\b(?P<kind>PR|POR|PON|PN)\s+(?P<pre>(?:[A-Z][\w'’-]+\s+){0,2}?)"
    r"(?P<fund>FESR(?:\s?[-–/]\s?FSE\+?)?|FSE\+?(?:\s?[-–/]\s?FESR)?|FEASR|FEAMPA)\s*"
    r"(?P<post>(?:[A-Z][a-z]+\s+){0,2})(?P<y1>20\d\d|\d\d)\s*[-–/]\s*(?P<y2>20\d\d|\d\d)\b"
)
_PROGRAMME_LONG_RE = re.compile(
    r"\bProgramma Regionale\s+(?:a valere sul\s+)?(?:\(?FESR\)?|Fondo Europeo di Sviluppo Regionale)"
    r"[^.;]{0,20}?(?P<y1>20\d\d)\s*[-–/]\s*(?P<y2>20\d\d)",
    re.I,
)
_INTERREG_RE = re.compile(r"\bInterreg\s+(?:[A-Z][\w-]*\s?){1,4}(?:20\d\d\s*[-–]\s*20\d\d)?")
_PNRR_MEASURE_RE = re.compile(r"\bM(\d)\s?C(\d)\b(?:[^.;]{0,40}?\bI(?:nvestimento)?\s?(\d+\.\d+))?")
# Where a call says what pays for it: "a valere sul PNRR", "risorse del bilancio regionale".
_PNRR_FUNDING = re.compile(
    r"a valere (?:sul|sulle risorse del) pnrr|finanziat\w+ (?:dal|con (?:le )?risorse del) pnrr"
    r"|nextgenerationeu|next generation eu|piano nazionale di ripresa e resilienza[^.;]{0,40}missione"
)
_REGIONAL_FUNDING = re.compile(
    r"risorse (?:regionali|di regione|del bilancio regionale|autonome)|bilancio regionale|fondi regionali"
)
_FUND_NAMES = {
    "FESR": r"\bfesr\b|fondo europeo di sviluppo regionale",
    "FSE+": r"\bfse\+?|fondo sociale europeo",
    "FEASR": r"\bfeasr\b|fondo europeo agricolo per lo sviluppo rurale",
    "FEAMPA": r"\bfeampa\b",
}
_COHESION = {"FESR", "FSE+", "JTF", "Interreg", "FEAMPA"}


def _years(y: str) -> str:
    return y if len(y) == 4 else f"20{y}"


def _programmes(passages: list[Passage], region: str | None) -> Counter[str]:
    """Programme names as cited, with the region added where the text leaves it out."""
    found: Counter[str] = Counter()
    for p in passages:
        for m in _PROGRAMME_RE.finditer(p.text):
            fund = re.sub(r"\s", "", m.group("fund")).replace("–", "-").replace("/", "-")
            names = f"{m.group('pre')}{m.group('post')}".split()
            years = f"{_years(m.group('y1'))}-{_years(m.group('y2'))}"
            parts = [m.group("kind"), *names, fund] if names else [m.group("kind"), fund, region]
            found[" ".join(x for x in [*parts, years] if x)] += 1
        for m in _PROGRAMME_LONG_RE.finditer(p.text):
            found[" ".join(x for x in ("PR FESR", region, f"{m['y1']}-{m['y2']}") if x)] += 1
    return found


def _programme_fund(programme: str, all_flat: str) -> str | None:
    funds = [f for f in _FUND_NAMES if f.rstrip("+") in programme]
    if len(funds) <= 1:
        return funds[0] if funds else None
    counts = {f: len(re.findall(_FUND_NAMES[f], all_flat)) for f in funds}
    return max(counts, key=counts.__getitem__)


def _funding_text(passages: list[Passage]) -> str:
    """The words of the budget sections and rows: where a call names its money."""
    parts = [
        p.flat
        for p in passages
        if re.search(r"dotazion|risorse|fonte di finanziamento|copertura finanziaria", p.title)
        or _is_scheda(p, r"dotazione|risorse")
    ]
    return " ".join(parts)


def _fund_source(text: str, strict: bool = False) -> str | None:
    """PNRR or regional money, from the words that say where the money comes from;
    `strict` for the whole text, where "PNRR" alone is often a rule on cumulation."""
    if _PNRR_FUNDING.search(text) or (not strict and "pnrr" in text):
        return "PNRR"
    if _REGIONAL_FUNDING.search(text) or (not strict and "legge regionale" in text):
        return "regionale"
    return None


def extract_programme(passages: list[Passage], region: str | None, draft: Draft) -> None:
    programmes = _programmes(passages, region)
    all_flat = " ".join(p.flat for p in passages)
    money_flat = _funding_text(passages)
    programme = fund = None
    if programmes:
        programme = programmes.most_common(1)[0][0]
        fund = _programme_fund(programme, all_flat)
    elif m := _INTERREG_RE.search(" ".join(p.text for p in passages[:60])):
        programme, fund = " ".join(m.group().split()), "Interreg"
    else:
        fund = _fund_source(money_flat) or _fund_source(all_flat, strict=True)
        if fund == "PNRR":
            programme = "PNRR"
            if measure := _PNRR_MEASURE_RE.search(" ".join(p.text for p in passages)):
                programme += f" M{measure[1]}C{measure[2]}" + (
                    f" I{measure[3]}" if measure[3] else ""
                )
    if programme:
        draft.data["programme"] = programme
        draft.mark("programme")
    if fund:
        draft.data |= {"fund": fund, "cohesion_policy": fund in _COHESION}
        draft.mark("fund")
    if len(programmes) > 1:
        others = ", ".join(name for name, _ in programmes.most_common()[1:4])
        draft.warnings.append(f"programme: altri programmi citati nel testo ({others})")


_OBJECTIVE_RE = re.compile(
    r"\b(RSO|ESO)\s?(\d\.\d{1,2})\b|\bobiettivo specifico\s+(\d\.\d{1,2})\b", re.I
)


def extract_objective(passages: list[Passage], draft: Draft) -> None:
    for p in passages[:400]:
        if m := _OBJECTIVE_RE.search(p.text):
            if m.group(1):
                value = f"{m.group(1).upper()}{m.group(2)}"
            else:  # "Obiettivo specifico 2.1" of a FESR programme is RSO2.1
                prefix = {"FESR": "RSO", "FSE+": "ESO"}.get(draft.data.get("fund") or "", "")
                value = f"{prefix}{m.group(3)}"
            draft.data["specific_objective"] = value
            draft.mark("specific_objective")
            return


# ---------------------------------------------------------------------------------- dates
_APPLICATION = re.compile(
    r"domand|candidatur|istanz|propost[ae] progettual|sportello|present|pervenir|pervenut"
)
_NOT_APPLICATION = re.compile(
    r"rendicont|conclu[sd]|ultimazion|fine lavori|avvio|erogaz|quesit|chiariment|faq"
    r"|integrazion|accettazion|liquidaz|graduatori|esito|collaud|saldo|anticip|variant|prorog"
    r"|spes[ae] (?:sostenut|ammissibil)|realizzazione|affidamento"
)
_LABELLED_DATE = re.compile(
    r"\b(apertura|chiusura|scadenza)(?: (?:dei termini|del bando|dell['’]avviso|dello sportello))?"
    r"\s*(?::|\bil\b|\bal\b)\s*(?:ore\s*[\d.,:]+\s*(?:del\s*)?)?$"
)


_LABELLED_CONTEXT = re.compile(r"domand|candidatur|sportello|present|\bbando\b|\bavviso\b")


def _row_dates(p: Passage, dates: list, opening: list, closing: list) -> None:
    """`DATA CHIUSURA | 15 maggio 2025`; `Chiusura termini per la presentazione della
    domanda | 13 marzo 2025 h. 16.00` (a timetable row: weaker)."""
    key = flat(p.cells[0])
    values = [(s, e, d) for s, e, d in dates if s >= len(p.cells[0])]
    if not values or len(key) > 120:
        return
    s, e, d = values[0]
    scheda = key.startswith("data")
    if not (scheda or _APPLICATION.search(key)):
        return
    if re.search(r"\bapertura\b", key):
        opening.append(Candidate(d, p.place(s, e), 0 if scheda else 2, p.order))
    elif re.search(r"\b(?:chiusura|scadenza|termine)\b", key):
        closing.append(Candidate(d, p.place(s, e), 0 if scheda else 2, p.order))


def _range_dates(p: Passage, dates: list, opening: list, closing: list) -> None:
    """`dalle ore 10:00 del 2 marzo 2026 alle ore 12:00 del 30 aprile 2026` said of the
    applications (in its sentence or the intro before it)."""
    for (s1, e1, d1), (s2, e2, d2) in zip(dates, dates[1:], strict=False):
        before, between = p.flat[max(0, s1 - 45) : s1], p.flat[e1:s2]
        if (
            len(between) <= 120
            and d1 <= d2
            and re.search(r"\bdal(?:le)?\b|a partire|a decorrere", before)
            and re.search(r"\b(?:al|alle|fino|sino|entro)\b", between)
            and _APPLICATION.search(p.context(s1))
            and not _NOT_APPLICATION.search(p.sentence(s1))
        ):
            place = p.place(s1, e2)
            opening.append(Candidate(d1, place, 1, p.order))
            closing.append(Candidate(d2, place, 1, p.order))


def _date_candidates(passages: list[Passage]) -> tuple[list[Candidate], list[Candidate]]:
    opening: list[Candidate] = []
    closing: list[Candidate] = []
    for p in passages:
        dates = list(iter_dates(p.text))
        if not dates:
            continue
        if len(p.cells) >= 2:
            _row_dates(p, dates, opening, closing)
        _range_dates(p, dates, opening, closing)
        for s, e, d in dates:
            before, sentence = p.flat[max(0, s - 60) : s], p.sentence(s)
            if (label := _LABELLED_DATE.search(before)) and _LABELLED_CONTEXT.search(p.flat):
                target = opening if label.group(1) == "apertura" else closing
                target.append(Candidate(d, p.place(s, e), 1, p.order))
            elif (
                re.search(r"\b(?:entro|non oltre|scadenza|termine)\b", before)
                and _APPLICATION.search(sentence)
                and not _NOT_APPLICATION.search(sentence)
            ):
                closing.append(Candidate(d, p.place(s, e), 3, p.order))
    return opening, closing


# "concludersi entro il 30 settembre 2029", "avvio dei lavori: entro il 25/09/2026"
_PROJECT_DEADLINES = {
    "project_end_by": re.compile(
        r"(?:conclu[sd]\w*|ultimazione|ultimat\w*|fine lavori|\btermin(?:ano|are|ino)\b|termin\w+ (?:del|dei|delle) "
        r"(?:progett|lavori|intervent|attivit))[^.;]{0,40}?\bentro\b[^.;]{0,25}$"
    ),
    "project_start_by": re.compile(r"(?:inizi\w*|avvi[oa]\w*)[^.;]{0,40}?\bentro\b[^.;]{0,25}$"),
}


def _project_dates(passages: list[Passage]) -> dict[str, Candidate]:
    """The latest start and end of the project, from the words right before each date."""
    candidates: dict[str, list[Candidate]] = {k: [] for k in _PROJECT_DEADLINES}
    for p in passages:
        for s, e, d in iter_dates(p.text):
            before = p.flat[max(p.sentence_span(s)[0], s - 90) : s]
            if re.search(r"domand|rendicont|prorog|richiest", before):
                continue
            rank = 0 if re.search(r"temp|durata|termin|realizzazion|cronoprogramm", p.title) else 1
            for key, pattern in _PROJECT_DEADLINES.items():
                if pattern.search(before):
                    candidates[key].append(Candidate(d, p.place(s, e), rank, p.order))
                    break
    return {k: c for k, found in candidates.items() if (c := best(found)) is not None}


def extract_dates(passages: list[Passage], draft: Draft) -> None:
    opening, closing = _date_candidates(passages)
    dates: dict[str, Any] = {}
    places: list[tuple[str, Place]] = []
    for name, candidates in (("closing", closing), ("opening", opening)):
        chosen = best(candidates)
        if chosen is None:
            continue
        dates[name] = chosen.value
        places.append((f"dates.{name}", chosen.place))
        same = _distinct([c.value for c in candidates if c.rank == chosen.rank])
        if len(same) > 1:
            listed = ", ".join(d.isoformat() for d in same[:4])
            draft.warnings.append(f"dates.{name}: date diverse con lo stesso peso ({listed})")
    for key, chosen in _project_dates(passages).items():
        dates[key] = chosen.value
        places.append((f"dates.{key}", chosen.place))
    if dates.get("opening") and dates.get("closing") and dates["opening"] > dates["closing"]:
        draft.warnings.append("dates: l'apertura risulta successiva alla chiusura")
    draft.set_model("dates", dates, places)


# ----------------------------------------------------------------------------- applicants
APPLICANT_TYPES: list[tuple[str, str]] = [
    ("unione_di_comuni", r"\bunion[ei] (?:dei |di )?comuni\b"),
    ("comunita_montana", r"\bcomunita montan[ae]\b"),
    ("citta_metropolitana", r"\bcitta metropolitan[ae]\b"),
    ("ambito_sociale", r"\bambit[oi] (?:territorial[ei] )?social[ei]\b"),
    ("provincia", r"(?<!\bin )\bprovinc(?:ia|e)\b"),
    ("comune", r"\bcomun[ei]\b"),
    ("ente_locale", r"\benti locali\b"),
    ("ente_pubblico", r"\b(?:soggetti|enti) pubblici\b|\bpubbliche amministrazioni\b"),
    ("ente_terzo_settore", r"\benti? del terzo settore\b"),
    ("impresa", r"\bimprese\b|\bpmi\b"),
    ("universita", r"\buniversita\b"),
    ("organismo_di_ricerca", r"\b(?:enti|organismi) di ricerca\b"),
    (
        "ente_edilizia_residenziale_pubblica",
        r"\baler\b|\bater\b|aziende? [^.;]{0,25}edilizia residenziale",
    ),
    ("istituzione_scolastica", r"\bistituzioni scolastiche\b|\bistituti scolastici\b"),
]
# Enti locali (d.lgs. 267/2000, art. 2), as the types a project declares.
LOCAL_AUTHORITIES = [
    "comune",
    "unione_di_comuni",
    "comunita_montana",
    "provincia",
    "citta_metropolitana",
    "ente_locale",
]
_BENEFICIARY_TITLE = re.compile(
    r"beneficiari|destinatari|soggetti (?:ammess|ammissibil|richiedent|proponent)"
    r"|chi puo partecipare|requisiti (?:di|dei) (?:partecipazione|soggetti)"
)
_NOT_BENEFICIARY_TITLE = re.compile(
    r"obblighi|decadenz|rinunc|revoc|informazion|pubblicit|elenco|modalita|erogazion|comunicazion"
)
_ELIGIBILITY_CUE = re.compile(
    r"possono|ammess|ammissibil|benefici|rivolt|destinat|soggett|partecip|present|accedere"
    r"|richiedent|propon|candid"
)
_EXCLUSION_CUE = re.compile(r"\besclus[ieoa]\b|\bnon (?:possono|sono ammess|e ammess)")
_CAPOLUOGO = re.compile(r"(?:comun[ei]|citta) (non )?capoluog|(non )?capoluogo di provincia")
_QUOTED = re.compile(r"[“\"«][^”\"»]{0,200}[”\"»]")


def applicant_types(sentence_flat: str) -> list[str]:
    text = _QUOTED.sub(" ", sentence_flat)  # law titles: "Riordino delle Comunità montane"
    found: list[str] = []
    for name, pattern in APPLICANT_TYPES:
        hits = list(re.finditer(pattern, text))
        if hits:
            found.append(name)
        for m in hits:  # "unioni di comuni" is not "comuni" too
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    if "ente_locale" in found:
        found += [t for t in LOCAL_AUTHORITIES if t not in found]
    return found


_POP_MAX = re.compile(
    r"(?:fino a|non superiore a|pari o inferiore a|inferiore o (?:pari|uguale) a|inferiore a|meno di"
    rf"|sotto i|entro i)\s*(?:i\s+|ai\s+)?{_PLAIN_INT}"
)
_POP_MIN = re.compile(
    r"(?:superiore a|oltre|piu di|almeno|sopra i|maggiore di|pari o superiore a|non inferiore a)"
    rf"\s*(?:i\s+|ai\s+)?{_PLAIN_INT}"
)


def population_limits(sentence_flat: str) -> tuple[int | None, int | None]:
    """(more than, at most) from `fino a 5.000 abitanti`, `popolazione superiore a 15.000`."""
    text = sentence_flat
    if m := re.search(
        rf"\bda\s+{_PLAIN_INT}\s+(?:a|fino a)\s+{_PLAIN_INT}\s*(?:abitant|residenti)", text
    ):
        return plain_int(m.group(1)) - 1, plain_int(m.group(2))
    low = high = None
    if m := next((x for x in _POP_MAX.finditer(text) if _is_population(text, x)), None):
        strict = re.match(r"inferiore a|meno di|sotto", m.group())
        high = plain_int(m.group(1)) - (1 if strict else 0)
    if m := next((x for x in _POP_MIN.finditer(text) if _is_population(text, x)), None):
        inclusive = re.match(r"almeno|pari o superiore|non inferiore", m.group())
        low = plain_int(m.group(1)) - (1 if inclusive else 0)
    return low, high


def _is_population(text: str, m: re.Match[str]) -> bool:
    after, before = text[m.end() : m.end() + 14], text[max(0, m.start() - 30) : m.start()]
    return bool(re.match(r"\s*(?:abitant|residenti)", after) or "popolazion" in before)


def _beneficiary_sentences(passages: list[Passage]) -> list[tuple[Passage, int, int, bool]]:
    """(passage, start, end, from a beneficiary section or row) of sentences on who may apply."""
    out: list[tuple[Passage, int, int, bool]] = []
    for p in passages:
        if (
            p.cells
            or not _BENEFICIARY_TITLE.search(p.title)
            or _NOT_BENEFICIARY_TITLE.search(p.title)
        ):
            continue
        out += [(p, s, e, True) for s, e in p.sentences()]
    for p, at in scheda_rows(passages, r"chi puo partecipare|(?:soggetti )?beneficiari"):
        out += [(p, s, e, True) for s, e in p.sentences() if s >= at]
    if not out:
        cue = r"possono (?:presentare|partecipare|accedere|beneficiare|candidar)|sono ammessi a presentare"
        for p in passages:
            for m in re.finditer(cue, "" if p.cells else p.flat):
                out.append((p, *p.sentence_span(m.start()), False))
    return out


def extract_applicants(passages: list[Passage], region: str | None, draft: Draft) -> None:
    included: list[str] = []
    excluded: list[str] = []
    limits: dict[str, list[tuple[int, Place]]] = {"min_population": [], "max_population": []}
    group: dict[str, Any] = {}
    for p, s, e, listed in _beneficiary_sentences(passages):
        sentence = p.flat[s:e]
        cue = _ELIGIBILITY_CUE.search(sentence) is not None
        types = applicant_types(sentence) if cue or listed else []
        if _EXCLUSION_CUE.search(sentence):
            excluded += types
            continue
        if not types:
            continue
        included += types
        group.setdefault("place", p.place(s, e))
        plain = re.sub(r"\([^)]*\)", " ", sentence)  # an aside is not the eligibility rule
        low, high = population_limits(plain) if cue else (None, None)
        for key, value in (("min_population", low), ("max_population", high)):
            if value is not None:
                limits[key].append((value, p.place(s, e)))
        if region and region_mentioned(region, p.context(s)):
            group["regions"] = [region]
        if m := _CAPOLUOGO.search(_QUOTED.sub(" ", sentence)):
            group.setdefault("capoluogo", not re.search(r"\bnon\b", m.group()))
    if not included:
        return
    group["types"] = _distinct(included)
    _population(group, limits, draft)
    applicants: dict[str, Any] = {"groups": [group], "place": group["place"]}
    if excluded := [t for t in _distinct(excluded) if t not in included]:
        applicants["excluded_types"] = excluded
    draft.data["applicants"] = applicants
    draft.mark("applicants")


def _population(group: dict[str, Any], limits: dict[str, list[tuple[int, Place]]], draft: Draft):
    for key, found in limits.items():
        if not found:
            continue
        group[key] = found[0][0]
        draft.mark(f"applicants.{key}")
        if found[0][1] != group["place"]:
            draft.note(f"applicants.{key}", found[0][1])
        if len({v for v, _ in found}) > 1:
            listed = ", ".join(str(v) for v, _ in found)
            draft.warnings.append(f"applicants.{key}: soglie diverse ({listed}), forse più gruppi")


# ----------------------------------------------------------------------------- money rules
_CONTRIBUTION = re.compile(r"contribut|agevolazion|sovvenzion|finanziament|fondo perduto|\baiut")
_COST = re.compile(r"\bcost[oi]\b|\bimport[oi]\b|\bspes[ae]\b|\binvestiment[oi]\b|\bvalore\b")
_LIMIT_WORD = re.compile(
    r"massim|minim|fino a|non superiore|non inferiore|limite|\bmax\b|entro|almeno|superiore a"
    r"|inferiore a|\btetto\b"
)
_BUDGET_WORD = re.compile(
    r"dotazion|risorse (?:complessiv|disponibil|stanziat|finanziari)|stanziament"
)
_FUNDING_TITLE = re.compile(r"agevolazion|contribut|finanziament|intensit|caratteristich|sostegno")
_COST_TITLE = re.compile(
    r"spese ammissibili|costi ammissibili|voci di (?:spesa|costo)|spese ammesse|tipologi[ae] di spes"
    r"|categorie di spes"
)
_SCHEDA_FUNDING = r"caratteristich|agevolazion|contribut|tipologia"
# "100% del costo ammissibile" names the base of a rate, not what a limit applies to
_PERCENT_OF = re.compile(
    r"\d+\s*%\s*(?:del|dei|delle|della|dell['’])\s*(?:[\w'’]+\s+){0,3}"
    r"(?:cost|spes|import|investiment|valor)\w*(?:\s+(?:totale|complessiv\w*|ammissibil\w*|ammess\w*|sostenut\w*))*"
)


def _limit_kind(before: str) -> str | None:
    """`min` or `max` from the last limit word before an amount."""
    words = list(_LIMIT_WORD.finditer(before))
    if not words:
        return None
    word = words[-1].group()
    return "min" if word.startswith(("minim", "non inferiore", "almeno", "superiore a")) else "max"


def _last(pattern: re.Pattern[str], text: str) -> int:
    hits = list(pattern.finditer(text))
    return hits[-1].start() if hits else -1


def _rank(p: Passage, scheda: bool, title_re: re.Pattern[str]) -> int:
    return 0 if scheda else 1 if title_re.search(p.title) else 2


# Costs of the whole project (not of one item): `costo totale minimo`, `investimento minimo`,
# `progetti di importo minimo`.
_PROJECT_COST = re.compile(
    r"\bcost[oi] (?:(?:totale|complessiv\w*|ammissibil\w*) )*(?:minim|massim|del progetto"
    r"|dell['’]intervento|di progetto|dell['’]operazione|totale|complessiv)"
    r"|\bimport[oi] (?:(?:totale|complessiv\w*) )?(?:minim|massim|del progett|dell['’]intervent|complessiv|totale)"
    r"|\binvestiment[oi]\b|\bspes[ae] (?:totale|complessiv|minim|massim)|progett[oi] di importo"
    r"|\bvalore (?:complessivo|totale|del progetto)|dimensione finanziaria"
)


def _subject(before: str) -> str | None:
    """What the words before an amount speak of: the project's cost, one cost item, or the
    contribution. `100% del costo ammissibile` is the base of a rate, not a subject."""
    clean = _PERCENT_OF.sub(lambda x: " " * len(x.group()), before)
    contribution, cost = _last(_CONTRIBUTION, clean), _last(_COST, clean)
    project = _last(_PROJECT_COST, clean)
    if project >= 0 and project >= contribution and cost - project <= 25:
        return "project"
    if cost > contribution:
        return "item"  # "costo unitario superiore a 516,46 euro", "spese tecniche fino a ..."
    return "contribution" if contribution >= 0 else None


def _amount_kind(p: Passage, s: int, previous: tuple) -> tuple[str | None, str | None]:
    """(what an amount limits, its subject): budget, min_total, max_total, max_contribution.
    An amount without words of its own continues the list of the one before (tiers)."""
    start = p.sentence_span(s)[0]
    if start >= 2 and not p.flat[start:s].strip(" •-–"):
        start = p.sentence_span(start - 2)[0]  # "non oltre un massimo di: • € 70.000,00"
    before = p.flat[max(start, s - 200) : s]
    if (m := _last(_BUDGET_WORD, before)) >= 0 and not MONEY_RE.search(
        p.text[s - len(before) + m : s]
    ):
        return "budget", None
    p_start, p_kind, p_subject = previous
    limit = _limit_kind(before[-70:])
    if limit is None:
        same = p_start == start and p_kind not in (None, "budget")
        return (p_kind, p_subject) if same else (None, None)
    # a bullet without words of its own ("- Linea 2: un massimo pari a") speaks of what the
    # amount before it spoke of
    subject = _subject(before) or (p_subject if len(before) <= 70 else None)
    if subject is None and _CONTRIBUTION.search(p.context(s)):
        subject = "contribution"
    if subject == "project":
        return ("min_total" if limit == "min" else "max_total"), subject
    return ("max_contribution" if subject == "contribution" and limit == "max" else None), subject


def _column_kind(header: str) -> str | None:
    """A table column such as `Contributo massimo €` or `Costo minimo`."""
    header = flat(header)
    if "contribut" in header and "massim" in header:
        return "max_contribution"
    if _COST.search(header) and (m := re.search(r"massim|minim", header)):
        return "max_total" if m.group() == "massim" else "min_total"
    return None


def _row_money(p: Passage, index: int, out: dict[str, list[Candidate]]) -> None:
    if len(p.cells) != len(p.header) or p.is_header:
        return
    offset = 0
    for cell, header in zip(p.cells, p.header, strict=True):
        kind = _column_kind(header)
        amount = next(iter_money(cell), None) or (
            (0, len(cell), parse_number(cell)) if re.fullmatch(_NUM, cell.strip()) else None
        )
        if kind and amount:
            place = p.place(offset + amount[0], offset + amount[1])
            out[kind].append(
                Candidate(amount[2], place, _rank(p, False, _FUNDING_TITLE), p.order, index)
            )
        offset += len(cell) + 3


def money_candidates(passages: list[Passage]) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {
        k: [] for k in ("min_total", "max_total", "max_contribution", "budget")
    }
    for index, p in enumerate(passages):
        if p.header and not p.is_header and any(_column_kind(h) for h in p.header):
            _row_money(p, index, out)
            continue
        budget_row = _is_scheda(p, r"dotazione|risorse")
        previous: tuple = (-1, None, None)
        for s, e, value in iter_money(p.text):
            kind, subject = ("budget", None) if budget_row else _amount_kind(p, s, previous)
            previous = (p.sentence_span(s)[0], kind, subject)
            if kind != "budget" and (value < 1000 or _COST_TITLE.search(p.title)):
                kind = None  # "€ 4,00 per residente", a limit on one cost item
            if kind is None:
                continue  # a limit on one cost item is not a limit on the project
            title_re = re.compile(r"dotazion|risorse") if kind == "budget" else _FUNDING_TITLE
            scheda = budget_row or _is_scheda(p, _SCHEDA_FUNDING)
            rank = _rank(p, scheda, title_re)
            out[kind].append(Candidate(value, p.place(s, e), rank, p.order, index, (s, e)))
            if budget_row:
                break
    return out


def contribution_tiers(passages: list[Passage], candidates: list[Candidate], chosen: Candidate):
    """Caps by population (`fino a 5.000 abitanti, € 60.000,00; da 5.001 a 20.000 abitanti,
    € 120.000,00; ...`): each amount with the band named just before it, smallest first."""
    listed = sorted(
        (c for c in candidates if c.passage == chosen.passage and c.rank == chosen.rank),
        key=lambda c: c.span,
    )
    if len(listed) < 2:
        return []
    p = passages[chosen.passage]
    tiers, previous = [], p.sentence_span(listed[0].span[0])[0]
    for c in listed:
        segment = p.flat[previous : c.span[0]]
        low, high = population_limits(segment)
        if low is None and high is None:
            return []
        tiers.append({"max_population": high, "max_contribution": c.value})
        previous = c.span[1]
    bands = [t["max_population"] for t in tiers]
    ordered = all(b is not None for b in bands[:-1]) and bands[:-1] == sorted(bands[:-1])
    return tiers if ordered else []


def _pick(name: str, candidates: list[Candidate], draft: Draft, highest: bool) -> Candidate | None:
    """The best-ranked value; where its passage lists tiers, their highest (or lowest)."""
    chosen = best(candidates)
    if chosen is None:
        return None
    tiers = [c for c in candidates if c.passage == chosen.passage and c.rank == chosen.rank]
    values = _distinct([c.value for c in tiers])
    if len(values) > 1:
        chosen = (max if highest else min)(tiers, key=lambda c: c.value)
        listed = ", ".join(f"{v:g}" for v in values[:6])
        which = "il più alto" if highest else "il più basso"
        draft.warnings.append(f"{name}: più valori nello stesso passo ({listed}), scelto {which}")
    return chosen


_RATE_BEFORE = re.compile(
    r"(?:fino a(?:l|ll['’]|d un massimo del(?:l['’])?|d? un massimo del(?:l['’])?)|nella misura (?:massima )?del(?:l['’])?"
    r"|pari a(?:l|ll['’])|non superiore a(?:l|ll['’])|massim[oa] del(?:l['’])?|nel limite (?:massimo )?del(?:l['’])?"
    r"|intensita[^.;%]{0,40}?|copertura (?:del|dell['’]|fino al))\s*$"
)
_RATE_AFTER_COST = re.compile(
    r"\s*(?:del|dei|delle|della|dell['’])\s+(?:cost|spes|investiment|import|totale|valore)"
)
_RATE_AFTER_NOT = re.compile(
    r"\s*(?:del|della|dell['’]|delle|dei)\s+(?:contribut|dotazion|risors|importo del contributo|costi diretti|agevolazion)"
)
_RATE_SENTENCE_NOT = re.compile(
    r"anticip|saldo|\brat[ae]\b|quota|tranche|tanche|erogat|riduzion|decurtaz|revoc|ribasso|penal"
    r"|cofinanziament|riserv|forfett|indirett|spese tecniche|imprevist|punt|riparto"
)


def rate_candidates(passages: list[Passage]) -> list[Candidate]:
    """`fino al 100% dei costi ammissibili` said of the contribution."""
    out: list[Candidate] = []
    for index, p in enumerate(passages):
        scheda = _is_scheda(p, _SCHEDA_FUNDING)
        for m in PERCENT_RE.finditer(p.text):
            value = float(m.group(1).replace(",", "."))
            if not 0 < value <= 100 or not _CONTRIBUTION.search(p.context(m.start())):
                continue
            if _RATE_SENTENCE_NOT.search(p.sentence(m.start())):
                continue
            if not _RATE_BEFORE.search(p.flat[max(0, m.start() - 60) : m.start()]):
                continue
            after = p.flat[m.end() : m.end() + 40]
            if _RATE_AFTER_NOT.match(after):
                continue
            rank = _rank(p, scheda, _FUNDING_TITLE) * 2 + (
                0 if _RATE_AFTER_COST.match(after) else 1
            )
            out.append(Candidate(value, p.place(m.start(), m.end()), rank, p.order, index))
    return out


_COFINANCING_RE = re.compile(
    r"cofinanziamento[^.;%]{0,80}?(?:almeno|minimo|non inferiore a)\s*"
    r"(?:il|al|del|pari al|pari ad almeno il)?\s*(\d{1,2}(?:,\d+)?)\s*%"
)


def _cofinancing(passages: list[Passage]) -> Candidate | None:
    for p in passages:
        if p.cells or re.search(r"valutazion|criteri|punteggi", p.title):
            continue
        if m := _COFINANCING_RE.search(p.flat):
            value = float(m.group(1).replace(",", "."))
            return Candidate(value, p.place(m.start(), m.end()), 0, p.order)
    return None


def extract_money(passages: list[Passage], draft: Draft) -> None:
    money = money_candidates(passages)
    values: dict[str, dict[str, Any]] = {"costs": {}, "funding": {}}
    places: dict[str, list[tuple[str, Place]]] = {"costs": [], "funding": []}
    rates = rate_candidates(passages)
    picks = [("funding", "max_rate", _pick("funding.max_rate", rates, draft, True))]
    for model, name, highest in (
        ("funding", "max_contribution", True),
        ("funding", "budget", False),
        ("costs", "min_total", False),
        ("costs", "max_total", True),
    ):
        picks.append((model, name, _pick(f"{model}.{name}", money[name], draft, highest)))
    picks.append(("funding", "min_cofinancing", _cofinancing(passages)))
    for model, name, chosen in picks:
        if chosen is not None:
            values[model][name] = chosen.value
            places[model].append((f"{model}.{name}", chosen.place))
    cap = next(c for m, n, c in picks if n == "max_contribution")
    if cap is not None and (tiers := contribution_tiers(passages, money["max_contribution"], cap)):
        values["funding"]["tiers"] = tiers
        draft.mark("funding.tiers")
    _other_rates(rates, picks[0][2], draft)
    draft.set_model("costs", values["costs"], places["costs"])
    draft.set_model("funding", values["funding"], places["funding"])
    costs = values["costs"]
    if (
        costs.get("min_total")
        and costs.get("max_total")
        and costs["min_total"] > costs["max_total"]
    ):
        draft.warnings.append("costs: il costo minimo supera il massimo")


def _other_rates(rates: list[Candidate], chosen: Candidate | None, draft: Draft) -> None:
    if chosen is None:
        return
    others = _distinct([c.value for c in rates if c.rank <= 3 and c.passage != chosen.passage])
    others = [v for v in others if v != chosen.value]
    if others:
        listed = ", ".join(f"{v:g}%" for v in others[:4])
        draft.warnings.append(f"funding.max_rate: altre intensità nel testo ({listed})")


# -------------------------------------------------------------------- cumulation, partners
_CUMULATION = re.compile(r"\bcumul(?:abil\w*|o)\b")
_CUMULATION_NO = re.compile(
    r"\bnon\b[^.;]{0,40}\bcumul|divieto di cumulo|esclus\w*[^.;]{0,80}\bcumul"
    r"|cumul\w*[^.;]{0,30}\bnon (?:e|sono) (?:ammess|consentit|previst)"
)


def extract_cumulation(passages: list[Passage], draft: Draft) -> None:
    """Whether the contribution may add to other aid for the same costs (first statement)."""
    candidates: list[Candidate] = []
    for p in passages:
        for m in _CUMULATION.finditer(p.flat):
            sentence = p.sentence(m.start())
            if "codici cup" in sentence:
                continue
            rank = 0 if "cumul" in p.title else 1
            candidates.append(
                Candidate(
                    not _CUMULATION_NO.search(sentence), p.place(m.start(), m.end()), rank, p.order
                )
            )
            break
    chosen = best(candidates)
    if chosen is None:
        return
    draft.data["cumulation_allowed"] = chosen.value
    draft.mark("cumulation_allowed")
    draft.note("cumulation_allowed", chosen.place)
    if len({c.value for c in candidates}) > 1:
        draft.warnings.append("cumulation_allowed: il cumulo è ammesso solo in parte (vedi notes)")


_NUMBER_WORDS = {"uno": 1, "un": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6}
_COUNT = r"(\d{1,2}|uno|un|due|tre|quattro|cinque|sei)"
_PARTNERSHIP = {
    "min_partners": rf"(?:almeno|minimo(?: di)?|non meno di)\s+{_COUNT}\s+(?:soggetti |enti )?partner",
    "max_partners": rf"(?:massimo(?: di)?|non piu di|fino a)\s+{_COUNT}\s+(?:soggetti |enti )?partner",
    "min_countries": rf"(?:almeno|minimo(?: di)?)\s+{_COUNT}\s+(?:paesi|stati membri|stati partecipanti)",
}


def extract_partnership(passages: list[Passage], draft: Draft) -> None:
    partnership: dict[str, Any] = {}
    places: list[tuple[str, Place]] = []
    for key, pattern in _PARTNERSHIP.items():
        for p in passages:
            if m := re.search(pattern, p.flat):
                word = m.group(1)
                partnership[key] = int(word) if word.isdigit() else _NUMBER_WORDS[word]
                places.append((f"partnership.{key}", p.place(m.start(), m.end())))
                break
    draft.set_model("partnership", partnership, places)


def extract_site(passages: list[Passage], region: str | None, draft: Draft) -> None:
    """Where the project must be (the region) and whose property the site must be."""
    site: dict[str, Any] = {}
    places: list[tuple[str, Place]] = []
    for p in passages:
        if p.cells:
            continue
        for m in re.finditer(
            r"localizzat\w*|ubicat\w*|realizzat\w* (?:nel|sul) territorio", p.flat
        ):
            if region and "regions" not in site and region_mentioned(region, p.sentence(m.start())):
                site["regions"] = [region]
                places.append(("site.regions", p.place(m.start(), m.end())))
        for m in re.finditer(r"\bdi proprieta (pubblica|comunale)\b", p.flat):
            if not _EXCLUSION_CUE.search(p.sentence(m.start())):
                _add(site, "allowed_ownership", m.group(1), places, p.place(m.start(), m.end()))
        # as the call words them: the eligibility check compares them with the project's
        for m in re.finditer(r"\bcomodato(?: d['’]uso)?|\bdiritto di superficie\b", p.flat):
            if _EXCLUSION_CUE.search(p.sentence(m.start())):
                place = p.place(m.start(), m.end())
                for value in _distinct(
                    ["comodato" if "comodato" in m.group() else m.group(), m.group()]
                ):
                    _add(site, "excluded_ownership", value.replace("’", "'"), places, place)
    draft.set_model("site", site, places)


def _add(model: dict[str, Any], key: str, value: str, places: list, place: Place) -> None:
    if value not in model.setdefault(key, []):
        model[key].append(value)
        if not any(path == f"site.{key}" for path, _ in places):
            places.append((f"site.{key}", place))


# ------------------------------------------------------------------------------- lists
def _slug(text: str, sep: str = "_", limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", sep, fold(text)).strip(sep)
    return slug[:limit].rstrip(sep) or "x"


def _first_clause(text: str, limit: int = 200) -> str:
    text = _MARKER.sub("", text.strip())
    text = re.split(r";\s|\.\s+(?=[A-Z✓•])|\s(?=[✓•➢]\s)", text, maxsplit=1)[0].rstrip(" ;.:")
    return text[:limit].rsplit(" ", 1)[0] if len(text) > limit else text


def _item_name(text: str, limit: int = 80) -> str:
    """The naming words of a list item: `b) Spese tecniche, riconosciute ...` -> `Spese tecniche`."""
    text = _first_clause(text, 400)
    text = re.split(
        r"[,:(]|\s[-–]\s|\s(?:fino a|nella misura|in misura|nel limite|pari a)\b", text, maxsplit=1
    )[0]
    text = re.sub(r"(?<=[a-zà-ù])\d+\b", "", text).strip()  # footnote marks glued to words
    text = re.sub(r"(?i)^(?:i|le|gli|il|la|lo|l['’])\s+", "", text)
    text = text[:limit].rsplit(" ", 1)[0] if len(text) > limit else text
    return text[:1].upper() + text[1:]


def _marker_style(line: str) -> str | None:
    if not (m := _MARKER.match(line)):
        return None
    mark = m.group().strip("( ")
    return (
        "digit"
        if mark[0].isdigit()
        else "bullet"
        if not mark[0].isalpha()
        else mark[-1] + ("upper" if mark[0].isupper() else "lower")
    )


def _inline_items(p: Passage, after: int) -> list[tuple[int, int]]:
    """Spans of the marked lines (`a)`, `A.`, `1.`, `•`, `-`) after offset `after`, each with
    its continuation lines; the list ends where another marker style begins."""
    marked = [(o, _marker_style(x)) for o, x in zip(p.offsets, p.lines, strict=False) if o > after]
    marked = [(o, style) for o, style in marked if style]
    if not marked or p.text[after : marked[0][0]].strip(" :"):
        return []
    style = marked[0][1]
    starts = []
    for offset, line_style in marked:
        if line_style != style:
            starts.append(offset)  # where the list ends
            break
        starts.append(offset)
    if len(starts) > 1 and _marker_style(p.text[starts[-1] :]) != style:
        end = starts.pop()
        return [(s, starts[i + 1] if i + 1 < len(starts) else end) for i, s in enumerate(starts)]
    return [
        (s, starts[i + 1] if i + 1 < len(starts) else len(p.text)) for i, s in enumerate(starts)
    ]


def list_after(passages: list[Passage], index: int, after: int) -> list[tuple[Passage, int, int]]:
    """The items of a list introduced at `after` in passage `index`: marked lines in the
    same passage, else the numbered or lettered items that follow it in its section."""
    p = passages[index]
    items = [(p, s, e) for s, e in _inline_items(p, after)]
    if items:
        return items
    rest = p.text[after:].strip()
    if semicolons := _semicolon_items(p, after) if rest else []:
        return [(p, s, e) for s, e in semicolons]
    if len(rest) > 120:  # running text, not a list (a short sub-heading may come first)
        return []
    kind = None
    for q in passages[index + 1 :]:
        if q.cells or q.item is None or q.section != p.section or kind not in (None, q.item):
            break
        kind = q.item
        items.append((q, 0, len(q.text)))
    return items


def _semicolon_items(p: Passage, after: int) -> list[tuple[int, int]]:
    """`...: modulo di domanda; formulario di progetto; piano finanziario.`"""
    end = p.sentence_span(after + 1)[1]
    spans, start = [], after
    for m in re.finditer(r";", p.text[after:end]):
        spans.append((start, after + m.start()))
        start = after + m.end()
    spans.append((start, end))
    return [(s, e) for s, e in spans if p.text[s:e].strip()] if len(spans) > 1 else []


def intros(passages: list[Passage], pattern: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    """(passage index, offset) of each sentence ending with a colon that matches `pattern`."""
    for index, p in enumerate(passages):
        if p.cells:
            continue
        for m in re.finditer(r":(?=\s|$)", p.text):
            if pattern.search(p.sentence(m.start())):
                yield index, m.end()


_SHARE_RE = re.compile(
    r"(?:fino a(?:d)?\s+(?:un\s+)?(?:massimo\s+)?(?:del(?:l['’])?\s*)?|massimo(?: del)?\s*|max\.?\s*"
    r"|non superiore al(?:l['’])?\s*|nel limite (?:massimo )?del(?:l['’])?\s*"
    r"|in misura (?:non superiore|massima) al?(?:l['’])?\s*|misura massima del(?:l['’])?\s*|entro il\s*)"
    r"(\d{1,2}(?:,\d+)?)\s*%"
)
_FLAT_RATE_RE = re.compile(
    r"(?:forfett|forfait|tasso fisso)[^.;%]{0,80}?(\d{1,2}(?:,\d+)?)\s*%|(\d{1,2}(?:,\d+)?)\s*%[^.;]{0,60}forfett"
)
_COSTS_INTRO = re.compile(
    r"(?:ammissibil|ammess)[^:]*(?:spes|cost|voci)|(?:spes|cost|voci)[^:]*(?:ammissibil|ammess)"
)
_NOT_COSTS_INTRO = re.compile(r"non (?:sono )?(?:ammissibil|ammess)|devono|requisiti|criteri")


_MIN_SHARE_RE = re.compile(
    r"(?:almeno|minimo(?: del)?|non inferiore al?(?:l['’])?)\s*(?:il\s*|al\s*)?(\d{1,2}(?:,\d+)?)\s*%"
)


def _share_base_direct(passages: list[Passage], section: str | None) -> bool:
    """Whether the section says its percentages are of the direct costs."""
    return any(
        p.section == section
        and not p.cells
        and "costi diretti" in p.flat
        and "percentual" in p.flat
        for p in passages
    )


def _category(
    name: str, text_flat: str, place: Place, direct: bool = False
) -> dict[str, Any] | None:
    if len(re.findall(r"[a-zà-ù]", name.lower())) < 4 or re.match(r"(?i)essere\b", name):
        return None
    data: dict[str, Any] = {"id": _slug(name), "name": name, "place": place}
    if m := _FLAT_RATE_RE.search(text_flat):
        data["flat_rate"] = float((m.group(1) or m.group(2)).replace(",", "."))
    elif m := _MIN_SHARE_RE.search(text_flat):
        data["min_share"] = float(m.group(1).replace(",", "."))
    elif m := _SHARE_RE.search(text_flat):
        data["max_share"] = float(m.group(1).replace(",", "."))
    shares = "min_share" in data or "max_share" in data
    if shares and (direct or re.search(r"%\s*(?:dei|del totale dei) costi diretti", text_flat)):
        data["share_base"] = "direct"
    for s, _e, value in iter_money(text_flat):
        if _limit_kind(text_flat[max(0, s - 60) : s]) == "max":
            data["max_amount"] = value
            break
    return CostCategory.model_validate(data).model_dump(exclude_defaults=True)


def _cost_table(passages: list[Passage]) -> list[dict[str, Any]]:
    out = []
    for p in passages:
        if (
            not p.cells
            or p.is_header
            or not re.search(r"categori|\bvoc[ei]\b|tipologia di spesa", flat(" ".join(p.header)))
        ):
            continue
        if re.search(r"%|€|euro", p.text):
            name = _item_name(re.sub(r"^[A-Z]\.\s*", "", p.cells[0]))
            direct = _share_base_direct(passages, p.section)
            if category := _category(name, p.flat, p.place(0, len(p.text)), direct):
                out.append(category)
    return out


def _cost_list(passages: list[Passage]) -> list[dict[str, Any]]:
    """The list introduced by `sono ammissibili le spese ...:` in the eligible-costs section."""
    for index, at in intros(passages, _COSTS_INTRO):
        p = passages[index]
        if not _COST_TITLE.search(p.title) or _NOT_COSTS_INTRO.search(p.sentence(at - 1)):
            continue
        out = []
        direct = _share_base_direct(passages, p.section)
        for q, s, e in list_after(passages, index, at):
            clause = _first_clause(q.text[s:e], 400)
            place = q.place(s, s + len(clause))
            if category := _category(_item_name(clause), flat(clause), place, direct):
                out.append(category)
        if out:
            return out
    return []


def extract_cost_categories(passages: list[Passage], draft: Draft) -> None:
    categories = _cost_table(passages) or _cost_list(passages)
    unique = [
        c for i, c in enumerate(categories) if all(c["id"] != x["id"] for x in categories[:i])
    ]
    if unique:
        draft.data["cost_categories"] = unique[:25]
        draft.mark("cost_categories")


_DOCS_INTRO = re.compile(
    r"(?:seguent\w*|sotto elencat\w*|di seguito (?:elencat|indicat)\w*|elencat\w* di seguito)"
    r"[^:]{0,120}(?:documentazion|document|allegat|dichiarazion)"
    r"|(?:documentazion|documenti|allegati)[^:]{0,40}(?:seguent\w*|sotto elencat\w*|di seguito)"
    r"|(?:corredat|accompagnat)\w*\b[^.:]{0,80}\bda\s*:|\b(?:sono allegat\w*|si allegano)[^.:]{0,60}:"
)
_NOT_A_DOCUMENT = re.compile(r"(?:dalle?|fino|sino|entro|a partire)\b|ore \d")
_DOCS_NOT = re.compile(
    r"rendicont|saldo|erogazion|accettazion|liquidaz|anticip|variant|prorog|controll|obblighi"
    r"|intervallo|dalle ore"
)


def extract_documents(passages: list[Passage], draft: Draft) -> None:
    """The list of what to attach to the application, after an intro such as `alla
    domanda dovrà essere allegata la seguente documentazione:`."""
    for index, at in intros(passages, _DOCS_INTRO):
        p = passages[index]
        sentence = p.sentence(at - 1)
        about_application = re.search(r"domand|candidatur|adesione|partecipazion|propost", sentence)
        if _DOCS_NOT.search(p.title) or _DOCS_NOT.search(sentence) or not about_application:
            continue
        items = list_after(passages, index, at)
        docs = _distinct([_first_clause(q.text[s:e]) for q, s, e in items])
        docs = [d for d in docs if len(d) >= 4 and not _NOT_A_DOCUMENT.match(flat(d))]
        if len(docs) >= 2:
            draft.data["required_documents"] = docs[:40]
            draft.mark("required_documents")
            draft.note("required_documents", p.place(p.sentence_span(at - 1)[0], at))
            return


# ---------------------------------------------------------------------- proposal sections
LIMIT_RE = re.compile(
    r"(?:(?:max(?:imo)?\.?|massimo(?: di)?|fino a(?:d)?|non oltre|al massimo|limite(?: di)?)\s*)?"
    r"(?P<n>\d{1,3}(?:\.\d{3})+|\d+)\s*(?P<u>caratteri|battute|parole|pagin[ae]|facciat[ae]|cartell[ae])\b"
    r"(?P<tail>[^|;]{0,40})",
    re.I,
)
_UNIT: dict[str, LimitUnit] = {
    "caratteri": "characters",
    "battute": "characters",
    "parole": "words",
}
_NOT_A_TITLE = re.compile(
    r"\b(?:deve|devono|dovr\w+|superare|non pu\w+|sono|contenere|composta|redatt\w+)\b"
)


def limit_of(match: re.Match[str]) -> Limit:
    unit = _UNIT.get(match.group("u").lower(), "pages")
    tail = flat(match.group("tail"))
    if unit == "characters" and re.search(
        r"spazi esclusi|senza spazi|esclusi (?:gli )?spazi|non inclusi", tail
    ):
        unit = "characters_no_spaces"
    return Limit(max=plain_int(match.group("n")), unit=unit)


def _section_title(raw: str) -> tuple[str | None, str]:
    """(number, title) of a proposal section named before its limit."""
    text = raw.strip(" :–—-,(|")
    m = re.match(
        r"(?i)^(?:sezione|sez\.|paragrafo|punto|capitolo)\s*([A-Z]?\d{1,2}(?:\.\d{1,2})?|[A-Z])\s*[.:)\-–—]?\s*",
        text,
    ) or re.match(r"^([A-Z]?\d{1,2}(?:\.\d{1,2})*|[A-Z])[.)]\s+|^([a-z])\)\s+", text)
    number = (m.group(1) or m.group(m.lastindex or 1)) if m else None
    text = text[m.end() :] if m else text
    text = re.sub(r"\s*\([^)]*$", "", text)  # "relazione tecnica (Allegato B, massimo 10 pagine)"
    return number, re.sub(r"\s*[\(:–—-]\s*$", "", text).strip(" :–—-,")


def _limit_hits(p: Passage) -> Iterator[tuple[int, str, re.Match[str], str]]:
    """(offset in the passage, words naming the section, limit match, guidance) for each
    limit; the guidance is what a table row says after the limit."""
    if p.cells:
        offset = 0
        for i, cell in enumerate(p.cells):
            m = LIMIT_RE.search(p.text, offset, offset + len(cell))
            if m and not p.is_header:
                named = next(
                    (c for c in p.cells[:i] if re.search(r"[^\W\d_]{3}", c)),
                    cell[: m.start() - offset],
                )
                yield offset, named, m, " ".join(c for c in p.cells[i + 1 :] if c)[:QUOTE_MAX]
                return
            offset += len(cell) + 3
        return
    # The name runs from the last line start, sentence start, `;` or `:` before the limit:
    # "le sezioni: descrizione dell'edificio (max 3.000 caratteri); stato di fatto (...)"
    bounds = set(p.offsets) | set(p._sentences[0])
    bounds |= {m.end() for m in re.finditer(r"[;:]\s*", p.text)}
    previous = 0
    for m in LIMIT_RE.finditer(p.text):
        start = max([b for b in bounds if b <= m.start()] + [previous])
        previous = m.end()
        if m.start() - start > 3:
            yield start, p.text[start : m.start()], m, ""


def extract_sections(passages: list[Passage], draft: Draft) -> None:
    """Proposal sections with their limits (`max 1.500 caratteri`, `massimo 2 pagine`), from
    table rows, lines and headings."""
    sections: list[dict[str, Any]] = []
    for p in passages:
        for start, named, m, guidance in _limit_hits(p):
            number, title = _section_title(named)
            words = re.findall(r"[^\W\d_]{3,}", title)
            if not words or len(title) > 120 or _NOT_A_TITLE.search(flat(title)):
                continue
            sid = number or _slug(title, limit=30)
            if any(s["title"] == title or s["id"] == sid for s in sections):
                continue
            place = p.place(start, m.end())
            section = Section(
                id=sid, title=title, limit=limit_of(m), guidance=guidance, place=place
            )
            sections.append(section.model_dump(exclude_defaults=True))
    if sections:
        draft.data["sections"] = sections
        draft.mark("sections")


# --------------------------------------------------------------------------------- scoring
_POINTS_CELL = re.compile(
    r"^(?:max\.?\s*|massimo\s*|fino a\s*)?(?:\d{1,3}\s*[-–÷]\s*)?(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:punti|pt\.?)?$"
)
_ID_CELL = re.compile(r"^(?:[A-Z]\.)?\d{1,2}(?:\.\d{1,2})*\.?$|^[A-Z]\.?$")
_CODE = r"[A-Z](?:\.\d{1,2})+|\d{1,2}(?:\.\d{1,2})+"
_CELL_CRITERION = re.compile(
    rf"^(?P<id>{_CODE})\s+(?P<name>.{{3,200}}?)\s*\((?:max\.?\s*)?(?P<pts>\d{{1,3}})\s*(?:pt|punti)\.?\)\s*$",
    re.I,
)
_NAME_POINTS = re.compile(
    r"^(?P<name>.{3,200}?)\s*\((?:max\.?\s*)?(?P<pts>\d{1,3})\s*(?:pt|punti)\.?\)\s*$", re.I
)
_NAME_RANGE = re.compile(r"^(?P<name>.{3,200}?)\s+\d{1,3}\s*[-–]\s*(?P<pts>\d{1,3})$")
_LEVELS = re.compile(r"(\d{1,3})\s*(?:punti|pt)\b", re.I)
_SCORING_TITLE = re.compile(r"valutazion|criteri|punteggi|griglia|graduatori|istruttori|selezion")
CRITERION_LINE = re.compile(
    r"^(?:(?:criterio\s+)?(?P<id>(?:[A-Z]\.)?\d{1,2}(?:\.\d{1,2})?|[a-zA-Z])\s*[.):\-–]\s*|[•\-–]\s*)?"
    r"(?P<name>[^|]{3,160}?)\s*[:\-–—]?\s*\(?\s*(?:max(?:imo)?\.?|massimo|fino a(?:d)?|da\s*0\s*a|0\s*[-–]\s*)?\s*"
    r"(?P<pts>\d{1,3}(?:[.,]\d{1,2})?)\s*(?:punti|pt\.?)\s*\)?\s*[.;]?$",
    re.I,
)


def _criterion_name(text: str) -> tuple[str, str]:
    """(name, description): a leading run of capitals names the criterion."""
    text = text.strip(" -–•")
    if m := re.match(r"^((?:[A-ZÀ-Ý’'/]{2,}\s+){1,8}[A-ZÀ-Ý’'/]{2,})\b\s*(.*)$", text):
        return m.group(1).strip(), m.group(2).strip(" -–")
    head = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0].rstrip(":")
    if len(head) > 120:
        head = head[:120].rsplit(" ", 1)[0]
    return head, (text if head != text else "")


def _row_points(cells: list[str], name_at: int, scored_header: bool) -> tuple[float | None, str]:
    """Points of a row: `(5 pt)` or `0-5` ending the name, else a points cell after the name,
    else the highest level (`... : 10 punti`) where the header is about points."""
    name_cell = cells[name_at]
    single = len(_LEVELS.findall(name_cell)) <= 1  # not a list of levels "(5 pt) - (7 pt)"
    if single and (m := _NAME_POINTS.match(name_cell) or _NAME_RANGE.match(name_cell)):
        return float(m["pts"]), m["name"]
    for cell in cells[name_at + 1 :]:
        m = _POINTS_CELL.match(flat(cell))
        if m and float(m.group(1).replace(",", ".")) > 0:
            return float(m.group(1).replace(",", ".")), name_cell
    levels = (
        [int(x) for c in cells[name_at + 1 :] for x in _LEVELS.findall(c)] if scored_header else []
    )
    return (float(max(levels)) if levels else None), name_cell


def _row_criteria(p: Passage, scored_header: bool) -> list[dict[str, Any]]:
    cells = [c.strip() for c in p.cells]
    coded = [m for c in cells if (m := _CELL_CRITERION.match(c))]
    if coded:  # "A.1 Stima della popolazione ... (max 10 pt)"
        return [
            {"id": m["id"], "name": m["name"].strip(" -–"), "max_points": float(m["pts"])}
            for m in coded
        ]
    crit_id = cells[0].rstrip(".") if cells and _ID_CELL.match(cells[0]) else None
    name_at = next(
        (i for i in range(len(cells)) if len(re.findall(r"[^\W\d_]", cells[i])) >= 8), None
    )
    if name_at is None or re.match(
        r"tot(?:ale|\.|\b)|punti totali|punteggio totale", flat(cells[name_at])
    ):
        return []
    points, name_cell = _row_points(cells, name_at, scored_header)
    if not points:
        return []
    if crit_id is None and (m := re.match(rf"^({_CODE})\s+", name_cell)):
        crit_id, name_cell = m.group(1), name_cell[m.end() :]
    name, description = _criterion_name(name_cell)
    others = [c for c in cells[name_at + 1 :] if len(c) > 20 and not _POINTS_CELL.match(flat(c))]
    description = description or (others[0] if others else "")
    return [
        {"id": crit_id, "name": name, "max_points": points, "description": description[:QUOTE_MAX]}
    ]


_HEADER_WORDS = re.compile(r"criteri|punt|descrizion|\bpeso\b|indicator|\bn\.?$")


def _table_criteria(passages: list[Passage]) -> list[tuple[Passage, dict[str, Any]]]:
    out = []
    for p in passages:
        # a table without a header row (one that goes on from the page before) starts with data
        if not p.cells or (p.is_header and any(_HEADER_WORDS.search(flat(c)) for c in p.cells)):
            continue
        scored_header = re.search(r"punt|\bpt\b|\bpeso\b", flat(" ".join(p.header))) is not None
        if scored_header or _SCORING_TITLE.search(p.title):
            out += [(p, c) for c in _row_criteria(p, scored_header)]
    return out


def _line_criteria(passages: list[Passage]) -> list[tuple[Passage, dict[str, Any]]]:
    """`1. Qualità della proposta – max 30 punti` on a line of its own."""
    out = []
    for p in passages:
        if p.cells or not (_SCORING_TITLE.search(p.title) or "punt" in p.flat):
            continue
        for start, line in zip(p.offsets, p.lines, strict=False):
            m = CRITERION_LINE.match(line)
            if not m or len(re.findall(r"[^\W\d_]", m["name"])) < 4:
                continue
            name = m["name"].strip(" :–-")
            if (
                re.match(r"(?i)tot", name)
                or _NOT_A_TITLE.search(flat(name))
                or re.search(r"(?i)\b(?:almeno|minimo|soglia)\b", name)
            ):
                continue
            item = {"id": m["id"], "name": name, "max_points": float(m["pts"].replace(",", "."))}
            out.append((p, item | {"at": start, "end": start + len(line)}))
    return out


def _nested(cid: str | None, ids: set[str]) -> bool:
    """`B.1.2` when `B.1` is a criterion too: a sub-criterion, counted in its parent."""
    return bool(cid) and "." in cid and cid.rsplit(".", 1)[0] in ids


def extract_scoring(passages: list[Passage], draft: Draft) -> None:
    found = _table_criteria(passages) or _line_criteria(passages)
    if not found:
        return
    counts = Counter(p.section for p, _ in found)
    section = next((p.section for p, _ in found if counts[p.section] >= 2), found[0][0].section)
    chosen = [(p, c) for p, c in found if p.section == section]
    ids = {c["id"] for _, c in chosen if c["id"]}
    criteria: list[dict[str, Any]] = []
    for p, c in chosen:
        if (
            _nested(c["id"], ids)
            or c["max_points"] > 100
            or any(x["name"] == c["name"] for x in criteria)
        ):
            continue
        at, end = c.pop("at", None), c.pop("end", None)
        cid = c.pop("id") or f"c{len(criteria) + 1}"
        if any(x["id"] == cid for x in criteria):
            cid = f"{cid}-{len(criteria) + 1}"
        place = p.place(at, end) if at is not None else _row_place(p, c["name"])
        criteria.append(Criterion(id=cid, place=place, **c).model_dump(exclude_defaults=True))
    if criteria:
        draft.data["scoring"] = criteria
        draft.mark("scoring")
        _check_scoring(passages, section, criteria, len(found) - len(chosen), draft)


def _row_place(p: Passage, name: str) -> Place:
    at = max(p.text.find(name[:40]), 0)
    return p.place(at, at + len(name))


def _check_scoring(passages: list[Passage], section, criteria: list, skipped: int, draft: Draft):
    if skipped:
        draft.warnings.append(
            f"scoring: altri {skipped} criteri fuori dalla sezione «{section}» non inclusi"
        )
    totals = _stated_totals(passages, section)
    points = sum(c["max_points"] for c in criteria)
    if len(totals) == 1 and abs(totals[0] - points) > 0.01:
        draft.warnings.append(
            f"scoring: la somma dei punteggi ({points:g}) differisce dal totale indicato ({totals[0]:g})"
        )


def _stated_totals(passages: list[Passage], section: str | None) -> list[float]:
    totals: list[float] = []
    for p in passages:
        if p.section != section:
            continue
        said = (
            r"punteggio (?:massimo|totale|complessivo)[^.;\d]{0,40}?(\d{2,3})\b|\bfino a (\d{2,3}) punti"
            r"|totale punteggio\s*(?:0\s*[-–]\s*)?(\d{2,3})\b"
        )
        if not p.cells and (m := re.search(said, p.flat)):
            totals.append(float(next(g for g in m.groups() if g)))
        elif p.cells and re.match(
            r"tot|punti totali|punteggio totale", flat(" ".join(p.cells)).strip(" |")
        ):
            values = [float(n.group(1)) for c in p.cells if (n := _POINTS_CELL.match(flat(c)))]
            totals += values[-1:]
    return _distinct(totals)


# ------------------------------------------------------------------------------ indicators
_INDICATOR_CODE = re.compile(
    r"\b((?:RCO|RCR|EECO|EECR)\s?\d{2,3})\s*[:\-–]?\s*(?P<name>[^;|]{5,140}?)(?:;|\.|$|\s[-–]\s|\(in\b)"
)


def _indicator_row(p: Passage) -> dict[str, Any] | None:
    cols = [flat(h) for h in p.header]
    if len(p.cells) != len(cols):
        return None
    row = dict(zip(cols, p.cells, strict=True))
    name = next((v for k, v in row.items() if "indicator" in k), p.cells[0])
    unit = next((v for k, v in row.items() if "unita" in k or "misura" in k), "")
    target = next((v for k, v in row.items() if "target" in k or "obiettivo" in k), "")
    place = p.place(0, len(p.text))
    return Indicator(
        id=_slug(name, limit=30), name=name, unit=unit, target=target, place=place
    ).model_dump(exclude_defaults=True)


def extract_indicators(passages: list[Passage], draft: Draft) -> None:
    """Rows of an indicators table, else the EU codes (`RCO 19: Edifici pubblici ...`)."""
    indicators: dict[str, dict[str, Any]] = {}
    for p in passages:
        header = flat(" ".join(p.header))
        if p.cells and not p.is_header and "indicator" in header and "punt" not in header:
            if row := _indicator_row(p):
                indicators.setdefault(row["id"], row)
            continue
        for m in _INDICATOR_CODE.finditer(p.text):
            code = m.group(1).replace(" ", "")
            name = m["name"].strip(" :–-")
            indicators.setdefault(
                code, {"id": code, "name": name, "place": p.place(m.start(), m.end())}
            )
    if indicators:
        draft.data["indicators"] = list(indicators.values())[:30]
        draft.mark("indicators")


# ------------------------------------------------------------------------------- the entry
def _load(path: Path, ocr: OcrEngine | None):
    if not path.is_file():
        raise ValueError(f"{path}: not a readable file")
    try:
        return loader_for(path, build_loaders(True, ocr)).load(path)
    except LoadError as error:
        raise ValueError(f"{path}: {' '.join(str(error).split())}") from error
    except Exception as error:  # a parser's own failure must still name the file, on one line
        reason = " ".join(str(error).split())[:200]
        raise ValueError(f"{path}: unreadable ({type(error).__name__}: {reason})") from error


def extract_call(path: Path, ocr: OcrEngine | None = None) -> ExtractionResult:
    """A draft Call from a call document, with the fields found, missing, and warnings.
    Raises ValueError("<path>: <reason>") when the file cannot be read."""
    path = Path(path)
    doc = _load(path, ocr)
    units, structure_title, headings = parse_call(doc.blocks)
    passages = build_passages(units)
    draft = Draft(data={"id": _slug(path.stem, sep="-", limit=80), "source": str(path)})
    draft.warnings += [f"lettura: {w}" for w in doc.warnings]
    title = extract_title(passages, doc.title, structure_title, draft)
    draft.data["title"] = title or path.stem
    if title:
        draft.mark("title")
    region = extract_authority(passages, draft)
    extract_programme(passages, region, draft)
    extract_objective(passages, draft)
    extract_dates(passages, draft)
    extract_applicants(passages, region, draft)
    extract_money(passages, draft)
    extract_site(passages, region, draft)
    extract_partnership(passages, draft)
    extract_cost_categories(passages, draft)
    extract_sections(passages + headings, draft)
    extract_scoring(passages, draft)
    extract_indicators(passages, draft)
    extract_documents(passages, draft)
    extract_cumulation(passages, draft)
    draft.data["notes"] = draft.notes
    call = _validated(draft)
    missing = [f for f in CHECKLIST if f not in draft.found]
    return ExtractionResult(
        call=call, found=draft.found, missing=missing, warnings=draft.warnings, pages=doc.page_count
    )


def _validated(draft: Draft) -> Call:
    """The Call; a part that does not validate is dropped with a warning, not the whole."""
    data = dict(draft.data)
    try:
        return Call.model_validate(data)
    except ValueError as error:
        bad = {str(e["loc"][0]) for e in error.errors()}  # type: ignore[attr-defined]
        for key in bad - {"id", "title"}:
            data.pop(key, None)
            draft.found = [f for f in draft.found if f.split(".")[0] != key]
            draft.warnings.append(f"{key}: scartato perché non valido")
        return Call.model_validate(data)


def to_yaml(result: ExtractionResult) -> str:
    """The call as YAML for review, headed by comments on what to check."""
    head = [
        f"# Bozza estratta automaticamente da {result.call.source or result.call.id}: "
        "verificare ogni valore sul bando (vedi place e notes).",
    ]
    if result.missing:
        head.append("# DA VERIFICARE: non trovati: " + ", ".join(result.missing))
    head += ["# DA VERIFICARE: " + " ".join(w.split()) for w in result.warnings]
    return "\n".join(head) + "\n" + result.call.dump()


__all__ = ["ExtractionResult", "extract_call", "to_yaml"]
