"""The eligibility engine on the sample call (corpus/calls) and on calls the tests write."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.calls.matching import CallMatcher, combinations
from assistant.calls.project import ProjectProfile
from assistant.calls.registry import CallRegistry
from assistant.calls.schema import Call
from assistant.cli import app
from assistant.eligibility.engine import EligibilityEngine

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CALL = REPO / "corpus" / "calls" / "avviso-facilitazione-digitale-ambito-lecce.yaml"
TODAY = date(2026, 12, 15)  # the sample call is open


def arnesano(**changes) -> ProjectProfile:
    data = {
        "title": "Punto di facilitazione digitale di Arnesano",
        "applicant": {
            "name": "Comune di Arnesano",
            "type": "comune",
            "comune": "Arnesano",
            "province": "Lecce",
            "region": "Puglia",
            "population": 4100,
        },
        "site": {"region": "Puglia", "ownership": "comunale"},
        "themes": ["digitale", "anziani"],
        "activities": ["Assistenza su SPID e CIE"],
        "cost_lines": [
            {"category": "personale", "amount": 38000},
            {"category": "servizi", "amount": 6000},
            {"category": "attrezzature", "amount": 8000},
            {"category": "comunicazione", "amount": 1000},
            {"category": "indiretti", "amount": 3710},
        ],
        "requested_contribution": 56710,
        "start_date": "2027-09-01",
        "end_date": "2029-08-31",
        "vat_recoverable": False,
        "infrastructure": False,
        "dnsh_assessed": True,
        "durability_commitment": True,
        "visibility_plan": True,
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return ProjectProfile.model_validate(data)


@pytest.fixture(scope="module")
def call() -> Call:
    return Call.load(SAMPLE_CALL)


def check(call: Call, project: ProjectProfile, today: date = TODAY):
    return EligibilityEngine(today=today).check(call, project)


def statuses(verdict) -> dict[str, str]:
    return {r.id: r.status for r in verdict.results}


def test_a_complete_project_within_every_rule_is_eligible(call):
    verdict = check(call, arnesano())
    assert verdict.verdict == "eligible", [
        (r.criterion, r.detail) for r in verdict.results if r.status != "pass"
    ]
    # every criterion quotes its rule and says where it is written
    assert all(r.rule and r.where for r in verdict.results)
    ids = statuses(verdict)
    for regulation_check in ("cofinancing", "vat", "double_funding", "visibility"):
        assert ids[regulation_check] == "pass"


def test_each_failing_rule_is_named_with_its_quote(call):
    verdict = check(
        call,
        arnesano(
            cost_lines=[
                {"category": "personale", "amount": 20000},
                {"category": "attrezzature", "amount": 20000},
            ],
            requested_contribution=40000,
        ),
    )
    assert verdict.verdict == "not_eligible"
    failed = {r.id: r for r in verdict.results if r.status == "fail"}
    assert set(failed) == {"category_personale", "category_attrezzature"}
    assert "55%" in failed["category_personale"].rule
    assert "50.0% dei costi diretti" in failed["category_attrezzature"].detail
    assert "B.2.3" in failed["category_attrezzature"].where


def test_the_contribution_cap_depends_on_the_population(call):
    assert call.funding.cap_for(4100) == 60000
    assert call.funding.cap_for(5001) == 120000
    assert call.funding.cap_for(93500) == 450000
    assert call.funding.cap_for(400000) == 550000
    assert call.funding.cap_for(None) is None
    over = check(call, arnesano(requested_contribution=61000))
    assert statuses(over)["contribution"] == "fail"
    unknown = check(call, arnesano(applicant={"population": None}))
    assert statuses(unknown)["contribution"] == "needs_information"


@pytest.mark.parametrize(
    ("change", "criterion"),
    [
        ({"applicant": {"type": "provincia"}}, "applicant"),
        ({"applicant": {"region": "Lombardia"}}, "applicant"),
        ({"site": {"region": "Lombardia"}}, "site_region"),
        ({"start_date": "2027-11-01"}, "start_date"),
        ({"end_date": "2030-03-31"}, "end_date"),
        (
            {
                "other_funding": [
                    {"source": "PNRR M1C1 1.7.2", "amount": 8000, "covers": ["attrezzature"]}
                ]
            },
            "double_funding",
        ),
        ({"cost_lines": [{"category": "lavori", "amount": 50000}]}, "category_lavori"),
    ],
)
def test_one_broken_rule_makes_the_project_not_eligible(call, change, criterion):
    verdict = check(call, arnesano(**change))
    assert verdict.verdict == "not_eligible"
    assert statuses(verdict).get(criterion) == "fail", statuses(verdict)


def test_a_closed_call_fails_on_its_deadline(call):
    verdict = check(call, arnesano(), today=date(2027, 3, 1))
    assert statuses(verdict)["deadline"] == "fail"


def test_missing_facts_give_needs_information_not_a_guess(call):
    verdict = check(call, arnesano(end_date=None, dnsh_assessed=None))
    assert verdict.verdict == "needs_information"
    assert not verdict.failed
    assert {"Termine dei lavori", "Principi orizzontali e DNSH"} <= set(verdict.missing)


def test_registry_reports_a_broken_call_file_and_keeps_the_others(tmp_path):
    (tmp_path / "good.yaml").write_text(SAMPLE_CALL.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    (tmp_path / "wrong.yaml").write_text("id: y\ntitle: Y\nfunding: {max_rate: lots}\n")
    calls, problems = CallRegistry([tmp_path]).all()
    assert [c.id for c in calls] == ["avviso-facilitazione-digitale-ambito-lecce"]
    assert len(problems) == 2
    assert any("broken.yaml" in p and "YAML" in p for p in problems)
    assert any("wrong.yaml" in p and "not a valid call" in p for p in problems)


def test_call_yaml_round_trips(call):
    assert Call.model_validate(yaml.safe_load(call.dump())) == call


def test_cli_eligibility_json_and_table(tmp_path, monkeypatch):
    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EUROASSIST_CALLS_DIR", str(SAMPLE_CALL.parent))
    project = tmp_path / "progetto.yaml"
    project.write_text(
        yaml.safe_dump(arnesano(requested_contribution=70000).model_dump(mode="json")),
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["eligibility", "--call", "avviso-facilitazione-digitale-ambito-lecce"]
    args += ["--project", str(project), "--as-of", "2026-12-15"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["verdict"] == "not_eligible"
    assert verdict["failed"] == ["Contributo richiesto"]
    table = runner.invoke(app, args)
    assert "NON AMMISSIBILE" in table.stdout and "Contributo richiesto" in table.stdout


def test_cli_eligibility_bad_project_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EUROASSIST_DATA_DIR", str(tmp_path / "data"))
    bad = tmp_path / "progetto.yaml"
    bad.write_text("title: X\napplicant: {name: Comune, type: comune, abitanti: 3}\n")
    result = CliRunner().invoke(
        app, ["eligibility", "--call", str(SAMPLE_CALL), "--project", str(bad)]
    )
    assert result.exit_code == 2
    assert "progetto.yaml" in result.stderr and "not a valid project profile" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def other_call(call: Call) -> Call:
    """An FESR call for the same comuni that pays for equipment and works, not staff."""
    data = call.model_dump()
    data.update(
        id="fesr-attrezzature-digitali",
        title="Dotazioni digitali per i servizi al cittadino (FESR)",
        fund="FESR",
        programme="PR Puglia FESR 2021-2027 (asse digitale)",
        themes=["digitale", "attrezzature", "servizi pubblici digitali"],
        cost_categories=[
            {"id": "attrezzature", "name": "Attrezzature"},
            {"id": "lavori", "name": "Lavori"},
        ],
        costs={"min_total": 5000},
        funding={"max_rate": 100, "max_contribution": 100000},
        sections=[],
        scoring=[],
    )
    return Call.model_validate(data)


def test_matching_ranks_eligible_calls_first_and_splits_costs(call):
    fesr = other_call(call)
    closed = call.model_copy(
        update={
            "id": "chiuso",
            "dates": call.dates.model_copy(update={"closing": date(2026, 1, 31)}),
        }
    )
    report = CallMatcher(EligibilityEngine(today=TODAY)).match([closed, fesr, call], arnesano())
    order = [m.call_id for m in report.matches]
    assert order[-1] == "chiuso"
    assert report.matches[-1].verdict == "not_eligible"
    assert any("bando si è chiuso" in b for b in report.matches[-1].blockers)
    assert report.matches[0].call_id == call.id and report.matches[0].verdict == "eligible"
    # the FESR call does not list staff costs: that must be checked before applying
    fesr_match = next(m for m in report.matches if m.call_id == fesr.id)
    assert fesr_match.verdict == "needs_information"
    assert order.index(fesr.id) == 1
    assert "Voci di costo" in fesr_match.missing


def test_combination_of_two_funds_never_pays_a_cost_twice(call):
    fesr = other_call(call)
    idea = arnesano()
    idea.cost_lines.append(idea.cost_lines[0].model_copy(update={"category": "lavori"}))
    combos = combinations([call, fesr], idea)
    assert len(combos) == 1
    split = combos[0].split
    assert "lavori" in split[fesr.id] and "lavori" not in split[call.id]
    assert "personale" in split[call.id] and "personale" not in split[fesr.id]
    # both pay for equipment: it goes to one of them only
    assert "attrezzature" not in split[call.id] + split[fesr.id]
    assert "attrezzature" in combos[0].note and "art. 63, par. 9" in combos[0].note


def test_no_combination_within_one_programme_or_when_cumulation_is_excluded(call):
    idea = arnesano()
    idea.cost_lines.append(idea.cost_lines[0].model_copy(update={"category": "lavori"}))
    same = other_call(call).model_copy(update={"fund": call.fund, "programme": call.programme})
    assert combinations([call, same], idea) == []
    excluded = other_call(call).model_copy(update={"cumulation_allowed": False})
    assert combinations([call, excluded], idea) == []


BENCH = REPO / "bench" / "eligibility"


@pytest.mark.parametrize(
    "case",
    yaml.safe_load((BENCH / "cases.yaml").read_text(encoding="utf-8")),
    ids=lambda c: c["id"],
)
def test_the_dev_eligibility_cases_get_their_verdict(case):
    """The call YAMLs and profiles written from the dev questions (bench/eligibility)."""
    verdict = check(
        Call.load(BENCH / case["call"]),
        ProjectProfile.load(BENCH / case["project"]),
        today=date(2025, 6, 1),
    )
    assert verdict.verdict == case["verdict"]
    assert statuses(verdict)[case["criterion"]] == "fail"
