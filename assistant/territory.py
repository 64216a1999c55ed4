"""Territorial knowledge: the past projects of the comuni, from the project CSVs in the index.

Each row of a project CSV (Italia Domani, OpenCoesione, OpenCUP, ministry annexes, the office's
own lists) is a "record" chunk in the catalogue with typed metadata (see
`assistant.loaders.csv_records`). This module reads them back as a table, one row per project,
with what the office asks of it: the fund (PNRR, FESR, FSE+, FEASR, ...), the programming
period, the theme and the year; filters, totals, charts (matplotlib, Agg canvas) and the
sentences that describe a comune's record for the context section of a proposal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from assistant.index.catalog import chunks, documents
from assistant.loaders.csv_records import normalise_header, parse_amount
from assistant.text_analysis import fold

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from assistant.index.catalog import Catalog

NOT_GIVEN = "n.d."
COLUMNS = [
    "title",
    "cup",
    "beneficiary",
    "comune",
    "province",
    "region",
    "programme",
    "measure",
    "fund",
    "theme",
    "amount_total",
    "amount_eu",
    "status",
    "start_year",
    "period",
    "source",
    "workspace",
    "row",
]
# Column headings of the exported CSV: Italian, and the ones the CSV loader recognises, so an
# export can be read back (`read_csv`) or ingested again.
EXPORT_HEADERS = {
    "title": "Titolo progetto",
    "cup": "CUP",
    "beneficiary": "Beneficiario",
    "comune": "Comune",
    "province": "Provincia",
    "region": "Regione",
    "programme": "Programma",
    "measure": "Misura",
    "fund": "Fondo",
    "theme": "Tema",
    "amount_total": "Importo totale",
    "amount_eu": "Finanziamento UE",
    "status": "Stato",
    "start_year": "Anno di avvio",
    "period": "Periodo",
    "source": "File di origine",
    "workspace": "Area di lavoro",
    "row": "Riga",
}
# What the table in the web app shows.
DISPLAY_HEADERS = {
    "title": "Progetto",
    "comune": "Comune",
    "fund": "Fondo",
    "theme": "Tema",
    "amount_total": "Importo totale (€)",
    "amount_eu": "Finanziamento UE (€)",
    "status": "Stato",
    "start_year": "Anno",
    "period": "Periodo",
    "cup": "CUP",
    "source": "File",
}

# -- derived fields --------------------------------------------------------------------------
# Fund from the programme, its tag and the measure code; most specific first.
_FUNDS: list[tuple[str, re.Pattern[str]]] = [
    (
        "PNRR",
        re.compile(
            r"\bpnrr\b|piano nazionale di ripresa|next ?generation ?eu|italia ?domani|\bm[1-7]c[1-4]",
        ),
    ),
    ("FEASR", re.compile(r"\bfeasr\b|\beafrd\b|\bpsr\b|sviluppo rurale|\bcsr\b")),
    ("FEAMPA", re.compile(r"\bfeampa?\b|\bemfaf\b|\bemff\b|affari marittimi")),
    ("JTF", re.compile(r"\bjtf\b|just transition|transizione giusta")),
    ("Interreg", re.compile(r"\binterreg\b|cooperazione territoriale")),
    ("FSC", re.compile(r"\bfsc\b|sviluppo e (?:la )?coesione")),
    ("POC", re.compile(r"\bpoc\b|programma operativo complementare")),
    ("FESR-FSE+", re.compile(r"\bfesr[- ]fse|\bpon metro\b|\bmetro plus\b")),
    ("FSE+", re.compile(r"\bfse\b|\besf\b|fondo sociale europeo")),
    ("FESR", re.compile(r"\bfesr\b|\berdf\b|\bfeder\b|sviluppo regionale")),
]
# Objectives that tell the fund of a plurifund programme: the specific objectives RSO (ERDF)
# and ESO (ESF+) of 2021-27, the thematic objectives OT1-7 (ERDF only) of 2014-20.
_OBJECTIVE = re.compile(r"\b(RSO\d|ESO\d|OT\s?0?[1-7]\b)")
_PERIOD_IN_TEXT = re.compile(r"\b(20(?:07|14|21))\s*[-/]\s*(?:20)?(13|20|27)\b")

# Theme from title, measure and file name, when the file has no theme column; in order.
_THEMES: list[tuple[str, re.Pattern[str]]] = [
    ("rigenerazione urbana", re.compile(r"rigenerazion|decoro urbano|degrado")),
    (
        "efficienza energetica",
        re.compile(r"energ|fotovoltaic|rinnovabil|illuminazione|relamping|pompa di calore"),
    ),
    ("scuole", re.compile(r"scuol|scolastic|asil[oi] nid|infanzia|mensa|istruzione|palestr")),
    ("mobilità", re.compile(r"mobilita|ciclabil|ciclovi|trasport|bike|stradal|viabilita")),
    (
        "digitale",
        re.compile(
            r"digital|cloud|pagopa|\bspid\b|\bcie\b|\banpr\b|app io|\bict\b|\btic\b|online|"
            r"piattaforma|interoperab|sito web|siti web|informatic"
        ),
    ),
    (
        "inclusione sociale",
        re.compile(
            r"inclusion|vulnerabil|disabil|anzian|senza dimora|housing|povert|sociale|"
            r"assistenz|famigli|minori"
        ),
    ),
    ("cultura", re.compile(r"cultur|muse[oi]|bibliotec|teatr|patrimonio|archeolog|borgh")),
    ("sport", re.compile(r"sport")),
    ("salute", re.compile(r"sanit|salute|ospedal|casa della comunita|telemedicin")),
    (
        "ambiente",
        re.compile(r"idric|acquedott|fognat|rifiut|dissesto|idrogeolog|verde|ambient|forest"),
    ),
    ("imprese", re.compile(r"impres|internazionalizzazion|competitivita|filier|turism")),
    ("ricerca e formazione", re.compile(r"ricerca|universit|formazione|competenze")),
]
_STATUS_WORDS = {
    "si": "Ammesso",
    "sì": "Ammesso",
    "si, con riserva": "Ammesso con riserva",
    "sì, con riserva": "Ammesso con riserva",
    "no": "Non ammesso",
}
# Columns of a row that hold EU money: PNRR (the RRF) and other EU funds, added together.
_EU_COLUMNS = {"finanziamentopnrr", "finanziamentoue", "finanzue", "finanziamentoueue"}


def derive_fund(
    programme: str, measure: str = "", start_year: int | None = None, row_text: str = ""
) -> str:
    """`PR Puglia FESR-FSE+ 2021-2027` with objective `RSO2.1` (in the measure or anywhere in
    the row) -> FESR; `PNRR` or a PNRR measure code -> PNRR; unknown -> n.d."""
    text = fold(f"{programme} {measure}")
    fund = next((name for name, pattern in _FUNDS if pattern.search(text)), None)
    if fund is None:
        return NOT_GIVEN
    if fund == "FESR-FSE+" and (m := _OBJECTIVE.search(f"{measure}\n{row_text}")):
        fund = "FSE+" if m.group(1).startswith("ESO") else "FESR"
    if fund in ("FSE+", "FESR-FSE+") and derive_period(programme, start_year, fund) in (
        "2014-2020",
        "2007-2013",
    ):
        fund = fund.replace("FSE+", "FSE")  # the social fund got its "+" in 2021
    return fund


def derive_period(programme: str, start_year: int | None, fund: str = "") -> str:
    """PNRR, or the cohesion programming period named by the programme or, failing that, the
    one of the start year."""
    if fund == "PNRR":
        return "PNRR"
    if m := _PERIOD_IN_TEXT.search(programme):
        return {"2007": "2007-2013", "2014": "2014-2020", "2021": "2021-2027"}[m.group(1)]
    if start_year is None:
        return NOT_GIVEN
    if start_year <= 2013:
        return "2007-2013"
    return "2014-2020" if start_year <= 2020 else "2021-2027"


def derive_theme(theme: str, *texts: str) -> str:
    """The file's theme when it has a real one (not a letter code); else one guessed from the
    texts in order (measure, title, file name); else n.d."""
    theme = theme.strip()
    if len(theme) > 2:
        if theme.isupper() or (theme[:1].isupper() and not theme[1:2].isupper()):
            theme = theme[:1].lower() + (theme[1:].lower() if theme.isupper() else theme[1:])
        return theme
    for text in texts:
        folded = fold(text.replace("-", " ").replace("_", " "))
        for name, pattern in _THEMES:
            if pattern.search(folded):
                return name
    return NOT_GIVEN


def normalise_status(status: str) -> str:
    status = status.strip()
    if not status:
        return NOT_GIVEN
    return _STATUS_WORDS.get(status.casefold(), status[:1].upper() + status[1:])


def eu_amount(text: str, fallback: float | None) -> float | None:
    """The EU money of a row: its PNRR and other-EU columns added up (a row lists each
    `Header: value` on its own line); the loader's amount_eu when the row has neither."""
    found = False
    total = 0.0
    for line in text.split("\n"):
        header, sep, value = line.partition(": ")
        if sep and normalise_header(header) in _EU_COLUMNS:
            amount = parse_amount(value)
            if amount is not None:
                found = True
                total += amount
    return total if found else fallback


