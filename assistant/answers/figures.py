"""Figures of an answer that no passage holds.

A small model asked for a co-financing rate can add one ("… e di 30% per le regioni
ultraperiferiche") that no passage states; for people who copy rates, amounts and deadlines
into a proposal, a figure the documents do not hold is the costliest mistake it can make. A
figure is held when a passage, its heading or the question writes the same number, in any
of the usual ways: `1.000.000,00`, `1,000,000` and `1 000 000` are one number, `24,5` and
`24.5` another, and `5` is held by a French passage that writes `cinq`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from num2words import num2words

from assistant.answers.extractive import Passage

# A number with thousands groups (1.000.000,00 · 1,000,000.50 · 1 000 000), or a plain one
# with at most one decimal part (24,5 · 0.35 · 2021)
_NUMBER = re.compile(
    r"(?<!\w)(?<!\d[.,])(?:\d{1,3}(?:([.,\u00a0\u202f ])\d{3})(?:\1\d{3})*(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?!\w)"
)
_MARKER = re.compile(r"\[\d+\]")
_LIST_NUMBER = re.compile(r"^(\s*)\d{1,2}[.)](?=\s)", re.M)  # "1. green transition": not a figure
_WORD_LANGUAGES = ("it", "en", "fr")
MAX_WORDED = 100  # numbers written as words in the documents: "cinq ans", "trenta giorni"


def canonical(written: str, group: str | None) -> str:
    """One spelling per number: thousands separators dropped, decimal point, no trailing
    zeros after it (`1.000.000,00` -> `1000000`, `24,5` -> `24.5`, `05` -> `5`)."""
    text = written
    if group:
        head, sep, tail = text.rpartition("," if group == "." else ".")
        if sep and len(tail) != 3 and group in head:
            text = head.replace(group, "") + "." + tail  # the decimals after the groups
        else:
            text = text.replace(group, "")
    else:
        text = text.replace(",", ".")
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    whole = whole.lstrip("0") or "0"
    return f"{whole}.{decimals}" if decimals else whole


def figures(text: str) -> dict[str, str]:
    """The numbers of a text: canonical spelling -> as first written."""
    found: dict[str, str] = {}
    for match in _NUMBER.finditer(text):
        found.setdefault(canonical(match.group(0), match.group(1)), match.group(0))
    return found


def stated_figures(sentence: str) -> dict[str, str]:
    """The figures a sentence of an answer states: its citation markers and list numbers
    ("1. green transition") are not figures."""
    return figures(_LIST_NUMBER.sub(r"\1", _MARKER.sub(" ", sentence)))


@lru_cache(maxsize=512)
def _number_words(number: int) -> tuple[str, ...]:
    return tuple(num2words(number, lang=language) for language in _WORD_LANGUAGES)


class FigureCheck:
    """Which figures of a sentence neither the passages nor the question write."""

    def __init__(self, passages: list[str], question: str = "") -> None:
        text = "\n".join(passages)
        self.text = text.casefold()
        self.known = set(figures(text)) | set(figures(question))

    @classmethod
    def of_passages(cls, passages: list[Passage], given: str = "") -> FigureCheck:
        """Over the passages a model read, their headings included (article numbers,
        years), and what else it was given (the question; the call and the project)."""
        return cls([f"{p.hit.citation()}\n{p.hit.text}" for p in passages], given)

    def _in_words(self, number: str) -> bool:
        if not number.isdigit() or int(number) > MAX_WORDED:
            return False
        return any(
            re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", self.text)
            for words in _number_words(int(number))
        )

    def missing(self, sentence: str) -> list[str]:
        """The sentence's figures, as written, that nothing the answer read holds."""
        return self._missing(stated_figures(sentence))

    def invented(self, sentence: str) -> bool:
        """At least half the sentence's figures are held by nothing the answer read: "24.5°C
        in agosto" is; "85%, 70%, 50%, 40% e 30%" with 40 and 30 made up is not (it is
        flagged, not discarded)."""
        written = stated_figures(sentence)
        return bool(written) and 2 * len(self._missing(written)) >= len(written)

    def _missing(self, written: dict[str, str]) -> list[str]:
        return [
            spelled
            for number, spelled in written.items()
            if number not in self.known and not self._in_words(number)
        ]
