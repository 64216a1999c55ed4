"""Citation markers checked as the answer streams, before the user sees them.

A model writes `[2]`, `[2, 3]`, `[Fonte 2]` or `[7]` when only five passages exist. The
filter holds back only what it must: a bracket, and a sentence's markers and final
punctuation until the next word shows whether the sentence really ended. Markers are
normalised to `[n]` at the end of their sentence; numbers that resolve to no passage are
dropped; a marker whose passage supports the sentence clearly less than another passage
gives way to it; a sentence without a marker gets the passage that supports it best, when
one clearly does. A list of the passages the model appends after its answer (`[1] Passage
[1]`) ends the answer: it is not a claim, and the passages are shown under the answer anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_MARKER_BODY = re.compile(r"^[\s\d,;\-–a-zA-ZàèéìòùÀÈÉ.]*$")
_NUMBERS = re.compile(r"\d+")
_BRACKETS = re.compile(r"\[[^\]]*\]")
# What joins two markers ("[1], [2]", "[1] e [3]"): it goes with them, or the answer would
# read "in e [1][3]" or "bodies.,,, [1][2]" once they move to the end of the sentence
_JOINER = re.compile(r"(?:\s*[,;]\s*|\s+(?:e|ed|o|and|or|et|ou)\s+)(?=\[)", re.I)
_JOINER_START = re.compile(r"\s*[,;]?\s*|\s+(?:e|ed|o|and|or|et|ou)?\s*", re.I)
_SOURCE_LABEL = re.compile(r"^\W*(passages?|passaggi|passaggio|fonti|fonte|sources?)\b", re.I)
MAX_MARKER = 24
SENTENCE_END = ".!?"
CONTINUATION_MARGIN = 0.03

Scorer = Callable[[str], list[float]]  # sentence -> how well each passage supports it


class CitationStream:
    def __init__(
        self,
        passages: int,
        scorer: Scorer | None = None,
        min_sentence: int = 25,
        margin: float = 0.02,
        floor: float = 0.80,
    ) -> None:
        self.passages = passages
        self.scorer = scorer
        self.min_sentence = min_sentence
        self.margin = margin  # a cited passage this much less supportive than the best gives way
        self.floor = floor  # support an uncited sentence needs to get a marker
        self.held = ""  # text not yet released
        self.sentence = ""  # released text of the current sentence
        self.pending: list[int] = []  # the model's markers in the current sentence
        self.cited: list[int] = []
        self.sentences = 0
        self.sentences_cited = 0
        self.written: set[str] = set()  # finished sentences, normalised
        # The model wrote a sentence it had already written: small models at low temperature
        # loop (the 1.5B model repeated two sentences up to its 400-token limit).
        self.repeated = False
        # The model started listing the passages after its answer: what follows is dropped.
        self.references = False
        self.cited_last: int | None = None  # the one passage the last sentence cited
        self.line: str | None = None  # a line that opens with a marker, held until it ends
        self.line_start = True
        self.resumed = False  # that line was a sentence after all: its marker is ordinary
        self.after_marker = False  # the last thing read was a citation marker

    # -- public ----------------------------------------------------------------------
    def feed(self, piece: str) -> Iterator[str]:
        self.held += piece
        yield from self._drain(final=False)

    def close(self) -> Iterator[str]:
        yield from self._drain(final=True)
        if self.line is not None:  # the stream ended inside a held line
            self._hold_line(final=True)
            yield from self._drain(final=True)
        if self.held:
            yield self._release(self.held)
            self.held = ""
        if self.sentence.strip():
            yield from self._end_sentence("")

    # -- internals -------------------------------------------------------------------
    def _release(self, text: str) -> str:
        self.sentence += text
        tail = text.rsplit("\n", 1)
        if len(tail) == 2 and not tail[1].strip():
            self.line_start = True
        elif text.strip():
            self.line_start = False
        return text

    def _hold_line(self, final: bool) -> bool:
        """Holds a line that opens with a marker until it ends; True while it still waits.
        A line that is only markers and a word such as `Passage` starts a list of sources."""
        assert self.line is not None
        newline = self.held.find("\n")
        if newline < 0 and not final:
            self.line += self.held
            self.held = ""
            return True
        cut = len(self.held) if newline < 0 else newline
        line, self.held, self.line = self.line + self.held[:cut], self.held[cut:], None
        words = _BRACKETS.sub(" ", line).strip(" :.-–*•\t")
        if len(words) < self.min_sentence or _SOURCE_LABEL.match(words):
            self.references = True
            self.held = ""
            return False
        self.held = line + self.held
        self.resumed = True
        return False

    def _drain(self, final: bool) -> Iterator[str]:
        while self.held:
            if self.references:
                self.held = ""
                return
            if self.line is not None:
                if self._hold_line(final):
                    return
                continue
            if self.after_marker:
                joiner = _JOINER.match(self.held)
                if joiner:
                    self.held = self.held[joiner.end() :]
                    continue
                if not final and len(self.held) < 6 and _JOINER_START.fullmatch(self.held):
                    return  # wait: another marker may follow
                self.after_marker = False
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
                if self.line_start and self.sentences and not self.resumed:
                    self.line = ""  # after the answer, a line opening with a marker
                    continue
                self.resumed = False
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
        # Kept until the sentence ends, then checked against what the sentence says;
        # numbers that resolve to no passage are dropped with the spaces before them.
        for n in numbers:
            if 1 <= n <= self.passages and n not in self.pending:
                self.pending.append(n)
        self.after_marker = True

    def _choose(self, text: str) -> list[int]:
        """The passages a finished sentence cites: the model's markers that the sentence's
        content supports about as well as the best passage; else the best, when clear."""
        if self.scorer is None or len(text) < self.min_sentence:
            return list(self.pending)
        scores = self.scorer(text)
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        best = ranked[0]
        if self.pending:
            keep = [n for n in self.pending if scores[n - 1] >= scores[best] - self.margin]
            return keep or [best + 1]
        previous = self.cited_last
        if (
            previous
            and scores[previous - 1] >= self.floor
            and scores[previous - 1] >= scores[best] - CONTINUATION_MARGIN
        ):
            # Without a marker, a sentence goes on from the one before ("Questo tasso si
            # applica solo …"): it keeps that sentence's passage unless another clearly
            # supports it better.
            return [previous]
        second = scores[ranked[1]] if len(ranked) > 1 else 0.0
        confident = scores[best] >= self.floor or scores[best] - second >= 0.03
        return [best + 1] if confident else []

    def _end_sentence(self, punctuation: str) -> Iterator[str]:
        text = self.sentence.strip()
        numbers = self._choose(text) if text else list(self.pending)
        if len(text) >= self.min_sentence:
            self.cited_last = numbers[0] if len(numbers) == 1 else None
        if numbers:
            for n in numbers:
                if n not in self.cited:
                    self.cited.append(n)
            yield " " + "".join(f"[{n}]" for n in numbers)
        if len(text) >= self.min_sentence:
            self.sentences += 1
            self.sentences_cited += bool(numbers)
            written = " ".join(text.split()).casefold()
            self.repeated = self.repeated or written in self.written
            self.written.add(written)
        if punctuation:
            yield punctuation
        self.sentence = ""
        self.pending = []


def _first_special(text: str) -> int:
    """Index of the first character the filter must look at; len(text) when none."""
    for i, char in enumerate(text):
        if char == "[" or char in SENTENCE_END or char == "\n":
            return i
    return len(text)


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)


_SQUARE_TO_ROUND = str.maketrans({"[": "(", "]": ")"})


def neutralise_markers(text: str) -> str:
    """Document text with its square brackets made round: `[3]` or `[Fonte 12]` written in a
    document reaches neither the model's prompt nor the answer as a citation marker."""
    return text.translate(_SQUARE_TO_ROUND)