def _year(value) -> int | None:
    if isinstance(value, str) and re.match(r"\d{4}-", value):
        return int(value[:4])
    return None


# -- reading ---------------------------------------------------------------------------------
def past_projects(
    catalog: Catalog, workspaces: set[str] | None = None, dedupe: bool = True
) -> pd.DataFrame:
    """One row per project record of the catalogue's CSVs (columns: `COLUMNS`).

    workspaces: only documents of these workspaces (None: all, an empty set: none); the
    restriction is in the SQL query. dedupe: a CUP listed by several files of one workspace
    (an applications list and a beneficiaries list) counts once, from its fullest row.
    """
    if workspaces is not None and not workspaces:
        return empty_projects()
    query = (
        select(
            chunks.c.text,
            chunks.c.meta,
            documents.c.source,
            documents.c.workspace,
            documents.c.programme.label("doc_programme"),
            documents.c.ingested_at,
        )
        .join(documents, documents.c.doc_id == chunks.c.doc_id)
        .where(
            chunks.c.kind == "record",
            func.json_extract(chunks.c.meta, "$.record_kind") == "project",
        )
        .order_by(documents.c.source, chunks.c.ordinal)
    )
    if workspaces is not None:
        query = query.where(documents.c.workspace.in_(sorted(workspaces)))
    with catalog.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    # A row with neither comune, CUP nor amount is no project of a territory (a list of calls
    # whose columns looked like a project list, say).
    records = [
        p
        for p in map(_project_row, rows)
        if p["comune"] != NOT_GIVEN or p["cup"] or p["amount_total"] is not None
    ]
    if not records:
        return empty_projects()
    df = pd.DataFrame.from_records(records, columns=[*COLUMNS, "_filled", "_ingested"])
    if dedupe:
        has_cup = df["cup"] != ""
        ranked = df[has_cup].sort_values(["_filled", "_ingested"], ascending=False)
        kept = ranked.drop_duplicates(["workspace", "cup"]).index.union(df.index[~has_cup])
        df = df.loc[kept.sort_values()]
    return _typed(df[COLUMNS].reset_index(drop=True))


