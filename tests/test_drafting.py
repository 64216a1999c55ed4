"""Drafting a proposal section: limits counted as calls count them, cited sources."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call, Limit
from assistant.drafting.limits import count, describe, fit_to_limit, fits
from assistant.drafting.section import SectionDrafter, as_prose, find_section

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CALL = REPO / "corpus" / "calls" / "avviso-facilitazione-digitale-ambito-lecce.yaml"
WORDS = (
    "il comune attiva punti di facilitazione digitale per anziani e famiglie con percorsi".split()
)


def random_text(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 4)):
        sentences = []
        for _ in range(rng.randint(1, 6)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 40))]
            marker = f" [{rng.randint(1, 9)}]" if rng.random() < 0.6 else ""
            sentences.append(" ".join(words).capitalize() + marker + ".")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def test_units_are_counted_as_calls_count_them():
    text = "Due parole.\n\nTre parole qui."
    assert count(text, "characters") == len(text)
    assert count(text, "characters_no_spaces") == len("Dueparole.Treparolequi.")
    assert count(text, "words") == 5
    assert count("x" * 4500, "pages", chars_per_page=3000) == 1.5


@pytest.mark.parametrize("unit", ["characters", "characters_no_spaces", "words", "pages"])
def test_fitted_text_never_exceeds_the_limit_and_keeps_markers_whole(unit):
    rng = random.Random(unit)
    for _ in range(200):
        text = random_text(rng)
        maximum = rng.randint(1, 3) if unit == "pages" else rng.randint(5, 900)
        limit = Limit(max=maximum, unit=unit)
        fitted = fit_to_limit(text, limit, chars_per_page=300)
        assert fits(fitted, limit, chars_per_page=300)
        assert not re.search(r"\[\d*$|\[\d*[^\d\]]", fitted), fitted  # no half marker
        if fits(text, limit, chars_per_page=300):
            assert fitted == text.strip()
        else:
            # whole sentences are kept whenever the first sentence fits
            assert fitted.endswith((".", "…", "]")), fitted


def test_a_limit_exactly_reached_is_kept():
    text = "Una frase di prova [1]. Un'altra frase [2]."
    assert fit_to_limit(text, Limit(max=len(text))) == text
    assert fit_to_limit(text, Limit(max=len(text) - 1)) == "Una frase di prova [1]."
    assert describe(text, Limit(max=1500)) == f"{len(text)} / 1.500 caratteri spazi inclusi"


def test_model_output_becomes_prose():
    raw = (
        "### Destinatari [1]\n\n**Anziani**: il Punto li raggiunge a casa [1].\n"
        "- Percorsi brevi in biblioteca [2].\n- Percorsi brevi in biblioteca [2].\n"
    )
    prose = as_prose(raw)
    assert "#" not in prose and "**" not in prose and "- " not in prose
    assert prose.count("Percorsi brevi in biblioteca") == 1
    assert "[1]" in prose and "[2]" in prose


def test_sections_are_found_by_id_or_title():
    call = Call.load(SAMPLE_CALL)
    assert find_section(call, "6").title == "Destinatari e strategie di coinvolgimento"
    assert find_section(call, "sostenibilità").id == "12"
    with pytest.raises(ValueError, match="no single section"):
        find_section(call, "zzz")


def idea() -> ProjectProfile:
    return ProjectProfile.model_validate(
        {
            "title": "Punto di facilitazione digitale di Arnesano",
            "summary": "Un Punto nella biblioteca comunale con visite a domicilio per anziani soli.",
            "applicant": {
                "name": "Comune di Arnesano",
                "type": "comune",
                "comune": "Arnesano",
                "region": "Puglia",
                "population": 4100,
            },
            "themes": ["digitale", "anziani"],
            "activities": ["Assistenza su SPID e CIE", "Percorsi di gruppo per over 65"],
            "partners": [{"name": "Auser Arnesano", "type": "terzo_settore"}],
            "cost_lines": [
                {"category": "personale", "amount": 38000},
                {"category": "attrezzature", "amount": 8000},
            ],
            "requested_contribution": 46000,
        }
    )


def check_draft(draft, section) -> None:
    assert draft.within_limit and fits(draft.text, section.limit)
    numbers = {p.number for p in draft.passages}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", draft.text)}
    assert markers <= numbers, (markers, numbers)  # every marker resolves to a passage
    assert set(draft.cited) == markers


@pytest.mark.parametrize(("section_id", "language"), [("6", "it"), ("10", "it"), ("1", "en")])
def test_extractive_draft_is_grounded_and_within_the_limit(sample_indexed, section_id, language):
    call = Call.load(SAMPLE_CALL)
    section = find_section(call, section_id)
    draft = SectionDrafter(sample_indexed).draft(call, section, idea(), language)
    check_draft(draft, section)
    assert draft.provider == "extractive"
    assert "Arnesano" in draft.text
    assert draft.cited, draft.text
    heading = "Elementi del progetto" if language == "it" else "Project elements"
    assert draft.text.startswith(heading)
    if section_id == "10":  # the budget section gets the costs
        assert "38.000,00 €" in draft.text and "46.000,00 €" in draft.text
    cited_docs = {p.hit.source for p in draft.passages if p.number in draft.cited}
    assert any("facilitazione" in s or "regulations" in s for s in cited_docs), cited_docs


def test_a_short_limit_cuts_the_draft_at_a_sentence(sample_indexed):
    call = Call.load(SAMPLE_CALL)
    section = find_section(call, "14").model_copy(update={"limit": Limit(max=40, unit="words")})
    draft = SectionDrafter(sample_indexed).draft(call, section, idea())
    check_draft(draft, section)
    assert count(draft.text, "words") <= 40
    assert draft.length.endswith("/ 40 parole")


def test_a_drafted_figure_no_source_nor_the_project_holds_is_named(sample_indexed):
    """The project's costs and population are the user's figures; "1.250 cittadini" is the
    model's own and is named for checking. (A scripted model: the check is what is tested.)"""
    from test_grounded import ScriptedChat

    reply = (
        "Il Comune di Arnesano, 4.100 abitanti, chiede 46.000 euro per il Punto [1]. "
        "Il Punto raggiungerà 1.250 cittadini ogni anno [1]."
    )
    call = Call.load(SAMPLE_CALL)
    section = find_section(call, "6")
    draft = SectionDrafter(sample_indexed, ScriptedChat([reply])).draft(call, section, idea())
    assert draft.provider == "scripted" and "1.250 cittadini" in draft.text
    assert draft.unverified_figures == ["1.250"]
