"""Commands for writing a proposal: calls, eligibility, drafting, batch skeletons."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.cli_common import _assistant, console, errors, fail

calls_app = typer.Typer(
    help="Calls as data: list, show, extract from a PDF, match to a project.", no_args_is_help=True
)
STATUS_MARK = {
    "pass": "[green]✓ sì[/green]",
    "fail": "[red]✗ no[/red]",
    "needs_information": "[yellow]? da verificare[/yellow]",
}
VERDICT_TEXT = {
    "eligible": "[green]AMMISSIBILE[/green]",
    "not_eligible": "[red]NON AMMISSIBILE[/red]",
    "needs_information": "[yellow]SERVONO INFORMAZIONI[/yellow]",
}
CallOpt = Annotated[str, typer.Option("--call", help="Call YAML file or id (corpus/calls)")]
AsOfOpt = Annotated[str | None, typer.Option(help="Check deadlines as of YYYY-MM-DD")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output")]


def _registry():
    return _assistant().call_registry()


def _call(ref: str):
    try:
        return _registry().find(ref)
    except ValueError as error:
        raise fail(str(error)) from error


def _project(path: Path):
    from assistant.calls.project import ProjectProfile

    try:
        return ProjectProfile.load(path)
    except ValueError as error:
        raise fail(str(error)) from error


def _as_of(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as error:
        raise fail(f"--as-of {value!r}: not a date (YYYY-MM-DD)") from error


def _engine(assistant, as_of: str | None):
    return assistant.eligibility_engine(_as_of(as_of))


def eligibility(
    call: CallOpt,
    project: Annotated[Path, typer.Option("--project", help="Project profile YAML")],
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
) -> None:
    """Check a project against a call and the regulations, criterion by criterion."""
    the_call = _call(call)
    profile = _project(project)
    verdict = _engine(_assistant(), as_of).check(the_call, profile)
    if as_json:
        sys.stdout.write(verdict.model_dump_json(indent=2) + "\n")
        return
    table = Table("criterio", "esito", "dettaglio", "regola", title=escape(the_call.title))
    for result in verdict.results:
        rule = escape(result.rule[:220] + ("…" if len(result.rule) > 220 else ""))
        where = f"\n[dim]{escape(result.where)}[/dim]" if result.where else ""
        table.add_row(
            escape(result.criterion),
            STATUS_MARK[result.status],
            escape(result.detail),
            rule + where,
        )
    console.print(table)
    console.print(f"Esito: {VERDICT_TEXT[verdict.verdict]}")
    if verdict.failed:
        console.print("Non rispettati: " + escape(", ".join(verdict.failed)))
    if verdict.missing:
        console.print("Da verificare: " + escape(", ".join(verdict.missing)))


@calls_app.command("list")
def calls_list(as_json: JsonOpt = False) -> None:
    """The calls in the calls folder."""
    calls, problems = _registry().all()
    if as_json:
        rows = [
            {"id": c.id, "title": c.title, "fund": c.fund, "closing": c.dates.closing}
            for c in calls
        ]
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table("id", "titolo", "fondo", "scadenza")
        for c in calls:
            closing = f"{c.dates.closing:%d/%m/%Y}" if c.dates.closing else ""
            table.add_row(c.id, escape(c.title[:70]), c.fund or "", closing)
        console.print(table)
    for problem in problems:
        errors.print(f"[red]error[/red] {escape(problem)}")


@calls_app.command("show")
def calls_show(call: Annotated[str, typer.Argument(help="Call YAML file or id")]) -> None:
    """A call as YAML: its rules, sections and limits, scoring."""
    sys.stdout.write(_call(call).dump())


@calls_app.command("extract")
def calls_extract(
    document: Annotated[Path, typer.Argument(help="The call document (PDF, DOCX, MD)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the YAML here")] = None,
) -> None:
    """Draft a call YAML from the call's PDF, for a person to review."""
    from assistant.calls.extract import extract_call, to_yaml

    try:
        result = extract_call(document)
    except ValueError as error:
        raise fail(str(error)) from error
    text = to_yaml(result)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"scritto {escape(str(out))}")
    errors.print(
        f"trovati {len(result.found)} campi; da completare: {', '.join(result.missing) or '-'}"
    )