def _project_row(r) -> dict:
    meta = r["meta"] or {}

    def text(field: str) -> str:
        value = meta.get(field)
        return str(value).strip() if value not in (None, "") else ""

    def amount(field: str) -> float | None:
        value = meta.get(field)
        return float(value) if isinstance(value, int | float) else None

    source = Path(r["source"]).name
    start_year = _year(meta.get("date_start")) or _year(meta.get("date_end"))
    programme = text("programme")
    tag = text("programme_tag")
    row_text = r["text"] or ""
    fund = derive_fund(f"{programme} {tag}", text("measure"), start_year, row_text)
    if fund == NOT_GIVEN and not programme:
        # The programme given at ingestion (or guessed for the whole file), then the file name.
        tag = r["doc_programme"] or ""
        for hint in (tag, source.replace("_", " ").replace("-", " ")):
            fund = derive_fund(hint, text("measure"), start_year, row_text)
            if fund != NOT_GIVEN:
                break
    title = text("title") or text("record_title") or text("cup")
    row = {
        "title": title,
        "cup": text("cup"),
        "beneficiary": text("beneficiary"),
        "comune": text("comune") or NOT_GIVEN,
        "province": text("province"),
        "region": text("region"),
        "programme": programme or tag,
        "measure": text("measure"),
        "fund": fund,
        "theme": derive_theme(text("theme"), text("measure"), text("title"), source),
        "amount_total": amount("amount_total"),
        "amount_eu": eu_amount(row_text, amount("amount_eu")),
        "status": normalise_status(text("status")),
        "start_year": start_year,
        "period": derive_period(f"{programme} {tag}", start_year, fund),
        "source": source,
        "workspace": r["workspace"],
        "row": meta.get("row"),
    }
    row["_filled"] = sum(1 for v in meta.values() if v not in (None, ""))
    row["_ingested"] = r["ingested_at"] or 0.0
    return row


