"""`calls extract`: a draft Call from a call document the test writes (PDF, Markdown)."""

from __future__ import annotations

from datetime import date

import docmaker as dm
import pytest
import yaml

from assistant.calls.extract import extract_call, iter_dates, iter_money, population_limits, to_yaml
from assistant.calls.schema import Call

# A call in four pages, with the usual Italian structure; it states no maximum contribution
# and says nothing about cumulation.
CALL_PAGES = [
    "\n".join(
        [
            "REGIONE PUGLIA",
            "PR Puglia FESR-FSE+ 2021-2027",
            "AVVISO PUBBLICO",
            "per il finanziamento di biblioteche di comunità nei piccoli comuni",
            "",
            "A. INFORMAZIONI GENERALI",
            "A.1 Soggetti beneficiari",
            "Possono presentare domanda i Comuni e le Unioni di Comuni della Puglia",
            "con popolazione fino a 5.000 abitanti.",
            "Sono escluse le imprese e gli enti del terzo settore.",
            "A.2 Dotazione finanziaria",
            "La dotazione finanziaria complessiva è pari a € 3.500.000,00",
            "a valere sul FESR.",
        ]
    ),
    "\n".join(
        [
            "B. CARATTERISTICHE DELL'AGEVOLAZIONE",
            "B.1 Caratteristiche generali dell'agevolazione",
            "Il contributo è concesso a fondo perduto fino all'80% del costo totale",
            "ammissibile del progetto.",
            "Il costo totale minimo del progetto è pari a € 50.000,00.",
            "Il costo totale massimo del progetto è pari a € 250.000,00.",
            "B.2 Spese ammissibili",
            "Sono ammissibili le seguenti voci di spesa:",
            "a) lavori e forniture, nel limite massimo del 60% del costo totale;",
            "b) spese tecniche, fino a un massimo del 10% del costo totale;",
            "c) costi indiretti, con tasso forfettario del 7% dei costi diretti.",
        ]
    ),
    "\n".join(
        [
            "C. FASI E TEMPI DEL PROCEDIMENTO",
            "C.1 Presentazione delle domande",
            "La domanda si presenta sulla piattaforma regionale dalle ore 10:00",
            "del 2 marzo 2026 alle ore 12:00 del 30 aprile 2026.",
            "C.2 Contenuto della proposta",
            "La proposta contiene le sezioni seguenti:",
            "Sezione 1 – Sintesi del progetto (max 1.500 caratteri spazi inclusi)",
            "Sezione 2 – Analisi del contesto (massimo 2 pagine)",
            "Sezione 3 – Piano di lavoro (max 500 parole)",
            "Sezione 4 – Sostenibilità (max 2.000 caratteri spazi esclusi)",
        ]
    ),
    "\n".join(
        [
            "C.3 Criteri di valutazione",
            "La commissione attribuisce fino a 100 punti secondo la griglia seguente:",
            "1. Qualità e coerenza della proposta: max 40 punti",
            "2. Impatto sulla comunità locale: max 30 punti",
            "3. Sostenibilità nel tempo: max 20 punti",
            "4. Partenariato con le scuole: max 10 punti",
            "C.4 Documentazione da allegare",
            "Alla domanda si allegano i documenti seguenti:",
            "a) proposta progettuale (Allegato 2);",
            "b) quadro economico (Allegato 3);",
            "c) delibera di approvazione del progetto.",
        ]
    ),
]


@pytest.fixture(scope="module")
def call_pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("calls") / "avviso-biblioteche-di-comunita.pdf"
    return dm.make_text_pdf(path, CALL_PAGES)


@pytest.fixture(scope="module")
def result(call_pdf):
    return extract_call(call_pdf)


def test_identity_programme_and_authority(result):
    call = result.call
    assert call.id == "avviso-biblioteche-di-comunita"
    assert call.title.startswith("AVVISO PUBBLICO per il finanziamento di biblioteche")
    assert call.programme == "PR Puglia FESR-FSE+ 2021-2027"
    assert call.fund == "FESR"
    assert call.managing_authority == "Regione Puglia"
    assert call.region == "Puglia"


