"""Markdown: headings keep their levels, tables stay tables, YAML front matter gives metadata."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from assistant.loaders.base import LoadError, read_text_file
from assistant.schema import Block, LoadedDocument

_FRONT_MATTER = re.compile(r"\A(?:\s*<!--.*?-->\s*)?---\n(.*?)\n---\n", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def _table_rows(lines: list[str]) -> str:
    """Pipe table -> rows of cells separated by ` | `, the separator row dropped."""
    rows = []
    for line in lines:
        stripped = line.strip().strip("|")
        if re.fullmatch(r"[\s|:\-]+", stripped):
            continue
        cells = [c.strip() for c in stripped.split("|")]
        rows.append(" | ".join(cells))
    return "\n".join(rows)


class MarkdownLoader:
    name = "markdown"
    suffixes = (".md", ".markdown")

    def load(self, path: Path) -> LoadedDocument:
        source, warnings = read_text_file(path)
        if not source.strip():
            raise LoadError("empty file")
        metadata: dict[str, str] = {}
        title = None
        front = _FRONT_MATTER.match(source)
        if front:
            try:
                data = yaml.safe_load(front.group(1)) or {}
            except yaml.YAMLError:
                data = {}
            if isinstance(data, dict):
                title = str(data["title"]) if data.get("title") else None
                metadata = {k: str(v) for k, v in data.items() if isinstance(v, str | int | float)}
            # Blank the front matter but keep line numbers.
            source = "\n" * source[: front.end()].count("\n") + source[front.end() :]
        source = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), source)
        lines = source.split("\n")
        tokens = MarkdownIt("commonmark").enable("table").parse(source)
        blocks: list[Block] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.level != 0 or token.map is None or token.nesting == -1:
                i += 1
                continue
            start, end = token.map
            if token.type == "heading_open":
                text = _EMPHASIS.sub(r"\2", tokens[i + 1].content).strip()
                blocks.append(Block(text=text, kind="heading", level=int(token.tag[1])))
            elif token.type == "table_open":
                blocks.append(Block(text=_table_rows(lines[start:end]), kind="table"))
            elif token.type in ("html_block", "hr"):
                pass
            else:
                text = "\n".join(lines[start:end]).strip("\n")
                text = _EMPHASIS.sub(r"\2", text)
                if text.strip():
                    blocks.append(Block(text=text))
            i += 1
        if not blocks:
            raise LoadError("no text found")
        return LoadedDocument(title=title, blocks=blocks, metadata=metadata, warnings=warnings)
