"""The document-loader seam: one small protocol, one implementation per file format."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from assistant.schema import LoadedDocument


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown to the user."""


@runtime_checkable
class DocumentLoader(Protocol):
    name: str
    suffixes: tuple[str, ...]

    def load(self, path: Path) -> LoadedDocument:
        """Read the file into blocks in reading order; raise LoadError with a reason."""
        ...


def read_text_file(path: Path) -> tuple[str, list[str]]:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1252, said in a warning."""
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("binary content, not text")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return raw.decode(encoding), []
        except UnicodeDecodeError:
            continue
    return raw.decode("cp1252", errors="replace"), ["not UTF-8: decoded as Windows-1252"]
