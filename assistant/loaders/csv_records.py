"""CSV of projects and calls: one record per row, with typed metadata.

Recognises the column names of the common Italian open-data layouts (Italia Domani,
OpenCoesione, OpenCUP, ministry lists such as the Ministero dell'Interno annexes) and maps
them to canonical fields, so that filters (comune, programme, ...) and amounts work.
Unknown layouts still give one record per row with every column labelled.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from assistant.classify import guess_programme
from assistant.loaders.base import LoadError, read_text_file
from assistant.schema import Block, LoadedDocument, MetaValue
from assistant.text_analysis import fold

# canonical field -> normalised column names (fold + alphanumerics only), most specific first
FIELDS: dict[str, tuple[str, ...]] = {
    "cup": ("cup", "codicecup", "codiceunicodiprogetto"),
    "title": (
        "titoloprogetto",
        "octitoloprogetto",
        "titolobandooavviso",
        "titolo",
        "titolointervento",
        "denominazioneprogetto",
        "oggetto",
        "descrizioneintervento",
        "ocsintesiprogetto",
    ),
    "beneficiary": (
        "beneficiario",
        "ocdenombeneficiario",
        "soggettoattuatore",
        "denominazionebeneficiario",
        "ente",
        "soggettoemanante",
        "pa",
        "amministrazionetitolare",
    ),
    "comune": ("comune", "dencomune", "denominazionecomune", "comunebeneficiario", "ente"),
    "province": ("provincia", "denprovincia", "siglaprovincia"),
    "region": ("regione", "denregione"),
    "istat": ("codiceistatcomune", "codistat", "codiceistat", "codcomune"),
    "programme": (
        "programma",
        "ocdescrprogramma",
        "ocdenominazioneprogramma",
        "fondo",
        "ocdescrfonte",
    ),
    "measure": (
        "descrizionemisura",
        "descrizionesubmisura",
        "misura",
        "codiceunivocomisura",
        "codiceunivocosubmisura",
        "idmisura",
        "ocdescrlineaintervento",
    ),
    "amount_total": (
        "finanztotale",
        "costocomplessivo",
        "finanztotalepubblico",
        "importocomplessivo",
        "importocomplessivogara",
        "costototale",
        "importo",
        "importototale",
    ),
    "amount_eu": (
        "finanziamentopnrr",
        "finanzue",
        "finanziamentoue",
        "importoprevistopnrr",
        "richiestacontributo",
        "contributo",
        "importoaggiudicatopnrr",
        "assegnazione",
    ),
    "status": ("stato", "statodelbando", "ocstatoprogetto", "ammessononammesso", "statoprogetto"),
    "date_start": (
        "datainizio",
        "ocdatainizioprogetto",
        "dataaperturabando",
        "dataapertura",
        "dataaperturadate",
        "datatrasmissionedomanda",
    ),
    "date_end": (
        "datafine",
        "ocdatafineprogettoprevista",
        "datachiusuraeffettivabando",
        "datachiusura",
        "datachiusuradate",
        "datafineprevista",
    ),
    "theme": ("tema", "octemasintetico", "tipologiaintervento", "temaprioritario"),
    "recipients": ("destinataridelbandoodellavviso", "destinatari"),
    "url": ("linkalbando", "url", "opencup", "link"),
}
AMOUNT_FIELDS = {"amount_total", "amount_eu"}
DATE_FIELDS = {"date_start", "date_end"}
_MISSING = {"", "n/d", "n/a", "nd", "na", "-", "null", "none"}


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(name))


def parse_amount(value: str) -> float | None:
    """Italian and international number formats: `1.234.567,89`, `2500000.00`, `65.000`."""
    text = re.sub(r"[€\s]|EUR", "", value.strip())
    if not text or text.casefold() in _MISSING:
        return None
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        text = (
            text.replace(",", ".")
            if re.fullmatch(r"-?\d+,\d{1,2}", text)
            else text.replace(",", "")
        )
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")  # 65.000 is sixty-five thousand in Italian data
    try:
        return float(text)
    except ValueError:
        return None


def parse_date(value: str) -> str | None:
    """ISO date from `19/04/2022`, `19/04/22`, `2022-04-19`."""
    text = re.sub(r"[ T]\d{1,2}[:.]\d{2}(?:[:.]\d{2})?.*$", "", value.strip())  # drop a time
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        y, mo, d = map(int, m.groups())
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", text):
        d, mo, y = map(int, m.groups())
        y += 2000 if y < 100 else 0
    else:
        return None
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def map_columns(headers: list[str]) -> dict[str, int]:
    """Canonical field -> column index, for the columns this file has: exact names first,
    then names that start with a known one ("Importo previsto PNRR" is not "Importo")."""
    normalised = [normalise_header(h) for h in headers]
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for exact in (True, False):
        for field, names in FIELDS.items():
            if field in mapping:
                continue
            for name in names:
                hits = [
                    i
                    for i, h in enumerate(normalised)
                    if (h == name if exact else len(name) > 7 and h.startswith(name))
                ]
                free = [i for i in hits if i not in used or field == "comune"]
                if free:
                    mapping[field] = free[0]
                    used.add(free[0])
                    break
    return mapping


_LOWER_PARTICLES = {
    "di",
    "de",
    "del",
    "della",
    "dei",
    "degli",
    "delle",
    "in",
    "sul",
    "sulla",
    "al",
    "alla",
    "e",
    "d",
    "l",
    "da",
    "dal",
    "dalla",
    "sopra",
    "sotto",
}
_ACCENT_APOSTROPHE = {"A'": "À", "E'": "È", "I'": "Ì", "O'": "Ò", "U'": "Ù"}


def place_name(value: str) -> str:
    """`SAN CESARIO DI LECCE` -> `San Cesario di Lecce`; `CEFALU'` -> `Cefalù`."""
    if not value.isupper():
        return value
    for plain, accented in _ACCENT_APOSTROPHE.items():
        value = re.sub(rf"(?<=[A-Z]{{3}}){plain[0]}'(?=\s|$)", accented, value)
    words_out = []
    for i, word in enumerate(re.split(r"(\s+|-|')", value.lower())):
        if word.strip() and (i == 0 or word not in _LOWER_PARTICLES):
            word = word[:1].upper() + word[1:]
        words_out.append(word)
    return "".join(words_out)


def sniff_dialect(sample: str) -> csv.Dialect | type[csv.Dialect]:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        counts = {d: sample.split("\n", 1)[0].count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        if counts[best] == 0:
            raise LoadError(
                "not a delimited table: no , ; tab or | separator in the header"
            ) from None

        # A subclass: setting the delimiter on csv.excel itself changed every later CSV
        # read or written in the process (the next upload, the ideas import).
        class Fallback(csv.excel):
            delimiter = best

        return Fallback


def record_kind(mapping: dict[str, int], headers: list[str]) -> str:
    joined = " ".join(normalise_header(h) for h in headers)
    if (
        "bando" in joined
        or "avviso" in joined
        or ("date_start" in mapping and "cup" not in mapping and "beneficiary" not in mapping)
    ):
        return "call"
    if "cup" in mapping or "beneficiary" in mapping or "comune" in mapping:
        return "project"
    return "other"


class CsvLoader:
    name = "csv"
    suffixes = (".csv", ".tsv")

    def load(self, path: Path) -> LoadedDocument:
        text, warnings = read_text_file(path)
        if not text.strip():
            raise LoadError("empty file")
        dialect = sniff_dialect(text[:20_000])
        raw_lines = text.lstrip("\ufeff").splitlines()
        rows: list[tuple[int, list[str], str]] = []  # (first line number, cells, raw text)
        try:
            reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), dialect)
            previous = 0
            for cells in reader:
                raw = "\n".join(raw_lines[previous : reader.line_num])
                if any(c.strip() for c in cells):
                    rows.append((previous + 1, cells, raw))
                previous = reader.line_num
        except csv.Error as error:
            raise LoadError(f"unreadable CSV ({error})") from error
        if len(rows) < 2:
            raise LoadError("CSV has a header but no data rows" if rows else "empty CSV")
        headers = [h.strip() for h in rows[0][1]]
        if len(set(headers)) < 2:
            raise LoadError("CSV header has fewer than two columns (wrong delimiter?)")
        mapping = map_columns(headers)
        kind = record_kind(mapping, headers)
        blocks: list[Block] = []
        ragged = 0
        for number, cells, raw in rows[1:]:
            if len(cells) != len(headers):
                ragged += 1
            blocks.append(self._record(path, headers, cells, number, mapping, kind, raw))
        if ragged:
            warnings.append(f"{ragged} row(s) with a number of fields different from the header")
        return LoadedDocument(
            title=None,
            blocks=blocks,
            doc_type_hint="call" if kind == "call" else "project" if kind == "project" else None,
            metadata={"csv_layout": kind, "csv_columns": len(headers), "csv_rows": len(blocks)},
            warnings=warnings,
        )

    @staticmethod
    def _record(
        path: Path,
        headers: list[str],
        row: list[str],
        number: int,
        mapping: dict[str, int],
        kind: str,
        raw: str,
    ) -> Block:
        def value(field: str) -> str:
            index = mapping.get(field)
            if index is None or index >= len(row):
                return ""
            cell = row[index].strip()
            return "" if cell.casefold() in _MISSING else cell

        metadata: dict[str, MetaValue] = {"record_kind": kind, "row": number}
        for field in FIELDS:
            cell = value(field)
            if not cell:
                continue
            if field in AMOUNT_FIELDS:
                amount = parse_amount(cell)
                if amount is not None:
                    metadata[field] = amount
            elif field in DATE_FIELDS:
                iso = parse_date(cell)
                if iso:
                    metadata[field] = iso
            elif field in ("comune", "province", "region"):
                metadata[field] = place_name(cell) if len(cell) > 2 else cell
            else:
                metadata[field] = cell[:300]
        lines = [f"{h}: {c.strip()}" for h, c in zip(headers, row, strict=False) if c.strip()]
        # The row as written in the file, so a citation can be checked against the source.
        if raw and len(raw) <= 2000:
            lines.append(f"[{path.name}, riga {number}] {raw}")
        title = str(metadata.get("title") or metadata.get("cup") or f"riga {number}")
        label = f"Riga {number}"
        if metadata.get("cup"):
            label += f" · CUP {metadata['cup']}"
        tag = guess_programme(
            " ".join(str(metadata.get(f, "")) for f in ("programme", "measure")), ""
        )
        if tag:
            metadata["programme_tag"] = tag
        metadata["record_label"] = label
        metadata["record_title"] = title[:200]
        return Block(
            text="\n".join(lines),
            kind="record",
            metadata=metadata,
            summary=record_summary(metadata),
        )


# What the embedder sees of a record (the lexical index has every column).
_SUMMARY_LABELS = {
    "beneficiary": "Beneficiario",
    "comune": "Comune",
    "measure": "Misura",
    "theme": "Tema",
    "amount_total": "Importo",
    "status": "Stato",
}


def record_summary(metadata: dict[str, MetaValue]) -> str:
    """What the embedder sees of a record: its title and the fields that say what it is."""
    lines = [str(metadata.get("title") or metadata.get("record_label", ""))]
    for field, label in _SUMMARY_LABELS.items():
        value = metadata.get(field)
        if value is None or value == "":
            continue
        if field in AMOUNT_FIELDS and isinstance(value, float):
            value = f"{value:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")
        lines.append(f"{label}: {value}")
    return "\n".join(lines)
