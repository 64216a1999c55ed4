"""Figures an answer states that no passage holds."""

from __future__ import annotations

import pytest

from assistant.answers.figures import FigureCheck, figures

FRENCH = (
    "1. L'État membre rembourse la contribution si, dans les cinq ans à compter du paiement "
    "final, l'opération subit un changement. Le taux n'excède pas 85 % ; plafond 1 000 000 EUR."
)
ITALIAN = "Il contributo copre fino all'80% e non supera 150.000,00 euro (art.10 comma 4)."


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("1.000.000,00 €", "1000000"),
        ("1,000,000", "1000000"),
        ("1 000 000", "1000000"),
        ("24,5", "24.5"),
        ("24.5°C", "24.5"),
        ("2.500,50", "2500.5"),
        ("1,234.5", "1234.5"),
        ("85 %", "85"),
        ("05", "5"),
    ],
)
def test_one_number_written_in_the_ways_of_three_languages(written, number):
    assert list(figures(written)) == [number]


def test_neighbouring_numbers_stay_apart():
    assert list(figures("dal 2021, 2022 e 2023")) == ["2021", "2022", "2023"]
    assert list(figures("Reg. 2021/1060, art.10 comma 4")) == ["2021", "1060", "10", "4"]


def test_figures_the_passages_hold_in_another_spelling_are_verified():
    check = FigureCheck([FRENCH, ITALIAN], question="Per quanti anni?")
    sentence = (
        "Per 5 anni dal pagamento finale [1]; tasso fino all'85%, contributo fino all'80% e "
        "a 150.000 euro, massimale di 1.000.000,00 euro (art. 10, comma 4) [2]."
    )
    assert check.missing(sentence) == []
    assert not check.invented(sentence)


def test_a_made_up_figure_is_named_as_written():
    check = FigureCheck([FRENCH])
    sentence = "Il tasso è dell'85% per le regioni meno sviluppate e del 30% per le altre [1]."
    assert check.missing(sentence) == ["30"]
    assert check.invented(sentence)  # one of two figures


def test_figures_of_the_question_list_numbers_and_markers_are_not_claims():
    check = FigureCheck([FRENCH], question="Un Comune di 12.000 abitanti può partecipare?")
    answer = "Sì, un Comune di 12.000 abitanti [3]:\n1. rimborsa\n2. entro cinque anni [1]."
    assert check.missing(answer) == []


def test_a_mostly_right_sentence_is_not_invented():
    check = FigureCheck(["Tassi: 85 %, 70 %, 50 %."])
    sentence = "I tassi sono 85%, 70%, 50%, 40% e 30% [1]."
    assert check.missing(sentence) == ["40", "30"]
    assert not check.invented(sentence)