def test_dates_with_page_and_quote(result):
    dates = result.call.dates
    assert dates.opening == date(2026, 3, 2)
    assert dates.closing == date(2026, 4, 30)
    assert dates.place.page == 3
    assert dates.place.section == "C.1 Presentazione delle domande"
    assert "30 aprile 2026" in dates.place.quote
    assert len(dates.place.quote) <= 300


def test_applicants_and_population(result):
    applicants = result.call.applicants
    (group,) = applicants.groups
    assert group.types == ["unione_di_comuni", "comune"]
    assert group.regions == ["Puglia"]
    assert group.max_population == 5000
    assert group.min_population is None
    assert group.place.page == 1
    assert "Unioni di Comuni" in group.place.quote
    assert set(applicants.excluded_types) == {"impresa", "ente_terzo_settore"}


def test_costs_rate_and_budget(result):
    call = result.call
    assert call.costs.min_total == 50_000
    assert call.costs.max_total == 250_000
    assert call.costs.place.page == 2
    assert call.funding.max_rate == 80
    assert call.funding.budget == 3_500_000
    assert call.funding.max_contribution is None
    assert call.funding.place.page == 2
    assert "80%" in call.funding.place.quote


def test_cost_categories(result):
    categories = {c.name: c for c in result.call.cost_categories}
    assert categories["Lavori e forniture"].max_share == 60
    assert categories["Spese tecniche"].max_share == 10
    assert categories["Costi indiretti"].flat_rate == 7
    assert all(c.place.page == 2 for c in categories.values())


def test_sections_with_limits(result):
    limits = {s.title: (s.id, s.limit.max, s.limit.unit) for s in result.call.sections}
    assert limits == {
        "Sintesi del progetto": ("1", 1500, "characters"),
        "Analisi del contesto": ("2", 2, "pages"),
        "Piano di lavoro": ("3", 500, "words"),
        "Sostenibilità": ("4", 2000, "characters_no_spaces"),
    }
    assert {s.place.page for s in result.call.sections} == {3}


def test_scoring_criteria(result):
    scoring = [(c.id, c.name, c.max_points) for c in result.call.scoring]
    assert scoring == [
        ("1", "Qualità e coerenza della proposta", 40),
        ("2", "Impatto sulla comunità locale", 30),
        ("3", "Sostenibilità nel tempo", 20),
        ("4", "Partenariato con le scuole", 10),
    ]
    assert all(
        c.place.page == 4 and c.place.section == "C.3 Criteri di valutazione"
        for c in result.call.scoring
    )


def test_required_documents(result):
    assert result.call.required_documents == [
        "proposta progettuale (Allegato 2)",
        "quadro economico (Allegato 3)",
        "delibera di approvazione del progetto",
    ]


def test_found_and_missing(result):
    assert {"dates.closing", "funding.max_rate", "sections", "scoring", "applicants"} <= set(
        result.found
    )
    assert "applicants.max_population" in result.found
    # the call states neither a maximum contribution nor a rule on cumulation
    assert "funding.max_contribution" in result.missing
    assert "cumulation_allowed" in result.missing
    assert result.call.cumulation_allowed is None
    assert not set(result.found) & set(result.missing)


def test_yaml_for_review_loads_back(result):
    text = to_yaml(result)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any(line.startswith("# DA VERIFICARE: non trovati:") for line in comments)
    assert "funding.max_contribution" in comments[1]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert Call.model_validate(yaml.safe_load(body)) == result.call


