"""Labels, numbers and table rows shared by the Word and Markdown renderers.

Both renderers lay out the same strings, so a proposal reads the same in either format.
"""

from __future__ import annotations

from datetime import date

from assistant.eligibility.engine import CriterionResult, Verdict
from assistant.skeletons.model import Budget, Skeleton, SkeletonSection, SourceRef

DRAFT_NOTE = "Bozza generata da euroassist: da verificare"
DRAFT_LABEL = "Bozza del testo"
FIGURES_LABEL = "Cifre da verificare (assenti da fonti, bando e progetto)"
MISSING = "non indicato"
NONE = "—"

STATUS_MARKS = {
    "pass": ("✓", "sì"),
    "fail": ("✗", "no"),
    "needs_information": ("?", "da verificare"),
}
VERDICT_LABELS = {
    "eligible": "✓ Ammissibile",
    "not_eligible": "✗ Non ammissibile",
    "needs_information": "? Da verificare: mancano informazioni",
}

ELIGIBILITY_HEADER = ["Criterio", "Esito", "Dettaglio", "Regola e fonte"]
PAST_PROJECTS_HEADER = ["Progetto", "Comune", "Programma", "Importo", "Stato", "Fonte"]
BUDGET_HEADER = ["Categoria", "Importo", "%", "Limite", "Rispettato"]
INDICATORS_HEADER = ["Indicatore", "Unità di misura", "Target"]


def number_it(value: float, decimals: int = 2) -> str:
    """Italian grouping: dots for thousands, comma for decimals."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def euro(value: float | None) -> str:
    return MISSING if value is None else f"{number_it(value)} €"


def percent(value: float | None) -> str:
    if value is None:
        return MISSING
    text = number_it(value, 2).rstrip("0").rstrip(",")
    return f"{text}%"


def date_it(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else MISSING


def status_label(status: str) -> str:
    mark, word = STATUS_MARKS.get(status, ("?", status))
    return f"{mark} {word}"


def yes_no(ok: bool) -> str:
    return status_label("pass" if ok else "fail")


def joined(*parts: str, sep: str = " — ") -> str:
    return sep.join(p for p in parts if p)


def citations(numbers: list[int]) -> str:
    return ", ".join(f"[{n}]" for n in numbers) or "nessuna"


def source_line(source: SourceRef) -> str:
    """`[n] document — locator: «quote»`, leaving out the parts that are empty."""
    place = joined(source.document, source.locator)
    if source.quote:
        place = f"{place}: «{source.quote}»" if place else f"«{source.quote}»"
    return f"[{source.number}] {place}"


def cover_fields(s: Skeleton) -> list[tuple[str, str]]:
    return [
        ("Bando", joined(s.call_title, s.call_id and f"({s.call_id})", sep=" ")),
        ("Programma / fondo", joined(s.programme, s.fund) or MISSING),
        ("Autorità di gestione", s.managing_authority or MISSING),
        ("Scadenza", date_it(s.closing)),
        ("Progetto", s.project_title),
        ("Soggetto proponente", joined(s.applicant, s.comune, sep=", ")),
        ("Generato il", date_it(s.generated)),
        ("Testi scritti da", s.provider or MISSING),
    ]


def verdict_fields(v: Verdict) -> list[tuple[str, str]]:
    fields = [("Esito", VERDICT_LABELS.get(v.verdict, v.verdict))]
    if v.failed:
        fields.append(("Criteri non soddisfatti", "; ".join(v.failed)))
    if v.missing:
        fields.append(("Informazioni da verificare", "; ".join(v.missing)))
    return fields


def _rule_and_place(r: CriterionResult) -> str:
    return joined(r.rule and f"«{r.rule}»", r.where) or NONE


def eligibility_rows(v: Verdict) -> list[list[str]]:
    return [[r.criterion, status_label(r.status), r.detail, _rule_and_place(r)] for r in v.results]


def section_fields(section: SkeletonSection) -> list[tuple[str, str]]:
    fields = [
        ("Limite", section.limit),
        ("Indicazioni", section.guidance),
        ("Criteri di valutazione serviti", "; ".join(section.criteria)),
    ]
    return [(label, value) for label, value in fields if value]


def past_project_rows(s: Skeleton) -> list[list[str]]:
    return [
        [
            p.title,
            p.comune or NONE,
            p.programme or NONE,
            euro(p.amount) if p.amount is not None else NONE,
            p.status or NONE,
            f"[{p.source}]" if p.source is not None else NONE,
        ]
        for p in s.past_projects
    ]


def budget_rows(b: Budget) -> list[list[str]]:
    """One row a category, then the total; "Rispettato" is blank where no limit applies."""
    rows = [
        [
            line.category,
            euro(line.amount),
            percent(line.share),
            line.limit or NONE,
            yes_no(line.within_limit) if line.limit else NONE,
        ]
        for line in b.lines
    ]
    rows.append(["Totale", euro(b.total), percent(100.0), "", ""])
    return rows


def budget_fields(b: Budget) -> list[tuple[str, str]]:
    return [
        ("Costo totale", euro(b.total)),
        ("Contributo richiesto", euro(b.contribution)),
        ("Cofinanziamento", euro(b.cofinancing)),
        ("Tasso di contributo", percent(b.rate)),
    ]


def indicator_rows(s: Skeleton) -> list[list[str]]:
    return [[i.name, i.unit or NONE, i.target or NONE] for i in s.indicators]
