"""Word documents: headings by style, paragraphs and tables in document order."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.loaders.archive_guard import check_zip_package
from assistant.loaders.base import LoadError
from assistant.schema import Block, LoadedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|titolo|titre|überschrift)\s*(\d)$", re.I)


class DocxLoader:
    name = "docx"
    suffixes = (".docx",)

    def load(self, path: Path) -> LoadedDocument:
        check_zip_package(path)
        import docx
        from docx.table import Table

        try:
            document = docx.Document(str(path))
        except Exception as error:
            raise LoadError(f"not a readable DOCX ({type(error).__name__}: {error})") from error
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = []
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:
                        text = re.sub(r"\s+", " ", cell.text).strip()
                        if not cells or cells[-1] != text:  # merged cells repeat their text
                            cells.append(text)
                    if any(cells):
                        rows.append(" | ".join(cells))
                if rows:
                    blocks.append(Block(text="\n".join(rows), kind="table"))
                continue
            text = item.text.strip()
            if not text:
                continue
            style = item.style.name if item.style is not None else ""
            match = _HEADING_STYLE.match(style or "")
            if match or style == "Title":
                level = int(match.group(1)) if match else 1
                blocks.append(Block(text=text, kind="heading", level=level))
            else:
                blocks.append(Block(text=text))
        if not blocks:
            raise LoadError("no text found in DOCX")
        title = (document.core_properties.title or "").strip() or None
        return LoadedDocument(title=title, blocks=blocks)
