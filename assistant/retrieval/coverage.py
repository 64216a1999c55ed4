"""Lexical relevance that compares across languages: the share of the question's
information a passage covers.

The question is split into groups: each concept the terminology recognises (with all its
equivalents: Italian "durabilità" ~ French "pérennité des opérations" ~ English
"durability"), and each other content word. A group weighs its IDF over the whole corpus in
every language. A passage scores, per group, a saturated frequency of the best alternative
in its own language (its text, then its headings and its document's names at half weight),
and the score is the weighted share of the question covered. An Italian call that only
shares "anni" and "Comune" with a question then ranks below the French article that covers
its rare, decisive words, which raw BM25 over mixed-language lists cannot tell apart.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from assistant.index.catalog import Catalog
from assistant.retrieval.query import QueryAnalysis
from assistant.schema import SearchFilters
from assistant.text_analysis import ANALYSED_LANGUAGES, analyse, is_stopword, words

Phrase = tuple[str, ...]
ANY_LANGUAGE = "*"
_NEUTRAL_WORD = re.compile(r"^(?:\d[\d.,/%]*|[A-Z0-9+.\-]{2,})$")
CONTEXT_CREDIT = 1.0  # a match in headings or document names, against one in the text
PART_CREDIT = 0.5  # one word of a multi-word expression found on its own


@dataclass
class TermGroup:
    weight: float
    # language -> phrase -> credit (1.0 for a full match)
    alternatives: dict[str, dict[Phrase, float]] = field(default_factory=dict)

    def phrases(self, language: str) -> dict[Phrase, float]:
        if language in ANALYSED_LANGUAGES:
            return self.alternatives.get(language) or self.alternatives.get(ANY_LANGUAGE, {})
        merged: dict[Phrase, float] = {}
        for phrases in self.alternatives.values():
            for phrase, credit in phrases.items():
                merged[phrase] = max(credit, merged.get(phrase, 0.0))
        return merged


@dataclass
class CoverageQuery:
    groups: list[TermGroup]
    total_weight: float
    reachable: dict[str, float] = field(default_factory=dict)

    def normaliser(self, language: str) -> float:
        """sqrt(reachable × total): a passage in another language is judged on the part of
        the question that can be said in its language, discounted when that part is small."""
        reach = self.reachable.get(language, self.total_weight)
        return math.sqrt(reach * self.total_weight) or 1.0

    def fts_terms(self, language: str | None) -> list[str]:
        """Terms (phrases as `a b`) to fetch candidates in one language (None: every one)."""
        out: dict[str, None] = {}
        for group in self.groups:
            phrases = group.phrases("und") if language is None else group.phrases(language)
            for phrase, credit in phrases.items():
                if credit >= 1.0:
                    out.setdefault(" ".join(phrase), None)
        return list(out)


class CoverageScorer:
    def __init__(self, catalog: Catalog, k1: float = 1.2, b: float = 0.75) -> None:
        self.catalog = catalog
        self.k1, self.b = k1, b

    # -- query side ------------------------------------------------------------------
    def build(self, analysis: QueryAnalysis) -> CoverageQuery:
        question_language = analysis.language if analysis.language in ANALYSED_LANGUAGES else None
        content = [w for w in words(analysis.text) if not is_stopword(w)]
        own = (question_language,) if question_language else ANALYSED_LANGUAGES
        stems = [{lang: tuple(analyse(w, lang)) for lang in own} for w in content]
        frequencies = self.catalog.term_document_frequencies(
            {t for by_lang in stems for phrase in by_lang.values() for t in phrase}
        )
        n = max(1, self.catalog.chunk_count_cached())

        def idf(df: int) -> float:
            return math.log(1 + (n - df + 0.5) / (df + 0.5))

        def estimated_df(phrase: Phrase) -> float:
            """Chunks holding a phrase, estimated from its words as if independent (cheap;
            too high for words that go together, so it never overrates a phrase)."""
            missing = set(phrase) - frequencies.keys()
            frequencies.update(self.catalog.term_document_frequencies(missing))
            estimate = float(n)
            for term in phrase:
                estimate *= frequencies.get(term, 0) / n
            return estimate

        def weight(phrases: set[Phrase]) -> float:
            """IDF of a group: chunks holding any alternative, in any language."""
            return idf(int(min(sum(estimated_df(p) for p in phrases if p), n)))

        def cap_credits(group: TermGroup) -> None:
            """An alternative gives no more than its own IDF: the question's "stabilità" is
            worth much, but its stem also matches every "stabilito" (established)."""
            for phrases in group.alternatives.values():
                for phrase, credit in phrases.items():
                    own_idf = idf(int(min(estimated_df(phrase), n)))
                    phrases[phrase] = (
                        credit * min(1.0, own_idf / group.weight) if group.weight else credit
                    )

        # One group per concept, however many times and words the question names it.
        covered: dict[int, str] = {}
        by_concept: dict[str, tuple] = {}
        for match in analysis.matches:
            for position in range(match.start, min(match.start + match.length, len(content))):
                if position not in covered:
                    covered[position] = match.concept.id
                    by_concept.setdefault(match.concept.id, (match.concept, set()))[1].add(position)

        groups: list[TermGroup] = []
        for concept, positions in by_concept.values():
            group = TermGroup(weight=0.0)
            for language in ANALYSED_LANGUAGES:
                phrases = {
                    p: 1.0
                    for t in concept.terms.get(language, ())
                    if (p := tuple(analyse(t, language)))
                }
                if language in own:
                    for run in _runs(sorted(positions), stems, language):
                        phrases[run] = 1.0
                        for word in run if len(run) > 1 else ():
                            phrases.setdefault((word,), PART_CREDIT)
                group.alternatives[language] = phrases
            # A concept weighs what its preferred term is worth where it is most common:
            # "municipio" is rare, but the concept (comune, commune, municipality) is
            # everywhere; "stabilità delle operazioni" is rare in every language.
            preferred = [
                p
                for lang in ANALYSED_LANGUAGES
                if (terms := concept.terms.get(lang)) and (p := tuple(analyse(terms[0], lang)))
            ]
            group.weight = min(
                (idf(min(self.catalog.phrase_document_frequency(p), n)) for p in preferred),
                default=0.0,
            )
            cap_credits(group)
            groups.append(group)
        for position, word in enumerate(content):
            if position in covered:
                continue
            group = TermGroup(weight=0.0)
            for language in own:
                if stems[position][language]:
                    group.alternatives[language] = {stems[position][language]: 1.0}
            if _NEUTRAL_WORD.match(word) and (neutral := tuple(analyse(word, "en"))):
                # numbers, acronyms and codes read the same in every language
                group.alternatives[ANY_LANGUAGE] = {neutral: 1.0}
                for language in ANALYSED_LANGUAGES:
                    group.alternatives.setdefault(language, {})[neutral] = 1.0
            if not group.alternatives:
                continue
            group.weight = weight({p for ps in group.alternatives.values() for p in ps})
            groups.append(group)
        total = sum(g.weight for g in groups) or 1.0
        # What each language can reach: untranslated words are out of reach for the others.
        reachable = {
            lang: sum(g.weight for g in groups if g.phrases(lang)) or total
            for lang in ANALYSED_LANGUAGES
        }
        return CoverageQuery(groups, total, reachable)

    # -- passage side ----------------------------------------------------------------
    def score(self, query: CoverageQuery, rowids: list[int]) -> dict[int, float]:
        rows = self.catalog.analysed_rows(rowids)
        average = self.catalog.average_length()
        return {
            rowid: self._score(query, language, body.split(), context.split(), average)
            for rowid, (language, body, context) in rows.items()
        }

    def score_texts(self, query: CoverageQuery, texts: list[tuple[str, str, str]]) -> list[float]:
        """Coverage of the question by loose texts, e.g. the sentences of a passage:
        (language, text, context) triples (context: the passage's headings), analysed here."""
        average = self.catalog.average_length()
        out = []
        for language, text, context in texts:
            analysed_in = language if language in ANALYSED_LANGUAGES else "it"
            out.append(
                self._score(
                    query,
                    language,
                    analyse(text, analysed_in),
                    analyse(context, analysed_in),
                    average,
                )
            )
        return out

    def _score(
        self,
        query: CoverageQuery,
        language: str,
        tokens: list[str],
        context_tokens: list[str],
        average: float,
    ) -> float:
        positions = _positions(tokens)
        context_positions = _positions(context_tokens)
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / average)
        total = 0.0
        for group in query.groups:
            best = 0.0
            for phrase, credit in group.phrases(language).items():
                # Text and headings are alternatives, not added up: a name repeated in a
                # cover page must not outweigh the passage that answers.
                tf = _count(phrase, tokens, positions)
                in_context = _count(phrase, context_tokens, context_positions)
                if tf:
                    best = max(best, credit * tf / (tf + norm))
                if in_context:
                    best = max(best, CONTEXT_CREDIT * credit * in_context / (in_context + norm))
            total += group.weight * best
        return total / query.normaliser(language)

    def candidates(
        self,
        query: CoverageQuery,
        languages: list[str],
        question_language: str,
        filters: SearchFilters | None,
        limit: int,
    ) -> list[int]:
        """Row ids worth scoring: BM25 hits for the question's terms in each language."""
        found: dict[int, None] = {}
        for language in languages:
            if language == question_language:
                scoped, terms = filters, query.fts_terms(None)
            else:
                scoped = (filters or SearchFilters()).narrowed(language=[language])
                if scoped is None:
                    continue  # the filters exclude this language
                terms = query.fts_terms(language)
            for rowid, _ in self.catalog.search(terms, limit, scoped):
                found.setdefault(rowid, None)
        return list(found)


