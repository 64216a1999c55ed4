"""Ingestion into a real index: incremental updates, removal, bad files, crash recovery."""

from __future__ import annotations

import os
import time
from pathlib import Path

import docmaker
import numpy as np

from assistant.core import EuroAssist
from assistant.ingest import source_of
from assistant.settings import Settings


class CountingEmbedder:
    """Wraps the real embedder and counts what it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.id, self.dim, self.max_tokens = inner.id, inner.dim, inner.max_tokens
        self.passages = 0

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


def counting(assistant: EuroAssist) -> CountingEmbedder:
    wrapper = CountingEmbedder(assistant.index.embedder)
    assistant.index.__dict__["embedder"] = wrapper
    return wrapper


def by_name(assistant: EuroAssist) -> dict:
    return {Path(d.source).name: d for d in assistant.documents()}


def test_documents_get_type_language_identifiers_and_structure(assistant, mini_corpus):
    results = assistant.ingest([mini_corpus])
    assert sorted(r.status for r in results) == ["added"] * 4
    docs = by_name(assistant)
    regulation = docs["regolamento-prova-fr.md"]
    assert regulation.doc_type == "regulation" and regulation.language == "fr"
    assert "2021/1060" in regulation.identifiers
    assert regulation.title.startswith("Règlement (UE) 2021/1060")
    assert docs["esf-plus-test-en.md"].language == "en"
    call = docs["bando-giardini-civici.pdf"]
    assert call.doc_type == "call" and call.language == "it" and call.page_count == 3
    projects = docs["progetti.csv"]
    assert projects.doc_type == "project" and projects.chunk_count == 3
    assert "C11B22000010001" in projects.identifiers

    catalog = assistant.index.catalog
    with catalog.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT section, section_title, token_count, text FROM chunks WHERE doc_id = ?",
            (regulation.doc_id,),
        ).all()
    sections = {r[0] for r in rows}
    assert any(s.startswith("Art. 65 › 1") for s in sections), sections
    assert any(r[1] == "Pérennité des opérations" for r in rows)
    embedder = assistant.index.embedder
    assert all(r[2] <= embedder.max_tokens for r in rows)  # nothing truncated by the model


def test_chunks_embed_their_heading_path(assistant, mini_corpus):
    assistant.ingest([mini_corpus])
    with assistant.index.catalog.engine.connect() as connection:
        (chunk_id,) = connection.exec_driver_sql(
            "SELECT chunk_id FROM chunks WHERE section LIKE 'Art. 65%' ORDER BY ordinal LIMIT 1"
        ).one()
    ingestor = assistant.ingestor
    prepared = ingestor._prepare(
        mini_corpus / "regolamento-prova-fr.md", "shared", None, None, None, True
    )
    chunk = next(c for c in prepared.chunks if c.chunk_id == chunk_id)
    assert "Art. 65" in chunk.embed_text and "Pérennité des opérations" in chunk.embed_text
    assert chunk.text in chunk.embed_text
    assert chunk.token_count == assistant.index.embedder.count_tokens(chunk.embed_text)


def test_reingest_of_unchanged_files_embeds_nothing(assistant, mini_corpus):
    assistant.ingest([mini_corpus])
    embedder = counting(assistant)
    results = assistant.ingest([mini_corpus])
    assert {r.status for r in results} == {"unchanged"}
    # touched but identical: the content hash says unchanged
    target = mini_corpus / "esf-plus-test-en.md"
    os.utime(target, (time.time() + 5, time.time() + 5))
    results = assistant.ingest([mini_corpus])
    assert {r.status for r in results} == {"unchanged"}
    assert embedder.passages == 0


def test_changed_file_replaces_its_chunks(assistant, mini_corpus):
    assistant.ingest([mini_corpus])
    target = mini_corpus / "esf-plus-test-en.md"
    before = by_name(assistant)["esf-plus-test-en.md"]
    target.write_text(
        target.read_text(encoding="utf-8") + "\n## Article 25\n\n### Small project funds\n\n"
        "1. Small project funds shall not exceed 20 % of the programme.\n",
        encoding="utf-8",
    )
    embedder = counting(assistant)
    (result,) = assistant.ingest([target])
    assert result.status == "updated"
    after = by_name(assistant)["esf-plus-test-en.md"]
    assert after.doc_id == before.doc_id and after.version != before.version
    assert embedder.passages == after.chunk_count
    versions = assistant.index.vectors.versions()[after.doc_id]
    assert versions == {after.version}  # old vectors gone
    with assistant.index.catalog.engine.connect() as connection:
        ids = [
            r[0]
            for r in connection.exec_driver_sql(
                "SELECT chunk_id FROM chunks WHERE doc_id = ?", (after.doc_id,)
            )
        ]
    assert ids and all(f":{after.version}:" in i for i in ids)
    assert assistant.retrieve("small project funds 20 %", 1)[0].section.startswith("Art. 25")


def test_remove_deletes_chunks_vectors_and_terms(assistant, mini_corpus):
    assistant.ingest([mini_corpus])
    documents, missing = assistant.resolve_documents(["progetti.csv", "nothing-like-this.pdf"])
    assert missing == ["nothing-like-this.pdf"] and len(documents) == 1
    removed = assistant.remove(documents)
    assert removed == 3
    assert "progetti.csv" not in by_name(assistant)
    assert documents[0].doc_id not in assistant.index.vectors.versions()
    assert all(
        h.doc_type != "project" for h in assistant.retrieve("Surbo scuola riqualificazione", 10)
    )


def test_bad_files_fail_alone_and_leave_the_index_as_it_was(assistant, mini_corpus, tmp_path):
    good = mini_corpus / "bando-giardini-civici.pdf"
    assistant.ingest([mini_corpus])
    before = by_name(assistant)["bando-giardini-civici.pdf"]
    bad = tmp_path / "bad"
    bad.mkdir()
    docmaker.make_truncated_pdf(good, bad / "troncato.pdf")
    (bad / "vuoto.pdf").write_bytes(b"")
    (bad / "note.xyz").write_text("testo", encoding="utf-8")
    docmaker.make_encrypted_pdf(bad / "cifrato.pdf", "segreta", "owner")
    (bad / "nuovo.md").write_text(
        "# Nota\n\nUna nota valida sul cofinanziamento.\n", encoding="utf-8"
    )
    results = {Path(r.path).name: r for r in assistant.ingest([*bad.iterdir()])}
    assert results["nuovo.md"].status == "added"
    for name in ("troncato.pdf", "vuoto.pdf", "note.xyz", "cifrato.pdf"):
        assert results[name].status == "failed" and results[name].reason, name
    assert "password" in results["cifrato.pdf"].reason
    assert "empty" in results["vuoto.pdf"].reason
    assert "unsupported" in results["note.xyz"].reason

    # A stored document whose file turns corrupt keeps its chunks.
    good.write_bytes(good.read_bytes()[:200])
    (result,) = assistant.ingest([good])
    assert result.status == "failed"
    after = by_name(assistant)["bando-giardini-civici.pdf"]
    assert after.version == before.version and after.chunk_count == before.chunk_count


def test_interrupted_ingest_is_reconciled(assistant, mini_corpus):
    assistant.ingest([mini_corpus])
    doc = by_name(assistant)["esf-plus-test-en.md"]
    vectors = assistant.index.vectors
    # What a run killed between the vector upsert and the catalogue swap leaves behind:
    stale = np.ones((2, assistant.index.embedder.dim), dtype=np.float32)
    stale /= np.linalg.norm(stale, axis=1, keepdims=True)
    vectors.add(
        [f"{doc.doc_id}:deadbeef0000:0", f"{doc.doc_id}:deadbeef0000:1"],
        stale,
        [
            {
                "doc_id": doc.doc_id,
                "version": "deadbeef0000",
                "workspace": "shared",
                "doc_type": doc.doc_type,
                "language": "en",
                "source": doc.source,
            }
        ]
        * 2,
    )
    journal = assistant.settings.index_dir / f"{assistant.index.embedder_id}.journal"
    journal.write_text("12345")
    # Never served while they linger: the catalogue does not hold them.
    ids = {h.chunk_id for h in assistant.retrieve("specific objectives housing", 20)}
    assert not any("deadbeef" in i for i in ids)
    assistant.ingest([mini_corpus])  # next run finds the journal and cleans up
    assert vectors.versions()[doc.doc_id] == {doc.version}
    assert not journal.exists()


def test_files_are_identified_by_resolved_path(tmp_path, mini_corpus):
    assistant = EuroAssist(Settings(data_dir=tmp_path / "d"))
    assistant.ingest([mini_corpus / "progetti.csv"])
    cwd = os.getcwd()
    try:
        os.chdir(mini_corpus)
        (result,) = assistant.ingest([Path("progetti.csv")])
    finally:
        os.chdir(cwd)
    assert result.status == "unchanged"
    assert by_name(assistant)["progetti.csv"].source == source_of(mini_corpus / "progetti.csv")


def test_large_documents_embed_in_worker_processes(tmp_path, mini_corpus, monkeypatch):
    """Worker processes store the vectors this process would, under the same chunk ids,
    and are gone when the ingestion ends."""
    import multiprocessing

    import assistant.ingest as ingest_module
    from assistant.embedders.pool import EmbeddingPool

    pools: list[int] = []
    embed_batches = EmbeddingPool.embed_batches

    def spy(self, batches):
        pools.append(self.workers)
        return embed_batches(self, batches)

    monkeypatch.setattr(EmbeddingPool, "embed_batches", spy)
    monkeypatch.setattr(ingest_module, "POOL_MIN_CHUNKS", 0)  # the mini corpus is small
    here = EuroAssist(Settings(data_dir=tmp_path / "here", embed_processes=0))
    pooled = EuroAssist(Settings(data_dir=tmp_path / "pooled", embed_processes=2))
    assert {r.status for r in here.ingest([mini_corpus])} == {"added"}
    assert pools == []
    assert {r.status for r in pooled.ingest([mini_corpus])} == {"added"}
    assert pools and set(pools) == {2}
    assert multiprocessing.active_children() == []

    documents = here.index.catalog.documents()
    assert len(documents) == 4
    for info in documents:
        ids = [c.chunk_id for c in here.index.catalog.document_chunks(info.doc_id)]
        mine = here.index.vectors.get_vectors(ids)
        theirs = pooled.index.vectors.get_vectors(ids)
        assert set(mine) == set(theirs) == set(ids), info.source
        for chunk_id in ids:
            assert float(mine[chunk_id] @ theirs[chunk_id]) > 0.999, chunk_id
