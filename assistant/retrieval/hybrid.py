"""Hybrid retrieval across languages.

1. Candidates: BM25 (SQLite FTS5) for the question's terms and, in each other language of
   the corpus, for their equivalents; dense neighbours (Chroma) overall and per language;
   and, when the question names a document ("il bando SEED PA"), that document's passages.
2. Features: lexical coverage of the question (comparable across languages, see
   coverage.py) and embedding similarity, standardised within each language (an Italian
   question is always closer to Italian text, whatever it says).
3. Fusion by reciprocal rank of the two rankings (and of the named document's passages by
   coverage), or a weighted sum of the scores; optional cross-encoder reranking.

`bm25` and `dense` modes run one retriever alone (for comparison in benchmarks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assistant.index import Index, IndexUnavailable
from assistant.retrieval.coverage import CoverageScorer
from assistant.retrieval.query import QueryAnalysis, analyse_question
from assistant.retrieval.terminology import Terminology, load_terminology
from assistant.schema import Hit, SearchFilters
from assistant.text_analysis import ANALYSED_LANGUAGES, fold

logger = logging.getLogger(__name__)
Mode = Literal["hybrid", "bm25", "dense"]
NAMED_DOCUMENT_LIMIT = 400
DENSE_UNAVAILABLE = "dense_unavailable"  # in Hit.scores: the vector server was not reachable
CHROMA_FILTER_FIELDS = ("doc_type", "programme", "language", "comune", "workspace", "doc_id")


@dataclass
class FusionWeights:
    lexical: float = 1.0
    dense: float = 0.4
    named_document: float = 0.3
    cited_article: float = 0.5  # passages of an article the question cites ("art. 65")
    dense_clip: float = 2.0  # a passage far closer than all others is usually a near-empty hub
    fusion: str = "rrf"  # "rrf": reciprocal rank over the calibrated lists; "score": weighted sum
    rrf_k: int = 10  # sharper than the usual 60: the lists are short and already calibrated
    language_correction: float = 1.0
    # how much stronger the named document's name must match than the runner-up's
    document_margin: float = 1.5


class Retriever(Protocol):
    def retrieve(
        self, question: str, k: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]: ...


class Reranker(Protocol):
    def score(self, question: str, passages: Sequence[str]) -> list[float]: ...


def chroma_where(filters: SearchFilters | None) -> dict | None:
    if filters is None:
        return None
    clauses = []
    for field in CHROMA_FILTER_FIELDS:
        values = getattr(filters, field, None)
        if values:
            if field == "comune":
                values = [fold(v).strip() for v in values]
            clauses.append({field: {"$in": list(values)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def passes(row: dict, filters: SearchFilters | None) -> bool:
    """The catalogue's own check, so every path applies every filter the same way."""
    if filters is None:
        return True
    for field in CHROMA_FILTER_FIELDS:
        values = getattr(filters, field, None)
        if values:
            wanted = {fold(v).strip() for v in values} if field == "comune" else set(values)
            if row.get(field) not in wanted:
                return False
    return not (filters.source and not any(s in row["source"] for s in filters.source))


def reciprocal_rank_fusion(
    lists: list[tuple[float, np.ndarray]], k: int, mask: list[np.ndarray | None] | None = None
) -> np.ndarray:
    """Σ weight / (k + rank) over score lists of the same candidates; a mask limits a list
    to some candidates (the others get nothing from it)."""
    fused = np.zeros(len(lists[0][1]))
    for i, (weight, scores) in enumerate(lists):
        keep = mask[i] if mask and mask[i] is not None else np.ones(len(scores), dtype=bool)
        order = [j for j in np.argsort(-scores, kind="stable") if keep[j]]
        for rank, j in enumerate(order):
            fused[j] += weight / (k + rank + 1)
    return fused


