"""Tabs for writing a proposal: the project idea, calls and matching, eligibility, drafting
of a section, batch skeletons. They call the library (`assistant`) only."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import gradio as gr
import yaml
from pydantic import ValidationError

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call, first_error
from assistant.core import EuroAssist
from assistant.drafting.section import find_section
from assistant.skeletons.formatting import FIGURES_LABEL, euro
from assistant.skeletons.ideas import IdeaError, load_ideas
from ui.office import WebOffice
from ui.texts import tr

MATCH_VERDICT = {
    "eligible": "✓ ammissibile",
    "not_eligible": "✗ non ammissibile",
    "needs_information": "? da verificare",
}
PROFILE_HELP = (
    "Il profilo del progetto (YAML): proponente, partner, sede, attività, voci di costo, "
    "date, altri finanziamenti. Lo usano le schede Bandi, Ammissibilità e Bozza."
)
SKELETONS_HELP = (
    "Una scheda (.docx e .md) per ogni idea di un file CSV (colonne: vedi "
    "`corpus/ideas/README.md`): verifica di ammissibilità, sezioni con limiti e bozza, "
    "progetti simili, piano finanziario, indicatori."
)
STATUS = {"pass": "✓ sì", "fail": "✗ no", "needs_information": "? da verificare"}
VERDICT = {
    "eligible": "✅ **AMMISSIBILE**",
    "not_eligible": "❌ **NON AMMISSIBILE**",
    "needs_information": "⚠️ **SERVONO INFORMAZIONI**",
}
EXAMPLE_PROJECT = """\
title: Punto di facilitazione digitale nella biblioteca comunale
summary: Un Punto di facilitazione digitale aperto 10 ore a settimana, con visite a domicilio per le persone anziane sole.
applicant:
  name: Comune di Arnesano
  type: comune
  comune: Arnesano
  province: Lecce
  region: Puglia
  population: 4100
site: {description: Biblioteca comunale, region: Puglia, ownership: comunale}
themes: [digitale, anziani, inclusione sociale]
activities: [Assistenza su SPID e CIE, Percorsi di gruppo per over 65]
partners: [{name: Auser Arnesano, type: terzo_settore}]
cost_lines:
  - {category: personale, amount: 38000}
  - {category: servizi, amount: 6000}
  - {category: attrezzature, amount: 8000}
  - {category: comunicazione, amount: 1000}
  - {category: indiretti, amount: 3710}
