"""Multilingual analysis for lexical search: case and accent folding, stop words,
Snowball stemming for Italian, English and French."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

STEMMER_LANGUAGES = {
    "it": "italian",
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
}
ANALYSED_LANGUAGES = ("it", "en", "fr")

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Elisions such as l'autorità, dell'Unione, d'État, l’opération keep the word after the apostrophe.
_ELISION = re.compile(
    r"^(?:l|d|s|n|c|j|m|t|qu|all|dall|dell|nell|sull|un|quell|quest|po)['’]", re.IGNORECASE
)
# Join words split across PDF lines: "ammissi-\nbili" -> "ammissibili".
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")

STOPWORDS: dict[str, frozenset[str]] = {
    "it": frozenset(
        [
            "a",
            "ad",
            "al",
            "allo",
            "alla",
            "ai",
            "agli",
            "alle",
            "all",
            "anche",
            "avere",
            "come",
            "con",
            "col",
            "coi",
            "da",
            "dal",
            "dallo",
            "dalla",
            "dai",
            "dagli",
            "dalle",
            "de",
            "del",
            "dello",
            "della",
            "dei",
            "degli",
            "delle",
            "di",
            "e",
            "ed",
            "è",
            "era",
            "essere",
            "fa",
            "gli",
            "ha",
            "hanno",
            "i",
            "il",
            "in",
            "io",
            "la",
            "le",
            "lo",
            "loro",
            "ma",
            "mi",
            "ne",
            "nel",
            "nello",
            "nella",
            "nei",
            "negli",
            "nelle",
            "no",
            "non",
            "o",
            "per",
            "più",
            "può",
            "quale",
            "quali",
            "quando",
            "quanto",
            "quanti",
            "quante",
            "quella",
            "quelle",
            "quello",
            "quelli",
            "questa",
            "queste",
            "questo",
            "questi",
            "se",
            "si",
            "sia",
            "sono",
            "su",
            "sul",
            "sullo",
            "sulla",
            "sui",
            "sugli",
            "sulle",
            "tra",
            "fra",
            "un",
            "una",
            "uno",
            "che",
            "chi",
            "cui",
            "cosa",
            "deve",
            "devono",
            "essere",
            "viene",
            "vengono",
            "sì",
            "ci",
            "vi",
            "dove",
        ]
    ),
    "en": frozenset(
        [
            "a",
            "an",
            "the",
            "and",
            "or",
            "of",
            "to",
            "in",
            "on",
            "at",
            "by",
            "for",
            "from",
            "with",
            "as",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "being",
            "it",
            "its",
            "this",
            "that",
            "these",
            "those",
            "which",
            "who",
            "whom",
            "what",
            "when",
            "where",
            "how",
            "can",
            "could",
            "should",
            "shall",
            "would",
            "will",
            "may",
            "might",
            "must",
            "do",
            "does",
            "did",
            "not",
            "no",
            "any",
            "all",
            "such",
            "than",
            "then",
            "there",
            "their",
            "they",
            "them",
            "into",
            "under",
            "over",
            "about",
            "between",
            "within",
            "without",
            "per",
            "if",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "l",
            "un",
            "une",
            "des",
            "du",
            "de",
            "d",
            "et",
            "ou",
            "à",
            "au",
            "aux",
            "en",
            "dans",
            "par",
            "pour",
            "sur",
            "avec",
            "sans",
            "sous",
            "entre",
            "est",
            "sont",
            "été",
            "être",
            "ce",
            "cet",
            "cette",
            "ces",
            "qui",
            "que",
            "quoi",
            "dont",
            "où",
            "se",
            "sa",
            "son",
            "ses",
            "leur",
            "leurs",
            "il",
            "elle",
            "ils",
            "elles",
            "ne",
            "pas",
            "plus",
            "peut",
            "doit",
            "doivent",
            "ainsi",
            "comme",
            "lorsque",
            "si",
            "y",
        ]
    ),
}
_ALL_STOPWORDS = frozenset().union(*STOPWORDS.values())


def fold(text: str) -> str:
    """Lower case without accents: `Pérennité` -> `perennite`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def dehyphenate(text: str) -> str:
    return _HYPHEN_BREAK.sub(r"\1\2", text)


def words(text: str) -> list[str]:
    """Words as written, elisions removed, numbers kept."""
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = _ELISION.sub("", match.group())
        for part in re.split(r"['’]", word):
            if part:
                out.append(part)
    return out


@lru_cache(maxsize=8)
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = STEMMER_LANGUAGES.get(language)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """Stem a folded word; stems are folded again so accents never split a term."""
    stemmer = _stemmer(language)
    lowered = word.casefold()
    if stemmer is None or lowered.isdigit():
        return fold(lowered)
    return fold(stemmer.stemWord(lowered))


def is_stopword(word: str) -> bool:
    return fold(word) in _ALL_STOPWORDS or word.casefold() in _ALL_STOPWORDS


def analyse(text: str, language: str) -> list[str]:
    """Index terms of a text in a known language."""
    return [stem(w, language) for w in words(dehyphenate(text)) if not is_stopword(w)]


def analyse_query(text: str, languages: tuple[str, ...] = ANALYSED_LANGUAGES) -> list[str]:
    """Query terms: each word stemmed by every analysed language (a French term typed in an
    Italian question must still match French text), duplicates removed, order kept."""
    seen: dict[str, None] = {}
    for word in words(text):
        if is_stopword(word):
            continue
        for language in languages:
            seen.setdefault(stem(word, language), None)
    return list(seen)


_DOTTED = re.compile(r"\b(?:[^\W\d_]{1,12}\.){1,6}[^\W\d_]{1,12}\b\.?")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def name_variants(text: str) -> str:
    """Extra spellings of names: `Ri.Circo.Lo` -> `RiCircoLo`; `RiCircoLo` -> `Ri Circo Lo`;
    `SEED-PA` -> `SEED PA`. Calls are named like this in questions and in file names."""
    extra: list[str] = []
    for match in _DOTTED.finditer(text):
        extra.append(match.group().replace(".", ""))
    for word in re.findall(r"[^\W_]+", text):
        parts = _CAMEL.findall(word)
        if len(parts) > 1 and any(p[:1].isupper() for p in parts[1:]):
            extra.append(" ".join(parts))
            extra.append(word)
    return " ".join(extra)


def file_name_words(name: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
    return re.sub(r"[_\-.+]+", " ", stem)
