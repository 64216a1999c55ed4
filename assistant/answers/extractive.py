"""Answers without an LLM: the passages that answer, with their best sentences marked.

Sentences are scored by the question's terms (and their equivalents in other languages)
and by embedding similarity to the question, so a French article's key sentence is found
for an Italian question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from assistant.answers.citations import neutralise_markers
from assistant.embedders import Embedder
from assistant.retrieval.coverage import CoverageScorer
from assistant.retrieval.query import QueryAnalysis
from assistant.schema import Hit
from assistant.text_analysis import ANALYSED_LANGUAGES, analyse

_SENTENCE_END = re.compile(
    r"(?<=[.;:!?])\s+(?=[(\"«A-ZÀ-Ýa-z0-9])|\n(?=\s*(?:\(?[a-z0-9]{1,4}[.)]|[•\-–]))"
)


class Span(BaseModel):
    start: int
    end: int
    score: float


class Passage(BaseModel):
    number: int
    hit: Hit
    highlights: list[Span] = Field(default_factory=list)

    def highlighted(self, before: str = "**", after: str = "**") -> str:
        text = self.hit.text
        out, cursor = [], 0
        for span in sorted(self.highlights, key=lambda s: s.start):
            out.append(text[cursor : span.start])
            out.append(before + text[span.start : span.end] + after)
            cursor = span.end
        out.append(text[cursor:])
        return "".join(out)


class KeySentence(BaseModel):
    text: str
    passage: int  # 1-based number of the passage it comes from
    score: float


class ExtractiveAnswer(BaseModel):
    question: str
    language: str
    key_sentences: list[KeySentence]
    passages: list[Passage]
    found: bool


@dataclass
class _Sentence:
    passage: int
    start: int
    end: int
    text: str
    lexical: float = 0.0
    dense: float = 0.0
    language: str = "und"


# Abbreviations after which a full stop does not end a sentence ("art. 65", "D.Lgs. 36").
_ABBREVIATION = re.compile(
    r"(?:\b(?:art|artt|par|parr|lett|n|nn|pag|pagg|p|pp|cfr|es|ecc|etc|c|co|comma|all|reg|"
    r"dlgs|lgs|d|l|s|ss|vol|cap|sez|punto|no|nr|e\.g|i\.e|cf|para|point)|\b[A-Z])\.$",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start()
        if _ABBREVIATION.search(text[max(start, end - 8) : end]):
            continue
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    # trim whitespace inside spans
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 15:
            out.append((s, e))
    return out


def _sentence_terms(text: str, language: str) -> set[str]:
    lang = language if language in ANALYSED_LANGUAGES else "it"
    return set(analyse(text, lang))


def build_extractive_answer(
    question: str,
    analysis: QueryAnalysis,
    hits: list[Hit],
    embedder: Embedder | None,
    coverage: CoverageScorer | None = None,
    passages: int = 4,
    sentences_per_passage: int = 2,
    key_sentences: int = 3,
) -> ExtractiveAnswer:
    """Key sentences scored by how much of the question they cover (in their own language,
    through the terminology) and by embedding similarity, weighted by passage rank."""
    chosen = hits[:passages]
    query_terms = set(analysis.terms) | set(analysis.translated_terms)
    coverage_query = coverage.build(analysis) if coverage is not None else None
    sentences: list[_Sentence] = []
    for number, hit in enumerate(chosen, start=1):
        for start, end in split_sentences(hit.text):
            text = hit.text[start:end]
            terms = _sentence_terms(text, hit.language)
            lexical = len(terms & query_terms) / math.sqrt(len(terms) + 1)
            sentences.append(_Sentence(number, start, end, text, lexical, language=hit.language))
    if coverage_query is not None and sentences:
        headings = {i: f"{h.section} {h.section_title}" for i, h in enumerate(chosen, start=1)}
        scores = coverage.score_texts(
            coverage_query, [(s.language, s.text, headings[s.passage]) for s in sentences]
        )
        for sentence, score in zip(sentences, scores, strict=True):
            sentence.lexical = score
    if sentences and embedder is not None:
        vectors = embedder.embed_passages([s.text[:1000] for s in sentences])
        query = embedder.embed_queries([question])[0]
        for sentence, similarity in zip(sentences, vectors @ query, strict=False):
            sentence.dense = float(similarity)
    max_lexical = max((s.lexical for s in sentences), default=0.0) or 1.0
    dense = np.array([s.dense for s in sentences]) if sentences else np.zeros(0)
    dense_z = (
        (dense - dense.mean()) / (dense.std() + 1e-6) if dense.size > 1 else np.zeros_like(dense)
    )
    scored = []
    for s, z in zip(sentences, dense_z, strict=True):
        rank_prior = 1.0 / (1 + 0.15 * (s.passage - 1))
        score = (s.lexical / max_lexical + 0.3 * float(z)) * rank_prior
        scored.append((score, s))
    result_passages = [Passage(number=i, hit=h) for i, h in enumerate(chosen, start=1)]
    for passage in result_passages:
        own = sorted((x for x in scored if x[1].passage == passage.number), key=lambda x: -x[0])
        passage.highlights = [
            Span(start=s.start, end=s.end, score=round(score, 4))
            for score, s in own[:sentences_per_passage]
            if score > 0
        ]
    best = sorted(scored, key=lambda x: -x[0])
    keys: list[KeySentence] = []
    seen_text: set[str] = set()
    for score, s in best:
        normalised = " ".join(s.text.split()).casefold()
        if normalised in seen_text:
            continue
        seen_text.add(normalised)
        keys.append(
            KeySentence(
                text=neutralise_markers(" ".join(s.text.split())),
                passage=s.passage,
                score=round(score, 4),
            )
        )
        if len(keys) >= key_sentences:
            break
    found = bool(chosen) and bool(np.isfinite(best[0][0])) if best else False
    return ExtractiveAnswer(
        question=question,
        language=analysis.language,
        key_sentences=keys,
        passages=result_passages,
        found=found,
    )
