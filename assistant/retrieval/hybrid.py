"""Hybrid retrieval: BM25 and dense search, each in the question's language and in the
equivalent terms of the other languages, fused by reciprocal rank; then optional reranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assistant.index import Index
from assistant.retrieval.query import QueryAnalysis, analyse_question
from assistant.retrieval.terminology import Terminology, load_terminology
from assistant.schema import Hit, SearchFilters
from assistant.text_analysis import fold

Mode = Literal["hybrid", "bm25", "dense"]
CHROMA_FILTER_FIELDS = ("doc_type", "programme", "language", "comune", "workspace")


class Retriever(Protocol):
    def retrieve(self, question: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        ...


class Reranker(Protocol):
    def score(self, question: str, passages: Sequence[str]) -> list[float]: ...


@dataclass
class RankedList:
    name: str
    weight: float
    ids: list[str]
    scores: list[float]


def reciprocal_rank_fusion(lists: list[RankedList], k: int) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranked in lists:
        for rank, chunk_id in enumerate(ranked.ids):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + ranked.weight / (k + rank + 1)
    return fused


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
    if filters.source and not any(s in row["source"] for s in filters.source):
        return False
    return True


class HybridRetriever:
    def __init__(self, index: Index, terminology: Terminology | None = None,
                 reranker: Reranker | None = None, mode: Mode = "hybrid",
                 use_translations: bool = True) -> None:
        self.index = index
        self.settings = index.settings
        if terminology is None and use_translations:
            extra = self.settings.terminology_file
            terminology = load_terminology(str(extra) if extra else None)
        self.terminology = terminology if use_translations else None
        self.reranker = reranker
        self.mode = mode

    # -- the lists -------------------------------------------------------------------
    def _lexical(self, name: str, terms: list[str], filters: SearchFilters | None, weight: float) -> RankedList:
        catalog = self.index.catalog
        rows = catalog.search(terms, self.settings.candidates, filters)
        by_rowid = catalog.chunks_by_rowid([r for r, _ in rows])
        ids = [by_rowid[r]["chunk_id"] for r, _ in rows if r in by_rowid]
        scores = [s for r, s in rows if r in by_rowid]
        self._rows.update({by_rowid[r]["chunk_id"]: by_rowid[r] for r, _ in rows if r in by_rowid})
        return RankedList(name, weight, ids, scores)

    def _dense(self, name: str, vector: np.ndarray, filters: SearchFilters | None, weight: float) -> RankedList:
        found = self.index.vectors.query(vector, self.settings.candidates, chroma_where(filters))
        rows = self.index.catalog.chunks_by_id([i for i, _ in found if i not in self._rows])
        self._rows.update(rows)
        # Vectors whose chunk the catalogue does not hold (an interrupted ingest) are not served.
        kept = [(i, s) for i, s in found if i in self._rows and passes(self._rows[i], filters)]
        return RankedList(name, weight, [i for i, _ in kept], [s for _, s in kept])

    def _article_list(self, analysis: QueryAnalysis, filters: SearchFilters | None) -> RankedList | None:
        """Chunks of the articles the question names (`art. 65`), when it names any."""
        if not analysis.articles:
            return None
        ids: list[str] = []
        with self.index.catalog.engine.connect() as connection:
            for article in analysis.articles:
                rows = connection.exec_driver_sql(
                    "SELECT c.chunk_id, d.identifiers FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                    "WHERE c.section = ? OR c.section LIKE ? ORDER BY c.ordinal LIMIT 200",
                    (article, f"{article} ›%"),
                ).all()
                for chunk_id, identifiers in rows:
                    if analysis.regulations and not any(r in (identifiers or "") for r in analysis.regulations):
                        continue
                    ids.append(chunk_id)
        rows_by_id = self.index.catalog.chunks_by_id([i for i in ids if i not in self._rows])
        self._rows.update(rows_by_id)
        ids = [i for i in ids if i in self._rows and passes(self._rows[i], filters)]
        return RankedList("article", 1.0, ids[: self.settings.candidates], [1.0] * len(ids))

    def ranked_lists(self, analysis: QueryAnalysis, filters: SearchFilters | None) -> list[RankedList]:
        lists: list[RankedList] = []
        if self.mode in ("hybrid", "bm25"):
            lists.append(self._lexical("bm25", analysis.terms, filters, 1.0))
            if analysis.translated_terms and self.mode == "hybrid":
                lists.append(self._lexical("bm25-translated", analysis.terms + analysis.translated_terms, filters, 1.0))
        if self.mode in ("hybrid", "dense"):
            texts = [analysis.text]
            if self.mode == "hybrid":
                texts += [f"{analysis.text}\n{t}" for t in analysis.translations.values()]
            vectors = self.index.embedder.embed_queries(texts)
            for i, vector in enumerate(vectors):
                name = "dense" if i == 0 else f"dense-{list(analysis.translations)[i - 1]}"
                lists.append(self._dense(name, vector, filters, 1.0 if i == 0 else 0.5))
        if self.mode == "hybrid" and (article := self._article_list(analysis, filters)):
            lists.append(article)
        return lists

    # -- public ----------------------------------------------------------------------
    def analyse(self, question: str) -> QueryAnalysis:
        return analyse_question(question, self.terminology)

    def retrieve(self, question: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        self._rows: dict[str, dict] = {}
        analysis = self.analyse(question)
        lists = self.ranked_lists(analysis, filters)
        if self.mode == "hybrid" or len(lists) > 1:
            fused = reciprocal_rank_fusion(lists, self.settings.rrf_k)
        else:
            fused = dict(zip(lists[0].ids, lists[0].scores, strict=False)) if lists else {}
        order = sorted(fused, key=fused.__getitem__, reverse=True)
        per_list = {r.name: {i: s for i, s in zip(r.ids, r.scores, strict=False)} for r in lists}
        hits = [self._hit(i, fused[i], per_list) for i in order if i in self._rows]
        if self.reranker is not None and hits:
            hits = self._rerank(question, hits)
        return hits[:k]

    def _rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        top = hits[: self.settings.rerank_top]
        scores = self.reranker.score(question, [h.text for h in top])  # type: ignore[union-attr]
        for hit, score in zip(top, scores, strict=False):
            hit.scores["rerank"] = float(score)
            hit.score = float(score)
        return sorted(top, key=lambda h: h.score, reverse=True) + hits[len(top):]

    def _hit(self, chunk_id: str, score: float, per_list: dict[str, dict[str, float]]) -> Hit:
        row = self._rows[chunk_id]
        return Hit(
            chunk_id=chunk_id, doc_id=row["doc_id"], text=row["text"], source=row["source"],
            title=row["title"], doc_type=row["doc_type"], section=row["section"],
            section_title=row["section_title"], page=row["page"], page_label=row["page_label"],
            language=row["language"], score=score,
            scores={name: values[chunk_id] for name, values in per_list.items() if chunk_id in values},
            metadata={k: v for k, v in (row["meta"] or {}).items() if isinstance(v, str | int | float | bool)},
        )