def empty_projects() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in COLUMNS}))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for column in COLUMNS:
        if column in ("amount_total", "amount_eu"):
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
        elif column in ("start_year", "row"):
            df[column] = pd.to_numeric(df[column], errors="coerce").astype("Int64")
        else:
            df[column] = df[column].fillna("").astype(str).astype(object)
    return df


# -- filters and totals ----------------------------------------------------------------------
class ProjectFilter(BaseModel):
    """Which projects to keep; an empty list keeps all. Matching ignores case and accents."""

    comune: list[str] = Field(default_factory=list)
    theme: list[str] = Field(default_factory=list)
    fund: list[str] = Field(default_factory=list)
    period: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.comune or self.theme or self.fund or self.period or self.status)


def filter_projects(df: pd.DataFrame, f: ProjectFilter | None) -> pd.DataFrame:
    if f is None or f.is_empty() or df.empty:
        return df
    mask = pd.Series(True, index=df.index)
    for column in ("comune", "theme", "fund", "period", "status"):
        wanted = {fold(v).strip() for v in getattr(f, column) if v and v.strip()}
        if wanted:
            mask &= df[column].map(lambda v, wanted=wanted: fold(str(v)).strip() in wanted)
    return df[mask]


def choices(df: pd.DataFrame) -> dict[str, list[str]]:
    """The values each filter can take in this table (periods and years in order)."""
    out = {}
    for column in ("comune", "theme", "fund", "period", "status"):
        values = sorted({str(v) for v in df[column] if str(v)}, key=lambda v: fold(v))
        out[column] = values
    return out


@dataclass
class Totals:
    count: int
    amount_total: float
    amount_eu: float
    by_comune: pd.DataFrame  # index: comune; columns: count, amount_total, amount_eu
    by_theme: pd.DataFrame
    by_fund: pd.DataFrame
    by_year: pd.DataFrame  # index: start year (projects without one are left out)

    def markdown(self) -> str:
        """The totals as Italian Markdown: one line overall, then the comuni and themes."""
        if not self.count:
            return "Nessun progetto per i filtri scelti."
        lines = [
            f"**{plural(self.count, 'progetto', 'progetti')}** · importo totale "
            f"**{format_euro(self.amount_total)}** · finanziamento UE "
            f"**{format_euro(self.amount_eu)}**",
            "",
        ]
        for label, table in (("Fondo", self.by_fund), ("Tema", self.by_theme)):
            parts = [
                f"{name} {int(r['count'])} ({format_euro(r['amount_total'])})"
                for name, r in table.iterrows()
            ]
            lines.append(f"- **{label}**: " + "; ".join(parts))
        top = self.by_comune.head(10)
        parts = [
            f"{name} {int(r['count'])} ({format_euro(r['amount_total'])})"
            for name, r in top.iterrows()
        ]
        more = len(self.by_comune) - len(top)
        lines.append(
            "- **Comuni**: " + "; ".join(parts) + (f"; altri {more} comuni" if more > 0 else "")
        )
        return "\n".join(lines)


