"""Citation markers checked while the answer streams."""

from __future__ import annotations

import pytest

from assistant.answers.citations import CitationStream


def run(pieces, passages=3, scorer=None):
    stream = CitationStream(passages, scorer)
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
    # markers move to the end of their sentence, where the sentence can be checked
    assert text == "Secondo l'articolo vale la regola [sic] indicata [2][1][3]."


def scores_for(best: dict[str, int], passages: int = 3):
    """A scorer that clearly supports passage n for sentences containing a given word."""

    def score(sentence):
        for word, number in best.items():
            if word in sentence:
                return [0.9 if i + 1 == number else 0.5 for i in range(passages)]
        return [0.6] * passages

    return score


def test_a_sentence_without_marker_gets_its_supporting_passage():
    text, stream = run(
        by_chars("La durata è di cinque anni dal saldo. Nessuna fonte dice altro qui.\n"),
        3,
        scores_for({"cinque": 3}),
    )
    assert text.startswith(
        "La durata è di cinque anni dal saldo [3]. Nessuna fonte dice altro qui."
    )
    assert stream.sentences == 2 and stream.sentences_cited == 1


def test_a_marker_gives_way_to_the_passage_the_sentence_comes_from():
    text, stream = run(
        by_chars("Il tasso massimo è dell'85% per le regioni meno sviluppate [1][2]."),
        3,
        scores_for({"85%": 2}),
    )
    assert text == "Il tasso massimo è dell'85% per le regioni meno sviluppate [2]."
    assert stream.cited == [2]


def test_abbreviations_and_numbers_do_not_end_sentences():
    text, stream = run(
        by_chars(
            "Lo prevede l'art. 65 del regolamento, per 1.000.000 euro [2]. Fine della frase abbastanza lunga."
        ),
        2,
        lambda sentence: [0.9, 0.5],
    )
    assert "art. 65" in text and "1.000.000" in text
    assert text.count("[1]") == 2 and stream.sentences == 2  # [2] gave way to the clear best


def test_an_unclosed_bracket_is_released_at_the_end():
    text, _ = run(by_chars("Importo massimo [2"))
    assert text == "Importo massimo [2"


@pytest.mark.parametrize("split", [lambda t: [t], by_chars])
def test_a_list_of_passages_after_the_answer_ends_it(split):
    """The 1.5B model closed an answer with `[1] Passage [1]` … `[4] Passage [4]`: shown, it
    read ` Passage Passage Passage Passage [1][2][3][4]` and cited four passages."""
    text, stream = run(
        split(
            "Il contributo è pari al 40% della spesa ammissibile [1].\n\n"
            "[1] Passage [1]\n[2] Passage [2]\n[3] Passaggio [3]\n"
        )
    )
    assert text.strip() == "Il contributo è pari al 40% della spesa ammissibile [1]."
    assert stream.cited == [1] and stream.references


@pytest.mark.parametrize("split", [lambda t: [t], by_chars])
def test_a_sentence_that_opens_with_a_marker_is_kept(split):
    text, stream = run(
        split(
            "Il tasso massimo è pari all'85% [1].\n"
            "[2] Il periodo di stabilità è di cinque anni dal pagamento finale.\n"
            "Fonte: [3]"
        )
    )
    lines = [line.strip() for line in text.split("\n")]
    assert lines[:2] == [
        "Il tasso massimo è pari all'85% [1].",
        "Il periodo di stabilità è di cinque anni dal pagamento finale [2].",
    ]
    assert not stream.references and stream.cited[:2] == [1, 2]


def test_a_sentence_without_marker_keeps_the_passage_of_the_one_before():
    """`… è 85% [1]. Questo tasso si applica solo …`: the second sentence goes on from the
    first; a passage that supports it hardly better does not take its citation."""

    def score(sentence):
        if "85%" in sentence:
            return [0.90, 0.82, 0.80]
        if "Questo tasso" in sentence:
            return [0.86, 0.88, 0.80]  # passage 2 ahead by less than the margin
        return [0.81, 0.81, 0.95]  # passage 3 clearly ahead

    text, stream = run(
        by_chars(
            "Il tasso massimo per le regioni meno sviluppate è 85% [1].\n\n"
            "Questo tasso si applica solo alle regioni meno sviluppate.\n"
            "Le altre regioni hanno tassi diversi stabiliti altrove."
        ),
        3,
        score,
    )
    assert "meno sviluppate [1].\n" in text
    assert "stabiliti altrove [3]." in text
    assert stream.cited == [1, 3]


@pytest.mark.parametrize("split", [lambda t: [t], by_chars])
def test_what_joins_markers_goes_with_them(split):
    """The 1.5B model writes "Questo è dettagliato in [1] e [3]." and "… bodies. [1], [2], [3],
    [4]": moved to the end of the sentence, the markers take their commas and "e" along."""
    text, stream = run(
        split(
            "Il Comune garantisce la stabilità per cinque anni. Questo è dettagliato in [1] e "
            "[3]. Vale per i comuni e gli enti pubblici. [1], [2], [3], [4]"
        )
    )
    assert text == (
        "Il Comune garantisce la stabilità per cinque anni. Questo è dettagliato in [1][3]. "
        "Vale per i comuni e gli enti pubblici. [1][2][3]"
    )
    assert stream.cited == [1, 3, 2]
    # a word after a marker is no joiner
    text, _ = run(split("Il tasso è 85% [2], e vale per tutti."))
    assert text == "Il tasso è 85%, e vale per tutti [2]."
