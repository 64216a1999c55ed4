"""Dense vectors in Chroma: embedded (PersistentClient) or a server (HttpClient)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlparse

import numpy as np

from assistant.settings import Settings

T = TypeVar("T")


class IndexUnavailable(RuntimeError):
    """The Chroma server cannot be reached (down, restarting, not answering in time)."""


def _unreachable(error: BaseException) -> bool:
    """A failure of the connection, not of the request: nothing listens, the connection
    broke, no answer in time. httpx raises these; chromadb passes them through."""
    import httpx

    seen: BaseException | None = error
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Server mode: a connection failure becomes one IndexUnavailable with the URL."""

    @functools.wraps(method)
    def call(self: ChromaVectorStore, *args, **kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:
            if self.url and _unreachable(error):
                raise IndexUnavailable(
                    f"Chroma server at {self.url} is not reachable ({type(error).__name__})"
                ) from error
            raise

    return call


def collection_name(embedder_id: str) -> str:
    """Chroma names allow [A-Za-z0-9._-], 3-512 chars; the embedder id keeps indexes apart."""
    return "euroassist-" + re.sub(r"[^A-Za-z0-9._-]+", "-", embedder_id).strip("-._")


class ChromaVectorStore:
    """Every call to a server that cannot be reached raises IndexUnavailable; the same object
    works again once the server is back (httpx opens a new connection per failed one)."""

    url: str | None = None

    @_guarded
    def __init__(self, settings: Settings, embedder_id: str) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            self.url = settings.chroma_url
            url = urlparse(settings.chroma_url)
            self.client = chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            self._limit_wait(settings.chroma_timeout_s)
        else:
            path = settings.index_dir / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        self.name = collection_name(embedder_id)
        self.collection = self.client.get_or_create_collection(
            self.name,
            embedding_function=None,  # we always embed ourselves; Chroma's default downloads
            configuration={
                "hnsw": {
                    "space": "cosine",
                    "ef_construction": settings.hnsw_ef_construction,
                    "ef_search": settings.hnsw_ef_search,
                    "max_neighbors": settings.hnsw_m,
                }
            },
            metadata={"embedder": embedder_id},
        )
        self._apply_search_settings(settings)
        self.batch_size = max(1, min(self.client.get_max_batch_size(), 5000))

    def _limit_wait(self, seconds: float) -> None:
        """chromadb's HTTP session waits forever (timeout=None): a server that accepts and
        never answers would hang every query. Give it a limit."""
        import httpx

        session = getattr(getattr(self.client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))

    def _apply_search_settings(self, settings: Settings) -> None:
        """ef_search can change on an existing index (get_or_create ignores it then)."""
        current = (self.collection.configuration or {}).get("hnsw") or {}
        if current.get("ef_search") != settings.hnsw_ef_search:
            self.collection.modify(configuration={"hnsw": {"ef_search": settings.hnsw_ef_search}})

    @_guarded
    def add(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        for start in range(0, len(ids), self.batch_size):
            end = start + self.batch_size
            self.collection.upsert(
                ids=list(ids[start:end]),
                embeddings=vectors[start:end].astype(np.float32),
                metadatas=[dict(m) for m in metadatas[start:end]],
            )

    @_guarded
    def delete_document(self, doc_id: str, keep_version: str | None = None) -> None:
        where: dict = {"doc_id": doc_id}
        if keep_version is not None:
            where = {"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep_version}}]}
        self.collection.delete(where=where)

    @_guarded
    def versions(self) -> dict[str, set[str]]:
        """doc_id -> versions present (to find vectors left by an interrupted ingest)."""
        out: dict[str, set[str]] = {}
        total = self.collection.count()
        for offset in range(0, total, 5000):
            page = self.collection.get(include=["metadatas"], limit=5000, offset=offset)
            for meta in page["metadatas"] or []:
                if meta:
                    out.setdefault(str(meta.get("doc_id")), set()).add(str(meta.get("version")))
        return out

    def query(
        self, vector: np.ndarray, n: int, where: dict | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        return [(i, s) for i, s, _ in self.query_with_metadata(vector, n, where)]

    @_guarded
    def query_with_metadata(
        self, vector: np.ndarray, n: int, where: dict | None = None
    ) -> list[tuple[str, float, dict]]:
        """(chunk id, cosine similarity, metadata), best first. No count() first: it costs
        a scan that grows with the collection, and an empty collection answers [] anyway."""
        result = self.collection.query(
            query_embeddings=[vector.astype(np.float32)],
            n_results=n,
            where=where or None,
            include=["distances", "metadatas"],
        )
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result["distances"] else []
        metadatas = (result.get("metadatas") or [[]])[0] or [{}] * len(ids)
        return [
            (i, 1.0 - float(d), m or {}) for i, d, m in zip(ids, distances, metadatas, strict=False)
        ]

    @_guarded
    def count(self) -> int:
        return self.collection.count()

    @_guarded
    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32)
            for i, v in zip(got["ids"], got["embeddings"], strict=False)
        }
