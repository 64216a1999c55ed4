"""Length limits as calls count them, and cutting a text to fit one exactly.

Calls count "caratteri spazi inclusi" (every character), "caratteri spazi esclusi", words
or pages. A page has no fixed size: it is `chars_per_page` characters (3,000 by default, a
page of 11-point text), a setting the office can change to match the call's template.
"""

from __future__ import annotations

import re

from assistant.calls.schema import Limit

UNIT_NAMES = {
    "it": {
        "characters": "caratteri spazi inclusi",
        "characters_no_spaces": "caratteri spazi esclusi",
        "words": "parole",
        "pages": "pagine",
    },
    "en": {
        "characters": "characters including spaces",
        "characters_no_spaces": "characters excluding spaces",
        "words": "words",
        "pages": "pages",
    },
}
_SENTENCE_END = re.compile(r"(?<=[.!?…])(?:\s*\[\d+\])*\s+")
_MARKER_TAIL = re.compile(r"\s*\[\d*$")


def count(text: str, unit: str, chars_per_page: int = 3000) -> float:
    """The length of a text in the unit of a limit."""
    if unit == "characters":
        return len(text)
    if unit == "characters_no_spaces":
        return len(re.sub(r"\s", "", text))
    if unit == "words":
        return len(text.split())
    if unit == "pages":
        return len(text) / chars_per_page
    raise ValueError(f"unknown unit {unit!r}")


def budget_in_characters(limit: Limit, chars_per_page: int = 3000) -> int:
    """About how many characters a limit allows: what a model is asked to write."""
    if limit.unit == "pages":
        return limit.max * chars_per_page
    if limit.unit == "words":
        return limit.max * 6  # Italian words average about 5 letters and a space
    return limit.max


def fits(text: str, limit: Limit | None, chars_per_page: int = 3000) -> bool:
    return limit is None or count(text, limit.unit, chars_per_page) <= limit.max


def describe(text: str, limit: Limit | None, language: str = "it", chars_per_page: int = 3000):
    """`1.234 / 1.500 caratteri spazi inclusi`."""
    names = UNIT_NAMES.get(language, UNIT_NAMES["it"])
    if limit is None:
        return f"{len(text):,} {names['characters']}".replace(",", ".")
    used = count(text, limit.unit, chars_per_page)
    shown = f"{used:.1f}" if limit.unit == "pages" else f"{int(used):,}".replace(",", ".")
    return f"{shown} / {limit.max:,} {names[limit.unit]}".replace(",", ".", 1)


def fit_to_limit(text: str, limit: Limit | None, chars_per_page: int = 3000) -> str:
    """The text cut to the limit: whole sentences first, whole words only if one sentence
    alone is too long. A citation marker stays with its sentence, never cut in half."""
    text = text.strip()
    if fits(text, limit, chars_per_page):
        return text
    assert limit is not None
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    kept: list[str] = []
    for paragraph in paragraphs:
        sentences = _sentences(paragraph)
        taken: list[str] = []
        for sentence in sentences:
            candidate = _join(kept, " ".join([*taken, sentence]))
            if not fits(candidate, limit, chars_per_page):
                break
            taken.append(sentence)
        if taken:
            kept.append(" ".join(taken))
        if len(taken) < len(sentences):
            if not kept:  # a first sentence longer than the whole limit
                kept.append(_cut_words(sentences[0], limit, chars_per_page))
            break
    return _join(kept, "")


def _sentences(paragraph: str) -> list[str]:
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        parts.append(paragraph[start : match.end()].strip())
        start = match.end()
    if paragraph[start:].strip():
        parts.append(paragraph[start:].strip())
    return parts


def _join(paragraphs: list[str], tail: str) -> str:
    return "\n\n".join([*paragraphs, tail] if tail else paragraphs).strip()


def _cut_words(sentence: str, limit: Limit, chars_per_page: int) -> str:
    words = sentence.split()
    low, high = 0, len(words)
    while low < high:  # the most words that still fit with the ellipsis
        middle = (low + high + 1) // 2
        if fits(" ".join(words[:middle]) + "…", limit, chars_per_page):
            low = middle
        else:
            high = middle - 1
    cut = _MARKER_TAIL.sub("", " ".join(words[:low])).rstrip(" ,;:")
    if cut:
        return cut + "…"
    # a limit shorter than the first word: the most characters that fit
    size = len(sentence)
    while size > 0 and not fits(sentence[:size] + "…", limit, chars_per_page):
        size -= 1
    return sentence[:size] + "…" if size else ""
