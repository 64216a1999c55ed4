"""Territorial knowledge: past projects read back from the index, filtered, totalled, charted,
exported; and the "Progetti passati" tab driven by gradio_client on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from gradio_client import Client
from PIL import Image

from assistant import territory
from assistant.core import EuroAssist
from assistant.settings import Settings
from assistant.territory import ProjectFilter

HEADER = (
    "CUP,Titolo progetto,Comune,Provincia,Regione,Programma,Misura,FINANZ_TOTALE,"
    "FINANZIAMENTO_PNRR,FINANZIAMENTO_UE,Stato,Data inizio,Tema\n"
)
FESR = "PR Puglia FESR-FSE+ 2021-2027"
SHARED_ROWS = [
    # cup, title, comune, programme, measure, total, pnrr, ue, status, start, theme
    ("T01", "Migrazione al cloud", "SURBO", "PNRR", "M1C1I1.2", "100000.50", "100000.50", "0", "Concluso", "01/10/2022", "digitale"),
    ("T02", "Nuovo asilo nido", "SURBO", "PNRR", "M4C1I1.1", "1200000.00", "1000000.00", "0", "In corso", "15/03/2023", "scuole"),
    ("T03", "Fascicolo del cittadino online", "SURBO", FESR, "RSO1.2", "250000.00", "0", "175000.00", "Programmato", "01/02/2023", "digitale"),
    ("T04", "App IO e pagoPA", "LEQUILE", "PNRR", "M1C1I1.4.3", "50000.00", "50000.00", "0", "In corso", "01/12/2022", "digitale"),
    ("T05", "Laboratori nella scuola media", "LEQUILE", FESR, "RSO4.2", "400000.25", "0", "280000.00", "In corso", "01/09/2023", "scuole"),
    ("T06", "Mensa della scuola primaria", "LEQUILE", "PNRR", "M4C1I1.2", "300000.00", "300000.00", "0", "Concluso", "01/11/2022", "scuole"),
]  # fmt: skip
SURBO_ROWS = [
    ("T07", "Progetto riservato dell'area di Surbo", "SURBO", "PNRR", "M1C1I1.2", "999999.00", "999999.00", "0", "In corso", "01/06/2022", "digitale"),
]  # fmt: skip
CALLS = (
    "Titolo bando o avviso,Soggetto emanante,Data apertura bando,Importo complessivo gara\n"
    "Avviso asili nido,Ministero dell'Istruzione,01/12/2021,3000000000\n"
)


def write_projects(path: Path, rows) -> Path:
    lines = [HEADER]
    for cup, title, comune, programme, measure, *rest in rows:
        lines.append(",".join([cup, title, comune, "LECCE", "PUGLIA", f'"{programme}"', measure, *rest]) + "\n")  # fmt: skip
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    root = tmp_path_factory.mktemp("territory")
    corpus = root / "corpus"
    corpus.mkdir()
    shared = write_projects(corpus / "progetti-ambito.csv", SHARED_ROWS)
    calls = corpus / "bandi.csv"
    calls.write_text(CALLS, encoding="utf-8")
    private = root / "surbo"
    private.mkdir()
    surbo = write_projects(private / "progetti-surbo.csv", SURBO_ROWS)
    assistant = EuroAssist(Settings(data_dir=root / "data", llm_provider="extractive"))
    results = assistant.ingest([shared, calls])
    results += assistant.ingest([surbo], workspace="surbo")
    assert [r.status for r in results] == ["added"] * 3, results
    return assistant


@pytest.fixture(scope="module")
def shared_projects(office):
    return territory.past_projects(office.index.catalog, {"shared"})


def test_one_row_per_project_with_derived_fields(shared_projects):
    df = shared_projects.set_index("cup")
    assert sorted(df.index) == ["T01", "T02", "T03", "T04", "T05", "T06"]  # no call, no T07
    assert df.loc["T01", "comune"] == "Surbo" and df.loc["T04", "comune"] == "Lequile"
    assert df.loc["T01", "title"] == "Migrazione al cloud"
    assert df.loc["T02", "fund"] == "PNRR" and df.loc["T02", "period"] == "PNRR"
    assert df.loc["T03", "fund"] == "FESR" and df.loc["T03", "period"] == "2021-2027"
    assert df.loc["T03", "theme"] == "digitale" and df.loc["T05", "theme"] == "scuole"
    assert df.loc["T02", "start_year"] == 2023 and df.loc["T01", "start_year"] == 2022
    # EU money: the PNRR and the other-EU columns of the row, added up
    assert df.loc["T02", "amount_eu"] == 1_000_000.0
    assert df.loc["T05", "amount_eu"] == 280_000.0
    assert df.loc["T05", "amount_total"] == 400_000.25
    assert set(df["workspace"]) == {"shared"} and set(df["source"]) == {"progetti-ambito.csv"}
    assert list(shared_projects.columns) == territory.COLUMNS


def test_the_workspace_filter_is_honoured(office):
    catalog = office.index.catalog
    everyone = territory.past_projects(catalog)
    assert len(everyone) == 7 and "T07" in set(everyone["cup"])
    surbo = territory.past_projects(catalog, {"surbo"})
    assert list(surbo["cup"]) == ["T07"] and set(surbo["workspace"]) == {"surbo"}
    assert territory.past_projects(catalog, set()).empty
    assert territory.past_projects(catalog, {"nowhere"}).empty
    both = territory.past_projects(catalog, {"shared", "surbo"})
    assert len(both) == 7


def test_filters(shared_projects):
    df = shared_projects
    surbo = territory.filter_projects(df, ProjectFilter(comune=["surbo"]))
    assert sorted(surbo["cup"]) == ["T01", "T02", "T03"]
    fesr_schools = territory.filter_projects(df, ProjectFilter(fund=["FESR"], theme=["Scuole"]))
    assert list(fesr_schools["cup"]) == ["T05"]
    ongoing = territory.filter_projects(df, ProjectFilter(status=["in corso"], period=["PNRR"]))
    assert sorted(ongoing["cup"]) == ["T02", "T04"]
    assert len(territory.filter_projects(df, ProjectFilter())) == 6
    assert territory.filter_projects(df, ProjectFilter(comune=["Lecce"])).empty
    options = territory.choices(df)
    assert options["comune"] == ["Lequile", "Surbo"]
    assert options["fund"] == ["FESR", "PNRR"]
    assert options["theme"] == ["digitale", "scuole"]


def test_totals_are_exact(shared_projects):
    t = territory.totals(shared_projects)
    assert t.count == 6
    assert t.amount_total == pytest.approx(2_300_000.75, abs=1e-6)
    assert t.amount_eu == pytest.approx(1_905_000.50, abs=1e-6)
    assert t.by_comune.loc["Surbo", "count"] == 3
    assert t.by_comune.loc["Surbo", "amount_total"] == pytest.approx(1_550_000.50, abs=1e-6)
    assert t.by_comune.loc["Lequile", "amount_total"] == pytest.approx(750_000.25, abs=1e-6)
    assert t.by_theme.loc["digitale", "amount_total"] == pytest.approx(400_000.50, abs=1e-6)
    assert t.by_theme.loc["scuole", "amount_total"] == pytest.approx(1_900_000.25, abs=1e-6)
    assert list(t.by_year.index) == [2022, 2023]
    assert t.by_year.loc[2022, "amount_total"] == pytest.approx(450_000.50, abs=1e-6)
    assert t.by_year.loc[2023, "amount_total"] == pytest.approx(1_850_000.25, abs=1e-6)
    assert t.by_fund.loc["PNRR", "count"] == 4 and t.by_fund.loc["FESR", "count"] == 2
    text = t.markdown()
    assert "6 progetti" in text and "2.300.000,75 €" in text and "1.905.000,50 €" in text
    assert territory.totals(territory.empty_projects()).markdown().startswith("Nessun progetto")


def test_charts_are_png_files(shared_projects, tmp_path):
    makers = [territory.chart_by_comune, territory.chart_by_theme, territory.chart_over_time]
    for number, make in enumerate(makers):
        for df in (shared_projects, territory.empty_projects()):
            path = territory.save_png(make(df), tmp_path / f"chart-{number}-{len(df)}.png")
            with Image.open(path) as image:
                assert image.format == "PNG"
                assert image.size[0] > 100 and image.size[1] > 100


def test_csv_export_round_trips(shared_projects, tmp_path):
    path = territory.to_csv(shared_projects, tmp_path / "progetti.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("Titolo progetto,CUP,")
    back = territory.read_csv(path)
    pd.testing.assert_frame_equal(back, shared_projects.reset_index(drop=True))


def test_comune_context(shared_projects):
    sentences = territory.comune_context(shared_projects, "Surbo")
    assert 2 <= len(sentences) <= 4
    assert sentences[0] == (
        "Dal 2022 il Comune di Surbo ha avviato 3 progetti per 1.550.000,50 € "
        "(PNRR 2, FESR 1), soprattutto in digitale e scuole."
    )
    assert sentences[1] == (
        "I progetti ricadono nel PNRR (2) e nella programmazione 2021-2027 (1), "
        "con 1.275.000,50 € di finanziamento europeo (PNRR e fondi UE)."
    )
    assert sentences[2].startswith("Stato di attuazione:")
    assert all(s in sentences[2] for s in ("concluso 1", "in corso 1", "programmato 1"))
    assert sentences[3] == "Il più consistente è «Nuovo asilo nido» (1.200.000,00 €, PNRR, 2023)."
    lequile = territory.comune_context(shared_projects, "LEQUILE")
    assert lequile[0].startswith(
        "Dal 2022 il Comune di Lequile ha avviato 3 progetti per 750.000,25 €"
    )
    assert territory.comune_context(shared_projects, "Cavallino") == [
        "Per il Comune di Cavallino non risultano progetti nei dati consultati."
    ]


@pytest.mark.parametrize(
    ("programme", "measure", "year", "fund", "period"),
    [
        ("PNRR", "", None, "PNRR", "PNRR"),
        ("", "M5C2I2.1", 2021, "PNRR", "PNRR"),
        ("PR Puglia FESR-FSE+ 2021-2027", "ESO4.7", 2025, "FSE+", "2021-2027"),
        ("POR Puglia FESR-FSE 2014-2020", "OT4", 2019, "FESR", "2014-2020"),
        ("POR Puglia FESR-FSE 2014-2020", "OT9", 2019, "FESR-FSE", "2014-2020"),
        ("PSR Puglia 2014-2022", "", 2018, "FEASR", "2014-2020"),
        ("Programma sconosciuto", "", 2024, "n.d.", "2021-2027"),
    ],
)
def test_fund_and_period(programme, measure, year, fund, period):
    derived = territory.derive_fund(programme, measure, year)
    assert derived == fund
    assert territory.derive_period(programme, year, derived) == period


# -- the tab ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def web(office, tmp_path_factory):
    from ui.territory import build_territory_tab

    export_dir = tmp_path_factory.mktemp("exports")
    asked = []

    def workspaces_of_request(request: gr.Request) -> set[str] | None:
        asked.append(request)
        return {"shared"}

    with gr.Blocks() as app:
        build_territory_tab(office, export_dir, workspaces_of_request)
    app.queue()
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    yield f"http://127.0.0.1:{port}/", asked
    app.close()


def test_tab_api_filters_and_totals(web):
    url, asked = web
    client = Client(url, verbose=False)
    summary, table, *charts = client.predict(["Surbo"], [], [], [], [], api_name="/past_projects")
    assert asked and all(isinstance(r, gr.Request) for r in asked)
    headers, rows = table["headers"], table["data"]
    assert headers[:3] == ["Progetto", "Comune", "Fondo"]
    assert sorted(r[0] for r in rows) == [
        "Fascicolo del cittadino online",
        "Migrazione al cloud",
        "Nuovo asilo nido",
    ]
    assert "Progetto riservato dell'area di Surbo" not in str(rows)  # other workspace
    assert "3 progetti" in summary and "1.550.000,50 €" in summary
    assert "Dal 2022 il Comune di Surbo" in summary  # one comune: the context paragraph
    assert len(charts) == 3 and all(charts)

    summary, table, *_ = client.predict([], ["scuole"], ["FESR"], [], [], api_name="/past_projects")
    assert [r[0] for r in table["data"]] == ["Laboratori nella scuola media"]
    assert "1 progetto" in summary and "400.000,25 €" in summary


def test_tab_exports(web):
    url, _ = web
    client = Client(url, verbose=False)
    path = client.predict(["Lequile"], [], [], [], [], api_name="/past_projects_csv")
    path = path["value"] if isinstance(path, dict) else path
    back = territory.read_csv(Path(path))
    assert sorted(back["cup"]) == ["T04", "T05", "T06"]
    png = client.predict([], [], [], [], [], api_name="/past_projects_png_anno")
    png = png["value"] if isinstance(png, dict) else png
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 100
