"""Cross-lingual terminology: finds EU-funds terms in a question and gives their equivalents.

An Italian question about "stabilità delle operazioni" must also search the French
"pérennité des opérations" and the English "durability of operations". Terms are matched on
light stems (folded, plural and final vowel removed), longest match first: Snowball stems
are too aggressive here (Italian "comune" and "comunicazione" share the stem "comun").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from assistant.text_analysis import ANALYSED_LANGUAGES, fold, is_stopword, stem, words


def light_stems(text: str) -> tuple[str, ...]:
    """`Pérennité des opérations` -> (`perennit`, `operation`)."""
    out = []
    for word in words(text):
        if is_stopword(word):
            continue
        stem = fold(word)
        if len(stem) > 3 and stem.endswith("s") and not stem.endswith("ss"):
            stem = stem[:-1]
        if len(stem) > 4 and stem[-1] in "aeiou":
            stem = stem[:-1]
        out.append(stem)
    return tuple(out)


MIN_ROOT = 6


def _unique(hits: list[tuple[Concept, str, str]]) -> list[tuple[Concept, str, str]]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit[0].id not in seen:
            seen.add(hit[0].id)
            out.append(hit)
    return out


@dataclass(frozen=True)
class Concept:
    id: str
    terms: dict[str, tuple[str, ...]]  # language -> terms, preferred first


@dataclass(frozen=True)
class Match:
    concept: Concept
    language: str  # language of the term found in the question
    term: str
    start: int
    length: int


class Terminology:
    def __init__(self, concepts: list[Concept]) -> None:
        self.concepts = concepts
        # light-stem tuple -> (concept, language, term)
        self._index: dict[tuple[str, ...], list[tuple[Concept, str, str]]] = {}
        # (language, Snowball stem) of one-word terms, for inflections: cofinanziata ~ cofinanziamento
        self._roots: dict[tuple[str, str], list[tuple[Concept, str, str]]] = {}
        for concept in concepts:
            for language, terms in concept.terms.items():
                for term in terms:
                    stems = light_stems(term)
                    if stems:
                        self._index.setdefault(stems, []).append((concept, language, term))
                    if len(stems) == 1 and len(root := stem(words(term)[0], language)) >= MIN_ROOT:
                        self._roots.setdefault((language, root), []).append(
                            (concept, language, term)
                        )
        self._max_len = max((len(k) for k in self._index), default=0)

    @classmethod
    def from_files(cls, *paths: Path) -> Terminology:
        concepts: dict[str, Concept] = {}
        for path in paths:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for item in data.get("concepts", []):
                terms = {
                    lang: tuple(str(t) for t in item.get(lang, []) if str(t).strip())
                    for lang in ANALYSED_LANGUAGES
                }
                concepts[str(item["id"])] = Concept(str(item["id"]), terms)
        return cls(list(concepts.values()))

    def find(self, question: str) -> list[Match]:
        """Every occurrence of a known term in the question, longest non-overlapping matches
        first; words left over are matched on their Snowball stem (long stems only, so that
        Italian "comune" does not meet "comunicazione")."""
        stems = light_stems(question)
        content = [w for w in words(question) if not is_stopword(w)]
        covered = [False] * len(stems)
        matches: list[Match] = []
        for length in range(min(self._max_len, len(stems)), 0, -1):
            for start in range(0, len(stems) - length + 1):
                if any(covered[start : start + length]):
                    continue
                hits = self._index.get(tuple(stems[start : start + length]))
                if not hits:
                    continue
                for i in range(start, start + length):
                    covered[i] = True
                matches.extend(
                    Match(c, lang, term, start, length) for c, lang, term in _unique(hits)
                )
        for position, word in enumerate(content[: len(stems)]):
            if covered[position]:
                continue
            hits = []
            for language in ANALYSED_LANGUAGES:
                root = stem(word, language)
                if len(root) >= MIN_ROOT:
                    hits.extend(self._roots.get((language, root), []))
            if hits:
                covered[position] = True
                matches.extend(Match(c, lang, term, position, 1) for c, lang, term in _unique(hits))
        return sorted(matches, key=lambda m: m.start)


BUNDLED = ("terminology.yaml", "vocabulary.yaml")


@lru_cache(maxsize=4)
def load_terminology(extra: str | None = None) -> Terminology:
    """The bundled EU-funds terminology and general vocabulary, plus an office's own file."""
    root = resources.files("assistant").joinpath("resources")
    paths = [Path(str(root.joinpath(name))) for name in BUNDLED]
    if extra:
        paths.append(Path(extra))
    return Terminology.from_files(*[p for p in paths if p.exists()])
