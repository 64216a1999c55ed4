"""Citation markers checked as the answer streams, before the user sees them.

A model writes `[2]`, `[2, 3]`, `[Fonte 2]` or `[7]` when only five passages exist. The
filter holds back only what it must: a bracket until it closes, a sentence's final
punctuation until the next word shows whether the sentence really ended. Markers are
normalised to `[n]`; numbers that resolve to no passage are dropped; a sentence that ends
without a marker gets the passage that supports it best, when one clearly does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_MARKER_BODY = re.compile(r"^[\s\d,;\-–a-zA-ZàèéìòùÀÈÉ.]*$")
_NUMBERS = re.compile(r"\d+")
MAX_MARKER = 24
SENTENCE_END = ".!?"

Supporter = Callable[[str], int | None]  # sentence -> passage number that supports it


class CitationStream:
    def __init__(
        self, passages: int, supporter: Supporter | None = None, min_sentence: int = 25
    ) -> None:
        self.passages = passages
        self.supporter = supporter
        self.min_sentence = min_sentence
        self.held = ""  # text not yet released
        self.sentence = ""  # released text of the current sentence
        self.sentence_cited = False
        self.cited: list[int] = []
        self.sentences = 0
        self.sentences_cited = 0

    # -- public ----------------------------------------------------------------------
    def feed(self, piece: str) -> Iterator[str]:
        self.held += piece
        yield from self._drain(final=False)

    def close(self) -> Iterator[str]:
        yield from self._drain(final=True)
        if self.held:
            yield self._release(self.held)
            self.held = ""
        if self.sentence.strip():
            yield from self._end_sentence("")

    # -- internals -------------------------------------------------------------------
    def _release(self, text: str) -> str:
        self.sentence += text
        return text

    def _drain(self, final: bool) -> Iterator[str]:
        while self.held:
            cut = _first_special(self.held)
            if cut < len(self.held) and self.held[cut] == "[":
                # spaces before a marker go with it: a dropped marker leaves no gap
                cut = len(self.held[:cut].rstrip(" "))
            elif cut == len(self.held) and not final:
                cut = len(self.held.rstrip(" "))  # trailing spaces may precede a marker
            if cut > 0:
                yield self._release(self.held[:cut])
                self.held = self.held[cut:]
                continue
            stripped = self.held.lstrip(" ")
            if not stripped:
                if final:
                    yield self._release(self.held)
                    self.held = ""
                return
            spaces = self.held[: len(self.held) - len(stripped)]
            char = stripped[0]
            if char == "[":
                end = stripped.find("]")
                if end < 0:
                    body = stripped[1:]
                    if not final and len(body) < MAX_MARKER and _MARKER_BODY.match(body):
                        return  # wait for the bracket to close
                    yield self._release(spaces + "[")
                    self.held = stripped[1:]
                    continue
                yield from self._marker(stripped[: end + 1], spaces)
                self.held = stripped[end + 1 :]
                continue
            if spaces:
                yield self._release(spaces)
                self.held = stripped
                continue
            if char in SENTENCE_END:
                rest = self.held[1:]
                following = rest.lstrip(" ")
                if not following and not final:
                    return  # wait: the next word tells whether the sentence ended
                newline = rest[: len(rest) - len(following)].count(
                    "\n"
                ) > 0 or following.startswith("\n")
                ends = not following or newline or following[0].isupper() or following[0] in "-*•"
                if ends and rest[:1] in ("", " ", "\n"):
                    yield from self._end_sentence(char)
                    self.held = rest
                else:
                    yield self._release(char)
                    self.held = rest
                continue
            if char == "\n":
                if len(self.sentence.strip()) >= self.min_sentence:
                    yield from self._end_sentence("")
                yield self._release("\n")
                self.sentence = ""
                self.held = self.held[1:]
                continue

    def _marker(self, marker: str, spaces: str) -> Iterator[str]:
        numbers = [int(n) for n in _NUMBERS.findall(marker)]
        if not numbers:
            yield self._release(spaces + marker)  # an ordinary bracket, such as [sic]
            return
        valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= self.passages]
        if not valid:
            return  # resolves to nothing: removed with the spaces before it
        self.sentence_cited = True
        for n in valid:
            if n not in self.cited:
                self.cited.append(n)
        yield self._release(spaces + "".join(f"[{n}]" for n in valid))

    def _end_sentence(self, punctuation: str) -> Iterator[str]:
        text = self.sentence.strip()
        if len(text) >= self.min_sentence:
            self.sentences += 1
            if not self.sentence_cited and self.supporter is not None:
                number = self.supporter(text)
                if number is not None and 1 <= number <= self.passages:
                    self.sentence_cited = True
                    if number not in self.cited:
                        self.cited.append(number)
                    yield f" [{number}]"
            if self.sentence_cited:
                self.sentences_cited += 1
        if punctuation:
            yield punctuation
        self.sentence = ""
        self.sentence_cited = False


def _first_special(text: str) -> int:
    """Index of the first character the filter must look at; len(text) when none."""
    for i, char in enumerate(text):
        if char == "[" or char in SENTENCE_END or char == "\n":
            return i
    return len(text)


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)