requested_contribution: 56710
start_date: 2027-09-01
end_date: 2029-08-31
vat_recoverable: false
infrastructure: false
dnsh_assessed: true
durability_commitment: true
visibility_plan: true
"""


def parse_project(text: str) -> ProjectProfile:
    try:
        data = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        raise gr.Error(f"Il profilo non è YAML valido: {str(error).splitlines()[0]}") from error
    try:
        return ProjectProfile.model_validate(data)
    except ValidationError as error:
        raise gr.Error(f"Profilo di progetto non valido: {first_error(error)}") from error


def call_summary(call: Call) -> str:
    d = call.dates
    lines = [f"### {call.title}", f"`{call.id}` · {call.programme or ''} · {call.fund or ''}"]
    if d.opening or d.closing:
        lines.append(
            f"- **Apertura / scadenza:** {d.opening or '—'} → **{d.closing or '—'}**"
            + (f" ({d.place.label()})" if d.place.label() else "")
        )
    for group in call.applicants.groups:
        who = ", ".join(group.types) + (f" — {', '.join(group.regions)}" if group.regions else "")
        lines.append(f"- **Beneficiari:** {who}")
    if call.costs.min_total or call.costs.max_total:
        lines.append(
            f"- **Costo del progetto:** da {euro(call.costs.min_total)} a {euro(call.costs.max_total)}"
        )
    f = call.funding
    if f.max_rate is not None:
        lines.append(f"- **Intensità massima:** {f.max_rate:g}%")
    for tier in f.tiers:
        band = (
            f"fino a {tier.max_population:,} ab.".replace(",", ".")
            if tier.max_population
            else "oltre"
        )
        lines.append(f"  - {band}: {euro(tier.max_contribution)}")
    if call.sections:
        lines.append("\n**Sezioni della proposta**\n\n| # | sezione | limite |\n|---|---|---|")
        for s in call.sections:
            limit = f"{s.limit.max} {s.limit.unit}" if s.limit else ""
            lines.append(f"| {s.id} | {s.title} | {limit} |")
    if call.scoring:
        lines.append("\n**Criteri di valutazione**\n\n| criterio | punti |\n|---|---|")
        lines += [f"| {c.name} | {c.max_points:g} |" for c in call.scoring]
    return "\n".join(lines)


def build_proposal_tabs(
    assistant: EuroAssist, export_dir: Path, office: WebOffice, workspace: gr.Dropdown
) -> None:
    """Tabs inside the caller's gr.Blocks; each handler reads as the logged-in user
    (office.scope) and saves in the workspace chosen in the page's header."""
    registry = assistant.call_registry()
    scope_of = office.scope

    def call_choices() -> list[tuple[str, str]]:
        calls, _ = registry.all()
        return [(f"{c.title} ({c.id})", c.id) for c in calls]

    choices = call_choices()
    first = choices[0][1] if choices else None

    def section_options(ref: str | None) -> list[tuple[str, str]]:
        return [(f"{s.id}. {s.title}", s.id) for s in registry.find(ref).sections] if ref else []

    first_sections = section_options(first)

    with gr.Tab(tr("Progetto")):
        gr.Markdown(tr(PROFILE_HELP))
        project = gr.Code(EXAMPLE_PROJECT, language="yaml", label=tr("Profilo"), elem_id="project")
        project_file = gr.File(label=tr("Carica un profilo (.yaml)"), file_types=[".yaml", ".yml"])
        project_file.upload(
            lambda f: Path(f if isinstance(f, str) else f.name).read_text(encoding="utf-8"),
            project_file,
            project,
            api_visibility="private",
        )

    with gr.Tab(tr("Bandi")):
        call_pick = gr.Dropdown(choices, value=first, label=tr("Bando"))
        call_info = gr.Markdown(call_summary(registry.find(first)) if first else "Nessun bando.")
        match_button = gr.Button(tr("Quali bandi per il mio progetto?"), variant="primary")
        match_table = gr.Dataframe(
            headers=["#", "bando", "esito", "affinità", "scadenza", "perché", "cosa blocca"],
            interactive=False,
            wrap=True,
        )
        combos = gr.Markdown()

        def show_call(ref: str) -> str:
            return call_summary(registry.find(ref)) if ref else ""

        def match(text: str, request: gr.Request):
            report, problems = scope_of(request).match_calls(parse_project(text))
            rows = [
                [
                    n,
                    f"{m.title} ({m.call_id})",
                    MATCH_VERDICT[m.verdict],
                    round(m.fit, 2),
                    str(m.closing or ""),
                    "; ".join(m.reasons),
                    "; ".join(m.blockers + [f"da verificare: {x}" for x in m.missing]),
                ]
                for n, m in enumerate(report.matches, start=1)
            ]
            notes = [
                "**Combinazione possibile:** "
                + "; ".join(f"{c}: {', '.join(cats)}" for c, cats in combo.split.items())
                + f"  \n<sub>{combo.note}</sub>"
                for combo in report.combinations
            ]
            notes += [f"⚠️ {p}" for p in problems]
            return rows, "\n\n".join(notes)

        call_pick.change(show_call, call_pick, call_info, api_visibility="private")
        match_button.click(match, project, [match_table, combos], api_name="match_calls")

    with gr.Tab(tr("Ammissibilità")):
        eligibility_call = gr.Dropdown(choices, value=first, label=tr("Bando"))
        check_button = gr.Button(tr("Verifica"), variant="primary", elem_id="check")
        verdict_box = gr.Markdown(elem_id="verdict")
        results = gr.Dataframe(
            headers=["criterio", "esito", "dettaglio", "regola", "fonte"],
            interactive=False,
            wrap=True,
            column_widths=["16%", "9%", "22%", "38%", "15%"],
            max_height=900,
        )
        verdict_file = gr.DownloadButton(tr("Scarica il risultato (JSON)"), visible=False)

        def check(ref: str, text: str, space: str, request: gr.Request):
            if not ref:
                raise gr.Error("Scegli un bando.")
            engine = scope_of(request).eligibility_engine()
            verdict = engine.check(registry.find(ref), parse_project(text))
            summary = VERDICT[verdict.verdict]
            if verdict.failed:
                summary += "  \nNon rispettati: " + ", ".join(verdict.failed)
            if verdict.missing:
                summary += "  \nDa verificare: " + ", ".join(verdict.missing)
            rows = [
                [r.criterion, STATUS[r.status], r.detail, r.rule, r.where] for r in verdict.results
            ]
            summary += office.save_eligibility(request, space, ref, verdict)
            path = export_dir / f"ammissibilita-{ref}.json"
            path.write_text(verdict.model_dump_json(indent=2), encoding="utf-8")
            return summary, rows, gr.update(value=str(path), visible=True)

        check_button.click(
            check,
            [eligibility_call, project, workspace],
            [verdict_box, results, verdict_file],
            api_name="eligibility",
        )

    with gr.Tab(tr("Bozza")):
        with gr.Row():
            draft_call = gr.Dropdown(choices, value=first, label=tr("Bando"))
            draft_section = gr.Dropdown(
                first_sections,
                value=first_sections[0][1] if first_sections else None,
                label=tr("Sezione"),
            )
            draft_language = gr.Radio(["it", "en"], value="it", label=tr("Lingua"))
        draft_button = gr.Button(tr("Scrivi la bozza"), variant="primary", elem_id="draft")
        draft_text = gr.Textbox(label=tr("Bozza"), lines=14, elem_id="draft-text", buttons=["copy"])
        draft_info = gr.Markdown(elem_id="draft-info")
        with gr.Row():
            draft_note = gr.Textbox(label=tr("Nota sulla versione (facoltativa)"))
            save_button = gr.Button(tr("Salva versione"), elem_id="save-draft")
        with gr.Row():
            comment_text = gr.Textbox(label=tr("Commento per i colleghi"))
            comment_button = gr.Button(tr("Commenta"))
        draft_saved = gr.Markdown(elem_id="draft-saved")
        draft_history = gr.Markdown(elem_id="draft-history")

        def sections_of(ref: str):
            options = section_options(ref)
            return gr.update(choices=options, value=options[0][1] if options else None)

        def write(ref: str, section_id: str, language: str, text: str, request: gr.Request):
            if not ref or not section_id:
                raise gr.Error("Scegli un bando e una sezione.")
            call = registry.find(ref)
            section = find_section(call, section_id)
            shown = ""
            for kind, value in (
                scope_of(request)
                .section_drafter()
                .stream(call, section, parse_project(text), language)
            ):
                if kind == "token":
                    shown += value
                    yield shown, "*in scrittura…*"
                else:
                    mark = "✓ entro il limite" if value.within_limit else "✗ oltre il limite"
                    cited = [p for p in value.passages if p.number in value.cited]
                    info = f"**{value.length}** — {mark} · {value.provider}"
                    if value.notice:
                        info += f"  \n{value.notice}"
                    if value.unverified_figures:
                        figures = ", ".join(value.unverified_figures)
                        info += f"  \n⚠ {FIGURES_LABEL}: {figures}"
                    info += "\n\n" + "\n".join(f"[{p.number}] {p.hit.citation()}" for p in cited)
                    yield value.text, info

        def save(space, ref, section_id, text, note, request: gr.Request):
            message = office.save_draft(request, space, ref, section_id, text, note)
            return message, office.draft_history(request, space, ref, section_id)

        def comment(space, ref, section_id, text, request: gr.Request):
            message = office.comment_draft(request, space, ref, section_id, text)
            return message, office.draft_history(request, space, ref, section_id), ""

        def history(space, ref, section_id, request: gr.Request):
            return office.draft_history(request, space, ref, section_id)

        where = [workspace, draft_call, draft_section]
        save_button.click(
            save,
            [*where, draft_text, draft_note],
            [draft_saved, draft_history],
            api_name="save_draft",
        )
        comment_button.click(
            comment,
            [*where, comment_text],
            [draft_saved, draft_history, comment_text],
            api_name="comment_draft",
        )
        draft_section.change(history, where, draft_history, api_name="draft_history")
        draft_call.change(sections_of, draft_call, draft_section, api_visibility="private")
        draft_button.click(
            write,
            [draft_call, draft_section, draft_language, project],
            [draft_text, draft_info],
            api_name="draft",
        )

    with gr.Tab(tr("Schede progetto")):
        gr.Markdown(tr(SKELETONS_HELP))
        skeleton_call = gr.Dropdown(choices, value=first, label=tr("Bando"))
        ideas_file = gr.File(label=tr("Idee progettuali (CSV)"), file_types=[".csv"])
        skeleton_sections = gr.Textbox(
            label=tr("Sezioni da scrivere (numeri separati da virgola; vuoto: tutte)")
        )
        skeleton_button = gr.Button(tr("Genera le schede"), variant="primary")
        skeleton_log = gr.Markdown(elem_id="skeleton-log")
        skeleton_zip = gr.DownloadButton(tr("Scarica le schede (ZIP)"), visible=False)

        def generate(
            ref: str,
            csv_file,
            sections: str,
            space: str,
            request: gr.Request,
            progress=gr.Progress(),  # noqa: B008 (Gradio injects it)
        ):
            if not ref or not csv_file:
                raise gr.Error("Scegli un bando e un file CSV di idee.")
            path = Path(csv_file if isinstance(csv_file, str) else csv_file.name)
            try:
                ideas, problems = load_ideas(path)
            except IdeaError as error:
                raise gr.Error(str(error)) from error
            wanted = {s.strip() for s in sections.split(",") if s.strip()} or None
            out = Path(tempfile.mkdtemp(prefix="schede-", dir=export_dir))
            done = 0

            def on_done(result) -> None:
                nonlocal done
                done += 1
                progress(done / max(1, len(ideas)), desc=result.slug)

            progress(0, desc="schede")
            results = (
                scope_of(request)
                .skeleton_batch(sections=wanted)
                .run(registry.find(ref), ideas, out, on_done)
            )
            archive = out.with_suffix(".zip")
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                for r in results:
                    for name in r.files:
                        bundle.write(out / name, name)
            shutil.rmtree(out, ignore_errors=True)
            lines = [
                f"- {'✅' if r.status != 'failed' else '❌'} **{r.slug}** {r.title}: "
                + (r.error or VERDICT.get(r.verdict, r.verdict))
                for r in results
            ]
            lines += [f"- ❌ {p}" for p in problems]
            saved = office.save_skeletons(request, space, ref, results)
            return "\n".join(lines) + saved, gr.update(value=str(archive), visible=True)

        skeleton_button.click(
            generate,
            [skeleton_call, ideas_file, skeleton_sections, workspace],
            [skeleton_log, skeleton_zip],
            api_name="skeletons",
        )
