"""The "Progetti passati" tab: the past projects of the comuni, filtered, totalled, charted and
exported. It calls the library (`assistant.territory`) only."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from assistant import territory
from assistant.core import EuroAssist
from ui.texts import tr

FILTERS = [
    ("comune", "Comune"),
    ("theme", "Tema"),
    ("fund", "Fondo"),
    ("period", "Periodo"),
    ("status", "Stato"),
]
CHARTS = {
    "comune": (territory.chart_by_comune, "Per comune"),
    "tema": (territory.chart_by_theme, "Per tema"),
    "anno": (territory.chart_over_time, "Per anno di avvio"),
}
INTRO = (
    "I progetti dei file CSV indicizzati (Italia Domani, OpenCoesione, elenchi ministeriali, "
    "elenchi dell'Ufficio di Piano): fondo e periodo sono ricavati da programma, misura e date. "
    "Scegliendo un solo comune compare un paragrafo di contesto da usare nella proposta."
)

WorkspacesOf = Callable[[gr.Request], set[str] | None]


def project_filter(comuni, temi, fondi, periodi, stati) -> territory.ProjectFilter:
    return territory.ProjectFilter(
        comune=list(comuni or []),
        theme=list(temi or []),
        fund=list(fondi or []),
        period=list(periodi or []),
        status=list(stati or []),
    )


def display_table(df):
    """The columns the office reads, with Italian headings and amounts in euro."""
    shown = df[list(territory.DISPLAY_HEADERS)].copy()
    shown["start_year"] = (
        shown["start_year"].astype("object").where(shown["start_year"].notna(), "")
    )
    shown = shown.rename(columns=territory.DISPLAY_HEADERS)
    money = [territory.DISPLAY_HEADERS["amount_total"], territory.DISPLAY_HEADERS["amount_eu"]]
    return shown.style.format(lambda v: territory.format_euro(v), subset=money, na_rep="")


def summary_markdown(df, f: territory.ProjectFilter) -> str:
    text = territory.totals(df).markdown()
    if len(f.comune) == 1 and not df.empty:
        context = " ".join(territory.comune_context(df, f.comune[0]))
        text += f"\n\n**Contesto per la proposta**\n\n> {context}"
    return text


def build_territory_tab(
    assistant: EuroAssist, export_dir: Path, workspaces_of_request: WorkspacesOf
) -> None:
    """A tab inside the caller's gr.Blocks. workspaces_of_request(request) tells which
    workspaces the person may read (None: all); every handler asks it."""
    export_dir = Path(export_dir)

    def projects(request: gr.Request):
        return territory.past_projects(assistant.index.catalog, workspaces_of_request(request))

    def filtered(request: gr.Request, *values):
        f = project_filter(*values)
        return territory.filter_projects(projects(request), f), f

    with gr.Tab(tr("Progetti passati")) as tab:
        gr.Markdown(INTRO)
        with gr.Row():
            dropdowns = [
                gr.Dropdown(
                    [],
                    value=[],
                    multiselect=True,
                    label=label,
                    allow_custom_value=True,
                    elem_id=f"territory-{field}",
                )
                for field, label in FILTERS
            ]
        with gr.Row():
            refresh = gr.Button(
                tr("Mostra i progetti"), variant="primary", elem_id="territory-refresh"
            )
            reset = gr.Button(tr("Azzera i filtri"))
        summary = gr.Markdown(elem_id="territory-totals")
        table = gr.Dataframe(
            headers=list(territory.DISPLAY_HEADERS.values()),
            interactive=False,
            wrap=True,
            column_widths=[320, 140, 90, 150, 140, 140, 120, 60, 90, 150, 220],
            max_height=420,
            label=tr("Progetti"),
            elem_id="territory-table",
        )
        plots = {}
        with gr.Row():  # comuni and themes side by side, the years below
            for key in ("comune", "tema"):
                plots[key] = gr.Plot(
                    label=CHARTS[key][1], format="png", elem_id=f"territory-chart-{key}"
                )
        plots["anno"] = gr.Plot(
            label=CHARTS["anno"][1], format="png", elem_id="territory-chart-anno"
        )
        with gr.Row():
            csv_button = gr.Button(tr("Esporta la tabella (CSV)"))
            png_buttons = {
                key: gr.Button(f"Esporta il grafico {label.lower()} (PNG)")
                for key, (_, label) in CHARTS.items()
            }
        exported = gr.File(label=tr("File esportato"), visible=False, elem_id="territory-file")

    def load_choices(request: gr.Request):
        options = territory.choices(projects(request))
        return [gr.update(choices=options[field]) for field, _ in FILTERS]

    def show(comuni, temi, fondi, periodi, stati, request: gr.Request):
        df, f = filtered(request, comuni, temi, fondi, periodi, stati)
        charts = [make(df) for make, _ in CHARTS.values()]
        return summary_markdown(df, f), display_table(df), *charts

    def export_csv(comuni, temi, fondi, periodi, stati, request: gr.Request):
        df, _ = filtered(request, comuni, temi, fondi, periodi, stati)
        path = territory.to_csv(df, export_dir / f"progetti-passati-{int(time.time() * 1000)}.csv")
        return gr.update(value=str(path), visible=True)

    def png_exporter(key: str):
        make = CHARTS[key][0]

        def export_png(comuni, temi, fondi, periodi, stati, request: gr.Request):
            df, _ = filtered(request, comuni, temi, fondi, periodi, stati)
            path = export_dir / f"grafico-{key}-{int(time.time() * 1000)}.png"
            territory.save_png(make(df), path)
            return gr.update(value=str(path), visible=True)

        return export_png

    outputs = [summary, table, *plots.values()]
    refresh.click(show, dropdowns, outputs, api_name="past_projects")
    tab.select(load_choices, None, dropdowns, api_visibility="private").then(
        show, dropdowns, outputs, api_visibility="private"
    )
    reset.click(
        lambda: [gr.update(value=[]) for _ in FILTERS], None, dropdowns, api_visibility="private"
    ).then(show, dropdowns, outputs, api_visibility="private")
    gr.on(None, load_choices, None, dropdowns, api_visibility="private")  # on page load
    csv_button.click(export_csv, dropdowns, exported, api_name="past_projects_csv")
    for key, button in png_buttons.items():
        button.click(png_exporter(key), dropdowns, exported, api_name=f"past_projects_png_{key}")
