"""Plain text files."""

from __future__ import annotations

from pathlib import Path

from assistant.loaders.base import LoadError, read_text_file
from assistant.schema import Block, LoadedDocument


class TextLoader:
    name = "text"
    suffixes = (".txt", ".text")

    def load(self, path: Path) -> LoadedDocument:
        text, warnings = read_text_file(path)
        if not text.strip():
            raise LoadError("empty file")
        paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        return LoadedDocument(
            blocks=[Block(text=p.strip("\n")) for p in paragraphs], warnings=warnings
        )
