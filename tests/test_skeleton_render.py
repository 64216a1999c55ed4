"""The proposal skeleton written as Word (read back with python-docx and LibreOffice) and
as Markdown."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from assistant.eligibility.engine import CriterionResult, Verdict
from assistant.skeletons.docx_render import render_docx
from assistant.skeletons.formatting import euro, percent
from assistant.skeletons.markdown_render import render_markdown
from assistant.skeletons.model import (
    Budget,
    BudgetLine,
    IndicatorRow,
    PastProject,
    Skeleton,
    SkeletonSection,
    SourceRef,
)

CALL_TITLE = "Avviso pubblico per la riqualificazione energetica degli edifici pubblici"
SECTION_TITLES = [
    "Descrizione del progetto",
    "Coerenza con gli obiettivi del Programma",
    "Sostenibilità e durabilità dell'operazione",
]
HEADING_1 = [
    "Verifica di ammissibilità",
    "Sezioni della proposta",
    "Progetti simili",
    "Piano finanziario",
    "Indicatori",
    "Fonti",
]
ELIGIBILITY_HEADER = ["Criterio", "Esito", "Dettaglio", "Regola e fonte"]
BUDGET_HEADER = ["Categoria", "Importo", "%", "Limite", "Rispettato"]
PAST_HEADER = ["Progetto", "Comune", "Programma", "Importo", "Stato", "Fonte"]
INDICATORS_HEADER = ["Indicatore", "Unità di misura", "Target"]
SOFFICE_TIMEOUT = 180


@pytest.fixture
def skeleton() -> Skeleton:
    verdict = Verdict(
        call="toscana-fesr-2-1-2025",
        project="Efficientamento della scuola primaria Carducci",
        verdict="needs_information",
        results=[
            CriterionResult(
                id="applicant",
                criterion="Soggetto ammissibile",
                status="pass",
                detail="Comune di Empoli rientra tra i beneficiari ammessi",
                rule="Possono presentare domanda i Comuni della Toscana",
                where="Avviso, art. 4, p. 3",
            ),
            CriterionResult(
                id="costs",
                criterion="Costo totale",
                status="pass",
                detail="1.234.567,89 € entro il massimo di 2.000.000,00 €",
                rule="Il costo totale non può superare 2.000.000 €",
                where="Avviso, art. 6",
            ),
            CriterionResult(
                id="cumulation",
                criterion="Cumulo con altri aiuti",
                status="needs_information",
                detail="indicare altri finanziamenti | PNRR o conto termico",
                where="Avviso, art. 9",
            ),
            CriterionResult(
                id="timing",
                criterion="Tempi di realizzazione",
                status="fail",
                detail="fine lavori prevista oltre il 31/12/2027",
                rule="Le operazioni sono concluse entro il 31 dicembre 2027",
                where="Avviso, art. 10",
            ),
        ],
        failed=["Tempi di realizzazione"],
        missing=["Cumulo con altri aiuti"],
    )
    draft = (
        "Il progetto riqualifica la scuola primaria Carducci riducendo i consumi del 40% [1].\n\n"
        "Gli interventi rispettano il principio DNSH [2] e la durabilità quinquennale [3]."
    )
    sections = [
        SkeletonSection(
            id=f"s{i}",
            title=title,
            limit="max 1.500 caratteri spazi inclusi",
            guidance="Descrivere obiettivi, attività e risultati attesi.",
            criteria=["Qualità progettuale", "Riduzione delle emissioni"],
            draft=draft,
            draft_length="187 / 1.500 caratteri",
            rules=[1, 3] if i != 1 else [2],
            figures_to_check=["40"] if i == 0 else [],
        )
        for i, title in enumerate(SECTION_TITLES)
    ]
    budget = Budget(
        lines=[
            BudgetLine(category="Lavori", amount=1_000_000.0, share=81.0, limit="min 70%"),
            BudgetLine(
                category="Spese tecniche",
                amount=184_567.89,
                share=14.95,
                limit="max 10%",
                within_limit=False,
            ),
            BudgetLine(category="IVA", amount=50_000.0, share=4.05),
        ],
        total=1_234_567.89,
        contribution=987_654.31,
        cofinancing=246_913.58,
        rate=80.0,
        notes=["Le spese tecniche superano il limite del 10%: ridurle o cofinanziarle."],
    )
    return Skeleton(
        call_id="toscana-fesr-2-1-2025",
        call_title=CALL_TITLE,
        programme="PR FESR Toscana 2021-2027",
        fund="FESR",
        managing_authority="Regione Toscana — Settore Energia",
        closing=date(2025, 3, 31),
        project_title="Efficientamento della scuola primaria Carducci",
        applicant="Comune di Empoli",
        comune="Empoli",
        summary="Riqualificazione energetica con cappotto, infissi e pompe di calore.",
        generated=date(2025, 1, 15),
        provider="extractive",
        eligibility=verdict,
        sections=sections,
        past_projects=[
            PastProject(
                title="Scuola media Vanghetti: efficientamento",
                comune="Empoli",
                programme="POR FESR 2014-2020",
                amount=850_000.0,
                status="concluso",
                source=3,
            ),
            PastProject(title="Palestra comunale", comune="Vinci", status="in corso"),
        ],
        budget=budget,
        indicators=[
            IndicatorRow(
                name="RCO19 Edifici pubblici con prestazione migliorata", unit="m²", target="2.400"
            ),
            IndicatorRow(
                name="RCR26 Consumo annuo di energia primaria", unit="MWh/anno", target="310"
            ),
        ],
        sources=[
            SourceRef(
                number=1,
                document="Avviso FESR Azione 2.1.1",
                locator="art. 5, p. 4",
                quote="Sono ammissibili interventi di efficientamento energetico",
            ),
            SourceRef(
                number=2,
                document="Regolamento (UE) 2021/1060",
                locator="art. 9",
                quote="Gli obiettivi dei fondi sono perseguiti in linea con il principio DNSH",
            ),
            SourceRef(
                number=3,
                document="Regolamento (UE) 2021/1060",
                locator="art. 65",
                quote="entro cinque anni dal pagamento finale al beneficiario",
            ),
        ],
    )


@pytest.fixture
def docx_path(skeleton: Skeleton, tmp_path: Path) -> Path:
    return render_docx(skeleton, tmp_path / "out" / "proposta.docx")


def header_of(table) -> list[str]:
    return [cell.text for cell in table.rows[0].cells]


# -- formatting ---------------------------------------------------------------------------
def test_italian_numbers():
    assert euro(1_234_567.89) == "1.234.567,89 €"
    assert euro(0) == "0,00 €"
    assert percent(80.0) == "80%"
    assert percent(14.95) == "14,95%"


# -- Word ---------------------------------------------------------------------------------
def test_docx_headings_and_properties(docx_path: Path, skeleton: Skeleton):
    doc = Document(str(docx_path))
    styled = [(p.style.name, p.text) for p in doc.paragraphs]
    assert ("Title", skeleton.project_title) in styled
    assert [t for s, t in styled if s == "Heading 1"] == HEADING_1
    assert [t for s, t in styled if s == "Heading 2"] == SECTION_TITLES
    assert doc.core_properties.author == "euroassist"
    assert skeleton.project_title in doc.core_properties.title
    text = "\n".join(t for _, t in styled)
    for expected in (CALL_TITLE, "31/03/2025", "15/01/2025", "Comune di Empoli", "extractive"):
        assert expected in text
    assert "Bozza generata da euroassist: da verificare" in text
    assert "Limite: max 1.500 caratteri spazi inclusi" in text
    assert "Regole citate: [1], [3]" in text and "Regole citate: [2]" in text
    assert "riducendo i consumi del 40% [1]." in text
    figures = "Cifre da verificare (assenti da fonti, bando e progetto): 40"
    assert [t for t in text.splitlines() if t.startswith("Cifre da verificare")] == [figures]


def test_docx_tables(docx_path: Path):
    doc = Document(str(docx_path))
    tables = {tuple(header_of(t)): t for t in doc.tables}
    for header in (ELIGIBILITY_HEADER, BUDGET_HEADER, PAST_HEADER, INDICATORS_HEADER):
        assert tuple(header) in tables
    for table in doc.tables:
        assert table.style.name == "Table Grid"
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeats on each page
    marks = [row.cells[1].text for row in tables[tuple(ELIGIBILITY_HEADER)].rows[1:]]
    assert marks == ["✓ sì", "✓ sì", "? da verificare", "✗ no"]
    budget = [[c.text for c in row.cells] for row in tables[tuple(BUDGET_HEADER)].rows]
    assert budget[2] == ["Spese tecniche", "184.567,89 €", "14,95%", "max 10%", "✗ no"]
    assert budget[3][4] == "—"  # no limit, nothing to respect
    assert budget[-1][:3] == ["Totale", "1.234.567,89 €", "100%"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Contributo richiesto: 987.654,31 €" in text
    assert "Tasso di contributo: 80%" in text


def test_docx_footer_has_page_fields(docx_path: Path):
    doc = Document(str(docx_path))
    footer = doc.sections[0].footer._element
    instructions = [i.text.split()[0] for i in footer.iter(qn("w:instrText"))]
    simple = [f.get(qn("w:instr")).split()[0] for f in footer.iter(qn("w:fldSimple"))]
    assert "PAGE" in instructions + simple
    assert "NUMPAGES" in instructions + simple
    kinds = [c.get(qn("w:fldCharType")) for c in footer.iter(qn("w:fldChar"))]
    assert kinds == ["begin", "separate", "end"] * 2


def test_docx_sources_numbered(docx_path: Path):
    doc = Document(str(docx_path))
    paragraphs = [p.text for p in doc.paragraphs]
    sources = [p for p in paragraphs[paragraphs.index("Fonti") + 1 :] if p]
    assert sources == [
        "[1] Avviso FESR Azione 2.1.1 — art. 5, p. 4: «Sono ammissibili interventi di efficientamento energetico»",
        "[2] Regolamento (UE) 2021/1060 — art. 9: «Gli obiettivi dei fondi sono perseguiti in linea con il principio DNSH»",
        "[3] Regolamento (UE) 2021/1060 — art. 65: «entro cinque anni dal pagamento finale al beneficiario»",
    ]


def test_docx_survives_control_characters(skeleton: Skeleton, tmp_path: Path):
    skeleton.sections[0].draft = "testo\x0b con\x00 caratteri di controllo [1]"
    doc = Document(str(render_docx(skeleton, tmp_path / "c.docx")))
    assert any(p.text == "testo con caratteri di controllo [1]" for p in doc.paragraphs)


def test_docx_empty_skeleton(skeleton: Skeleton, tmp_path: Path):
    empty = skeleton.model_copy(
        update={"sections": [], "past_projects": [], "indicators": [], "sources": []}
    )
    doc = Document(str(render_docx(empty, tmp_path / "e.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Nessun progetto simile trovato." in text and "Nessuna fonte citata." in text


# -- LibreOffice --------------------------------------------------------------------------
def test_docx_converts_with_libreoffice(docx_path: Path, tmp_path: Path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is not installed: run scripts/system-deps.sh")
    outdir = tmp_path / "pdf"
    profile = (tmp_path / "lo-profile").as_uri()  # a profile of its own: parallel runs clash
    command = [soffice, f"-env:UserInstallation={profile}", "--headless"]
    command += ["--convert-to", "pdf", "--outdir", str(outdir), str(docx_path)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT)
    print(f"soffice conversion: {time.monotonic() - start:.1f} s")
    pdf = outdir / "proposta.pdf"
    assert done.returncode == 0 and pdf.exists(), done.stdout + done.stderr
    reader = PdfReader(str(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert " ".join(CALL_TITLE.split()) in flat
    assert SECTION_TITLES[1] in flat
    assert "1.234.567,89 €" in flat
    assert "[1]" in flat
    pages = len(reader.pages)
    assert pages >= 2
    assert f"Pagina 1 di {pages}" in flat
    assert f"Pagina {pages} di {pages}" in flat  # the field counts, not the cached "1"


# -- Markdown -----------------------------------------------------------------------------
def test_markdown(skeleton: Skeleton):
    md = render_markdown(skeleton)
    lines = md.splitlines()
    assert lines[0] == f"# {skeleton.project_title}"
    assert [line[3:] for line in lines if line.startswith("## ")] == HEADING_1
    assert [line[4:] for line in lines if line.startswith("### ")] == SECTION_TITLES
    for header in (ELIGIBILITY_HEADER, BUDGET_HEADER, PAST_HEADER, INDICATORS_HEADER):
        assert "| " + " | ".join(header) + " |" in lines
    assert "indicare altri finanziamenti \\| PNRR o conto termico" in md  # the pipe escaped
    assert "| Spese tecniche | 184.567,89 € | 14,95% | max 10% | ✗ no |" in lines
    assert "- **Scadenza:** 31/03/2025" in lines
    assert "- **Regole citate:** [1], [3]" in lines
    figures = [line for line in lines if "Cifre da verificare" in line]
    assert figures == ["- **Cifre da verificare (assenti da fonti, bando e progetto):** 40"]
    assert "Bozza generata da euroassist: da verificare" in md
    sources = lines[lines.index("## Fonti") + 2 :]
    assert [s[:5] for s in sources] == ["- [1]", "- [2]", "- [3]"]
    assert sources[2].endswith("art. 65: «entro cinque anni dal pagamento finale al beneficiario»")
    assert md.endswith("»\n")


def test_markdown_table_rows_have_equal_columns(skeleton: Skeleton):
    md = render_markdown(skeleton)
    for block in md.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            counts = {line.replace("\\|", "").count("|") for line in rows}
            assert len(counts) == 1, block