def _grouped(df: pd.DataFrame, column: str, sort_by_amount: bool = True) -> pd.DataFrame:
    data = df.dropna(subset=[column]) if column == "start_year" else df
    table = data.groupby(column, sort=True).agg(
        count=("title", "size"),
        amount_total=("amount_total", "sum"),
        amount_eu=("amount_eu", "sum"),
    )
    if sort_by_amount:
        table = table.sort_values(["amount_total", "count"], ascending=False, kind="stable")
    return table


def totals(df: pd.DataFrame) -> Totals:
    """Number of projects and sums of their amounts (missing amounts count as 0), overall and
    by comune, theme, fund and start year."""
    return Totals(
        count=len(df),
        amount_total=float(df["amount_total"].sum()),
        amount_eu=float(df["amount_eu"].sum()),
        by_comune=_grouped(df, "comune"),
        by_theme=_grouped(df, "theme"),
        by_fund=_grouped(df, "fund"),
        by_year=_grouped(df, "start_year", sort_by_amount=False),
    )


# -- formatting ------------------------------------------------------------------------------
def format_euro(amount: float | None, decimals: int = 2) -> str:
    """512300 -> `512.300,00 €`."""
    if amount is None or pd.isna(amount):
        return NOT_GIVEN
    text = f"{amount:,.{decimals}f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{text} €"


def short_euro(amount: float, _position=None) -> str:
    """Axis labels: `1,5 mln €`, `350 mila €`."""
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:.1f} mln €".replace(".", ",").replace(",0 ", " ")
    if abs(amount) >= 1e3:
        return f"{amount / 1e3:.0f} mila €"
    return f"{amount:.0f} €"


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# -- charts ----------------------------------------------------------------------------------
FUND_COLOURS = {
    "PNRR": "#1f4e9c",
    "FESR": "#2e8b57",
    "FSE+": "#e08a1e",
    "FSE": "#e0a95a",
    "FESR-FSE+": "#6a9f3a",
    "FEASR": "#8b5a2b",
    "FEAMPA": "#2a9df4",
    "JTF": "#7f7f7f",
    "Interreg": "#9467bd",
    "FSC": "#c0392b",
    "POC": "#d4a017",
    NOT_GIVEN: "#b0b0b0",
}
_OTHER_COLOURS = ["#17becf", "#bcbd22", "#e377c2", "#8c564b", "#7f7f7f"]
MAX_BARS = 15


