"""Citation markers checked while the answer streams."""

from __future__ import annotations

import pytest

from assistant.answers.citations import CitationStream


def run(pieces, passages=3, supporter=None):
    stream = CitationStream(passages, supporter)
    out = []
    for piece in pieces:
        out.extend(stream.feed(piece))
    out.extend(stream.close())
    return "".join(out), stream


def by_chars(text):
    return list(text)  # the worst case: one character per token


@pytest.mark.parametrize("split", [lambda t: [t], by_chars])
def test_valid_markers_pass_and_invalid_ones_are_removed(split):
    text, stream = run(
        split("Il tasso è 85% [2]. Il periodo è di cinque anni [7]. Vale per i comuni [1, 9].")
    )
    assert text == "Il tasso è 85% [2]. Il periodo è di cinque anni. Vale per i comuni [1]."
    assert stream.cited == [2, 1]


@pytest.mark.parametrize("split", [lambda t: [t], by_chars])
def test_markers_written_otherwise_are_normalised(split):
    text, _ = run(
        split("Secondo l'articolo [Fonte 2] e [passaggi 1-3] vale la regola [sic] indicata.")
    )
    assert text == "Secondo l'articolo [2] e [1][3] vale la regola [sic] indicata."


def test_a_sentence_without_marker_gets_its_supporting_passage():
    supporter = lambda sentence: 3 if "cinque" in sentence else None  # noqa: E731
    text, stream = run(
        by_chars("La durata è di cinque anni dal saldo. Nessuna fonte dice altro qui.\n"),
        3,
        supporter,
    )
    assert text.startswith(
        "La durata è di cinque anni dal saldo [3]. Nessuna fonte dice altro qui."
    )
    assert stream.sentences == 2 and stream.sentences_cited == 1


def test_abbreviations_and_numbers_do_not_end_sentences():
    supporter = lambda sentence: 1  # noqa: E731
    text, stream = run(
        by_chars(
            "Lo prevede l'art. 65 del regolamento, per 1.000.000 euro [2]. Fine della frase abbastanza lunga."
        ),
        2,
        supporter,
    )
    assert "art. 65" in text and "1.000.000" in text
    assert text.count("[") == 2 and stream.sentences == 2


def test_an_unclosed_bracket_is_released_at_the_end():
    text, _ = run(by_chars("Importo massimo [2"))
    assert text == "Importo massimo [2"
