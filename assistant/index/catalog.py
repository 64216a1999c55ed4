"""The catalogue: documents, chunks and the BM25 index, in one SQLite file per embedder.

It is the source of truth for what is current. A document's chunks and lexical terms are
replaced in one transaction, so a crash never leaves half a document served; vectors in
Chroma whose chunk is not in the catalogue are ignored at query time and cleaned up later.
BM25 is SQLite FTS5 over pre-analysed terms (folded, stemmed): persistent and incremental.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Engine

from assistant.identifiers import find_regulations
from assistant.schema import Chunk, DocumentInfo, SearchFilters

metadata = MetaData()

documents = Table(
    "documents",
    metadata,
    Column("doc_id", String, primary_key=True),
    Column("workspace", String, nullable=False, default="shared", index=True),
    Column("source", String, nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("doc_type", String, nullable=False),
    Column("language", String, nullable=False),
    Column("sha256", String, nullable=False),
    Column("version", String, nullable=False),
    Column("identifiers", JSON, nullable=False, default=list),
    Column("programme", String),
    Column("comune", String),
    Column("page_count", Integer),
    Column("chunk_count", Integer, nullable=False, default=0),
    Column("size", Integer),
    Column("mtime", Float),
    Column("ingested_at", Float),
    Column("meta", JSON, nullable=False, default=dict),
)

chunks = Table(
    "chunks",
    metadata,
    Column("rowid", Integer, primary_key=True, autoincrement=True),
    Column("chunk_id", String, nullable=False, unique=True),
    Column("doc_id", String, nullable=False, index=True),
    Column("ordinal", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("section", Text, nullable=False, default=""),
    Column("section_title", Text, nullable=False, default=""),
    Column("page", Integer),
    Column("page_end", Integer),
    Column("page_label", String),
    Column("language", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("token_count", Integer, nullable=False),
    Column("meta", JSON, nullable=False, default=dict),
    # Denormalised for filtering in the same query as the match.
    Column("workspace", String, nullable=False, default="shared"),
    Column("doc_type", String, nullable=False),
    Column("programme", String),
    Column("comune", String),
    Column("source", String, nullable=False),
)

_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5("
    "body, context, tokenize = 'unicode61 remove_diacritics 2')"
)
_VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab('chunks_fts', 'row')"
_DOC_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5("
    "doc_id UNINDEXED, names, tokenize = 'unicode61 remove_diacritics 2')"
)
FILTER_COLUMNS = {
    "doc_type": "doc_type",
    "programme": "programme",
    "language": "language",
    "source": "source",
    "comune": "comune",
    "workspace": "workspace",
    "doc_id": "doc_id",
}


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def normalise_filter_value(column: str, value: str) -> str:
    from assistant.text_analysis import fold

    return fold(value).strip() if column == "comune" else value


class Catalog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.engine: Engine = create_engine(f"sqlite:///{path}", future=True)
        event.listen(self.engine, "connect", self._on_connect)
        metadata.create_all(self.engine)
        with self.engine.begin() as connection:
            connection.exec_driver_sql(_FTS)
            connection.exec_driver_sql(_DOC_FTS)
            connection.exec_driver_sql(_VOCAB)
        self._stats_cache: dict[str, Any] = {}
        self._names_cache: dict[str, str] = {}

    @staticmethod
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # -- documents -------------------------------------------------------------------
    def document_by_source(self, source: str, workspace: str = "shared") -> DocumentInfo | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(documents).where(
                        documents.c.source == source, documents.c.workspace == workspace
                    )
                )
                .mappings()
                .first()
            )
        return self._document(row) if row else None

    def document(self, doc_id: str) -> DocumentInfo | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(documents).where(documents.c.doc_id == doc_id))
                .mappings()
                .first()
            )
        return self._document(row) if row else None

    def documents(self, workspace: str | None = None) -> list[DocumentInfo]:
        query = select(documents).order_by(documents.c.source)
        if workspace:
            query = query.where(documents.c.workspace == workspace)
        with self.engine.connect() as connection:
            return [self._document(r) for r in connection.execute(query).mappings()]

    def file_stat(self, doc_id: str) -> tuple[int | None, float | None, str] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(documents.c.size, documents.c.mtime, documents.c.sha256).where(
                    documents.c.doc_id == doc_id
                )
            ).first()
        return (row[0], row[1], row[2]) if row else None

    @staticmethod
    def _document(row) -> DocumentInfo:
        return DocumentInfo(
            doc_id=row["doc_id"],
            source=row["source"],
            title=row["title"],
            doc_type=row["doc_type"],
            language=row["language"],
            sha256=row["sha256"],
            identifiers=row["identifiers"] or [],
            programme=row["programme"],
            comune=row["comune"],
            page_count=row["page_count"],
            chunk_count=row["chunk_count"],
            version=row["version"],
            metadata={**(row["meta"] or {}), "workspace": row["workspace"]},
        )

    def replace_document(
        self,
        info: DocumentInfo,
        items: list[tuple[Chunk, list[str], list[str]]],
        workspace: str,
        size: int,
        mtime: float,
        name_terms: list[str],
    ) -> None:
        """Swap a document's chunks and terms atomically. items: (chunk, body terms, context
        terms); name_terms: what the document is called (title, file name, cover page)."""
        with self.engine.begin() as connection:
            self._delete_rows(connection, info.doc_id)
            connection.exec_driver_sql(
                "INSERT INTO documents_fts(doc_id, names) VALUES (?, ?)",
                (info.doc_id, " ".join(name_terms)),
            )
            connection.execute(documents.delete().where(documents.c.doc_id == info.doc_id))
            connection.execute(
                documents.insert().values(
                    doc_id=info.doc_id,
                    workspace=workspace,
                    source=info.source,
                    title=info.title,
                    doc_type=info.doc_type,
                    language=info.language,
                    sha256=info.sha256,
                    version=info.version,
                    identifiers=info.identifiers,
                    programme=info.programme,
                    comune=normalise_filter_value("comune", info.comune) if info.comune else None,
                    page_count=info.page_count,
                    chunk_count=len(items),
                    size=size,
                    mtime=mtime,
                    ingested_at=time.time(),
                    meta=info.metadata,
                )
            )
            for chunk, body, context in items:
                comune = chunk.metadata.get("comune") or info.comune
                programme = chunk.metadata.get("programme_tag") or info.programme
                result = connection.execute(
                    chunks.insert().values(
                        chunk_id=chunk.chunk_id,
                        doc_id=chunk.doc_id,
                        ordinal=chunk.ordinal,
                        text=chunk.text,
                        section=chunk.section,
                        section_title=chunk.section_title,
                        page=chunk.page,
                        page_end=chunk.page_end,
                        page_label=chunk.page_label,
                        language=chunk.language,
                        kind=chunk.kind,
                        token_count=chunk.token_count,
                        meta=chunk.metadata,
                        workspace=workspace,
                        doc_type=info.doc_type,
                        programme=programme,
                        comune=normalise_filter_value("comune", str(comune)) if comune else None,
                        source=info.source,
                    )
                )
                connection.exec_driver_sql(
                    "INSERT INTO chunks_fts(rowid, body, context) VALUES (?, ?, ?)",
                    (result.inserted_primary_key[0], " ".join(body), " ".join(context)),
                )

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    select(chunks).where(chunks.c.doc_id == doc_id).order_by(chunks.c.ordinal)
                )
                .mappings()
                .all()
            )
        return [
            Chunk(
                chunk_id=r["chunk_id"],
                doc_id=r["doc_id"],
                ordinal=r["ordinal"],
                text=r["text"],
                embed_text="",
                section=r["section"],
                section_title=r["section_title"],
                page=r["page"],
                page_end=r["page_end"],
                page_label=r["page_label"],
                language=r["language"],
                kind=r["kind"],
                token_count=r["token_count"],
                metadata=r["meta"] or {},
            )
            for r in rows
        ]

    def replace_terms(
        self, doc_id: str, items: list[tuple[Chunk, list[str], list[str]]], name_terms: list[str]
    ) -> None:
        """New BM25 terms for a document's stored chunks, in one transaction."""
        with self.engine.begin() as connection:
            rowids = dict(
                connection.execute(
                    select(chunks.c.chunk_id, chunks.c.rowid).where(chunks.c.doc_id == doc_id)
                ).all()
            )
            for chunk, body, context in items:
                rowid = rowids[chunk.chunk_id]
                connection.exec_driver_sql("DELETE FROM chunks_fts WHERE rowid = ?", (rowid,))
                connection.exec_driver_sql(
                    "INSERT INTO chunks_fts(rowid, body, context) VALUES (?, ?, ?)",
                    (rowid, " ".join(body), " ".join(context)),
                )
            connection.exec_driver_sql("DELETE FROM documents_fts WHERE doc_id = ?", (doc_id,))
            connection.exec_driver_sql(
                "INSERT INTO documents_fts(doc_id, names) VALUES (?, ?)",
                (doc_id, " ".join(name_terms)),
            )
        self.invalidate_stats()

    def touch(self, doc_id: str, size: int, mtime: float) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                documents.update()
                .where(documents.c.doc_id == doc_id)
                .values(size=size, mtime=mtime)
            )

    def remove_document(self, doc_id: str) -> int:
        with self.engine.begin() as connection:
            removed = self._delete_rows(connection, doc_id)
            connection.execute(documents.delete().where(documents.c.doc_id == doc_id))
        return removed

    @staticmethod
    def _delete_rows(connection, doc_id: str) -> int:
        rowids = [
            r[0]
            for r in connection.execute(select(chunks.c.rowid).where(chunks.c.doc_id == doc_id))
        ]
        for start in range(0, len(rowids), 500):
            batch = rowids[start : start + 500]
            marks = ",".join("?" * len(batch))
            connection.exec_driver_sql(
                f"DELETE FROM chunks_fts WHERE rowid IN ({marks})", tuple(batch)
            )
        connection.execute(chunks.delete().where(chunks.c.doc_id == doc_id))
        connection.exec_driver_sql("DELETE FROM documents_fts WHERE doc_id = ?", (doc_id,))
        return len(rowids)

    # -- chunks ----------------------------------------------------------------------
    def current_versions(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return dict(connection.execute(select(documents.c.doc_id, documents.c.version)).all())

    def _chunk_rows(self, column, values: list) -> list[dict]:
        """Chunks with their document's title, selected by chunk id or row id."""
        if not values:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(chunks, documents.c.title)
                .join(documents, documents.c.doc_id == chunks.c.doc_id)
                .where(column.in_(values))
            )
            return [dict(r) for r in rows.mappings()]

    def chunks_by_id(self, chunk_ids: Iterable[str]) -> dict[str, dict]:
        return {r["chunk_id"]: r for r in self._chunk_rows(chunks.c.chunk_id, list(chunk_ids))}

    def chunks_by_rowid(self, rowids: Iterable[int]) -> dict[int, dict]:
        return {r["rowid"]: r for r in self._chunk_rows(chunks.c.rowid, list(rowids))}

    def chunk_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM chunks")).scalar_one())

    def search(
        self,
        terms: list[str],
        limit: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.4,
    ) -> list[tuple[int, float]]:
        """BM25 over the analysed terms (OR), best first, as (rowid, score>0)."""
        terms = self.selective_terms(terms)
        if not terms:
            return []
        match = " OR ".join(_fts_quote(t) for t in terms)
        where, params = self._filter_sql(filters)
        sql = (
            "SELECT chunks_fts.rowid, bm25(chunks_fts, 1.0, ?) AS score FROM chunks_fts "
            + ("JOIN chunks c ON c.rowid = chunks_fts.rowid " if where else "")
            + "WHERE chunks_fts MATCH ? "
            + where
            + " ORDER BY score LIMIT ?"
        )
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql(sql, (context_weight, match, *params, limit)).all()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def selective_terms(self, terms: list[str], share: float = 0.05, floor: int = 500) -> list[str]:
        """The terms worth matching: a term in more than `share` of the chunks adds little
        to BM25 but makes SQLite score every chunk that has it, a cost that grows with the
        index. Such terms are dropped while at least three rarer ones remain."""
        unique = list(dict.fromkeys(terms))
        if len(unique) <= 3:
            return unique
        frequencies = self.term_document_frequencies(set(unique))
        cap = max(floor, share * self.chunk_count_cached())
        rare = [t for t in unique if frequencies.get(t, 0) <= cap]
        if len(rare) >= 3:
            return rare
        return sorted(unique, key=lambda t: frequencies.get(t, 0))[:3]

    # -- statistics for lexical scoring ------------------------------------------------
    def term_document_frequencies(self, terms: set[str]) -> dict[str, int]:
        """Chunks containing each term, from the FTS5 vocabulary (no scan of the chunks)."""
        if not terms:
            return {}
        out: dict[str, int] = {}
        missing = [t for t in terms if f"df:{t}" not in self._stats_cache]
        if missing:
            with self.engine.connect() as connection:
                for term in missing:
                    row = connection.exec_driver_sql(
                        "SELECT doc FROM chunks_vocab WHERE term = ?", (term,)
                    ).first()
                    self._stats_cache[f"df:{term}"] = int(row[0]) if row else 0
        for term in terms:
            out[term] = int(self._stats_cache[f"df:{term}"])
        return out

    def phrase_document_frequency(self, phrase: tuple[str, ...]) -> int:
        """Chunks containing the phrase (words adjacent), counted by FTS5 and cached."""
        if len(phrase) == 1:
            return self.term_document_frequencies({phrase[0]}).get(phrase[0], 0)
        key = "phrase:" + " ".join(phrase)
        if key not in self._stats_cache:
            with self.engine.connect() as connection:
                self._stats_cache[key] = int(
                    connection.exec_driver_sql(
                        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                        (_fts_quote(" ".join(phrase)),),
                    ).scalar_one()
                )
        return int(self._stats_cache[key])

    def chunk_count_cached(self) -> int:
        if "n" not in self._stats_cache:
            self._stats_cache["n"] = self.chunk_count()
        return int(self._stats_cache["n"])

    def average_length(self) -> float:
        """Mean number of analysed terms per chunk (a sample is enough)."""
        if "avgdl" not in self._stats_cache:
            with self.engine.connect() as connection:
                value = connection.exec_driver_sql(
                    "SELECT avg(length(body) - length(replace(body, ' ', '')) + 1) FROM "
                    "(SELECT body FROM chunks_fts LIMIT 5000)"
                ).scalar()
            self._stats_cache["avgdl"] = float(value or 100.0)
        return self._stats_cache["avgdl"]

    def invalidate_stats(self) -> None:
        self._stats_cache.clear()
        self._names_cache.clear()

    def analysed_rows(self, rowids: list[int]) -> dict[int, tuple[str, str, str]]:
        """rowid -> (language, body terms, context terms), the context holding the chunk's
        headings and its document's names (title, file name, cover page)."""
        out: dict[int, tuple[str, str, str]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(rowids), 500):
                batch = rowids[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = connection.exec_driver_sql(
                    f"SELECT f.rowid, c.language, f.body, f.context, c.doc_id FROM chunks_fts f "
                    f"JOIN chunks c ON c.rowid = f.rowid WHERE f.rowid IN ({marks})",
                    tuple(batch),
                ).all()
                names = self.document_names({r[4] for r in rows}, connection)
                out.update({int(r[0]): (r[1], r[2], f"{r[3]} {names.get(r[4], '')}") for r in rows})
        return out

    def document_name_terms(self, doc_id: str) -> list[str]:
        with self.engine.connect() as connection:
            return self.document_names({doc_id}, connection)[doc_id].split()

    def document_names(self, doc_ids: set[str], connection) -> dict[str, str]:
        missing = [d for d in doc_ids if d not in self._names_cache]
        for doc_id in missing:
            row = connection.exec_driver_sql(
                "SELECT names FROM documents_fts WHERE doc_id = ?", (doc_id,)
            ).first()
            self._names_cache[doc_id] = row[0] if row else ""
        return {d: self._names_cache[d] for d in doc_ids}

    def search_documents(
        self, terms: list[str], limit: int = 5, filters: SearchFilters | None = None
    ) -> list[tuple[str, float]]:
        """Documents whose names (title, file name, cover page) match the question, best first."""
        if not terms:
            return []
        match = " OR ".join(_fts_quote(t) for t in dict.fromkeys(terms))
        clauses, params = [], []
        for field in ("doc_type", "workspace", "doc_id", "programme"):
            values = getattr(filters, field, None) if filters else None
            if values:
                clauses.append(f"d.{field} IN ({','.join('?' * len(values))})")
                params.extend(values)
        if filters and filters.source:
            clauses.append("(" + " OR ".join("d.source LIKE ?" for _ in filters.source) + ")")
            params.extend(f"%{v}%" for v in filters.source)
        where = ("AND " + " AND ".join(clauses)) if clauses else ""
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT f.doc_id, bm25(documents_fts) AS score FROM documents_fts f "
                "JOIN documents d ON d.doc_id = f.doc_id "
                f"WHERE documents_fts MATCH ? {where} ORDER BY score LIMIT ?",
                (match, *params, limit),
            ).all()
        return [(r[0], -float(r[1])) for r in rows]

    def article_chunk_ids(
        self, articles: list[str], regulations: list[str], limit: int = 60
    ) -> list[str]:
        """Chunks of the cited articles ("Art. 65"), in documents citing the named regulation
        numbers ("2021/1060") when the question names one."""
        out: list[str] = []
        with self.engine.connect() as connection:
            for article in articles:
                rows = connection.exec_driver_sql(
                    "SELECT c.chunk_id, d.identifiers FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                    "WHERE c.section = ? OR c.section LIKE ? ORDER BY c.ordinal LIMIT ?",
                    (article, f"{article} ›%", limit),
                ).all()
                for chunk_id, identifiers in rows:
                    if not regulations or any(r in (identifiers or "") for r in regulations):
                        out.append(chunk_id)
        return out

    def regulation_documents(self, numbers: list[str]) -> list[str]:
        """Documents that are one of these regulations ("2021/1060"): their title says so.
        Documents that only cite it (every call cites the CPR) are not."""
        if not numbers:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(documents.c.doc_id, documents.c.title).where(
                    or_(*(documents.c.title.contains(n) for n in numbers))
                )
            ).all()
        wanted = set(numbers)
        return [doc_id for doc_id, title in rows if wanted.intersection(find_regulations(title))]

    def chunk_ids_of(self, doc_id: str, limit: int = 400) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(chunks.c.chunk_id)
                .where(chunks.c.doc_id == doc_id)
                .order_by(chunks.c.ordinal)
                .limit(limit)
            ).all()
        return [r[0] for r in rows]

    def chunks_around(self, chunk_id: str, span: int = 1) -> list[dict]:
        """The chunk and the `span` chunks before and after it in its document, in reading
        order, with the document's title (the rows `chunks_by_id` gives)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                select(chunks.c.doc_id, chunks.c.ordinal).where(chunks.c.chunk_id == chunk_id)
            ).first()
            if found is None:
                return []
            rows = connection.execute(
                select(chunks, documents.c.title)
                .join(documents, documents.c.doc_id == chunks.c.doc_id)
                .where(
                    chunks.c.doc_id == found.doc_id,
                    chunks.c.ordinal.between(found.ordinal - span, found.ordinal + span),
                )
                .order_by(chunks.c.ordinal)
            )
            return [dict(r) for r in rows.mappings()]

    def refresh_if_changed(self) -> bool:
        """Drop cached statistics when another process changed the index."""
        with self.engine.connect() as connection:
            stamp = connection.exec_driver_sql(
                "SELECT count(*) || ':' || coalesce(max(ingested_at), 0) FROM documents"
            ).scalar_one()
        if stamp != self._stats_cache.get("stamp"):
            self.invalidate_stats()
            self._stats_cache["stamp"] = stamp  # type: ignore[assignment]
            return True
        return False

    @staticmethod
    def _filter_sql(filters: SearchFilters | None) -> tuple[str, list]:
        if filters is None or filters.is_empty():
            return "", []
        clauses, params = [], []
        for field, column in FILTER_COLUMNS.items():
            values = getattr(filters, field, None)
            if not values:
                continue
            values = [normalise_filter_value(column, v) for v in values]
            if field == "source":
                clauses.append("(" + " OR ".join(f"c.{column} LIKE ?" for _ in values) + ")")
                params.extend(f"%{v}%" for v in values)
            else:
                clauses.append(f"c.{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        return ("AND " + " AND ".join(clauses) + " ") if clauses else "", params

    def programmes(self) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT DISTINCT programme FROM chunks WHERE programme IS NOT NULL ORDER BY programme"
            ).all()
        return [r[0] for r in rows]

    def stats(self) -> dict[str, object]:
        with self.engine.connect() as connection:
            by_type = dict(
                connection.execute(
                    text("SELECT doc_type, count(*) FROM documents GROUP BY doc_type")
                ).all()
            )
            n_chunks = connection.execute(text("SELECT count(*) FROM chunks")).scalar_one()
            n_docs = connection.execute(text("SELECT count(*) FROM documents")).scalar_one()
        return {"documents": n_docs, "chunks": n_chunks, "by_type": by_type}