def standardise_by_language(
    similarities: np.ndarray, groups: list[str], correction: float = 1.0, min_members: int = 8
) -> np.ndarray:
    """z-scores of similarities after removing part of each group's offset (language, or the
    named document): an Italian question sits closer to any Italian text, but only part of
    that closeness is the language; the rest is relevance. Groups smaller than
    `min_members` keep their offset."""
    if similarities.size == 0:
        return np.zeros_like(similarities)
    labels = np.array(groups)
    adjusted = similarities.astype(float).copy()
    overall = similarities.mean()
    for group in set(groups):
        mask = labels == group
        if mask.sum() >= min_members:
            adjusted[mask] -= correction * (similarities[mask].mean() - overall)
    spread = adjusted.std()
    return (adjusted - adjusted.mean()) / spread if spread > 0 else np.zeros_like(adjusted)


class HybridRetriever:
    def __init__(
        self,
        index: Index,
        terminology: Terminology | None = None,
        reranker: Reranker | None = None,
        mode: Mode = "hybrid",
        use_translations: bool = True,
        weights: FusionWeights | None = None,
    ) -> None:
        self.index = index
        self.settings = index.settings
        if terminology is None and use_translations:
            extra = self.settings.terminology_file
            terminology = load_terminology(str(extra) if extra else None)
        self.terminology = terminology if use_translations else None
        self.reranker = reranker
        self.mode = mode
        self.weights = weights or FusionWeights(fusion=self.settings.fusion)
        self.coverage = CoverageScorer(index.catalog)
        self._languages: list[str] | None = None

    # -- public ----------------------------------------------------------------------
    def analyse(self, question: str) -> QueryAnalysis:
        return analyse_question(question, self.terminology)

    def retrieve(
        self, question: str, k: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]:
        # nothing to look for: no letter or digit (empty, spaces, only punctuation)
        if not any(c.isalnum() for c in question):
            return []
        catalog = self.index.catalog
        if catalog.refresh_if_changed():
            self._languages = None
        if self.mode == "bm25":
            return self._bm25_only(question, k, filters)
        if self.mode == "dense":
            return self._dense_only(question, k, filters)
        analysis = self.analyse(question)
        query_vector = self.index.embedder.embed_queries([question])[0]
        coverage_query = self.coverage.build(analysis)

        rowids = set(
            self.coverage.candidates(
                coverage_query,
                self.corpus_languages(analysis),
                analysis.language,
                filters,
                self.settings.candidates,
            )
        )
        # The vector server down or restarting: lexical (SQLite) results alone, each hit
        # marked so that the answer can say so; the next call tries the server again.
        dense_down = False
        try:
            dense_ids = self._dense_candidates(query_vector, analysis, filters)
        except IndexUnavailable as error:
            logger.warning("%s: keyword search only", error)
            dense_ids, dense_down = [], True
        named = self._named_document(analysis, filters)
        # The regulation the question names ("under the CPR"): its own text, not the
        # Interreg article that repeats the same rule nor a call that cites it. Only its
        # passages already among the candidates: a question about it draws many.
        named_docs = {named} if named else set()
        named_docs.update(catalog.regulation_documents(analysis.regulations))
        rows = catalog.chunks_by_rowid(rowids)
        rows_by_id = {r["chunk_id"]: r for r in rows.values()}
        rows_by_id.update(catalog.chunks_by_id([i for i in dense_ids if i not in rows_by_id]))
        if named:
            try:
                named_ids = self._named_candidates(named, coverage_query, query_vector, filters)
            except IndexUnavailable:
                named_ids, dense_down = self.index.catalog.chunk_ids_of(named), True
            rows_by_id.update(catalog.chunks_by_id([i for i in named_ids if i not in rows_by_id]))
        cited = set(catalog.article_chunk_ids(analysis.articles, analysis.regulations))
        rows_by_id.update(catalog.chunks_by_id([i for i in cited if i not in rows_by_id]))
        # Vectors whose chunk the catalogue does not hold (an interrupted ingest) never
        # get here: every candidate is a catalogue row, checked against the filters.
        candidates = [r for r in rows_by_id.values() if passes(r, filters)]
        if not candidates:
            return []
        lexical = self.coverage.score(coverage_query, [r["rowid"] for r in candidates])
        try:
            vectors = (
                {}
                if dense_down
                else self.index.vectors.get_vectors([r["chunk_id"] for r in candidates])
            )
        except IndexUnavailable:
            vectors, dense_down = {}, True
        similarity = np.array(
            [
                float(vectors[r["chunk_id"]] @ query_vector) if r["chunk_id"] in vectors else 0.0
                for r in candidates
            ]
        )
        dense_z = np.clip(
            # Standardised within each language, and within the named document: passages of
            # one call all resemble a question about it; what matters is which does most.
            standardise_by_language(
                similarity,
                [
                    f"doc:{named}" if named and r["doc_id"] == named else r["language"]
                    for r in candidates
                ],
                self.weights.language_correction,
            ),
            -self.weights.dense_clip,
            self.weights.dense_clip,
        )
        lexical_values = np.array([lexical.get(r["rowid"], 0.0) for r in candidates])
        lexical_norm = lexical_values / (lexical_values.max() or 1.0)
        in_named = np.array([1.0 if r["doc_id"] in named_docs else 0.0 for r in candidates])
        in_cited = np.array([1.0 if r["chunk_id"] in cited else 0.0 for r in candidates])
        w = self.weights
        if w.fusion == "rrf":
            fused = reciprocal_rank_fusion(
                [
                    (w.lexical, lexical_norm),
                    (w.dense, dense_z),
                    (w.named_document, lexical_norm + in_named * 10),
                ],
                w.rrf_k,
                mask=[None, None, in_named > 0],
            )
        else:
            fused = w.lexical * lexical_norm + w.dense * dense_z + w.named_document * in_named
        fused += w.cited_article * in_cited
        order = np.argsort(-fused)
        hits = []
        # With a reranker every returned hit is reranked, so all scores compare.
        for i in order[: max(k, self.settings.rerank_top) if self.reranker else k]:
            row = candidates[i]
            hits.append(
                self._hit(
                    row,
                    float(fused[i]),
                    {
                        "lexical": float(lexical_values[i]),
                        "dense": float(similarity[i]),
                        "dense_z": float(dense_z[i]),
                        "named_document": float(in_named[i]),
                        **({DENSE_UNAVAILABLE: 1.0} if dense_down else {}),
                    },
                )
            )
        if self.reranker is not None and hits:
            hits = self._rerank(question, hits)
        return hits[:k]

    # -- candidates ------------------------------------------------------------------
    def corpus_languages(self, analysis: QueryAnalysis) -> list[str]:
        if self._languages is None:
            with self.index.catalog.engine.connect() as connection:
                rows = connection.exec_driver_sql("SELECT DISTINCT language FROM chunks").all()
            self._languages = sorted(r[0] for r in rows if r[0] in ANALYSED_LANGUAGES)
        return sorted(set(self._languages) | {analysis.language})

    def _dense_candidates(
        self, vector: np.ndarray, analysis: QueryAnalysis, filters: SearchFilters | None
    ) -> list[str]:
        """The nearest chunks, plus the nearest in each other language of the corpus (so a
        French regulation competes with Italian notes). One wide query split by language
        here: a query filtered by language costs a scan that grows with the index."""
        n = self.settings.candidates
        others = [
            language
            for language in self.corpus_languages(analysis)
            if language != analysis.language
            and (filters or SearchFilters()).narrowed(language=[language]) is not None
        ]
        # 600 neighbours cost about as much as 60 (HNSW's work is in the graph walk), and a
        # language with fewer than n/2 chunks among them has none close enough to matter
        wide = self.index.vectors.query_with_metadata(vector, n * 10, chroma_where(filters))
        found = [i for i, _, _ in wide[:n]]
        for language in others:
            found += [i for i, _, meta in wide if meta.get("language") == language][: n // 2]
        return list(dict.fromkeys(found))

    def _named_document(self, analysis: QueryAnalysis, filters: SearchFilters | None) -> str | None:
        """The document the question names ("il bando SEED PA"), when one stands out."""
        terms = analysis.terms + [t for ts in analysis.terms_by_language.values() for t in ts]
        ranked = self.index.catalog.search_documents(terms, 3, filters)
        if not ranked:
            return None
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if ranked[0][1] < self.weights.document_margin * second:
            return None
        # A name is two words or more ("bando SEED PA"): one fund's acronym ("FESR") in a
        # question names no document, however few documents carry it in their title.
        names = set(self.index.catalog.document_name_terms(ranked[0][0]))
        return ranked[0][0] if len(names.intersection(terms)) >= 2 else None

    def _named_candidates(
        self, doc_id: str, query, vector: np.ndarray, filters: SearchFilters | None
    ) -> list[str]:
        """All passages of a short named document; the best ones of a long one."""
        limit = NAMED_DOCUMENT_LIMIT
        ids = self.index.catalog.chunk_ids_of(doc_id, limit + 1)
        if len(ids) <= limit:
            return ids
        scoped = (filters or SearchFilters()).narrowed(doc_id=[doc_id])
        lexical = self.index.catalog.search(query.fts_terms(None), self.settings.candidates, scoped)
        rows = self.index.catalog.chunks_by_rowid([r for r, _ in lexical])
        dense = self.index.vectors.query(vector, self.settings.candidates, chroma_where(scoped))
        return [rows[r]["chunk_id"] for r, _ in lexical if r in rows] + [i for i, _ in dense]

    # -- single retrievers (benchmarks) ------------------------------------------------
    def _bm25_only(self, question: str, k: int, filters: SearchFilters | None) -> list[Hit]:
        from assistant.text_analysis import analyse_query

        catalog = self.index.catalog
        found = catalog.search(analyse_query(question), max(k, self.settings.candidates), filters)
        rows = catalog.chunks_by_rowid([r for r, _ in found])
        hits = [
            self._hit(rows[r], s, {"bm25": s})
            for r, s in found
            if r in rows and passes(rows[r], filters)
        ]
        return hits[:k]

    def _dense_only(self, question: str, k: int, filters: SearchFilters | None) -> list[Hit]:
        vector = self.index.embedder.embed_queries([question])[0]
        found = self.index.vectors.query(
            vector, max(k, self.settings.candidates), chroma_where(filters)
        )
        rows = self.index.catalog.chunks_by_id([i for i, _ in found])
        hits = [
            self._hit(rows[i], s, {"dense": s})
            for i, s in found
            if i in rows and passes(rows[i], filters)
        ]
        return hits[:k]

    # -- output ----------------------------------------------------------------------
    def _rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        scores = self.reranker.score(question, [h.text for h in hits])  # type: ignore[union-attr]
        if len(scores) != len(hits):
            raise ValueError(f"the reranker scored {len(scores)} of {len(hits)} passages")
        for hit, score in zip(hits, scores, strict=True):
            hit.scores["rerank"] = float(score)
            hit.score = float(score)
        return sorted(hits, key=lambda h: h.score, reverse=True)

    @staticmethod
    def _hit(row: dict, score: float, scores: dict[str, float]) -> Hit:
        return Hit(
            chunk_id=row["chunk_id"],
            doc_id=row["doc_id"],
            text=row["text"],
            source=row["source"],
            title=row["title"],
            doc_type=row["doc_type"],
            section=row["section"],
            section_title=row["section_title"],
            page=row["page"],
            page_end=row["page_end"],
            page_label=row["page_label"],
            language=row["language"],
            score=score,
            scores=scores,
            metadata={
                **{
                    k: v
                    for k, v in (row["meta"] or {}).items()
                    if isinstance(v, str | int | float | bool)
                },
                "workspace": row.get("workspace") or "shared",
            },
        )
