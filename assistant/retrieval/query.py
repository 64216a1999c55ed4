"""What a question asks for, in every language the corpus may answer it in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.language import detect_language
from assistant.retrieval.terminology import Match, Terminology
from assistant.text_analysis import (
    ANALYSED_LANGUAGES,
    analyse,
    analyse_query,
    is_stopword,
    name_variants,
    words,
)

# "art. 65", "articolo 65, par. 1", "Article 73(1)", "art. 63(9)"
_ARTICLE_REF = re.compile(
    r"\b(?:art(?:icle|icolo|\.)?|artt?\.)\s*(\d{1,3})(?:\s*\((\d{1,2})\))?", re.I
)
_REGULATION_REF = re.compile(r"\b(\d{4})/(\d{1,4})\b")


@dataclass
class QueryAnalysis:
    text: str
    language: str
    terms: list[str]  # lexical terms of the question itself, stemmed in every language
    translated_terms: list[str]  # stems of the equivalent terms in the other languages
    translations: dict[str, str]  # language -> question rendered with equivalent terms
    terms_by_language: dict[str, list[str]] = field(default_factory=dict)  # phrases per target
    neutral_terms: list[str] = field(default_factory=list)  # numbers, acronyms, codes
    matches: list[Match] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # "Art. 65"
    regulations: list[str] = field(default_factory=list)  # "2021/1060"


def _distinct(matches: list[Match]) -> list[Match]:
    seen: set[str] = set()
    out = []
    for match in matches:
        if match.concept.id not in seen:
            seen.add(match.concept.id)
            out.append(match)
    return out


def _render(question: str, matches: list[Match], language: str) -> str:
    """A word-for-word gloss of the question in `language`: each recognised term replaced by
    its preferred equivalent, other content words kept (names, numbers, codes)."""
    content = [w for w in words(question) if not is_stopword(w)]
    by_start: dict[int, Match] = {}
    for match in sorted(matches, key=lambda m: (m.start, -m.length)):
        by_start.setdefault(match.start, match)
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    while position < len(content):
        match = by_start.get(position)
        if match is None:
            parts.append(content[position])
            position += 1
            continue
        terms = match.concept.terms.get(language) or ()
        if terms and match.concept.id not in seen:
            parts.append(terms[0])
        seen.add(match.concept.id)
        position += max(1, match.length)
    return " ".join(parts)


_NEUTRAL = re.compile(r"\b(?:\d[\d.,/%]*|[A-Z][A-Z0-9+.\-]{1,}[A-Z0-9+])\b")


def neutral_terms(question: str) -> list[str]:
    """Numbers, acronyms and codes: the same in every language (FESR is not, but it is in
    the terminology)."""
    found: dict[str, None] = {}
    for match in _NEUTRAL.finditer(question):
        for term in analyse(match.group(), "en"):
            found.setdefault(term, None)
    return list(found)


def analyse_question(question: str, terminology: Terminology | None) -> QueryAnalysis:
    language = detect_language(question)
    matches = terminology.find(question) if terminology else []
    translated: dict[str, None] = {}
    translations: dict[str, str] = {}
    by_language: dict[str, list[str]] = {}
    own = set(analyse_query(question))
    if terminology and matches:
        for target in ANALYSED_LANGUAGES:
            if target == language:
                continue
            rendered = _render(question, matches, target)
            if rendered:
                translations[target] = rendered
            target_terms: dict[str, None] = {}
            for match in _distinct(matches):
                for term in match.concept.terms.get(target, ()):
                    stems = analyse(term, target)
                    if stems:
                        # A multi-word term is searched as a phrase: "fonds europeen ..." must
                        # not match every text that says "fonds" somewhere.
                        target_terms.setdefault(" ".join(stems), None)
                    for stem in stems:
                        if stem not in own:
                            translated.setdefault(stem, None)
            by_language[target] = list(target_terms)
    articles = [f"Art. {m.group(1)}" for m in _ARTICLE_REF.finditer(question)]
    # named by number ("2021/1060") or by a name the terminology knows ("il RDC", "CPR")
    regulations = [f"{y}/{n}" for y, n in _REGULATION_REF.findall(question)]
    regulations += [
        f"{y}/{n}"
        for match in matches
        for terms in match.concept.terms.values()
        for term in terms
        for y, n in _REGULATION_REF.findall(term)
    ]
    return QueryAnalysis(
        text=question,
        language=language,
        terms=analyse_query(f"{question} {name_variants(question)}"),
        translated_terms=list(translated),
        translations=translations,
        matches=matches,
        terms_by_language=by_language,
        neutral_terms=neutral_terms(question),
        articles=list(dict.fromkeys(articles)),
        regulations=list(dict.fromkeys(regulations)),
    )
