"""Scoring of retrieval against verbatim gold evidence."""

from __future__ import annotations

from assistant.evaluation import EvalQuestion, covers, evaluate, normalise_words, same_source


def test_words_are_normalised_for_case_spacing_and_pdf_hyphenation():
    assert normalise_words("L’autorité  de GESTION\n applique des mesu-\nres") == [
        "l",
        "autorité",
        "de",
        "gestion",
        "applique",
        "des",
        "mesures",
    ]


def test_a_chunk_covers_evidence_when_half_its_trigrams_are_there():
    evidence = "le taux de cofinancement n'excède pas 85 % pour les régions moins développées"
    assert covers(
        "Article 112. Le taux de cofinancement n’excède pas: a) 85 % pour les régions "
        "moins développées;",
        evidence,
    )
    assert not covers("Le taux de cofinancement est fixé dans le programme.", evidence)
    assert not covers("", evidence)


def test_sources_match_by_path_suffix():
    assert same_source("/data/corpus-real/calls/bando.pdf", "calls/bando.pdf")
    assert not same_source("/data/corpus-real/calls/altro-bando.pdf", "calls/bando.pdf")
    assert not same_source("/data/x/mycalls/bando.pdf", "calls/bando.pdf")


def test_metrics_per_language():
    questions = [
        EvalQuestion(
            id="1", lang="it", question="a", source="x.md", evidence="uno due tre quattro"
        ),
        EvalQuestion(
            id="2", lang="it", question="b", source="x.md", evidence="cinque sei sette otto"
        ),
        EvalQuestion(id="3", lang="en", question="c", source="y.md", evidence="one two three four"),
    ]
    answers = {
        "a": [{"text": "uno due tre quattro", "source": "/c/x.md"}],
        "b": [{"text": "nulla", "source": "/c/x.md"}] * 3
        + [{"text": "cinque sei sette otto", "source": "/c/x.md"}],
        "c": [{"text": "one two three four", "source": "/c/z.md"}],  # right text, wrong file
    }
    report = evaluate(questions, lambda q, k: answers[q], k=10)
    overall = report.metrics()
    assert overall["recall@1"] == 1 / 3
    assert overall["recall@5"] == 2 / 3
    assert abs(overall["mrr@10"] - (1 + 1 / 4) / 3) < 1e-9
    by_language = report.by_language()
    assert by_language["it"]["recall@5"] == 1.0 and by_language["en"]["recall@5"] == 0.0
