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
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.calls.schema import (
    Call,
    CostCategory,
    Criterion,
    Indicator,
    Limit,
    Place,
    Section,
    Unit,
)
from assistant.loaders import LoadError, build_loaders, loader_for
from assistant.loaders.ocr import OcrEngine
from assistant.structure import PathEntry, parse_structure
from assistant.structure import Unit as StructureUnit
from assistant.text_analysis import fold

QUOTE_MAX = 300
# Fields a call normally states; those not found are listed as missing.
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


# ----------------------------------------------------------------------------- passages
def flat(text: str) -> str:
    """Lower case without accents, one character per character (offsets stay valid)."""
    return "".join((fold(c) or c)[:1] for c in text)


_BOUNDARY = re.compile(
    r"(?<=[.;!?])\s+(?=[A-ZÀ-Ý•➢▪✓\-–“\"«])|\s+(?=[•➢▪✓]\s)|\s+(?=[-–]\s)|\s\|\s"
    r"|(?<=:)\s+(?=[a-z]\)\s)"
)


@dataclass
class Passage:
    """A paragraph (or list item) of the call, or one row of a table, as one line of text."""

    text: str
    section: str | None
    title: str  # flat title of the enclosing section, for keyword tests
    offsets: list[int]
    pages: list[int | None]
    lines: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    table: int | None = None
    item: bool = False  # a first-level numbered or lettered item of its section
    order: int = 0
    flat: str = ""

    def __post_init__(self) -> None:
        self.flat = flat(self.text)

    def page_at(self, offset: int) -> int | None:
        index = bisect_right(self.offsets, offset) - 1
        return self.pages[max(index, 0)] if self.pages else None

    def sentence_span(self, start: int, end: int | None = None) -> tuple[int, int]:
        end = start if end is None else end
        starts, ends = [0], []
        for m in _BOUNDARY.finditer(self.text):
            ends.append(m.start())
            starts.append(m.end())
        ends.append(len(self.text))
        s = max(x for x in starts if x <= start)
        e = min((x for x in ends if x >= end), default=len(self.text))
        return s, e

    def sentence(self, offset: int) -> str:
        s, e = self.sentence_span(offset)
        return self.flat[s:e]

    def context(self, offset: int) -> str:
        """The sentence at `offset` and the one before it (an intro ending with a colon)."""
        s, e = self.sentence_span(offset)
        ps, _ = self.sentence_span(max(s - 2, 0)) if s else (s, e)
        return self.flat[ps:e]

    def quote(self, start: int, end: int) -> str:
        if self.cells and len(self.text) <= QUOTE_MAX:
            return self.text
        s, e = self.sentence_span(start, end)
        if e - s <= QUOTE_MAX:
            return self.text[s:e].strip()
        left = max(s, min(start - (QUOTE_MAX - (end - start)) // 2, e - QUOTE_MAX))
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
    return next((e for e in reversed(path) if e.kind not in _STRUCTURAL), None)


def section_name(entry: PathEntry | None) -> str | None:
    """`3. Soggetti beneficiari`, `A.4 Soggetti beneficiari`, `Art. 5 Contributo`."""
    if entry is None:
        return None
    if entry.kind == "heading":
        return entry.label
    label = entry.label.removeprefix("§ ")
    if entry.kind == "numbered_section" and "." not in label:
        label += "."
    title = entry.title
    if title.isupper():
        title = title[:1] + title[1:].lower()
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


def build_passages(units: list[StructureUnit]) -> list[Passage]:
    passages: list[Passage] = []
    tables = 0
    for unit in units:
        entry = section_entry(unit.path)
        section = section_name(entry)
        title = flat(entry.title or entry.label) if entry else ""
        if unit.kind == "table":
            tables += 1
            rows = [r for r in unit.text.split("\n") if r.strip()]
            header = _cells(rows[0]) if rows else []
            for row in rows:
                cells = _cells(row)
                passages.append(
                    Passage(
                        " | ".join(cells),
                        section,
                        title,
                        [0],
                        [unit.page],
                        cells=cells,
                        header=header,
                        table=tables,
                    )
                )
            continue
        text, offsets, pages = _join(unit.lines, unit.pages)
        if not text:
            continue
        item = bool(unit.path) and unit.path[-1].kind in ("paragraph", "point")
        item = item and len(unit.path) >= 2 and unit.path[-2] is entry
        lines = [" ".join(x.split()) for x in unit.lines if x.strip()]
        passages.append(Passage(text, section, title, offsets, pages, lines=lines, item=item))
    for order, passage in enumerate(passages):
        passage.order = order
    return passages


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
    rf"|(?P<c>\d{{1,3}}(?:\.\d{{3}})+,\d{{2}})(?!\s*(?:€|euro)?\s*/)(?!\d)",
    re.I,
)


def parse_number(text: str) -> float:
    """Italian number: `1.200.000,00`, `500.000`, `1,5`, `5000`."""
    text = re.sub(r"[.\u00a0\u202f]", "", text).replace(",", ".")
    return float(text)


def _multiplier(word: str | None) -> float:
    if not word:
        return 1.0
    word = word.lower()
    if word.startswith(("miliard", "mld")):
        return 1e9
    return 1e3 if word == "mila" else 1e6


def iter_money(text: str) -> Iterator[tuple[int, int, float]]:
    for m in MONEY_RE.finditer(text):
        number = m.group("a") or m.group("b") or m.group("c")
        value = parse_number(number) * _multiplier(m.group("am") or m.group("bm"))
        if value >= 1:
            yield m.start(), m.end(), value


PERCENT_RE = re.compile(r"(\d{1,3}(?:[,.]\d{1,2})?)\s*(?:%|per\s?cento\b)", re.I)

_PLAIN_INT = r"(\d{1,3}(?:\.\d{3})+|\d+)"


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

    @property
    def key(self) -> tuple[int, int]:
        return self.rank, self.order


def best(candidates: list[Candidate]) -> Candidate | None:
    return min(candidates, key=lambda c: c.key) if candidates else None


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


def scheda_rows(passages: list[Passage], key: str) -> Iterator[tuple[Passage, str, int]]:
    """Rows of a key | value table (the Lombardy "scheda informativa") whose key matches;
    with the value and its offset in the row."""
    for p in passages:
        if len(p.cells) < 2 or len(p.cells[0]) > 60 or not p.cells[0].strip():
            continue
        if re.fullmatch(key, flat(p.cells[0]).strip(" :")):
            values = [c for c in p.cells[1:] if c.strip()]
            if values:
                value = values[0]
                yield p, value, p.text.index(value)


# ---------------------------------------------------------------------------- title etc.
_TITLE_START = re.compile(
    r"^(bando|avviso|manifestazione d['’]interesse|invito|call for proposals)\b", re.I
)


def extract_title(passages: list[Passage], doc_title: str | None, structure_title: str | None):
    for p, value, at in scheda_rows(passages, r"titolo"):
        return value.strip(" |"), p.place(at)
    if structure_title:
        return structure_title, Place(quote=structure_title[:QUOTE_MAX])
    for p in passages:
        if p.page_at(0) not in (None, 1, 2) or p.cells:
            continue
        for i, line in enumerate(p.lines):
            if _TITLE_START.match(flat(line)) and len(line) >= 10:
                title = line
                if len(line.split()) <= 3 and i + 1 < len(p.lines):
                    title = f"{line} {p.lines[i + 1]}"
                return title[:200], Place(page=p.page_at(0), quote=title[:QUOTE_MAX])
        if p.order > 40:
            break
    if doc_title and not flat(doc_title).startswith("allegato"):
        return doc_title, Place(page=1, quote=doc_title[:QUOTE_MAX])
    return None, None


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
    counts: Counter[str] = Counter()
    first: dict[str, tuple[Passage, int, int]] = {}
    for p in passages:
        for m in _REGION_RE.finditer(p.text):
            name = next(r for r in _REGIONS if flat(r) == flat(m.group(1)).replace("-", "-"))
            counts[name] += 1
            first.setdefault(name, (p, m.start(), m.end()))
    if counts:
        region = counts.most_common(1)[0][0]
        draft.data["managing_authority"] = f"Regione {region}"
        draft.data["region"] = region
        draft.mark("managing_authority")
        draft.mark("region")
        return region
    ministries: Counter[str] = Counter()
    for p in passages:
        for m in _MINISTRY_RE.finditer(p.text):
            ministries[" ".join(m.group().split())] += 1
    if ministries:
        draft.data["managing_authority"] = ministries.most_common(1)[0][0]
        draft.mark("managing_authority")
    return None


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
_PNRR_RE = re.compile(r"\bPNRR\b|Piano Nazionale di Ripresa e Resilienza", re.I)
_PNRR_MEASURE_RE = re.compile(r"\bM(\d)\s?C(\d)\b(?:[^.;]{0,40}?\bI(?:nvestimento)?\s?(\d+\.\d+))?")
_INTERREG_RE = re.compile(r"\bInterreg\s+(?:[A-Z][\w-]*\s?){1,4}(?:20\d\d\s*[-–]\s*20\d\d)?")
_REGIONAL_FUNDS_RE = re.compile(
    r"risorse (?:regionali|di regione|del bilancio regionale|autonome)|bilancio regionale"
)
_FUND_NAMES = {
    "FESR": r"\bfesr\b|fondo europeo di sviluppo regionale",
    "FSE+": r"\bfse\+?|fondo sociale europeo",
    "FEASR": r"\bfeasr\b|fondo europeo agricolo per lo sviluppo rurale",
    "JTF": r"\bjtf\b|fondo per una transizione giusta",
}
_COHESION = {"FESR", "FSE+", "JTF", "Interreg", "FEAMPA"}


def _years(y: str) -> str:
    return y if len(y) == 4 else f"20{y}"


def _programmes(passages: list[Passage], region: str | None) -> Counter[str]:
    found: Counter[str] = Counter()
    for p in passages:
        for m in _PROGRAMME_RE.finditer(p.text):
            fund = re.sub(r"\s", "", m.group("fund")).replace("–", "-").replace("/", "-")
            names = f"{m.group('pre')}{m.group('post')}".split()
            years = f"{_years(m.group('y1'))}-{_years(m.group('y2'))}"
            kind = m.group("kind")
            if names:
                found[f"{kind} {' '.join(names)} {fund} {years}"] += 1
            else:
                found[" ".join(x for x in (kind, fund, region, years) if x)] += 1
        for m in _PROGRAMME_LONG_RE.finditer(p.text):
            found[" ".join(x for x in ("PR FESR", region, f"{m['y1']}-{m['y2']}") if x)] += 1
    return found


def extract_programme(passages: list[Passage], region: str | None, draft: Draft) -> None:
    programmes = _programmes(passages, region)
    all_flat = " ".join(p.flat for p in passages)
    programme: str | None = None
    fund: str | None = None
    if programmes:
        programme = programmes.most_common(1)[0][0]
        funds = [f for f in ("FESR", "FSE+", "FEASR", "FEAMPA") if f.rstrip("+") in programme]
        fund = funds[0] if len(funds) == 1 else None
        if len(funds) > 1:
            counts = {f: len(re.findall(_FUND_NAMES[f], all_flat)) for f in funds}
            fund = max(counts, key=counts.__getitem__)
    elif m := _INTERREG_RE.search(" ".join(p.text for p in passages[:60])):
        programme, fund = " ".join(m.group().split()), "Interreg"
    elif len(_PNRR_RE.findall(all_flat)) >= 3 or any(
        _PNRR_RE.search(p.text) for p in passages[:15]
    ):
        fund = "PNRR"
        measure = _PNRR_MEASURE_RE.search(" ".join(p.text for p in passages))
        programme = "PNRR"
        if measure:
            programme += f" M{measure[1]}C{measure[2]}" + (f" I{measure[3]}" if measure[3] else "")
    elif _REGIONAL_FUNDS_RE.search(all_flat) or re.search(r"\blegge regionale\b", all_flat):
        fund = "regionale"
    if programme:
        draft.data["programme"] = programme
        draft.mark("programme")
    if fund:
        draft.data["fund"] = fund
        draft.data["cohesion_policy"] = fund in _COHESION
        draft.mark("fund")
    if len(programmes) > 1:
        others = ", ".join(p for p, _ in programmes.most_common()[1:4])
        draft.warnings.append(f"altri programmi citati nel testo: {others}")


_OBJECTIVE_RE = re.compile(
    r"\b(RSO|ESO)\s?(\d\.\d{1,2})\b|\bobiettivo specifico\s+(\d\.\d{1,2})\b", re.I
)


def extract_objective(passages: list[Passage], draft: Draft) -> None:
    for p in passages[:400]:
        if m := _OBJECTIVE_RE.search(p.text):
            if m.group(1):
                value = f"{m.group(1).upper()}{m.group(2)}"
            else:
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


def _date_candidates(passages: list[Passage]) -> tuple[list[Candidate], list[Candidate]]:
    opening: list[Candidate] = []
    closing: list[Candidate] = []
    for p in passages:
        dates = list(iter_dates(p.text))
        if not dates:
            continue
        key = flat(p.cells[0]) if len(p.cells) >= 2 else ""
        if key and len(key) < 120:
            _row_dates(p, key, dates, opening, closing)
        for s, e, d in dates:  # "Apertura: 01/10/2024 ore 9,00 Chiusura: 15/01/2025"
            label = re.search(
                r"\b(apertura|chiusura|scadenza)\s*:\s*(?:ore\s*[\d.,:]+\s*(?:del\s*)?)?$",
                p.flat[max(0, s - 40) : s],
            )
            if label and _APPLICATION.search(p.flat):
                target = opening if label.group(1) == "apertura" else closing
                target.append(Candidate(d, p.place(s, e), 1, p.order))
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
        for s, e, d in dates:
            before = p.flat[max(0, s - 60) : s]
            sentence = p.sentence(s)
            if (
                re.search(r"\b(?:entro|non oltre|scadenza|termine)\b", before)
                and _APPLICATION.search(sentence)
                and not _NOT_APPLICATION.search(sentence)
            ):
                closing.append(Candidate(d, p.place(s, e), 3, p.order))
    return opening, closing


def _row_dates(p: Passage, key: str, dates, opening: list, closing: list) -> None:
    """Rows such as `DATA CHIUSURA | 15 maggio 2025` or `Chiusura termini per la
    presentazione della domanda | 13 marzo 2025 h. 16.00`."""
    key_end = len(p.cells[0])
    values = [(s, e, d) for s, e, d in dates if s >= key_end]
    if not values:
        return
    s, e, d = values[0]
    scheda = key.startswith("data")
    if re.search(r"\bapertura\b", key) and (scheda or _APPLICATION.search(key)):
        opening.append(Candidate(d, p.place(s, e), 0 if scheda else 2, p.order))
    elif re.search(r"\b(?:chiusura|scadenza|termine)\b", key) and (
        scheda or _APPLICATION.search(key)
    ):
        closing.append(Candidate(d, p.place(s, e), 0 if scheda else 2, p.order))


_END_RE = re.compile(
    r"conclu[sd]\w*|ultimazione|ultimat\w*|fine lavori|termin\w+ (?:del|dei|delle) (?:progett|lavori|intervent|attivit)"
)


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
        draft.mark(f"dates.{name}")
        others = _distinct([c.value for c in candidates if c.rank == chosen.rank])
        if len(others) > 1:
            listed = ", ".join(d.isoformat() for d in others[:4])
            draft.warnings.append(f"dates.{name}: date diverse con lo stesso peso ({listed})")
    end = _project_end(passages)
    if end is not None:
        dates["project_end_by"] = end.value
        places.append(("dates.project_end_by", end.place))
        draft.mark("dates.project_end_by")
    if dates.get("opening") and dates.get("closing") and dates["opening"] > dates["closing"]:
        draft.warnings.append("dates: l'apertura risulta successiva alla chiusura")
    if places:
        dates["place"] = places[0][1]
        for path, place in places[1:]:
            if place != places[0][1]:
                draft.note(path, place)
        draft.data["dates"] = dates


def _project_end(passages: list[Passage]) -> Candidate | None:
    candidates = []
    for p in passages:
        for s, e, d in iter_dates(p.text):
            before = p.flat[max(0, s - 80) : s]
            if not re.search(r"\bentro\b[^.;]{0,25}$", before):
                continue
            sentence = p.sentence(s)
            if _END_RE.search(sentence) and not re.search(r"domand|rendicont|prorog", sentence):
                rank = (
                    0 if re.search(r"temp|durata|termin|realizzazion|cronoprogramm", p.title) else 1
                )
                candidates.append(Candidate(d, p.place(s, e), rank, p.order))
    return best(candidates)


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
# Enti locali (d.lgs. 267/2000, art. 2) as the types a project declares.
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
_QUOTED = re.compile(r"[“\"«][^”\"»]{0,200}[”\"»]")


def applicant_types(sentence_flat: str) -> list[str]:
    text = _QUOTED.sub(" ", sentence_flat)  # law titles: "Riordino delle Comunità montane"
    found: list[str] = []
    for name, pattern in APPLICANT_TYPES:
        hits = list(re.finditer(pattern, text))
        if not hits:
            continue
        found.append(name)
        for m in hits:  # "unioni di comuni" must not count as "comuni" too
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    if "ente_locale" in found:
        found += [t for t in LOCAL_AUTHORITIES if t not in found]
    return found


def population_limits(sentence_flat: str) -> tuple[int | None, int | None]:
    """(min exclusive, max inclusive) from `fino a 5.000 abitanti`, `superiore a 15.000`."""
    text = sentence_flat
    unit = r"\s*(?:abitant|residenti)"
    low = high = None
    if m := re.search(rf"\bda\s+{_PLAIN_INT}\s+(?:a|fino a)\s+{_PLAIN_INT}{unit}", text):
        return plain_int(m.group(1)) - 1, plain_int(m.group(2))
    pattern_max = rf"(?:fino a|non superiore a|pari o inferiore a|inferiore o (?:pari|uguale) a|inferiore a|meno di|sotto i|entro i)\s*(?:i\s+|ai\s+)?{_PLAIN_INT}"
    pattern_min = rf"(?:superiore a|oltre|piu di|almeno|sopra i|maggiore di|pari o superiore a|non inferiore a)\s*(?:i\s+|ai\s+)?{_PLAIN_INT}"
    for m in re.finditer(pattern_max, text):
        if _is_population(text, m):
            n = plain_int(m.group(1))
            strict = re.match(r"inferiore a|meno di|sotto", m.group())
            high = n - 1 if strict else n
            break
    for m in re.finditer(pattern_min, text):
        if _is_population(text, m):
            n = plain_int(m.group(1))
            low = n - 1 if re.match(r"almeno|pari o superiore|non inferiore", m.group()) else n
            break
    return low, high


def _is_population(text: str, m: re.Match[str]) -> bool:
    after = text[m.end() : m.end() + 14]
    before = text[max(0, m.start() - 30) : m.start()]
    return bool(re.match(r"\s*(?:abitant|residenti)", after) or "popolazion" in before)


def _beneficiary_passages(passages: list[Passage]) -> list[tuple[Passage, int]]:
    """(passage, offset) of the sentences that say who may apply."""
    out: list[tuple[Passage, int]] = []
    for p, _value, at in scheda_rows(
        passages, r"chi puo partecipare|beneficiari|soggetti beneficiari"
    ):
        out.append((p, at))
    for p in passages:
        if p.cells or not _BENEFICIARY_TITLE.search(p.title):
            continue
        if _NOT_BENEFICIARY_TITLE.search(p.title):
            continue
        out += [(p, s) for s in _sentence_starts(p)]
    if not any(not p.cells for p, _ in out):
        for p in passages:
            if p.cells:
                continue
            for m in re.finditer(
                r"possono (?:presentare|partecipare|accedere|beneficiare|candidar)|sono ammessi a presentare",
                p.flat,
            ):
                out.append((p, p.sentence_span(m.start())[0]))
    return out


def _sentence_starts(p: Passage) -> list[int]:
    return [0] + [m.end() for m in _BOUNDARY.finditer(p.text)]


def extract_applicants(passages: list[Passage], region: str | None, draft: Draft) -> None:
    included: list[str] = []
    excluded: list[str] = []
    lows: list[tuple[int, Place]] = []
    highs: list[tuple[int, Place]] = []
    place: Place | None = None
    regional = capoluogo = None
    for p, start in _beneficiary_passages(passages):
        s, e = p.sentence_span(start)
        sentence = p.flat[s:e]
        if not _ELIGIBILITY_CUE.search(sentence):
            continue
        types = applicant_types(sentence)
        if _EXCLUSION_CUE.search(sentence):
            excluded += types
            continue
        if not types:
            continue
        included += types
        place = place or p.place(s, e)
        low, high = population_limits(sentence)
        if low is not None:
            lows.append((low, p.place(s, e)))
        if high is not None:
            highs.append((high, p.place(s, e)))
        if region and region_mentioned(region, sentence):
            regional = True
        if capoluogo is None and "capoluog" in sentence:
            capoluogo = not re.search(r"\bnon capoluog", sentence)
    if not included:
        return
    group: dict[str, Any] = {"types": _distinct(included), "place": place}
    if regional:
        group["regions"] = [region]
    for key, found in (("min_population", lows), ("max_population", highs)):
        if found:
            group[key] = found[0][0]
            draft.mark(f"applicants.{key}")
            if found[0][1] != place:
                draft.note(f"applicants.{key}", found[0][1])
            if len({v for v, _ in found}) > 1:
                listed = ", ".join(str(v) for v, _ in found)
                draft.warnings.append(
                    f"applicants.{key}: soglie diverse ({listed}): forse più gruppi"
                )
    if capoluogo is not None:
        group["capoluogo"] = capoluogo
    applicants: dict[str, Any] = {"groups": [group], "place": place}
    excluded = [t for t in _distinct(excluded) if t not in included]
    if excluded:
        applicants["excluded_types"] = excluded
    draft.data["applicants"] = applicants
    draft.mark("applicants")


# ----------------------------------------------------------------------------- money rules
_CONTRIBUTION = re.compile(r"contribut|agevolazion|sovvenzion|finanziament|fondo perduto|aiut")
_COST = re.compile(r"\bcost[oi]\b|\bimport[oi]\b|\bspes[ae]\b|investiment|valore|progett[oi] di")
_LIMIT_WORD = re.compile(
    r"massim|minim|fino a|non superiore|non inferiore|limite|\bmax\b|entro|almeno|superiore a|inferiore a"
)
_FUNDING_TITLE = re.compile(r"agevolazion|contribut|finanziament|intensit|caratteristich|sostegno")


def _rank(p: Passage, scheda: bool, title_re: re.Pattern[str]) -> int:
    if scheda:
        return 0
    return 1 if title_re.search(p.title) else 2


def _is_scheda(p: Passage, key: str) -> bool:
    return len(p.cells) >= 2 and re.search(key, flat(p.cells[0])) is not None


def _limit_kind(before: str) -> str | None:
    """`min` or `max` from the last limit word before an amount."""
    words = list(_LIMIT_WORD.finditer(before))
    if not words:
        return None
    word = words[-1].group()
    return "min" if word.startswith(("minim", "non inferiore", "almeno", "superiore a")) else "max"


def money_candidates(passages: list[Passage]) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {
        "min_total": [],
        "max_total": [],
        "max_contribution": [],
        "budget": [],
    }
    for index, p in enumerate(passages):
        scheda_funding = _is_scheda(p, r"caratteristich|agevolazion|contribut|tipologia")
        scheda_budget = _is_scheda(p, r"dotazione|risorse")
        for s, e, value in iter_money(p.text):
            before = p.flat[max(p.sentence_span(s)[0] - 1, s - 90, 0) : s]
            context = p.context(s)
            kind = _limit_kind(before[-60:])
            if re.search(
                r"dotazion|risorse (?:complessiv|disponibil|stanziat|finanziari)|stanziament",
                before[-120:] if scheda_budget else before[-90:],
            ):
                if p.item or not re.search(r"linea|riserv|quota", before[-40:]):
                    rank = _rank(p, scheda_budget, re.compile(r"dotazion|risorse"))
                    out["budget"].append(Candidate(value, p.place(s, e), rank, p.order, index))
                continue
            if kind is None:
                continue
            contribution = _last(_CONTRIBUTION, before), _last(_COST, before)
            subject_contribution = contribution[0] > contribution[1]
            if not subject_contribution and contribution[1] < 0 and _CONTRIBUTION.search(context):
                subject_contribution = True
            if subject_contribution and kind == "max":
                rank = _rank(p, scheda_funding, _FUNDING_TITLE)
                out["max_contribution"].append(
                    Candidate(value, p.place(s, e), rank, p.order, index)
                )
            elif not subject_contribution and contribution[1] >= 0:
                rank = _rank(
                    p, scheda_funding, re.compile(r"agevolazion|cost|spes|soglie|caratteristich")
                )
                target = "min_total" if kind == "min" else "max_total"
                out[target].append(Candidate(value, p.place(s, e), rank, p.order, index))
    return out


def _last(pattern: re.Pattern[str], text: str) -> int:
    hits = list(pattern.finditer(text))
    return hits[-1].start() if hits else -1


def _pick_amount(
    name: str, candidates: list[Candidate], draft: Draft, highest: bool
) -> Candidate | None:
    """The best-ranked amount; where one passage lists tiers, their highest (or lowest)."""
    chosen = best(candidates)
    if chosen is None:
        return None
    tiers = [c for c in candidates if c.passage == chosen.passage]
    values = _distinct([c.value for c in tiers])
    if len(values) > 1:
        chosen = (max if highest else min)(tiers, key=lambda c: c.value)
        listed = ", ".join(f"{v:,.0f}".replace(",", ".") for v in values[:6])
        draft.warnings.append(
            f"{name}: più importi nello stesso passo ({listed}): scelto il {'più alto' if highest else 'più basso'}"
        )
    return chosen


_RATE_BEFORE = re.compile(
    r"(?:fino a(?:l|ll['’]|d un massimo del(?:l['’])?)?|nella misura (?:massima )?del(?:l['’])?|pari a(?:l|ll['’])"
    r"|non superiore a(?:l|ll['’])|massim[oa] del(?:l['’])?|nel limite (?:massimo )?del(?:l['’])?"
    r"|intensita[^.;%]{0,40}?|copertura (?:del|dell['’]|fino al)|\bal|\ball['’])\s*$"
)
_RATE_AFTER_COST = re.compile(
    r"\s*(?:del|dei|delle|della|dell['’])\s+(?:cost|spes|investiment|import|totale|valore dell)"
)
_RATE_AFTER_NOT = re.compile(
    r"\s*(?:del|della|dell['’]|delle|dei)\s+(?:contribut|dotazion|risors|importo del contributo|costi diretti|agevolazion)"
)
_RATE_SENTENCE_NOT = re.compile(
    r"anticip|saldo|\brat[ae]\b|quota|tranche|tanche|erogat|riduzion|decurtaz|revoc|ribasso|penal"
    r"|cofinanziament|riserv|forfett|indirett|spese tecniche|imprevist|punt"
)


def rate_candidates(passages: list[Passage]) -> list[Candidate]:
    out: list[Candidate] = []
    for index, p in enumerate(passages):
        scheda = _is_scheda(p, r"caratteristich|agevolazion|contribut|tipologia")
        for m in PERCENT_RE.finditer(p.text):
            value = float(m.group(1).replace(",", "."))
            sentence = p.sentence(m.start())
            if not 0 < value <= 100 or not _CONTRIBUTION.search(p.context(m.start())):
                continue
            if _RATE_SENTENCE_NOT.search(sentence) or not _RATE_BEFORE.search(
                p.flat[max(0, m.start() - 60) : m.start()]
            ):
                continue
            after = p.flat[m.end() : m.end() + 40]
            if _RATE_AFTER_NOT.match(after):
                continue
            rank = _rank(p, scheda, _FUNDING_TITLE) * 2 + (
                0 if _RATE_AFTER_COST.match(after) else 1
            )
            out.append(Candidate(value, p.place(m.start(), m.end()), rank, p.order, index))
    return out


def _cofinancing(passages: list[Passage]) -> Candidate | None:
    pattern = re.compile(
        r"cofinanziamento[^.;%]{0,80}?(?:almeno|minimo|non inferiore a)\s*(?:il|al|del|pari al|pari ad almeno il)?\s*(\d{1,2}(?:,\d+)?)\s*%"
    )
    for p in passages:
        if p.cells or re.search(r"valutazion|criteri|punteggi", p.title):
            continue
        if m := pattern.search(p.flat):
            return Candidate(
                float(m.group(1).replace(",", ".")), p.place(m.start(), m.end()), 0, p.order
            )
    return None


def extract_money(passages: list[Passage], draft: Draft) -> None:
    money = money_candidates(passages)
    costs: dict[str, Any] = {}
    funding: dict[str, Any] = {}
    places: dict[str, list[tuple[str, Place]]] = {"costs": [], "funding": []}
    rates = rate_candidates(passages)
    rate = _pick_amount("funding.max_rate", rates, draft, highest=True)
    if rate is not None:
        funding["max_rate"] = rate.value
        places["funding"].append(("funding.max_rate", rate.place))
        others = _distinct(
            [
                c.value
                for c in rates
                if c.rank <= 3 and c.passage != rate.passage and c.value != rate.value
            ]
        )
        if others:
            listed = ", ".join(f"{v:g}%" for v in others[:4])
            draft.warnings.append(f"funding.max_rate: altre intensità nel testo ({listed})")
    for model, name, highest in (
        ("funding", "max_contribution", True),
        ("funding", "budget", False),
        ("costs", "min_total", False),
        ("costs", "max_total", True),
    ):
        chosen = _pick_amount(f"{model}.{name}", money[name], draft, highest)
        if chosen is None:
            continue
        (funding if model == "funding" else costs)[name] = chosen.value
        places[model].append((f"{model}.{name}", chosen.place))
    if (cof := _cofinancing(passages)) is not None:
        funding["min_cofinancing"] = cof.value
        places["funding"].append(("funding.min_cofinancing", cof.place))
    for model, values in (("costs", costs), ("funding", funding)):
        if not values:
            continue
        values["place"] = places[model][0][1]
        for path, place in places[model]:
            draft.mark(path)
            if place != values["place"]:
                draft.note(path, place)
        draft.data[model] = values
    if (
        costs.get("min_total")
        and costs.get("max_total")
        and costs["min_total"] > costs["max_total"]
    ):
        draft.warnings.append("costs: il costo minimo supera il massimo")


# -------------------------------------------------------------------------- cumulation etc.
_CUMULATION = re.compile(r"\bcumul(?:abil\w*|o)\b")
_CUMULATION_NO = re.compile(
    r"\bnon\b[^.;]{0,40}\bcumul|divieto di cumulo|esclus\w*[^.;]{0,80}\bcumul|cumul\w*[^.;]{0,30}\bnon (?:e|sono) (?:ammess|consentit|previst)"
)


def extract_cumulation(passages: list[Passage], draft: Draft) -> None:
    candidates: list[Candidate] = []
    for p in passages:
        for m in _CUMULATION.finditer(p.flat):
            sentence = p.sentence(m.start())
            if "codici cup" in sentence or "accumul" in p.flat[max(0, m.start() - 2) : m.end()]:
                continue
            allowed = not _CUMULATION_NO.search(sentence)
            rank = 0 if "cumul" in p.title else 1
            candidates.append(Candidate(allowed, p.place(m.start(), m.end()), rank, p.order))
            break
    chosen = best(candidates)
    if chosen is None:
        return
    draft.data["cumulation_allowed"] = chosen.value
    draft.mark("cumulation_allowed")
    draft.note("cumulation_allowed", chosen.place)
    if len({c.value for c in candidates}) > 1:
        draft.warnings.append(
            "cumulation_allowed: il bando ammette il cumulo solo in parte (vedi note)"
        )


_NUMBER_WORDS = {"uno": 1, "un": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6}
_COUNT = r"(\d{1,2}|uno|un|due|tre|quattro|cinque|sei)"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def extract_partnership(passages: list[Passage], draft: Draft) -> None:
    rules = {
        "min_partners": rf"(?:almeno|minimo(?: di)?|non meno di)\s+{_COUNT}\s+(?:partner|soggetti partner|enti partner)",
        "max_partners": rf"(?:massimo(?: di)?|non piu di|fino a)\s+{_COUNT}\s+(?:partner|soggetti partner)",
        "min_countries": rf"(?:almeno|minimo(?: di)?)\s+{_COUNT}\s+(?:paesi|stati membri|stati partecipanti|paesi partecipanti)",
    }
    partnership: dict[str, Any] = {}
    for key, pattern in rules.items():
        for p in passages:
            if m := re.search(pattern, p.flat):
                partnership[key] = _count(m.group(1))
                partnership.setdefault("place", p.place(m.start(), m.end()))
                draft.mark(f"partnership.{key}")
                break
    if partnership:
        draft.data["partnership"] = partnership


def extract_site(passages: list[Passage], region: str | None, draft: Draft) -> None:
    site: dict[str, Any] = {}
    for p in passages:
        if p.cells:
            continue
        for m in re.finditer(
            r"localizzat\w*|ubicat\w*|realizzat\w* (?:nel|sul) territorio", p.flat
        ):
            sentence = p.sentence(m.start())
            if region and "regions" not in site and region_mentioned(region, sentence):
                site["regions"] = [region]
                site.setdefault("place", p.place(m.start(), m.end()))
        for m in re.finditer(r"\bdi proprieta (pubblica|comunale)\b", p.flat):
            if not _EXCLUSION_CUE.search(p.sentence(m.start())):
                site.setdefault("allowed_ownership", [])
                if m.group(1) not in site["allowed_ownership"]:
                    site["allowed_ownership"].append(m.group(1))
                site.setdefault("place", p.place(m.start(), m.end()))
        for m in re.finditer(r"\bcomodato\b|\bdiritto di superficie\b", p.flat):
            if _EXCLUSION_CUE.search(p.sentence(m.start())):
                value = m.group().replace(" ", "_")
                site.setdefault("excluded_ownership", [])
                if value not in site["excluded_ownership"]:
                    site["excluded_ownership"].append(value)
                site.setdefault("place", p.place(m.start(), m.end()))
    if site:
        draft.data["site"] = site
        draft.mark("site")


# --------------------------------------------------------------------- lists: costs, docs
def _slug(text: str, sep: str = "_", limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", sep, fold(text)).strip(sep)
    return slug[:limit].rstrip(sep) or "x"


def _item_head(text: str, limit: int = 90) -> str:
    """The naming part of a list item: `b) Spese tecniche, riconosciute ...` -> `Spese tecniche`."""
    text = re.sub(r"^(?:\(?[a-z]\)|\d{1,2}[.)]|[•➢▪✓\-–])\s*", "", text.strip())
    text = re.split(r"[;:,(]|\s[-–]\s|\.\s|\.$", text, maxsplit=1)[0]
    text = re.sub(r"(?<=[a-zà-ù])\d+\b", "", text).strip()  # footnote marks glued to words
    return text[:limit].rsplit(" ", 1)[0] if len(text) > limit else text


def _first_clause(text: str, limit: int = 200) -> str:
    text = re.sub(r"^(?:\(?[a-z]\)|\d{1,2}[.)]|[•➢▪✓\-–])\s*", "", text.strip())
    text = re.split(r";\s|\.\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(" ;.")
    return text[:limit].rsplit(" ", 1)[0] if len(text) > limit else text


_SHARE_RE = re.compile(
    r"(?:fino a(?:d)?\s+(?:un\s+)?(?:massimo\s+)?(?:del(?:l['’])?\s*)?|massimo(?: del)?\s*|max\.?\s*|non superiore al(?:l['’])?\s*"
    r"|nel limite (?:massimo )?del(?:l['’])?\s*|in misura (?:non superiore|massima) al?(?:l['’])?\s*|misura massima del(?:l['’])?\s*|entro il\s*)(\d{1,2}(?:,\d+)?)\s*%"
)
_FLAT_RATE_RE = re.compile(
    r"(?:forfett|forfait|tasso fisso)[^.;%]{0,80}?(\d{1,2}(?:,\d+)?)\s*%|(\d{1,2}(?:,\d+)?)\s*%[^.;]{0,60}forfett"
)
_COST_TITLE = re.compile(
    r"spese ammissibili|costi ammissibili|voci di (?:spesa|costo)|spese ammesse|tipologi[ae] di spes|categorie di spes"
)
_COST_TITLE_NOT = re.compile(r"criteri|requisiti|non ammissibil|rendicont")


def _category(name: str, text_flat: str, place: Place) -> CostCategory | None:
    if len(re.findall(r"[a-zà-ù]", name.lower())) < 4 or re.match(r"(?i)essere\b", name):
        return None
    data: dict[str, Any] = {"id": _slug(name), "name": name, "place": place}
    if m := _FLAT_RATE_RE.search(text_flat):
        data["flat_rate"] = float((m.group(1) or m.group(2)).replace(",", "."))
    elif m := _SHARE_RE.search(text_flat):
        data["max_share"] = float(m.group(1).replace(",", "."))
    for s, _e, value in iter_money(text_flat):
        if _limit_kind(text_flat[max(0, s - 60) : s]) == "max":
            data["max_amount"] = value
            break
    return CostCategory.model_validate(data)


def extract_cost_categories(passages: list[Passage], draft: Draft) -> None:
    categories = _cost_table(passages) or _cost_list(passages)
    seen: set[str] = set()
    unique = []
    for c in categories:
        if c.id not in seen:
            seen.add(c.id)
            unique.append(c)
    if unique:
        draft.data["cost_categories"] = [c.model_dump(exclude_defaults=True) for c in unique[:25]]
        draft.mark("cost_categories")


def _cost_table(passages: list[Passage]) -> list[CostCategory]:
    out = []
    for p in passages:
        if not p.cells or p.cells == p.header:
            continue
        header = flat(" ".join(p.header))
        if not re.search(r"categori|voce|voci|tipologia di spesa", header):
            continue
        if not re.search(r"%|€|euro", p.text):
            continue
        name = re.sub(r"^[A-Z]\.\s*|^\d{1,2}[.)]\s*", "", p.cells[0]).strip()
        if category := _category(name, p.flat, p.place(0, len(p.text))):
            out.append(category)
    return out


def _cost_list(passages: list[Passage]) -> list[CostCategory]:
    """Numbered or lettered items (or bullets) right under the eligible-costs heading."""
    out: list[CostCategory] = []
    section: str | None = None
    for p in passages:
        if p.cells or not _COST_TITLE.search(p.title) or _COST_TITLE_NOT.search(p.title):
            if out and p.section != section:
                break
            continue
        if section is not None and p.section != section:
            break
        if p.item:
            section = p.section
            first = _first_clause(p.text, limit=400)
            end = p.text.find(first) + len(first) if first in p.text else len(p.text)
            name = _item_head(first)
            if category := _category(name, p.flat[:end], p.place(0, end)):
                out.append(category)
        elif bullets := _bullets_after_colon(p):
            section = p.section
            for start, end in bullets:
                name = _item_head(p.text[start:end])
                if category := _category(name, p.flat[start:end], p.place(start, end)):
                    out.append(category)
    return out


def _bullets_after_colon(p: Passage) -> list[tuple[int, int]]:
    """Spans of the bullet items that follow a sentence ending with a colon."""
    colon = p.text.find(":")
    if colon < 0:
        return []
    marks = [m.start() for m in re.finditer(r"(?:^|\s)[•➢▪✓\-–]\s", p.text) if m.start() > colon]
    spans = []
    for i, start in enumerate(marks):
        end = marks[i + 1] if i + 1 < len(marks) else len(p.text)
        stop = re.search(r"\.\s+(?=[A-Z])", p.text[start:end])
        spans.append((start, start + stop.start() + 1 if stop else end))
        if stop:
            break
    return spans


_DOCS_TITLE = re.compile(
    r"documentazione (?:da allegare|richiesta|obbligatoria)|allegati richiesti|documenti (?:richiesti|da allegare)"
    r"|dati e allegati|allegati alla domanda|documentazione a corredo"
)
_DOCS_INTRO = re.compile(
    r"(?:allegat|documentazion|documenti)[^.]{0,120}:\s*$|(?:seguent[ei])[^.]{0,60}(?:allegat|documentazion|documenti)[^.]{0,60}:\s*$"
)


def extract_documents(passages: list[Passage], draft: Draft) -> None:
    docs: list[str] = []
    place: Place | None = None
    collecting = False
    for i, p in enumerate(passages):
        if p.cells:
            if collecting:
                break
            continue
        if _DOCS_TITLE.search(p.title) and p.item:
            collecting = True
        if collecting and p.item:
            docs.append(_first_clause(p.text))
            place = place or p.place(0, len(_first_clause(p.text)))
            if i + 1 < len(passages) and not passages[i + 1].item and docs:
                break
            continue
        if collecting and docs:
            break
        if _DOCS_INTRO.search(p.flat):
            inline = _bullets_after_colon(p) or _lettered_after_colon(p)
            if inline:
                docs = [_first_clause(p.text[s:e]) for s, e in inline]
                place = p.place(inline[0][0], inline[0][1])
                break
            collecting = True
    docs = [d for d in _distinct(docs) if len(d) >= 4]
    if docs:
        draft.data["required_documents"] = docs[:40]
        draft.mark("required_documents")
        if place is not None:
            draft.note("required_documents", place)


def _lettered_after_colon(p: Passage) -> list[tuple[int, int]]:
    colon = p.text.find(":")
    marks = [
        m.start() for m in re.finditer(r"(?:^|\s)\(?[a-z]\)\s", p.text) if m.start() > colon >= 0
    ]
    return [(s, marks[i + 1] if i + 1 < len(marks) else len(p.text)) for i, s in enumerate(marks)]


# ---------------------------------------------------------------------- proposal sections
LIMIT_RE = re.compile(
    r"(?:(?:max(?:imo)?\.?|massimo(?: di)?|fino a(?:d)?|non oltre|al massimo|limite(?: di)?)\s*)?"
    r"(?P<n>\d{1,3}(?:\.\d{3})+|\d+)\s*(?P<u>caratteri|battute|parole|pagin[ae]|facciat[ae]|cartell[ae])\b"
    r"(?P<tail>[^|;]{0,40})",
    re.I,
)
_UNIT = {"caratteri": "characters", "battute": "characters", "parole": "words"}
_TITLE_VERBS = re.compile(r"\b(?:deve|devono|dovr\w+|superare|non pu\w+|sono|e' |contenere)\b")


def limit_of(match: re.Match[str]) -> Limit:
    word = match.group("u").lower()
    unit: Unit = _UNIT.get(word, "pages")  # type: ignore[assignment]
    tail = flat(match.group("tail"))
    if unit == "characters" and re.search(
        r"spazi esclusi|senza spazi|esclusi (?:gli )?spazi|non inclusi", tail
    ):
        unit = "characters_no_spaces"
    return Limit(max=plain_int(match.group("n")), unit=unit)


def _section_title(raw: str) -> tuple[str | None, str]:
    """(number, title) of a proposal section named before its limit."""
    text = raw.strip(" :–—-,(|")
    number = None
    if (m := re.match(
        r"(?i)^(?:sezione|sez\.|paragrafo|punto|capitolo)\s*([A-Z]?\d{1,2}(?:\.\d{1,2})?|[A-Z])\s*[.:)\-–—]?\s*",
        text,
    )) or (m := re.match(r"^([A-Z]?\d{1,2}(?:\.\d{1,2})*|[A-Z])[.)]\s+", text)):
        number, text = m.group(1), text[m.end() :]
    text = re.sub(r"\s*[\(:–—-]\s*$", "", text).strip(" :–—-,")
    return number, text


def extract_sections(passages: list[Passage], draft: Draft) -> None:
    sections: list[Section] = []
    for p in passages:
        for start, raw_title, m in _limit_hits(p):
            number, title = _section_title(raw_title)
            letters = len(re.findall(r"[^\W\d_]", title))
            if letters < 3 or len(title) > 120 or _TITLE_VERBS.search(flat(title)):
                continue
            sid = number or _slug(title, limit=30)
            if any(s.title == title or s.id == sid for s in sections):
                continue
            place = p.place(start, m.end())
            sections.append(Section(id=sid, title=title, limit=limit_of(m), place=place))
    if sections:
        draft.data["sections"] = [s.model_dump(exclude_defaults=True) for s in sections]
        draft.mark("sections")


def _limit_hits(p: Passage) -> Iterator[tuple[int, str, re.Match[str]]]:
    """(offset, text naming the section, limit match) for each limit in a row or line."""
    if p.cells:
        if p.cells == p.header:
            return
        offset = 0
        for i, cell in enumerate(p.cells):
            m = LIMIT_RE.search(cell)
            if m and i > 0:
                name = next((c for c in p.cells[:i] if re.search(r"[^\W\d_]{3}", c)), "")
                yield 0, name, _shifted(m, p.text, offset)
                return
            if m and i == 0 and m.start() > 3:
                yield 0, cell[: m.start()], _shifted(m, p.text, offset)
                return
            offset += len(cell) + 3
        return
    for line in p.lines:
        m = LIMIT_RE.search(line)
        if m and m.start() > 3:
            at = p.text.find(line[:40])
            found = LIMIT_RE.search(p.text, max(at, 0))
            if found:
                yield max(at, 0), line[: m.start()], found


def _shifted(m: re.Match[str], text: str, offset: int) -> re.Match[str]:
    found = LIMIT_RE.search(text, offset)
    return found if found is not None else m


# --------------------------------------------------------------------------------- scoring
_POINTS_CELL = re.compile(
    r"^(?:max\.?\s*|massimo\s*|fino a\s*)?(?:\d{1,3}\s*[-–÷]\s*)?(\d{1,3}(?:[.,]\d{1,2})?)\s*(?:punti|pt\.?)?$"
)
_ID_CELL = re.compile(r"^(?:[A-Z]\.)?\d{1,2}(?:\.\d{1,2})*\.?$|^[A-Z]\.?$")
_CELL_CRITERION = re.compile(
    r"^(?P<id>[A-Z](?:\.\d{1,2})+|\d{1,2}(?:\.\d{1,2})+)\s+(?P<name>.{3,200}?)\s*\((?:max\.?\s*)?(?P<pts>\d{1,3})\s*(?:pt|punti)\.?\)\s*$",
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
    if len(text) > 140:
        head = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0]
        return head[:140].rsplit(" ", 1)[0] if len(head) > 140 else head, text
    return text, ""


def _row_criteria(p: Passage) -> list[dict[str, Any]]:
    cells = [c.strip() for c in p.cells]
    out = []
    for cell in cells:
        if m := _CELL_CRITERION.match(cell):
            out.append(
                {"id": m["id"], "name": m["name"].strip(" -–"), "max_points": float(m["pts"])}
            )
    if out:
        return out
    crit_id = cells[0] if cells and _ID_CELL.match(cells[0]) else None
    first = 1 if crit_id else 0
    name_at = next(
        (i for i in range(first, len(cells)) if len(re.findall(r"[^\W\d_]", cells[i])) >= 8), None
    )
    if name_at is None:
        return []
    name_cell = cells[name_at]
    if re.match(r"(?i)tot(?:ale|\.|\b)|punti totali|punteggio totale", flat(name_cell)):
        return []
    points = None
    for cell in cells[name_at + 1 :]:
        if m := _POINTS_CELL.match(flat(cell)):
            points = float(m.group(1).replace(",", "."))
            break
    description = ""
    if points is None and (m := _NAME_POINTS.match(name_cell) or _NAME_RANGE.match(name_cell)):
        points, name_cell = float(m["pts"]), m["name"]
    if points is None:
        levels = [int(x) for c in cells[name_at + 1 :] for x in _LEVELS.findall(c)]
        points = float(max(levels)) if levels else None
    if not points:
        return []
    others = [c for c in cells[name_at + 1 :] if len(c) > 20 and not _POINTS_CELL.match(flat(c))]
    name, description = _criterion_name(name_cell)
    description = description or (others[0] if others else "")
    return [
        {"id": crit_id, "name": name, "max_points": points, "description": description[:QUOTE_MAX]}
    ]


def _table_criteria(passages: list[Passage]) -> list[tuple[Passage, dict[str, Any]]]:
    out = []
    for p in passages:
        if not p.cells or p.cells == p.header:
            continue
        header = flat(" ".join(p.header))
        if not (re.search(r"punt|\bpt\b|\bpeso\b", header) or _SCORING_TITLE.search(p.title)):
            continue
        out += [(p, c) for c in _row_criteria(p)]
    return out


def _line_criteria(passages: list[Passage]) -> list[tuple[Passage, dict[str, Any]]]:
    out = []
    for p in passages:
        if p.cells or not (_SCORING_TITLE.search(p.title) or re.search(r"punt", p.flat)):
            continue
        for line in p.lines:
            m = CRITERION_LINE.match(line)
            if (
                not m
                or re.match(r"(?i)tot", m["name"])
                or len(re.findall(r"[^\W\d_]", m["name"])) < 4
            ):
                continue
            if _TITLE_VERBS.search(flat(m["name"])) or re.search(
                r"(?i)\b(?:almeno|minimo|soglia)\b", m["name"]
            ):
                continue
            at = p.text.find(line[:40])
            item = {
                "id": m["id"],
                "name": m["name"].strip(" :–-"),
                "max_points": float(m["pts"].replace(",", ".")),
            }
            out.append((p, item | {"_at": max(at, 0), "_len": len(line)}))
    return out


def extract_scoring(passages: list[Passage], draft: Draft) -> None:
    found = _table_criteria(passages) or _line_criteria(passages)
    if not found:
        return
    first_section = next(
        (p.section for p, _ in found if sum(1 for q, _ in found if q.section == p.section) >= 2),
        found[0][0].section,
    )
    chosen = [(p, c) for p, c in found if p.section == first_section]
    skipped = len(found) - len(chosen)
    criteria: list[Criterion] = []
    for p, c in chosen:
        if any(x.name == c["name"] for x in criteria) or c["max_points"] > 100:
            continue
        at, length = c.pop("_at", 0), c.pop("_len", len(p.text))
        cid = c.pop("id") or f"c{len(criteria) + 1}"
        if any(x.id == cid for x in criteria):
            cid = f"{cid}-{len(criteria) + 1}"
        criteria.append(Criterion(id=cid, place=p.place(at, at + length), **c))
    if not criteria:
        return
    draft.data["scoring"] = [c.model_dump(exclude_defaults=True) for c in criteria]
    draft.mark("scoring")
    if skipped:
        draft.warnings.append(
            f"scoring: altri {skipped} criteri in altre sezioni non inclusi (sotto-criteri o altre linee?)"
        )
    total = _stated_total(passages, first_section)
    points = sum(c.max_points for c in criteria)
    if total and abs(total - points) > 0.01:
        draft.warnings.append(
            f"scoring: la somma dei punteggi ({points:g}) differisce dal totale indicato ({total:g})"
        )


def _stated_total(passages: list[Passage], section: str | None) -> float | None:
    for p in passages:
        if p.section != section:
            continue
        if m := re.search(
            r"punteggio (?:massimo|totale|complessivo)[^.;\d]{0,40}?(\d{2,3})\b", p.flat
        ):
            return float(m.group(1))
        if p.cells and re.match(
            r"tot|punti totali|punteggio totale", flat(" ".join(p.cells)).strip(" |")
        ):
            numbers = [_POINTS_CELL.match(flat(c)) for c in p.cells]
            values = [float(n.group(1)) for n in numbers if n]
            if values:
                return values[-1]
    return None


# ------------------------------------------------------------------------------ indicators
_INDICATOR_CODE = re.compile(
    r"\b((?:RCO|RCR|EECO|EECR|ISO|ISR)\s?\d{2,3})\s*[:\-–]?\s*(?P<name>[^;|]{5,140}?)(?:;|\.|$|\s[-–]\sin\b|\(in\b)"
)


def extract_indicators(passages: list[Passage], draft: Draft) -> None:
    indicators: list[Indicator] = []
    for p in passages:
        if p.cells and p.cells != p.header and re.search(r"indicator", flat(" ".join(p.header))):
            cols = [flat(h) for h in p.header]
            if len(p.cells) != len(cols):
                continue
            row = dict(zip(cols, p.cells, strict=True))
            name = next((v for k, v in row.items() if "indicator" in k), p.cells[0])
            unit = next((v for k, v in row.items() if "unita" in k or "misura" in k), "")
            target = next((v for k, v in row.items() if "target" in k or "obiettivo" in k), "")
            indicators.append(
                Indicator(
                    id=_slug(name, limit=30),
                    name=name,
                    unit=unit,
                    target=target,
                    place=p.place(0, len(p.text)),
                )
            )
            continue
        for m in _INDICATOR_CODE.finditer(p.text):
            code = m.group(1).replace(" ", "")
            if not any(i.id == code for i in indicators):
                indicators.append(
                    Indicator(
                        id=code, name=m["name"].strip(" :–-"), place=p.place(m.start(), m.end())
                    )
                )
    seen: set[str] = set()
    unique = [i for i in indicators if not (i.id in seen or seen.add(i.id))]
    if unique:
        draft.data["indicators"] = [i.model_dump(exclude_defaults=True) for i in unique[:30]]
        draft.mark("indicators")


# ------------------------------------------------------------------------------- the entry
def _load(path: Path, ocr: OcrEngine | None):
    if not path.is_file():
        raise ValueError(f"{path}: not a readable file")
    try:
        return loader_for(path, build_loaders(True, ocr)).load(path)
    except LoadError as error:
        raise ValueError(f"{path}: {error}") from error
    except Exception as error:  # a parser bug must still name the file, on one line
        reason = " ".join(str(error).split())[:200]
        raise ValueError(f"{path}: unreadable ({type(error).__name__}: {reason})") from error


def extract_call(path: Path, ocr: OcrEngine | None = None) -> ExtractionResult:
    """A draft Call from a call document, with the fields found, missing, and warnings."""
    path = Path(path)
    doc = _load(path, ocr)
    units, structure_title = parse_structure(doc.blocks)
    passages = build_passages(units)
    draft = Draft(data={"id": _slug(path.stem, sep="-", limit=80), "source": str(path)})
    draft.warnings += [f"lettura: {w}" for w in doc.warnings]
    title, title_place = extract_title(passages, doc.title, structure_title)
    draft.data["title"] = title or path.stem
    if title:
        draft.mark("title")
        if title_place is not None and title_place.quote:
            draft.note("title", title_place)
    region = extract_authority(passages, draft)
    extract_programme(passages, region, draft)
    extract_objective(passages, draft)
    extract_dates(passages, draft)
    extract_applicants(passages, region, draft)
    extract_money(passages, draft)
    extract_site(passages, region, draft)
    extract_partnership(passages, draft)
    extract_cost_categories(passages, draft)
    extract_sections(passages, draft)
    extract_scoring(passages, draft)
    extract_indicators(passages, draft)
    extract_documents(passages, draft)
    extract_cumulation(passages, draft)
    if not passages:
        draft.warnings.append("nessun testo leggibile")
    draft.data["notes"] = draft.notes
    call = _validated(draft)
    missing = [f for f in CHECKLIST if f not in draft.found]
    return ExtractionResult(call=call, found=draft.found, missing=missing, warnings=draft.warnings)


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
    for warning in result.warnings:
        head.append("# DA VERIFICARE: " + " ".join(warning.split()))
    return "\n".join(head) + "\n" + result.call.dump()


__all__ = ["ExtractionResult", "extract_call", "to_yaml"]