def test_markdown_call_with_tables(tmp_path):
    path = tmp_path / "avviso-tabelle.md"
    path.write_text(
        """# Avviso pubblico per servizi di facilitazione digitale

## A.1 Soggetti beneficiari

Possono presentare domanda gli Ambiti Territoriali Sociali con popolazione superiore a 15.000 abitanti.

## B.1 Agevolazione

Il contributo massimo è pari a € 120.000,00 per progetto. Non è prevista la cumulabilità con altri contributi pubblici per le stesse spese.

## C.1 Scadenze

Le domande vanno presentate entro le ore 12:00 del 15/09/2026.

## C.2 Proposta

| Sezione | Limite |
|---|---|
| 1. Sintesi | max 1.000 caratteri spazi inclusi |
| 2. Obiettivi | massimo 3 pagine |

## C.3 Griglia di valutazione

| N. | Criterio | Punteggio massimo |
|---|---|---|
| 1 | Qualità del progetto | 60 |
| 2 | Capacità del proponente | 40 |
| | Totale | 100 |
""",
        encoding="utf-8",
    )
    result = extract_call(path)
    call = result.call
    assert call.title == "Avviso pubblico per servizi di facilitazione digitale"
    assert call.dates.closing == date(2026, 9, 15)
    assert call.applicants.groups[0].types == ["ambito_sociale"]
    assert call.applicants.groups[0].min_population == 15000
    assert call.funding.max_contribution == 120_000
    assert call.cumulation_allowed is False
    assert [(s.id, s.limit.max, s.limit.unit) for s in call.sections] == [
        ("1", 1000, "characters"),
        ("2", 3, "pages"),
    ]
    assert [(c.id, c.name, c.max_points) for c in call.scoring] == [
        ("1", "Qualità del progetto", 60),
        ("2", "Capacità del proponente", 40),
    ]
    assert call.scoring[0].place.section == "C.3 Griglia di valutazione"
    assert "funding.max_rate" in result.missing


def test_docx_call(tmp_path):
    path = dm.make_docx(
        tmp_path / "bando-verde.docx",
        "Bando per il verde urbano nei comuni",
        [
            "Possono partecipare i Comuni con popolazione superiore a 15.000 abitanti.",
            "Il contributo copre fino al 70% delle spese ammissibili, nel limite massimo di "
            "1,5 milioni di euro per progetto.",
            "Le domande devono essere presentate entro il 15/01/2027.",
        ],
        [["Criterio", "Punteggio"], ["Qualità ambientale", "60"], ["Fattibilità", "40"]],
    )
    call = extract_call(path).call
    assert call.title == "Bando per il verde urbano nei comuni"
    assert call.applicants.groups[0].min_population == 15000
    assert call.funding.max_rate == 70
    assert call.funding.max_contribution == 1_500_000
    assert call.dates.closing == date(2027, 1, 15)
    assert [(c.name, c.max_points) for c in call.scoring] == [
        ("Qualità ambientale", 60),
        ("Fattibilità", 40),
    ]


def test_title_falls_back_to_file_name(tmp_path):
    path = tmp_path / "nota-senza-titolo.txt"
    path.write_text("Testo breve senza intestazione né date.\n", encoding="utf-8")
    result = extract_call(path)
    assert result.call.title == "nota-senza-titolo"
    assert "title" in result.missing
    assert Call.model_validate(result.call.model_dump()) == result.call


def test_truncated_pdf_is_a_one_line_error_naming_the_file(call_pdf, tmp_path):
    cut = dm.make_truncated_pdf(call_pdf, tmp_path / "tagliato.pdf")
    with pytest.raises(ValueError) as caught:
        extract_call(cut)
    message = str(caught.value)
    assert message.startswith(f"{cut}: ")
    assert "\n" not in message


def test_garbage_and_missing_files(tmp_path):
    garbage = tmp_path / "spazzatura.pdf"
    garbage.write_bytes(b"\x00\x01 questo non e' un PDF " * 20)
    with pytest.raises(ValueError, match=r"spazzatura\.pdf: "):
        extract_call(garbage)
    with pytest.raises(ValueError, match=r"manca\.pdf: "):
        extract_call(tmp_path / "manca.pdf")


def test_italian_amounts_dates_and_thresholds():
    amounts = [
        v for _, _, v in iter_money("€ 1.200.000,00; euro 500.000; 1,5 milioni di euro; 1.500 €/kW")
    ]
    assert amounts == [1_200_000, 500_000, 1_500_000]
    dates = [d for _, _, d in iter_dates("dal 1° ottobre 2026 al 02/03/2027 e non il 31/02/2027")]
    assert dates == [date(2026, 10, 1), date(2027, 3, 2)]
    assert population_limits("comuni con popolazione superiore a 15.000") == (15000, None)
    assert population_limits("comuni da 5.001 a 20.000 abitanti") == (5000, 20000)
    assert population_limits("comuni con meno di 3.000 abitanti") == (None, 2999)