@calls_app.command("match")
def calls_match(
    project: Annotated[Path, typer.Argument(help="Project profile YAML")],
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
) -> None:
    """Rank the calls for a project idea: eligible first, then fit, then closing date."""
    profile = _project(project)
    report, problems = _assistant().match_calls(profile, _as_of(as_of))
    for problem in problems:
        errors.print(f"[red]error[/red] {escape(problem)}")
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    table = Table("#", "bando", "esito", "affinità", "scadenza", "perché / cosa blocca")
    for n, m in enumerate(report.matches, start=1):
        why = "; ".join(m.reasons)
        if m.blockers:
            why += ("\n" if why else "") + "[red]" + escape("; ".join(m.blockers)) + "[/red]"
        if m.missing:
            why += "\n[yellow]da verificare: " + escape(", ".join(m.missing)) + "[/yellow]"
        table.add_row(
            str(n),
            escape(f"{m.title} ({m.call_id})"),
            VERDICT_TEXT[m.verdict],
            f"{m.fit:.2f}",
            f"{m.closing:%d/%m/%Y}" if m.closing else "",
            why,
        )
    console.print(table)
    for combo in report.combinations:
        split = "; ".join(f"{c}: {', '.join(cats)}" for c, cats in combo.split.items())
        console.print(f"Combinazione possibile — {escape(split)}\n[dim]{escape(combo.note)}[/dim]")


def draft(
    call: CallOpt,
    section: Annotated[str, typer.Option("--section", help="Section id or title")],
    project: Annotated[Path, typer.Option("--project", help="Project profile YAML")],
    language: Annotated[str, typer.Option("--language", "-l", help="it or en")] = "it",
    as_json: JsonOpt = False,
) -> None:
    """Draft one section of a proposal within the call's limit, with citations."""
    from assistant.drafting.section import find_section
    from assistant.skeletons.formatting import FIGURES_LABEL

    if language not in ("it", "en"):
        raise fail(f"--language {language!r}: use it or en")
    the_call = _call(call)
    try:
        the_section = find_section(the_call, section)
    except ValueError as error:
        raise fail(str(error)) from error
    profile = _project(project)
    drafter = _assistant().section_drafter()
    final = None
    for kind, value in drafter.stream(the_call, the_section, profile, language):
        if kind == "token" and not as_json:
            errors.print(value, end="", markup=False, highlight=False)
        elif kind == "final":
            final = value
    if as_json:
        sys.stdout.write(final.model_dump_json(indent=2) + "\n")
        return
    errors.print()
    console.rule(escape(f"{the_section.id}. {the_section.title}"))
    console.print(escape(final.text))
    console.rule()
    mark = "[green]entro il limite[/green]" if final.within_limit else "[red]oltre il limite[/red]"
    console.print(f"{escape(final.length)} — {mark} ({escape(final.provider)})")
    if final.unverified_figures:
        figures = ", ".join(final.unverified_figures)
        console.print(f"[yellow]{escape(FIGURES_LABEL)}: {escape(figures)}[/yellow]")
    for passage in final.passages:
        if passage.number in final.cited:
            console.print(f"[{passage.number}] {escape(passage.hit.citation())}")


def skeletons(
    call: CallOpt,
    projects: Annotated[Path, typer.Option("--projects", help="CSV of project ideas")],
    out: Annotated[Path, typer.Option("--out", help="Output folder")],
    sections: Annotated[
        str | None, typer.Option(help="Draft only these section ids (comma-separated)")
    ] = None,
    language: Annotated[str, typer.Option("--language", "-l", help="it or en")] = "it",
    as_of: AsOfOpt = None,
) -> None:
    """A proposal skeleton (.docx and .md) for each idea of a CSV; resumable."""
    from assistant.skeletons.ideas import IdeaError, load_ideas

    the_call = _call(call)
    try:
        ideas, problems = load_ideas(projects)
    except IdeaError as error:
        raise fail(str(error)) from error
    for problem in problems:
        errors.print(f"[red]error[/red] {escape(problem)}")
    wanted = {s.strip() for s in sections.split(",") if s.strip()} if sections else None
    batch = _assistant().skeleton_batch(_as_of(as_of), wanted, language)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    ) as progress:
        task = progress.add_task(f"bozze ({batch.provider})", total=len(ideas))

        def done(result) -> None:
            progress.advance(task)
            if result.status == "failed":
                progress.console.print(
                    f"[red]error[/red] {escape(result.slug)}: {escape(result.error)}"
                )

        results = batch.run(the_call, ideas, out, done)
    table = Table("file", "progetto", "ammissibilità", "stato", "s")
    for r in results:
        verdict = VERDICT_TEXT.get(r.verdict, "")
        table.add_row(r.slug, escape(r.title[:60]), verdict, r.status, f"{r.seconds:.1f}")
    console.print(table)
    written = sum(r.status == "written" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    failed = sum(r.status == "failed" for r in results) + len(problems)
    console.print(
        f"{written} scritti, {skipped} già pronti, {failed} con errori in "
        f"{time.perf_counter() - started:.1f} s → {escape(str(out))}"
    )
    if failed:
        raise typer.Exit(1)