def _figure(width: float = 9.0, height: float = 5.0) -> Figure:
    """A figure on the Agg canvas: no display, no pyplot state, safe in threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _empty_chart(title: str) -> Figure:
    fig = _figure(9.0, 3.0)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "Nessun progetto per i filtri scelti", ha="center", va="center")
    ax.set_axis_off()
    return fig


def _fund_colour(fund: str, order: list[str]) -> str:
    if fund in FUND_COLOURS:
        return FUND_COLOURS[fund]
    return _OTHER_COLOURS[order.index(fund) % len(_OTHER_COLOURS)]


def _stacked_by_fund(df: pd.DataFrame, column: str) -> pd.DataFrame:
    return df.pivot_table(
        index=column, columns="fund", values="amount_total", aggfunc="sum", fill_value=0.0
    )


def _funds_in_order(table: pd.DataFrame) -> list[str]:
    """Largest fund first, n.d. last."""
    return sorted(table.columns, key=lambda f: (f == NOT_GIVEN, -table[f].sum()))


def _horizontal_by(df: pd.DataFrame, column: str, title: str, label: str, noun: str) -> Figure:
    if df.empty:
        return _empty_chart(title)
    table = _stacked_by_fund(df, column)
    counts = df.groupby(column).size()
    order = table.sum(axis=1).sort_values(ascending=False, kind="stable").index.tolist()
    left_out = order[MAX_BARS:]
    table = table.loc[order[:MAX_BARS][::-1]]
    funds = _funds_in_order(table)
    fig = _figure(9.0, max(3.0, 0.45 * len(table) + 1.6))
    ax = fig.add_subplot()
    left = pd.Series(0.0, index=table.index)
    for fund in funds:
        ax.barh(
            table.index.astype(str),
            table[fund],
            left=left,
            label=fund,
            color=_fund_colour(fund, funds),
        )
        left += table[fund]
    for y, name in enumerate(table.index):
        n = int(counts.loc[name])
        ax.text(
            left.loc[name],
            y,
            f"  {format_euro(left.loc[name], 0)} · {plural(n, 'progetto', 'progetti')}",
            va="center",
            fontsize=8,
        )
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(short_euro))
    ax.set_xlim(0, max(1.0, float(left.max())) * 1.45)
    ax.set_xlabel("Importo totale dei progetti")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(title="Fondo", loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    if left_out:
        amount = float(df[df[column].isin(left_out)]["amount_total"].sum())
        fig.text(
            0.01,
            0.005,
            f"Non mostrati: altri {len(left_out)} {noun} ({format_euro(amount, 0)})",
            fontsize=8,
        )
    return fig


def chart_by_comune(df: pd.DataFrame) -> Figure:
    """Horizontal bars: total amount by comune, split by fund, with the number of projects."""
    return _horizontal_by(df, "comune", "Importo dei progetti per comune", "Comune", "comuni")


def chart_by_theme(df: pd.DataFrame) -> Figure:
    """Horizontal bars: total amount by theme, split by fund, with the number of projects."""
    return _horizontal_by(df, "theme", "Importo dei progetti per tema", "Tema", "temi")


def chart_over_time(df: pd.DataFrame) -> Figure:
    """Bars: amount of the projects started each year, split by fund, with their number."""
    title = "Progetti avviati per anno"
    dated = df.dropna(subset=["start_year"])
    if dated.empty:
        return _empty_chart(title)
    dated = dated.assign(start_year=dated["start_year"].astype(int))
    table = _stacked_by_fund(dated, "start_year")
    years = list(range(int(table.index.min()), int(table.index.max()) + 1))
    table = table.reindex(years, fill_value=0.0)
    counts = dated.groupby("start_year").size().reindex(years, fill_value=0)
    funds = _funds_in_order(table)
    fig = _figure(9.0, 4.8)
    ax = fig.add_subplot()
    bottom = pd.Series(0.0, index=table.index)
    for fund in funds:
        ax.bar(
            [str(y) for y in years],
            table[fund],
            bottom=bottom,
            label=fund,
            color=_fund_colour(fund, funds),
        )
        bottom += table[fund]
    for x, year in enumerate(years):
        if counts.loc[year]:
            ax.text(x, bottom.loc[year], str(int(counts.loc[year])), ha="center", va="bottom")
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(short_euro))
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.15)
    ax.set_xlabel("Anno di avvio (sopra le barre: numero di progetti)")
    ax.set_ylabel("Importo totale")
    ax.set_title(title)
    ax.legend(title="Fondo", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    undated = len(df) - len(dated)
    if undated:
        fig.text(0.01, 0.005, f"{plural(undated, 'progetto', 'progetti')} senza data", fontsize=8)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)
    return path


# -- CSV -------------------------------------------------------------------------------------
def to_csv(df: pd.DataFrame, path: Path) -> Path:
    """The table with Italian headings (UTF-8, comma, decimal point): `read_csv` reads it
    back, and the CSV loader recognises its columns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df[[c for c in COLUMNS if c in df.columns]].rename(columns=EXPORT_HEADERS)
    out.to_csv(path, index=False, encoding="utf-8")
    return path


