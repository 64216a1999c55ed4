"""Grounded answers around a scripted chat model: prompt assembly, token budget, streaming,
citation checks, not-found and fallback paths. (The real models are in test_llm_*.)"""

from __future__ import annotations

import re

import numpy as np

from assistant.answers.citations import CitationStream
from assistant.answers.extractive import Passage
from assistant.answers.grounded import (
    NOT_FOUND_MARK,
    GroundedAnswerer,
    Turn,
    best_passage_last,
    passages_to_read,
)
from assistant.llm import ChatMessage, LlmUnavailable
from assistant.llm_tokens import count_llm_tokens


class ScriptedChat:
    """Replies with fixed text, in small pieces; records what it was sent."""

    provider, model = "scripted", "test"

    def __init__(
        self, replies: list[str], context_window: int = 4096, fail_after: int | None = None
    ):
        self.replies = list(replies)
        self.context_window = context_window
        self.fail_after = fail_after
        self.calls: list[list[ChatMessage]] = []

    def stream(self, messages, max_tokens, temperature):
        self.calls.append(messages)
        reply = self.replies.pop(0)
        for i in range(0, len(reply), 3):
            if self.fail_after is not None and i >= self.fail_after:
                raise LlmUnavailable("connection reset")
            yield reply[i : i + 3]


def answerer(indexed, chat):
    return GroundedAnswerer(
        indexed.default_retriever, indexed.index.embedder, chat, indexed.settings
    )


def collect(answerer, question, history=None):
    events = list(answerer.stream(question, history))
    tokens = "".join(e.text for e in events if e.kind == "token")
    return events, tokens, events[-1].answer


