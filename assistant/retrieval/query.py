"""What a question asks for, in every language the corpus may answer it in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.language import detect_language
from assistant.retrieval.terminology import Match, Terminology
from assistant.text_analysis import ANALYSED_LANGUAGES, analyse, analyse_query

# "art. 65", "articolo 65, par. 1", "Article 73(1)", "art. 63(9)"
_ARTICLE_REF = re.compile(r"\b(?:art(?:icle|icolo|\.)?|artt?\.)\s*(\d{1,3})(?:\s*\((\d{1,2})\))?", re.I)
_REGULATION_REF = re.compile(r"\b(\d{4})/(\d{1,4})\b")


@dataclass
class QueryAnalysis:
    text: str
    language: str
    terms: list[str]  # lexical terms of the question itself, stemmed in every language
    translated_terms: list[str]  # stems of the equivalent terms in the other languages
    translations: dict[str, str]  # language -> question rendered with equivalent terms
    matches: list[Match] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)  # "Art. 65"
    regulations: list[str] = field(default_factory=list)  # "2021/1060"


def _render(question: str, matches: list[Match], language: str) -> str:
    """The question's key terms in `language`: preferred equivalents, in question order."""
    ordered = sorted(matches, key=lambda m: m.start)
    parts = []
    for match in ordered:
        terms = match.concept.terms.get(language) or ()
        if terms:
            parts.append(terms[0])
    return " ; ".join(dict.fromkeys(parts))


def analyse_question(question: str, terminology: Terminology | None) -> QueryAnalysis:
    language = detect_language(question)
    matches = terminology.find(question) if terminology else []
    translated: dict[str, None] = {}
    translations: dict[str, str] = {}
    own = set(analyse_query(question))
    if terminology and matches:
        for target in ANALYSED_LANGUAGES:
            if target == language:
                continue
            rendered = _render(question, matches, target)
            if rendered:
                translations[target] = rendered
            for match in matches:
                for term in match.concept.terms.get(target, ()):
                    for stem in analyse(term, target):
                        if stem not in own:
                            translated.setdefault(stem, None)
    articles = [f"Art. {m.group(1)}" for m in _ARTICLE_REF.finditer(question)]
    regulations = [f"{y}/{n}" for y, n in _REGULATION_REF.findall(question)]
    return QueryAnalysis(
        text=question, language=language, terms=analyse_query(question),
        translated_terms=list(translated), translations=translations, matches=matches,
        articles=list(dict.fromkeys(articles)), regulations=list(dict.fromkeys(regulations)),
    )
