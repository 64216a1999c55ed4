"""Prompt templates as files in `prompts/`, with their placeholders checked.

A template declares nothing: its placeholders are what `{name}` fields it contains. Loading a
template checks them against the variables the code will pass, and rendering checks the
values given, so a missing or unknown variable fails loudly instead of reaching a model.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    text: str
    placeholders: frozenset[str]

    def render(self, **values: object) -> str:
        given = set(values)
        if missing := self.placeholders - given:
            raise PromptError(f"prompt {self.name}: missing value for {sorted(missing)}")
        if unknown := given - self.placeholders:
            raise PromptError(f"prompt {self.name}: no placeholder for {sorted(unknown)}")
        return self.text.format(**values)


def placeholders_of(text: str) -> frozenset[str]:
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise PromptError(f"placeholder {{{field}}} must be a plain name")
        names.add(field)
    return frozenset(names)


def load_prompt(name: str, expected: set[str], directory: Path | None = None) -> PromptTemplate:
    """Read `prompts/<name>.md` and check it uses exactly the expected placeholders."""
    path = (directory or PROMPTS_DIR) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PromptError(f"prompt {name}: cannot read {path} ({error})") from error
    found = placeholders_of(text)
    if found != expected:
        raise PromptError(
            f"prompt {path}: placeholders {sorted(found)} differ from {sorted(expected)} "
            f"(missing {sorted(expected - found)}, unknown {sorted(found - expected)})"
        )
    return PromptTemplate(name, text, found)


@lru_cache(maxsize=32)
def prompt(name: str, *expected: str) -> PromptTemplate:
    return load_prompt(name, set(expected))