def test_prompt_holds_numbered_passages_and_the_language(indexed):
    chat = ScriptedChat(["Il periodo è di cinque anni dal pagamento finale [1]."])
    events, tokens, answer = collect(
        answerer(indexed, chat), "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    system, user = chat.calls[0]
    assert system.role == "system" and "Write in Italian" in system.content
    assert NOT_FOUND_MARK in system.content
    assert "Passage [1]" in user.content and "Question: Per quanti anni" in user.content
    assert "in Italian" in user.content
    assert "Pérennité des opérations" in user.content or "cinq ans" in user.content
    assert answer.text == tokens.strip()
    assert answer.cited == [1] and answer.found
    assert answer.provider == "scripted" and answer.ttft_s is not None
    assert [e.kind for e in events][-1] == "final"


def test_prompt_layout_follows_the_model(indexed):
    """best-last: the passages from the worst, the best next to the question; best-first
    (auto, every model): the question before and after the passages, the best first."""
    question = "Per quanti anni va garantita la stabilità delle operazioni?"
    layouts = {}
    for style in ("best-last", "best-first"):
        chat = ScriptedChat(["Cinque anni [1]."])
        settings = indexed.settings.model_copy(update={"answer_prompt": style})
        GroundedAnswerer(indexed.default_retriever, indexed.index.embedder, chat, settings).answer(
            question
        )
        user = chat.calls[0][1].content
        numbers = [int(n) for n in re.findall(r"^Passage \[(\d+)\]", user, re.MULTILINE)]
        layouts[style] = (numbers, user.count(f"Question: {question}"))
    numbers, questions = layouts["best-last"]
    assert len(numbers) >= 2 and numbers == sorted(numbers, reverse=True) and questions == 1
    numbers, questions = layouts["best-first"]
    assert numbers == sorted(numbers) and questions == 1
    auto = indexed.settings.model_copy(update={"answer_prompt": "auto"})
    assert not best_passage_last(auto)
    assert not best_passage_last(auto.model_copy(update={"llm_model": "small"}))
    # best first: 4 passages; best last: 3; unless the setting says
    assert passages_to_read(auto) == 4
    assert passages_to_read(auto.model_copy(update={"answer_prompt": "best-last"})) == 3
    assert passages_to_read(auto.model_copy(update={"answer_passages": 5})) == 5


def test_a_looping_model_is_stopped_at_its_first_repeated_sentence(indexed):
    a_sentence = "Il periodo di stabilità è di cinque anni dal pagamento finale [1]. "
    b_sentence = "La stabilità vale anche per le infrastrutture comunali [1]. "
    chat = ScriptedChat([a_sentence + (b_sentence + a_sentence) * 20])
    events, tokens, answer = collect(
        answerer(indexed, chat), "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert tokens.count("cinque anni") == 2 and tokens.count("infrastrutture") == 1
    assert answer.found and answer.cited == [1]
    assert not wrote_twice("Uno due tre quattro cinque sei. Sette otto nove dieci undici.")
    assert wrote_twice(
        "Uno due tre quattro cinque sei [1]. Altro. Uno due tre quattro cinque sei [2]. E"
    )


def test_a_list_of_passages_after_the_answer_stops_the_model(indexed):
    answer_text = "Il periodo di stabilità è di cinque anni dal pagamento finale [1]."
    chat = ScriptedChat([answer_text + "\n\n[1] Passage [1]\n[2] Passage [2]\n" * 30])
    pieces = 0
    scripted = chat.stream

    def counted(*args):
        nonlocal pieces
        for piece in scripted(*args):
            pieces += 1
            yield piece

    chat.stream = counted
    events, tokens, answer = collect(
        answerer(indexed, chat), "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert answer.text == answer_text and answer.cited == [1]
    assert "Passage" not in tokens
    assert pieces < 40  # stopped at the list, not at the end of the reply (about 330 pieces)


def wrote_twice(text: str) -> bool:
    stream = CitationStream(passages=2)
    list(stream.feed(text))
    list(stream.close())
    return stream.repeated


def test_passages_are_packed_within_the_context_window(indexed):
    small = ScriptedChat(["Risposta [1]."], context_window=900)
    a = answerer(indexed, small)
    question = "Qual è il contributo massimo del bando Giardini civici?"
    packed = a.pack(question, "it", indexed.retrieve(question, 4))
    user = small_prompt = a.user.render(
        passages="\n\n".join(f"[{p.number}] {p.hit.citation()}\n{p.hit.text}" for p in packed),
        question=question,
        language_name="Italian",
    )
    system = a.system.render(language_name="Italian", not_found=NOT_FOUND_MARK)
    assert 1 <= len(packed) < 6
    assert count_llm_tokens(system + user) + indexed.settings.answer_max_tokens <= 900
    assert small_prompt


def test_invalid_citations_never_reach_the_user(indexed):
    chat = ScriptedChat(
        ["Il contributo copre l'80% delle spese [1]. Il tetto è di 150.000 euro [9]."]
    )
    _, tokens, answer = collect(
        answerer(indexed, chat), "Qual è il contributo del bando Giardini civici?"
    )
    assert "[9]" not in tokens and "[9]" not in answer.text
    assert all(1 <= n <= len(answer.passages) for n in answer.cited)


def test_not_found_shows_the_closest_passages(indexed):
    chat = ScriptedChat([NOT_FOUND_MARK])
    _, tokens, answer = collect(answerer(indexed, chat), "Qual è la ricetta della carbonara?")
    assert NOT_FOUND_MARK not in tokens
    assert not answer.found and "non rispondono" in answer.text
    assert answer.passages  # the closest ones are shown instead


def test_a_model_that_fails_midway_falls_back_to_the_extractive_answer(indexed):
    chat = ScriptedChat(
        ["Il periodo di stabilità è di cinque anni dal pagamento finale [1]."], fail_after=9
    )
    _, tokens, answer = collect(
        answerer(indexed, chat), "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert answer.provider == "extractive"
    assert "non è disponibile" in answer.notice and "connection reset" in answer.notice
    assert answer.passages and answer.cited


def test_english_question_gets_english_instructions(indexed):
    chat = ScriptedChat(["The rate is at most 85% [1]."])
    _, _, answer = collect(
        answerer(indexed, chat), "What is the maximum co-financing rate for less developed regions?"
    )
    assert (
        "Write in English" in chat.calls[0][0].content and "in English" in chat.calls[0][1].content
    )
    assert answer.language == "en"


def test_follow_up_questions_are_rewritten_with_the_history(indexed):
    chat = ScriptedChat(
        [
            "Qual è il tasso di cofinanziamento per le regioni in transizione?",
            "Non indicato nei passaggi [1].",
        ]
    )
    history = [
        Turn("Qual è il tasso di cofinanziamento per le regioni meno sviluppate?", "85% [1].")
    ]
    events, _, answer = collect(
        answerer(indexed, chat), "e per le regioni in transizione?", history
    )
    condense = chat.calls[0][0].content
    assert "regioni meno sviluppate" in condense and "e per le regioni in transizione?" in condense
    assert events[0].kind == "status"
    assert (
        answer.standalone_question
        == "Qual è il tasso di cofinanziamento per le regioni in transizione?"
    )


def test_without_a_model_the_answer_is_extractive(indexed):
    _, tokens, answer = collect(
        answerer(indexed, None), "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert answer.provider == "extractive" and answer.cited and "[" in tokens


class FlatEmbedder:
    """Every text at the same point: similarity cannot tell passages apart."""

    def embed_passages(self, texts):
        return np.ones((len(texts), 4)) / 2

    def embed_queries(self, texts):
        return np.ones((len(texts), 4)) / 2


def test_citation_goes_to_the_passage_holding_the_sentences_words(indexed):
    """A small model copies the wording of the passage it draws on; one embedding of a long
    passage can hide that, and then the better-ranked passage would take the citation."""
    hits = indexed.default_retriever.retrieve("bénéficiaire obligations visibilité", 2)
    first = hits[0].model_copy(update={"text": "Les bénéficiaires mentionnent le soutien."})
    second = hits[0].model_copy(
        update={
            "chunk_id": "other",
            "text": "Beneficiaries shall keep the supporting documents for five years after "
            "the final payment, including invoices and contracts.",
        }
    )
    passages = [Passage(number=1, hit=first), Passage(number=2, hit=second)]
    scorer = GroundedAnswerer(None, FlatEmbedder(), None, indexed.settings).support_scorer(passages)
    stream = CitationStream(2, scorer)
    text = "".join(
        stream.feed("Supporting documents are kept for five years after the final payment.")
    )
    text += "".join(stream.close())
    assert stream.cited == [2], text


def test_passages_are_embedded_after_the_model_starts(indexed):
    """Scoring citations needs the passages' embeddings; computing them before the model's
    first token would delay every answer (about a second on 2 cores)."""

    class CountingEmbedder:
        def __init__(self, inner):
            self.inner, self.passage_calls = inner, 0

        def embed_passages(self, texts):
            self.passage_calls += 1
            return self.inner.embed_passages(texts)

        def embed_queries(self, texts):
            return self.inner.embed_queries(texts)

    embedder = CountingEmbedder(indexed.index.embedder)
    calls_at_start: list[int] = []

    class WatchingChat(ScriptedChat):
        def stream(self, messages, max_tokens, temperature):
            calls_at_start.append(embedder.passage_calls)
            yield from super().stream(messages, max_tokens, temperature)

    chat = WatchingChat(
        ["Cinque anni dal pagamento finale. Lo stabilisce l'articolo 65 del regolamento."]
    )
    answer = GroundedAnswerer(indexed.default_retriever, embedder, chat, indexed.settings).answer(
        "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert calls_at_start == [0]
    assert embedder.passage_calls == 1  # once for all the sentences
    assert answer.sentences == 2 and answer.sentences_cited >= 1


OFF_TOPIC = "Qual è la ricetta della pasta alla carbonara?"
RECIPE = (
    "La carbonara si prepara con uova, guanciale e pecorino romano [1]. "
    "Si cuoce la pasta e si manteca fuori dal fuoco con le uova sbattute [2]."
)


def test_an_answer_no_passage_supports_is_replaced_by_the_closest_passages(indexed):
    """Asked about a recipe, a small model writes one and cites passages about EU funds."""
    events, tokens, answer = collect(answerer(indexed, ScriptedChat([RECIPE])), OFF_TOPIC)
    assert not answer.found and answer.cited == []
    assert answer.text.startswith("La risposta del modello non trova riscontro nei documenti")
    assert "I documenti indicizzati non rispondono" in answer.text
    assert "guanciale" not in answer.text and answer.passages  # the closest passages instead
    assert tokens.rstrip().endswith("Ecco i passaggi più vicini:")  # the CLI saw why


def test_the_support_check_can_be_turned_off(indexed):
    settings = indexed.settings.model_copy(update={"answer_min_support": 0.0})
    chat = ScriptedChat([RECIPE])
    answer = GroundedAnswerer(
        indexed.default_retriever, indexed.index.embedder, chat, settings
    ).answer(OFF_TOPIC)
    assert answer.found and "guanciale" in answer.text


RATE_QUESTION = "Qual è il tasso massimo di cofinanziamento per le regioni meno sviluppate?"


def test_a_figure_no_passage_holds_is_flagged_after_the_answer(indexed):
    """The model adds rates the regulation does not state: the answer stays, and says which
    figures to check."""
    reply = (
        "Il tasso di cofinanziamento di ogni priorità non supera l'85% per le regioni meno "
        "sviluppate [1]. Per le regioni in transizione è del 70% e per le altre del 30% [1]."
    )
    events, tokens, answer = collect(answerer(indexed, ScriptedChat([reply])), RATE_QUESTION)
    assert answer.found and answer.unverified_figures == ["70", "30"]
    line = "Cifre da verificare, assenti dai passaggi mostrati: 70, 30."
    assert answer.text.endswith(line) and tokens.rstrip().endswith(line)
    assert "85%" in answer.text and answer.cited


def test_an_answer_whose_figures_are_made_up_is_replaced(indexed):
    """Close to a passage in words, but the period is not the regulation's: nothing of it
    comes from the documents."""
    reply = "La stabilità delle operazioni va garantita per 7 anni dal pagamento finale [1]."
    answer = answerer(indexed, ScriptedChat([reply])).answer(
        "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert not answer.found and "7 anni" not in answer.text
    assert answer.text.startswith("La risposta del modello non trova riscontro")


def test_figures_held_in_another_spelling_are_not_flagged(indexed):
    reply = "Il periodo è di 5 anni dal pagamento finale, 3 anni per le PMI [1]."
    answer = answerer(indexed, ScriptedChat([reply])).answer(
        "Per quanti anni va garantita la stabilità delle operazioni?"
    )
    assert answer.found and answer.unverified_figures == []
    assert "verificare" not in answer.text
