"""Data shapes shared by loaders, the index and the retrievers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DocType = Literal["regulation", "call", "project", "guidance", "faq", "other"]
DOC_TYPES: tuple[str, ...] = ("regulation", "call", "project", "guidance", "faq", "other")
BlockKind = Literal["text", "heading", "table", "record"]
MetaValue = str | int | float | bool


class Block(BaseModel):
    """A piece of a source document in reading order, as a loader found it."""

    text: str
    kind: BlockKind = "text"
    page: int | None = None  # 1-based
    page_label: str | None = None
    level: int | None = None  # heading level for explicit headings (Markdown, DOCX, HTML)
    metadata: dict[str, MetaValue] = Field(default_factory=dict)  # typed fields of a record
    summary: str | None = None  # short text for the embedder where `text` is long (records)


class LoadedDocument(BaseModel):
    """What a loader returns: the blocks plus what the file itself says about the document."""

    title: str | None = None
    blocks: list[Block]
    page_count: int | None = None
    doc_type_hint: DocType | None = None
    metadata: dict[str, MetaValue] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class DocumentInfo(BaseModel):
    """Catalogue entry of one ingested document."""

    doc_id: str
    source: str
    title: str
    doc_type: DocType
    language: str
    sha256: str
    identifiers: list[str] = Field(default_factory=list)
    programme: str | None = None
    comune: str | None = None
    page_count: int | None = None
    chunk_count: int = 0
    version: str = ""
    metadata: dict[str, MetaValue] = Field(default_factory=dict)


class Chunk(BaseModel):
    """A retrievable unit. `text` is verbatim source text (what is shown and cited);
    `embed_text` adds the document title and heading path for the embedder."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    embed_text: str
    section: str = ""
    section_title: str = ""
    page: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    language: str = "und"
    kind: BlockKind = "text"
    token_count: int = 0
    metadata: dict[str, MetaValue] = Field(default_factory=dict)


class Hit(BaseModel):
    """A retrieved chunk with its document's citation data."""

    chunk_id: str
    doc_id: str
    text: str
    source: str
    title: str
    doc_type: str
    section: str = ""
    section_title: str = ""
    page: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    language: str = "und"
    score: float = 0.0
    scores: dict[str, float] = Field(default_factory=dict)
    metadata: dict[str, MetaValue] = Field(default_factory=dict)

    def citation(self) -> str:
        """`Title, Art. 65 › 1, p. 63 (file.pdf)`."""
        from pathlib import PurePath

        parts = [self.title]
        if self.section:
            parts.append(self.section)
        if self.page is not None and self.page_end is not None and self.page_end > self.page:
            parts.append(f"pp. {self.page}-{self.page_end}")
        elif self.page is not None:
            label = f"p. {self.page}"
            if self.page_label and self.page_label != str(self.page):
                label += f" [{self.page_label}]"
            parts.append(label)
        return f"{', '.join(parts)} ({PurePath(self.source).name})"

    def as_public_dict(self) -> dict[str, object]:
        """The stable shape of `euroassist retrieve --json`."""
        return {
            "text": self.text,
            "source": self.source,
            "page": self.page,
            "section": self.section,
            "doc_type": self.doc_type,
            "score": round(self.score, 6),
        }


class SearchFilters(BaseModel):
    doc_type: list[str] | None = None
    programme: list[str] | None = None
    language: list[str] | None = None
    source: list[str] | None = None
    comune: list[str] | None = None
    doc_id: list[str] | None = None
    workspace: list[str] | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in type(self).model_fields)

    def narrowed(self, **values: list[str]) -> SearchFilters | None:
        """These filters and more; None when a field's values exclude all of the new ones."""
        data = self.model_dump()
        for field, wanted in values.items():
            current = data.get(field)
            if current:
                wanted = [v for v in wanted if v in current]
                if not wanted:
                    return None
            data[field] = wanted
        return SearchFilters(**data)
