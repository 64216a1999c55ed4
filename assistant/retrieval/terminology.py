"""Cross-lingual terminology: finds EU-funds terms in a question and gives their equivalents.

An Italian question about "stabilità delle operazioni" must also search the French
"pérennité des opérations" and the English "durability of operations". Terms are matched on
folded Snowball stems, longest match first, in the language each term belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from assistant.text_analysis import ANALYSED_LANGUAGES, analyse


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
        # (language, stem tuple) -> concepts; longest phrases first when matching
        self._index: dict[tuple[str, tuple[str, ...]], list[tuple[Concept, str]]] = {}
        for concept in concepts:
            for language, terms in concept.terms.items():
                for term in terms:
                    stems = tuple(analyse(term, language))
                    if stems:
                        self._index.setdefault((language, stems), []).append((concept, term))
        self._max_len = max((len(k[1]) for k in self._index), default=0)

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
        """Concepts named in the question, longest non-overlapping matches per language."""
        matches: list[Match] = []
        seen: set[str] = set()
        for language in ANALYSED_LANGUAGES:
            stems = analyse(question, language)
            covered = [False] * len(stems)
            for length in range(min(self._max_len, len(stems)), 0, -1):
                for start in range(0, len(stems) - length + 1):
                    if any(covered[start:start + length]):
                        continue
                    hits = self._index.get((language, tuple(stems[start:start + length])))
                    if not hits:
                        continue
                    for i in range(start, start + length):
                        covered[i] = True
                    for concept, term in hits:
                        if concept.id not in seen:
                            seen.add(concept.id)
                            matches.append(Match(concept, language, term, start, length))
        return matches

    def equivalents(self, matches: list[Match], languages: tuple[str, ...]) -> dict[str, list[str]]:
        """Terms of the matched concepts in each wanted language, preferred term first."""
        out: dict[str, list[str]] = {lang: [] for lang in languages}
        for match in matches:
            for language in languages:
                for term in match.concept.terms.get(language, ()):
                    if term not in out[language]:
                        out[language].append(term)
        return out


@lru_cache(maxsize=4)
def load_terminology(extra: str | None = None) -> Terminology:
    bundled = resources.files("assistant").joinpath("resources/terminology.yaml")
    paths = [Path(str(bundled))]
    if extra:
        paths.append(Path(extra))
    return Terminology.from_files(*[p for p in paths if p.exists()])
