"""HTML pages: headings, paragraphs, list items and tables; navigation and scripts dropped."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from assistant.loaders.base import LoadError, read_text_file
from assistant.schema import Block, LoadedDocument

_SKIP = ("script", "style", "nav", "footer", "header", "noscript", "form", "aside")


class HtmlLoader:
    name = "html"
    suffixes = (".html", ".htm", ".xhtml")

    def load(self, path: Path) -> LoadedDocument:
        source, warnings = read_text_file(path)
        if not source.strip():
            raise LoadError("empty file")
        soup = BeautifulSoup(source, "lxml")
        for tag in soup(_SKIP):
            tag.decompose()
        body = soup.body or soup
        blocks: list[Block] = []
        for element in body.find_all(
            ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "pre"]
        ):
            if element.name != "table" and element.find_parent("table"):
                continue
            if element.name in ("p", "li") and element.find_parent(["li"]) and element.name == "p":
                continue
            if element.name == "table":
                rows = []
                for tr in element.find_all("tr"):
                    cells = [
                        re.sub(r"\s+", " ", c.get_text(" ")).strip()
                        for c in tr.find_all(["td", "th"])
                    ]
                    if any(cells):
                        rows.append(" | ".join(cells))
                if rows:
                    blocks.append(Block(text="\n".join(rows), kind="table"))
                continue
            text = re.sub(r"[ \t\r\f\v]+", " ", element.get_text(" ")).strip()
            if not text:
                continue
            if element.name[0] == "h":
                blocks.append(Block(text=text, kind="heading", level=int(element.name[1])))
            else:
                blocks.append(Block(text=text))
        if not blocks:
            raise LoadError("no text found in HTML")
        title = (
            soup.title.get_text().strip() if soup.title and soup.title.get_text().strip() else None
        )
        return LoadedDocument(title=title, blocks=blocks, warnings=warnings)
