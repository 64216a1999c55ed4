"""The index: catalogue (SQLite, BM25) + vectors (Chroma) for one embedder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from assistant.embedders import Embedder, embedder_id, load_embedder
from assistant.index.catalog import Catalog
from assistant.index.vector_store import ChromaVectorStore, IndexUnavailable, collection_name
from assistant.settings import Settings


@dataclass
class Index:
    settings: Settings

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embedder)

    @cached_property
    def embedder_id(self) -> str:
        return embedder_id(self.settings.embedder)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.settings.index_dir / f"{collection_name(self.embedder_id)}.sqlite")

    @cached_property
    def vectors(self) -> ChromaVectorStore:
        return ChromaVectorStore(self.settings, self.embedder_id)


__all__ = ["Index", "Catalog", "ChromaVectorStore", "IndexUnavailable"]
