"""Checks on ZIP-based formats (DOCX) before a parser inflates them."""

from __future__ import annotations

import zipfile
from pathlib import Path

from assistant.loaders.base import LoadError

MAX_UNCOMPRESSED = 300 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 20_000


def check_zip_package(path: Path) -> None:
    """Refuse archives that would inflate far beyond their size (ZIP bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as error:
        raise LoadError(f"not a valid Office file (bad ZIP package: {error})") from error
    if len(infos) > MAX_ENTRIES:
        raise LoadError(f"archive with {len(infos)} entries: refused as a possible ZIP bomb")
    total = sum(i.file_size for i in infos)
    compressed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / compressed > MAX_RATIO:
        raise LoadError(
            f"inflates to {total // (1024 * 1024)} MB from {compressed // 1024} KB: "
            "refused as a possible ZIP bomb"
        )
