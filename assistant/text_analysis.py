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
        """
        a ad agli ai al all alla alle allo altra altre altri altro anche ancora anzi
        avere aveva avevano avranno avrà che chi ci ciascun ciascuna coi col come con
        cosa così cui da dagli dai dal dalla dalle dallo dare de degli dei del della
        delle dello deve devono di dove dovranno dovrebbe dovrà dà e ed era essere fa
        faccia fanno fare fosse fra già gli ha hanno i il in io la le lo loro ma
        mentre mi molto ne negli nei nel nella nelle nello no non nonché o ogni oppure
        ovvero per però poco pone pongono porre possono potranno potrebbe potrà può
        quale quali quando quante quanti quanto quella quelle quelli quello questa
        queste questi questo quindi se sempre si sia siano sono stata state stati stato
        stessa stessi stesso su sugli sui sul sulla sulle sullo sì tale tali tra tutta
        tutte tutti tutto un una uno va vanno vengono venire vi viene è
        """.split()
    ),
    "en": frozenset(
        """
        a about all also an and any are as at be been being between by can could did do
        does each every for from had has have here how if in into is it its may
        might must no not of on or other others over per same shall should
        such than that the their them then there therein thereof these they this those
        to under very was were what when where whether which who whom whose will with
        within without would
        """.split()
    ),
    "fr": frozenset(
        """
        a ainsi au aussi autre autres aux avec avoir ce celle celles celui ces cet cette
        ceux comme d dans de des devra devront doit doivent dont du elle elles en entre
        est et fait font il ils l la le les leur leurs lorsque même mêmes ne nos
        notre ont ou où par pas peut peuvent pour pourra pourront que qui quoi sa
        sans se ses si son sont sous sur tous tout toute toutes très un une vos votre y
        à était été être
        """.split()
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


def content_words(text: str) -> set[str]:
    """Folded words that are not stopwords, in any of the corpus languages."""
    return {fold(w) for w in words(text) if not is_stopword(w)}


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
