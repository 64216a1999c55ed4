"""Loaders by file suffix."""

from __future__ import annotations

from pathlib import Path

from assistant.loaders.base import DocumentLoader, LoadError
from assistant.loaders.csv_records import CsvLoader
from assistant.loaders.docx import DocxLoader
from assistant.loaders.html import HtmlLoader
from assistant.loaders.markdown import MarkdownLoader
from assistant.loaders.ocr import OcrEngine
from assistant.loaders.pdf import PdfLoader
from assistant.loaders.text import TextLoader


def build_loaders(
    extract_tables: bool = True, ocr: OcrEngine | None = None
) -> list[DocumentLoader]:
    return [
        PdfLoader(extract_tables, ocr),
        MarkdownLoader(),
        TextLoader(),
        DocxLoader(),
        HtmlLoader(),
        CsvLoader(),
    ]


def supported_suffixes(loaders: list[DocumentLoader]) -> set[str]:
    return {suffix for loader in loaders for suffix in loader.suffixes}


def loader_for(path: Path, loaders: list[DocumentLoader]) -> DocumentLoader:
    suffix = path.suffix.lower()
    for loader in loaders:
        if suffix in loader.suffixes:
            return loader
    raise LoadError(f"unsupported file type {suffix or '(no extension)'!r}")


__all__ = ["DocumentLoader", "LoadError", "build_loaders", "loader_for", "supported_suffixes"]
