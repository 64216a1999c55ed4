"""Project ideas from a spreadsheet (CSV, one row per idea) as project profiles.

The columns are described in `corpus/ideas/README.md`. A row that cannot become a profile
gives one line naming the file, the row and the reason; the other rows go on.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from assistant.calls.project import (
    Applicant,
    CostLine,
    OtherFunding,
    Partner,
    ProjectProfile,
    Site,
)
from assistant.loaders.base import read_text_file
from assistant.loaders.csv_records import parse_amount
from assistant.text_analysis import fold

YES = {"si", "sì", "yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}
COST_PREFIX = "costo_"


class IdeaError(ValueError):
    pass


def _flag(value: str) -> bool | None:
    folded = fold(value).strip()
    if folded in {fold(v) for v in YES}:
        return True
    if folded in NO:
        return False
    return None


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def _amount(value: str, column: str) -> float | None:
    if not value.strip():
        return None
    amount = parse_amount(value)
    if amount is None:
        raise IdeaError(f"{column}: {value!r} is not an amount")
    return amount


def _date(value: str, column: str) -> date | None:
    if not value.strip():
        return None
    text = value.strip()
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(text)
    except ValueError as error:
        raise IdeaError(f"{column}: {value!r} is not a date (YYYY-MM-DD)") from error


def idea_from_row(row: dict[str, str]) -> ProjectProfile:
    get = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}.get

    def text(column: str) -> str:
        return get(column) or ""

    if not text("titolo"):
        raise IdeaError("titolo is empty")
    population = text("popolazione").replace(".", "").replace(" ", "")
    if population and not population.isdigit():
        raise IdeaError(f"popolazione: {text('popolazione')!r} is not a number")
    comune = text("comune") or None
    applicant = Applicant(
        name=text("soggetto") or (f"Comune di {comune}" if comune else text("titolo")),
        type=text("tipo") or "comune",
        comune=comune,
        province=text("provincia") or None,
        region=text("regione") or None,
        istat_code=text("istat") or None,
        population=int(population) if population else None,
        capoluogo=_flag(text("capoluogo")),
    )
    partners = []
    for item in _items(text("partner")):
        name, _, kind = item.partition("|")
        partners.append(Partner(name=name.strip(), type=kind.strip()))
    cost_lines = []
    for column, value in row.items():
        if column and column.strip().lower().startswith(COST_PREFIX):
            amount = _amount(value or "", column)
            if amount:
                category = column.strip().lower()[len(COST_PREFIX) :]
                cost_lines.append(CostLine(category=category, amount=amount))
    other = []
    for item in _items(text("altri_finanziamenti")):
        parts = [p.strip() for p in item.split("|")]
        amount = _amount(parts[1], "altri_finanziamenti") if len(parts) > 1 else None
        covers = [c.strip() for c in parts[2].split(",")] if len(parts) > 2 else []
        other.append(OtherFunding(source=parts[0], amount=amount or 0.0, covers=covers))
    dnsh = _flag(text("dnsh"))
    return ProjectProfile(
        title=text("titolo"),
        summary=text("sintesi"),
        applicant=applicant,
        partners=partners,
        site=Site(
            description=text("sedi"),
            comune=comune,
            region=applicant.region,
            ownership=text("proprieta_sede") or None,
        ),
        themes=_items(text("temi")),
        activities=_items(text("attivita")),
        cost_lines=cost_lines,
        requested_contribution=_amount(text("contributo_richiesto"), "contributo_richiesto"),
        start_date=_date(text("inizio"), "inizio"),
        end_date=_date(text("fine"), "fine"),
        other_funding=other,
        infrastructure=_flag(text("infrastruttura")),
        vat_recoverable=_flag(text("iva_recuperabile")),
        dnsh_assessed=dnsh,
        durability_commitment=_flag(text("stabilita")),
        visibility_plan=_flag(text("visibilita")),
    )


def load_ideas(path: Path) -> tuple[list[ProjectProfile], list[str]]:
    """The ideas of a CSV file, and one error line per row that is not a valid idea."""
    try:
        text, _ = read_text_file(path)
    except Exception as error:  # the loader's own errors carry the reason
        raise IdeaError(f"{path}: cannot read ({error})") from error
    sample = text[:5000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect)
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if "titolo" not in columns:
        raise IdeaError(f"{path}: no 'titolo' column (columns: {', '.join(sorted(columns))})")
    ideas, problems = [], []
    for number, row in enumerate(reader, start=2):
        try:
            ideas.append(idea_from_row(row))
        except (IdeaError, ValidationError) as error:
            reason = str(error).splitlines()[0]
            problems.append(f"{path}, row {number}: {reason}")
    return ideas, problems
