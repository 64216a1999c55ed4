"""The best passage widened with its neighbours in the same article: a real index (SQLite +
Chroma) of a call whose article 5 the chunker splits in three."""

from __future__ import annotations

import pytest
from test_grounded import ScriptedChat

from assistant.answers.grounded import GroundedAnswerer
from assistant.core import EuroAssist
from assistant.llm_tokens import count_llm_tokens
from assistant.retrieval.context import merged_section, widen_best_hit
from assistant.settings import Settings

CALL = """---
title: "Avviso di prova per la rigenerazione dei giardini civici"
---
# Avviso di prova

## Art. 4 Dotazione finanziaria

1. La dotazione complessiva dell'avviso è pari a euro 3.000.000, ripartita tra le province in proporzione alla popolazione residente al primo gennaio.

## Art. 5 Caratteristiche dell'agevolazione

1. Ogni Comune può presentare al massimo un progetto di rigenerazione di un giardino civico, fermo restando il limite di contributo massimo per singolo progetto previsto dal presente articolo e le condizioni di cumulo con altri aiuti pubblici.

2. L'agevolazione consiste in un contributo a fondo perduto fino al 90% delle spese ammissibili e comunque fino ad un massimo di euro 250.000 per ciascun progetto, erogato in due tranche secondo il cronoprogramma approvato.

3. Il contributo è cumulabile con altre agevolazioni pubbliche nei limiti del costo totale dell'intervento, purché le spese non siano finanziate due volte e siano rendicontate separatamente.

## Art. 6 Spese ammissibili

1. Sono ammissibili le spese per lavori, forniture di arredi urbani e alberature, progettazione e direzione lavori nel limite del 10% dei lavori, e la cartellonistica obbligatoria.
"""
QUESTION = "Qual è il limite di contributo massimo per singolo progetto di un Comune?"


@pytest.fixture(scope="module")
def split_call(tmp_path_factory) -> EuroAssist:
    root = tmp_path_factory.mktemp("context")
    (root / "corpus").mkdir()
    (root / "corpus" / "avviso-giardini.md").write_text(CALL, encoding="utf-8")
    # small chunks: each paragraph of article 5 is a chunk of its own
    assistant = EuroAssist(
        Settings(data_dir=root / "data", chunk_max_tokens=72, llm_provider="extractive")
    )
    results = assistant.ingest([root / "corpus"])
    assert [r.status for r in results] == ["added"], [(r.path, r.reason) for r in results]
    return assistant


def article_chunks(assistant: EuroAssist, article: str) -> list[dict]:
    catalog = assistant.index.catalog
    doc_id = catalog.documents()[0].doc_id
    rows = catalog.chunks_by_id(catalog.chunk_ids_of(doc_id)).values()
    return sorted((r for r in rows if r["section"].startswith(article)), key=lambda r: r["ordinal"])


def test_best_passage_takes_the_next_chunk_of_its_article_first(split_call):
    paragraphs = article_chunks(split_call, "Art. 5")
    assert len(paragraphs) == 3, [r["text"][:40] for r in paragraphs]
    hits = split_call.default_retriever.retrieve(QUESTION, 6)
    assert hits[0].chunk_id == paragraphs[0]["chunk_id"]  # the words, not the figure
    catalog = split_call.index.catalog
    room_for_two = count_llm_tokens(paragraphs[0]["text"] + paragraphs[1]["text"]) + 8

    widened = widen_best_hit(hits, catalog, room_for_two, count_llm_tokens, 4)

    best = widened[0]
    assert "250.000" in best.text and "Ogni Comune" in best.text
    assert "cumulabile" not in best.text  # a third chunk would exceed the budget
    assert best.section.startswith("Art. 5") and best.section.endswith(" › 1-2")
    assert paragraphs[1]["chunk_id"] not in [h.chunk_id for h in widened[1:]]
    assert len(widened) == min(4, len(hits) - 1)


def test_widening_stays_within_the_article_and_can_be_turned_off(split_call):
    hits = split_call.default_retriever.retrieve(QUESTION, 6)
    catalog = split_call.index.catalog
    widened = widen_best_hit(hits, catalog, 10_000, count_llm_tokens, 4)
    best = widened[0].text
    assert "250.000" in best and "cumulabile" in best  # the whole of article 5
    assert "3.000.000" not in best and "alberature" not in best  # not articles 4 and 6
    assert widen_best_hit(hits, catalog, 0, count_llm_tokens, 4) == hits[:4]
    # a budget smaller than the best chunk and its neighbour: the chunk as retrieved
    assert widen_best_hit(hits, catalog, 20, count_llm_tokens, 4)[0] == hits[0]


def test_the_model_reads_the_widened_passage(split_call):
    chat = ScriptedChat(["Fino a 250.000 euro per progetto [1]."])
    settings = split_call.settings.model_copy(update={"answer_context_tokens": 640})
    answerer = GroundedAnswerer(
        split_call.default_retriever, split_call.index.embedder, chat, settings
    )
    answer = answerer.answer(QUESTION)
    user = chat.calls[0][1].content
    first = user.split("Passage [1]", 1)[1].split("Passage [", 1)[0]
    assert "Ogni Comune" in first and "fino ad un massimo di euro 250.000" in first
    assert answer.cited == [1]
    assert "250.000" in answer.passages[0].hit.text
    assert answer.passages[0].hit.section.startswith("Art. 5")
    # each chunk reaches the model once
    assert user.count("Ogni Comune può presentare") == 1


@pytest.mark.parametrize(
    ("first", "last", "merged"),
    [
        ("Art. 65 › 1 › a)-b)", "Art. 65 › 1-2", "Art. 65 › 1-2"),
        ("Allegato 09 › § 5", "Allegato 09 › § 5", "Allegato 09 › § 5"),
        ("Art. 5 › 1", "Art. 5 › 3", "Art. 5 › 1-3"),
        ("", "", ""),
    ],
)
def test_merged_section_label(first, last, merged):
    assert merged_section(first, last) == merged


def test_page_range_in_the_citation(split_call):
    hit = split_call.default_retriever.retrieve(QUESTION, 1)[0]
    spread = hit.model_copy(update={"page": 7, "page_end": 8, "page_label": None})
    assert "pp. 7-8" in spread.citation()
    assert "p. 7 (" in hit.model_copy(update={"page": 7, "page_end": 7}).citation()


def test_chunks_around_a_missing_chunk(split_call):
    assert split_call.index.catalog.chunks_around("no-such-chunk") == []
