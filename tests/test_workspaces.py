"""Workspaces: a reader scoped to some workspaces never gets a chunk of another, whatever
path the question takes (retrieve, ask, grounded answer, drafting, rule quotes, documents)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core import EuroAssist
from assistant.eligibility.regulation import RULES, RuleTexts
from assistant.schema import SearchFilters
from assistant.settings import Settings

SHARED = """# Regolamento (UE) 2021/1060 — nota di prova

#### Articolo 65

##### Stabilità delle operazioni

1. Le operazioni che comprendono investimenti in infrastrutture restano stabili per cinque anni dal pagamento finale.
"""
LECCE = """# Nota interna del Comune di Lecce

Il Comune di Lecce prevede la biblioteca Bernardini come sede del Punto di facilitazione digitale, con apertura serale il giovedì.
"""
SURBO = """# Nota interna riservata del Comune di Surbo

Il Comune di Surbo prevede la biblioteca di Giorgilorio come sede del Punto di facilitazione digitale, con apertura serale il giovedì.

#### Articolo 65

1. Copia riservata: le operazioni di Surbo restano stabili per cinque anni dal pagamento finale.
"""
QUESTION = "Quale biblioteca ospita il Punto di facilitazione digitale con apertura serale?"


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> EuroAssist:
    root = tmp_path_factory.mktemp("workspaces")
    for name, text in (("shared", SHARED), ("lecce", LECCE), ("surbo", SURBO)):
        folder = root / name
        folder.mkdir()
        (folder / f"nota-{name}.md").write_text(text, encoding="utf-8")
    assistant = EuroAssist(Settings(data_dir=root / "data", llm_provider="extractive"))
    for name in ("shared", "lecce", "surbo"):
        results = assistant.ingest([root / name], workspace=name)
        assert [r.status for r in results] == ["added"]
    return assistant


def workspaces_of(hits) -> set[str]:
    return {h.metadata.get("workspace", "?") for h in hits}


def test_the_unscoped_operator_sees_every_workspace(office):
    assert workspaces_of(office.retrieve(QUESTION, k=10)) >= {"lecce", "surbo"}


def test_a_lecce_reader_never_gets_surbo_chunks(office):
    lecce = office.for_workspaces({"shared", "lecce"})
    hits = lecce.retrieve(QUESTION, k=10)
    assert hits and workspaces_of(hits) <= {"shared", "lecce"}
    assert not any("Surbo" in h.text for h in hits)
    answer = lecce.ask(QUESTION)
    assert all(p.hit.metadata.get("workspace") != "surbo" for p in answer.passages)
    events = list(lecce.answer_stream("Quale biblioteca di Giorgilorio ospita il Punto?"))
    final = events[-1].answer
    assert all("Surbo" not in p.hit.text for p in final.passages)
    assert {d.metadata.get("workspace") for d in lecce.documents()} == {"shared", "lecce"}


def test_asking_for_another_workspace_by_filter_gets_nothing(office):
    lecce = office.for_workspaces({"shared", "lecce"})
    assert lecce.retrieve(QUESTION, k=10, filters=SearchFilters(workspace=["surbo"])) == []
    assert lecce.ask(QUESTION, filters=SearchFilters(workspace=["surbo"])).passages == []
    named = lecce.retrieve("nota interna riservata del Comune di Surbo Giorgilorio", k=10)
    assert "surbo" not in workspaces_of(named)


def test_rule_quotes_come_only_from_readable_workspaces(office):
    surbo_only = RuleTexts(office.index.catalog, {"surbo"})
    lecce = RuleTexts(office.index.catalog, {"shared", "lecce"})
    quote, where = lecce.quote(RULES["durability"])
    assert "Surbo" not in quote and "nota-shared.md" in where
    nothing = RuleTexts(office.index.catalog, set())
    assert nothing.quote(RULES["durability"])[1].endswith("(sintesi)")
    # the shared regulation is not readable from Surbo alone: the paraphrase, not its text
    assert surbo_only.quote(RULES["durability"])[1].endswith("(sintesi)")


def test_drafting_sources_are_scoped(office):
    from assistant.calls.project import ProjectProfile
    from assistant.calls.schema import Call, Section
    from assistant.drafting.section import SectionDrafter

    call = Call(id="c", title="Bando di prova", sections=[Section(id="1", title="Sedi")])
    project = ProjectProfile.model_validate(
        {
            "title": "Punto di facilitazione digitale in biblioteca con apertura serale",
            "applicant": {"name": "Comune di Lecce", "type": "comune"},
        }
    )
    lecce = office.for_workspaces({"shared", "lecce"})
    hits = SectionDrafter(lecce).sources(call, call.sections[0], project)
    assert "surbo" not in workspaces_of(hits)


def test_scoping_never_widens(office):
    lecce = office.for_workspaces({"lecce"})
    assert lecce.scoped(None) == SearchFilters(workspace=["lecce"])
    narrowed = lecce.scoped(SearchFilters(workspace=["lecce", "surbo"], doc_type=["other"]))
    assert narrowed.workspace == ["lecce"] and narrowed.doc_type == ["other"]
    assert Path(lecce.settings.data_dir) == Path(office.settings.data_dir)


def test_cli_with_a_user_reads_and_writes_only_their_workspaces(office, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.office import OfficeStore
    from assistant.settings import get_settings

    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(office.settings.data_dir))
    monkeypatch.setenv("EUROASSIST_LLM_PROVIDER", "extractive")
    get_settings.cache_clear()
    store = OfficeStore(office.settings.database)
    store.ensure_default_workspaces()
    if store.get_user("mario") is None:
        store.add_user("mario", "lecce-password-1", "officer")
        store.grant("mario", "lecce", can_write=True)
    runner = CliRunner()
    env = {"EUROASSIST_PASSWORD": "lecce-password-1"}
    args = ["--user", "mario", "retrieve", "--json", "-k", "10", QUESTION]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    sources = {Path(h["source"]).name for h in json.loads(result.stdout)}
    assert "nota-lecce.md" in sources and "nota-surbo.md" not in sources
    asked = runner.invoke(app, ["--user", "mario", "ask", "--json", QUESTION], env=env)
    assert "nota-surbo.md" not in asked.stdout and "Giorgilorio" not in asked.stdout
    note = tmp_path / "nota.md"
    note.write_text("# Nota\n\nTesto di prova.", encoding="utf-8")
    refused = runner.invoke(
        app, ["--user", "mario", "ingest", "--workspace", "surbo", str(note)], env=env
    )
    assert refused.exit_code == 2 and "cannot write workspace surbo" in refused.stderr
    wrong = runner.invoke(
        app, ["--user", "mario", "retrieve", QUESTION], env={"EUROASSIST_PASSWORD": "x"}
    )
    assert wrong.exit_code == 2 and "wrong password" in wrong.stderr
    # without --user: the local operator, everything
    everything = runner.invoke(app, ["retrieve", "--json", "-k", "10", QUESTION])
    assert "nota-surbo.md" in everything.stdout
    get_settings.cache_clear()
