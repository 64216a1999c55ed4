"""Batch proposal skeletons from a CSV of ideas: Word and Markdown, resumable, per-row errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from typer.testing import CliRunner

from assistant.calls.schema import Call
from assistant.cli import app
from assistant.drafting.limits import fits
from assistant.skeletons import batch as batch_module
from assistant.skeletons.batch import MANIFEST, SkeletonBatch
from assistant.skeletons.builder import SkeletonBuilder
from assistant.skeletons.ideas import IdeaError, load_ideas

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CALL = REPO / "corpus" / "calls" / "avviso-facilitazione-digitale-ambito-lecce.yaml"
DEMO_IDEAS = REPO / "corpus" / "ideas" / "idee-ambito-lecce.csv"
TODAY = date(2026, 12, 15)


@pytest.fixture(scope="module")
def call() -> Call:
    return Call.load(SAMPLE_CALL)


@pytest.fixture(scope="module")
def ideas():
    found, problems = load_ideas(DEMO_IDEAS)
    assert problems == []
    return found


def test_the_demo_has_one_idea_per_comune_of_the_ambito(ideas):
    comuni = {i.applicant.comune for i in ideas}
    assert comuni == {
        "Lecce",
        "Arnesano",
        "Cavallino",
        "Lequile",
        "Lizzanello",
        "Monteroni di Lecce",
        "San Cesario di Lecce",
        "San Donato di Lecce",
        "San Pietro in Lama",
        "Surbo",
    }
    surbo = next(i for i in ideas if i.applicant.comune == "Surbo")
    assert surbo.other_funding[0].covers == ["attrezzature"]
    assert surbo.cost_of("personale") == 72000


def test_bad_rows_are_reported_with_file_and_row_and_the_rest_loads(tmp_path):
    rows = DEMO_IDEAS.read_text(encoding="utf-8").splitlines()
    header, good = rows[0], rows[1]
    bad_population = good.replace(",93500,", ",novantamila,")
    bad_date = good.replace("2027-09-01", "primo settembre")
    path = tmp_path / "idee.csv"
    path.write_text("\n".join([header, good, bad_population, bad_date]) + "\n", encoding="utf-8")
    found, problems = load_ideas(path)
    assert len(found) == 1
    assert len(problems) == 2
    assert f"{path}, row 3: popolazione" in problems[0]
    assert f"{path}, row 4: inizio" in problems[1]
    no_title = tmp_path / "senza-titolo.csv"
    no_title.write_text("comune;importo\nLecce;5\n", encoding="utf-8")
    with pytest.raises(IdeaError, match="senza-titolo.csv: no 'titolo' column"):
        load_ideas(no_title)


def test_a_skeleton_has_every_section_within_its_limit_and_a_budget_within_caps(
    sample_indexed, call, ideas
):
    cavallino = next(i for i in ideas if i.applicant.comune == "Cavallino")
    skeleton = SkeletonBuilder(sample_indexed, today=TODAY).build(call, cavallino)
    assert [s.title for s in skeleton.sections] == [s.title for s in call.sections]
    by_id = {s.id: s for s in call.sections}
    numbers = {s.number for s in skeleton.sources}
    for section in skeleton.sections:
        assert section.draft and fits(section.draft, by_id[section.id].limit), section.title
        assert set(section.rules) <= numbers
    assert skeleton.eligibility.verdict == "eligible"
    # Cavallino asks 120.000 € of 124.655 €: the cap for 12.500 inhabitants is 120.000 €
    assert skeleton.budget.total == pytest.approx(124655)
    assert skeleton.budget.contribution == pytest.approx(120000)
    assert skeleton.budget.cofinancing == pytest.approx(4655)
    assert all(line.within_limit for line in skeleton.budget.lines)
    assert skeleton.past_projects and all(p.source in numbers for p in skeleton.past_projects)
    assert len(skeleton.indicators) == len(call.indicators)


def test_a_drafted_figure_no_source_holds_is_listed_in_the_skeleton(sample_indexed, call, ideas):
    """The draft's made-up figure reaches the skeleton's section, for the Word and Markdown
    files to name it. (A scripted model: what is tested is where the figure goes.)"""
    from test_grounded import ScriptedChat

    cavallino = next(i for i in ideas if i.applicant.comune == "Cavallino")
    chat = ScriptedChat(["Il Punto raggiungerà 1.250 cittadini ogni anno [1]."])
    builder = SkeletonBuilder(sample_indexed, chat, today=TODAY, draft_sections={"6"})
    sections = {s.id: s for s in builder.build(call, cavallino).sections}
    assert "1.250 cittadini" in sections["6"].draft
    assert sections["6"].figures_to_check == ["1.250"]
    assert all(not s.figures_to_check for i, s in sections.items() if i != "6")


def run_batch(assistant, call, ideas, out: Path):
    return SkeletonBatch(assistant, today=TODAY, draft_sections={"1", "10"}).run(call, ideas, out)


def test_batch_writes_word_and_markdown_and_resumes(sample_indexed, call, ideas, tmp_path):
    chosen = [i for i in ideas if i.applicant.comune in ("Arnesano", "Lizzanello", "Surbo")]
    out = tmp_path / "bozze"
    first = run_batch(sample_indexed, call, chosen, out)
    assert [r.status for r in first] == ["written"] * 3
    assert [r.verdict for r in first] == ["eligible", "not_eligible", "not_eligible"]
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest) == ["01-arnesano", "02-lizzanello", "03-surbo"]
    document = Document(str(out / "03-surbo.docx"))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Sintesi del progetto" in headings and "Piano finanziario" in headings
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "Nessun doppio finanziamento" in cells and "PNRR M1C1 1.7.2" in cells
    assert "Surbo Connessa" in text
    markdown = (out / "02-lizzanello.md").read_text(encoding="utf-8")
    assert "C. Attrezzature e dotazioni informatiche" in markdown and "✗" in markdown

    # nothing changed: nothing rebuilt
    assert [r.status for r in run_batch(sample_indexed, call, chosen, out)] == ["skipped"] * 3
    # a lost file and a changed idea are rebuilt; the others are kept
    (out / "01-arnesano.md").unlink()
    chosen[2] = chosen[2].model_copy(update={"summary": chosen[2].summary + " Nuova sede."})
    again = run_batch(sample_indexed, call, chosen, out)
    assert [r.status for r in again] == ["written", "skipped", "written"]


def test_an_interrupted_batch_leaves_no_half_file_and_completes_on_rerun(
    sample_indexed, call, ideas, tmp_path, monkeypatch
):
    chosen = ideas[:3]
    out = tmp_path / "bozze"
    real = batch_module.render_markdown
    calls = {"n": 0}

    def crash_on_the_second(skeleton):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(skeleton)

    monkeypatch.setattr(batch_module, "render_markdown", crash_on_the_second)
    first = run_batch(sample_indexed, call, chosen, out)
    assert [r.status for r in first] == ["written", "failed", "written"]
    assert first[1].error == "disk full"
    assert not (out / f"{first[1].slug}.md").exists()
    assert not list(out.glob(".*.part"))
    monkeypatch.setattr(batch_module, "render_markdown", real)
    second = run_batch(sample_indexed, call, chosen, out)
    assert [r.status for r in second] == ["skipped", "written", "skipped"]


def test_cli_skeletons_reports_bad_rows_and_writes_the_rest(sample_indexed, tmp_path, monkeypatch):
    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(sample_indexed.settings.data_dir))
    monkeypatch.setenv("EUROASSIST_CALLS_DIR", str(SAMPLE_CALL.parent))
    monkeypatch.setenv("EUROASSIST_LLM_PROVIDER", "extractive")
    rows = DEMO_IDEAS.read_text(encoding="utf-8").splitlines()
    ideas = tmp_path / "idee.csv"
    ideas.write_text("\n".join([rows[0], rows[2], rows[3].replace(",12500,", ",molti,")]) + "\n")
    out = tmp_path / "out"
    args = ["skeletons", "--call", "avviso-facilitazione-digitale-ambito-lecce"]
    args += ["--projects", str(ideas), "--out", str(out), "--sections", "1"]
    args += ["--as-of", "2026-12-15"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "idee.csv, row 3: popolazione" in result.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "01-arnesano.docx",
        "01-arnesano.md",
        MANIFEST,
    ]
    assert "1 scritti" in result.stdout


def test_a_real_skeleton_converts_to_pdf_with_libreoffice(sample_indexed, call, ideas, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is not installed: run scripts/system-deps.sh"
    lecce = [i for i in ideas if i.applicant.comune == "Lecce"]
    results = run_batch(sample_indexed, call, lecce, tmp_path)
    docx = tmp_path / results[0].files[0]
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
        + ["--outdir", str(tmp_path), str(docx)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    reader = PdfReader(str(docx.with_suffix(".pdf")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Lecce Digitale Insieme" in text
    assert "Verifica di ammissibilità" in text and "Piano finanziario" in text
    assert "383.060,00 €" in text
    assert f"Pagina 1 di {len(reader.pages)}" in text