def read_csv(path: Path) -> pd.DataFrame:
    """A table written by `to_csv`, with its types."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    df = raw.rename(columns={v: k for k, v in EXPORT_HEADERS.items()})
    for column in COLUMNS:
        if column not in df.columns:
            df[column] = ""
    df = df[COLUMNS]
    return _typed(df.mask(df == ""))


# -- prose for a proposal ----------------------------------------------------------------------
def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]


def _period_phrase(period: str, n: int) -> str:
    if period == "PNRR":
        return f"nel PNRR ({n})"
    return f"nella programmazione {period} ({n})"


def comune_context(df: pd.DataFrame, comune: str) -> list[str]:
    """Two to four Italian sentences with a comune's record: projects, amount, funds, themes,
    periods, progress and the largest project. One sentence when there is none."""
    wanted = fold(comune).strip()
    mine = df[df["comune"].map(lambda v: fold(str(v)).strip() == wanted)]
    name = mine["comune"].iloc[0] if not mine.empty else comune.strip()
    if mine.empty:
        return [f"Per il Comune di {name} non risultano progetti nei dati consultati."]
    n = len(mine)
    years = mine["start_year"].dropna()
    funds = mine["fund"].value_counts()
    fund_text = ", ".join(f"{f} {c}" for f, c in funds.items() if f != NOT_GIVEN)
    themes = (
        mine[mine["theme"] != NOT_GIVEN]
        .groupby("theme")
        .agg(count=("title", "size"), amount=("amount_total", "sum"))
        .sort_values(["count", "amount"], ascending=False)
    )
    opening = f"Dal {int(years.min())} il" if len(years) else "Il"
    amount = mine["amount_total"].sum() if mine["amount_total"].notna().any() else None
    first = (
        f"{opening} Comune di {name} ha avviato {plural(n, 'progetto', 'progetti')}"
        + (f" per {format_euro(amount)}" if amount is not None else "")
        + (f" ({fund_text})" if fund_text else "")
    )
    if len(themes):
        first += ", soprattutto in " + _join(list(themes.index[:2]))
    sentences = [first + "."]

    periods = [p for p in mine["period"].value_counts().items() if p[0] != NOT_GIVEN]
    eu = mine["amount_eu"].sum() if mine["amount_eu"].notna().any() else None
    second = ""
    if len(periods) == 1 and periods[0][1] == n:
        second = f"{'Il progetto ricade' if n == 1 else 'Tutti i progetti ricadono'} " + (
            "nel PNRR" if periods[0][0] == "PNRR" else f"nella programmazione {periods[0][0]}"
        )
    elif periods:
        second = "I progetti ricadono " + _join([_period_phrase(p, c) for p, c in periods])
    if eu:
        second = (
            f"{second}, con {format_euro(eu)} di finanziamento europeo (PNRR e fondi UE)"
            if second
            else f"Il finanziamento europeo (PNRR e fondi UE) ammonta a {format_euro(eu)}"
        )
    if second:
        sentences.append(second + ".")

    statuses = [(s, c) for s, c in mine["status"].value_counts().items() if s != NOT_GIVEN]
    if statuses:
        sentences.append(
            "Stato di attuazione: " + ", ".join(f"{s.lower()} {c}" for s, c in statuses) + "."
        )

    if n > 1 and mine["amount_total"].notna().any():
        top = mine.loc[mine["amount_total"].idxmax()]
        details = [format_euro(top["amount_total"])]
        if top["fund"] != NOT_GIVEN:
            details.append(str(top["fund"]))
        if not pd.isna(top["start_year"]):
            details.append(str(int(top["start_year"])))
        sentences.append(f"Il più consistente è «{top['title']}» ({', '.join(details)}).")
    return sentences[:4]