def _runs(positions: list[int], stems: list[dict[str, Phrase]], language: str) -> list[Phrase]:
    """Stems of consecutive question words, as phrases: "efficientamento energetico" must be
    matched as a whole, not by every text that says "energetico"."""
    runs: list[list[int]] = []
    for position in positions:
        if runs and position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    out = [tuple(s for p in run for s in stems[p][language]) for run in runs]
    return [r for r in out if r]


PREFIX = 7  # shared leading letters that make two long stems one word family
PREFIX_KEY = "\x00"  # entries of the positions map that list long tokens by prefix


def _positions(tokens: list[str]) -> dict:
    positions: dict = defaultdict(list)
    for i, token in enumerate(tokens):
        positions[token].append(i)
    for token in [t for t in positions if len(t) >= PREFIX]:
        positions.setdefault(PREFIX_KEY + token[:PREFIX], set()).add(token)
    return positions


def _family(stem: str, positions: dict[str, list[int]]) -> list[int]:
    """Positions of the stem and of its long derivatives or roots (`infrastructur` and
    `infrastructurel`): the terminology lists one form, texts use the others."""
    found = list(positions.get(stem, []))
    if len(stem) >= PREFIX:
        for token in positions.get(PREFIX_KEY + stem[:PREFIX], ()):
            if token != stem:
                shorter, longer = sorted((stem, token), key=len)
                if longer.startswith(shorter) and len(shorter) >= 0.8 * len(longer):
                    found.extend(positions[token])
    return found


def _count(phrase: Phrase, tokens: list[str], positions: dict[str, list[int]]) -> int:
    if not phrase:
        return 0
    if len(phrase) == 1:
        return len(_family(phrase[0], positions))
    starts = positions.get(phrase[0], [])
    length = len(phrase)
    return sum(1 for s in starts if tuple(tokens[s : s + length]) == phrase)
