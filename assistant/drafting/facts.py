"""What a project profile says that a given proposal section needs, as plain sentences.

Sections are recognised by their title (Italian or English), so any call's section list
works: a "Piano finanziario" gets the budget, a "Partenariato" the partners, and so on.
"""

from __future__ import annotations

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call, Section
from assistant.skeletons.formatting import euro, number_it
from assistant.text_analysis import fold

SECTION_KINDS: dict[str, tuple[str, ...]] = {
    "summary": ("sintesi", "abstract", "summary", "riepilogo", "descrizione sintetica"),
    "context": ("contesto", "fabbisogn", "analisi", "context", "needs", "problem"),
    "objectives": ("obiettiv", "risultat", "objective", "result", "impatt", "impact"),
    "network": ("architettura", "rete", "localizzazion", "sedi", "network", "location"),
    "activities": ("attivita", "metodolog", "descrizione", "activit", "method", "description"),
    "beneficiaries": ("destinatari", "target", "beneficiar", "coinvolgimento", "utenti"),
    "partnership": ("partenariato", "partner", "governance"),
    "team": ("gruppo di lavoro", "team", "personale", "staff"),
    "timeline": ("cronoprogramma", "tempi", "timeline", "work plan", "piano di lavoro"),
    "budget": ("finanziari", "budget", "costi", "spese", "cost"),
    "monitoring": ("monitoraggio", "valutazione", "indicator", "monitoring", "evaluation"),
    "sustainability": ("sostenibilit", "sustainab", "continuit", "durabil"),
    "principles": ("principi orizzontali", "dnsh", "pari opportunit", "horizontal", "parita"),
    "communication": ("comunicazione", "visibilit", "communication", "dissemination"),
}


def section_kind(section: Section) -> str:
    title = fold(section.title)
    for kind, words in SECTION_KINDS.items():
        if any(word in title for word in words):
            return kind
    return "activities"


def project_facts(project: ProjectProfile, call: Call, section: Section) -> list[str]:
    """Facts of the project for this section, most specific first (in Italian: the facts
    are the office's own notes, which are in Italian)."""
    kind = section_kind(section)
    a = project.applicant
    population = f", {number_it(a.population, 0)} abitanti" if a.population else ""
    general = [f"Progetto: {project.title}.", f"Proponente: {a.name} ({a.type}{population})."]
    if project.summary:
        general.append(project.summary.rstrip(".") + ".")
    specific: list[str] = []
    if (
        kind in ("summary", "objectives", "activities", "network", "beneficiaries", "timeline")
        and project.activities
    ):
        specific.append("Attività previste: " + "; ".join(project.activities) + ".")
    if kind in ("network", "activities", "summary") and project.site.description:
        specific.append(f"Sedi: {project.site.description}.")
    if kind in ("partnership", "beneficiaries", "activities", "summary") and project.partners:
        specific.append(
            "Partner: "
            + "; ".join(f"{p.name} ({p.type})" if p.type else p.name for p in project.partners)
            + "."
        )
    if kind in ("budget", "summary") and project.cost_lines:
        names = {c.id: c.name for c in call.cost_categories}
        specific.append(
            "Costi: "
            + "; ".join(
                f"{names.get(line.category, line.category)} {euro(line.amount)}"
                + (f" ({line.description})" if line.description else "")
                for line in project.cost_lines
            )
            + f"; totale {euro(project.total_cost)}."
        )
        if project.requested_contribution is not None:
            specific.append(f"Contributo richiesto: {euro(project.requested_contribution)}.")
    if kind in ("timeline", "summary") and project.start_date and project.end_date:
        specific.append(
            f"Durata: dal {project.start_date:%d/%m/%Y} al {project.end_date:%d/%m/%Y}."
        )
    if kind == "context" and a.population:
        specific.append(
            f"Popolazione residente di {a.comune or a.name}: {number_it(a.population, 0)} abitanti."
        )
    if kind in ("objectives", "monitoring") and call.indicators:
        specific += [
            f"Indicatore del bando: {i.name} ({i.unit}), target minimo {i.target}."
            for i in call.indicators
        ]
    if kind == "principles" and project.dnsh_assessed:
        specific.append("L'autovalutazione DNSH e dei principi orizzontali è stata svolta.")
    if kind == "sustainability" and project.durability_commitment:
        specific.append(
            "Il proponente si impegna a mantenere il servizio dopo la fine del progetto."
        )
    if kind == "communication" and project.visibility_plan:
        specific.append(
            "È previsto un piano di comunicazione conforme agli obblighi di visibilità."
        )
    if project.other_funding and kind in ("budget", "context"):
        specific.append(
            "Altri finanziamenti: "
            + "; ".join(f"{f.source} ({euro(f.amount)})" for f in project.other_funding)
            + "."
        )
    return general + specific
