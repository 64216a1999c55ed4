"""Write a proposal skeleton as Markdown, with the same content as the Word document.

The cover is the `#` title; the Word "Heading 1" parts are `##` and the sections `###`.
"""

from __future__ import annotations

from assistant.skeletons import formatting as fmt
from assistant.skeletons.model import Skeleton, SkeletonSection


def render_markdown(skeleton: Skeleton) -> str:
    parts = [
        _cover(skeleton),
        _eligibility(skeleton),
        _sections(skeleton),
        _past_projects(skeleton),
        _budget(skeleton),
        _indicators(skeleton),
        _sources(skeleton),
    ]
    return "\n\n".join(parts).rstrip() + "\n"


# -- building blocks ----------------------------------------------------------------------
def _cell(text: str) -> str:
    """A table cell is one line, and a bare `|` would end it."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fields(fields: list[tuple[str, str]]) -> str:
    return "\n".join(f"- **{label}:** {value}" for label, value in fields)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- the parts of the document ------------------------------------------------------------
def _cover(s: Skeleton) -> str:
    out = [
        f"# {_one_line(s.project_title)}",
        _fields(fmt.cover_fields(s)),
        f"> **{fmt.DRAFT_NOTE}**",
    ]
    if s.summary:
        out.append(s.summary.strip())
    return "\n\n".join(out)


def _eligibility(s: Skeleton) -> str:
    out = ["## Verifica di ammissibilità", _fields(fmt.verdict_fields(s.eligibility))]
    if s.eligibility.results:
        out.append(_table(fmt.ELIGIBILITY_HEADER, fmt.eligibility_rows(s.eligibility)))
    else:
        out.append("_Nessun criterio verificato._")
    return "\n\n".join(out)


def _sections(s: Skeleton) -> str:
    out = ["## Sezioni della proposta"]
    out += [_section(section) for section in s.sections] or ["_Il bando non indica sezioni._"]
    return "\n\n".join(out)


def _section(section: SkeletonSection) -> str:
    out = [f"### {_one_line(section.title)}"]
    if fields := fmt.section_fields(section):
        out.append(_fields(fields))
    paragraphs = [p.strip() for p in section.draft.splitlines() if p.strip()]
    out.append(f"**{fmt.DRAFT_LABEL}**")
    out += paragraphs or ["_Nessuna bozza: da scrivere._"]
    tail = [("Lunghezza", section.draft_length)] if section.draft_length else []
    if section.figures_to_check:
        tail.append((fmt.FIGURES_LABEL, ", ".join(section.figures_to_check)))
    out.append(_fields([*tail, ("Regole citate", fmt.citations(section.rules))]))
    return "\n\n".join(out)


def _past_projects(s: Skeleton) -> str:
    body = (
        _table(fmt.PAST_PROJECTS_HEADER, fmt.past_project_rows(s))
        if s.past_projects
        else "_Nessun progetto simile trovato._"
    )
    return f"## Progetti simili\n\n{body}"


def _budget(s: Skeleton) -> str:
    rows = fmt.budget_rows(s.budget)
    rows[-1] = [f"**{c}**" if c else c for c in rows[-1]]  # the total row
    out = ["## Piano finanziario", _table(fmt.BUDGET_HEADER, rows)]
    out.append(_fields(fmt.budget_fields(s.budget)))
    if s.budget.notes:
        out.append("Note:\n\n" + "\n".join(f"- {_one_line(n)}" for n in s.budget.notes))
    return "\n\n".join(out)


def _indicators(s: Skeleton) -> str:
    body = (
        _table(fmt.INDICATORS_HEADER, fmt.indicator_rows(s))
        if s.indicators
        else "_Nessun indicatore indicato dal bando._"
    )
    return f"## Indicatori\n\n{body}"


def _sources(s: Skeleton) -> str:
    """`- [n] ...`: the source's own number, which the `[n]` markers in the drafts use (an
    ordered list would renumber from 1 where the numbers have gaps)."""
    sources = sorted(s.sources, key=lambda src: src.number)
    lines = [f"- {_one_line(fmt.source_line(src))}" for src in sources]
    return "## Fonti\n\n" + ("\n".join(lines) or "_Nessuna fonte citata._")
