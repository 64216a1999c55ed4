"""Ingestion: files -> documents -> structured chunks -> vectors and BM25 terms.

Incremental: a file whose size and mtime (or, failing that, content hash) match the catalogue
is skipped without reading it. A changed file replaces its chunks atomically. A file that
fails gets one line with the reason and leaves the index as it was; the others go on.
Loading the next file runs in a thread while the current one is embedded; a large document's
passages are embedded by worker processes (`embedders.pool`), so loader and embedder share the
cores without waiting on each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant.chunking import Chunker
from assistant.classify import fallback_title, guess_doc_type, guess_programme
from assistant.embedders.pool import EmbeddingPool
from assistant.identifiers import find_identifiers
from assistant.index import Index
from assistant.language import detect_document_language, detect_language
from assistant.loaders import LoadError, build_loaders, loader_for, supported_suffixes
from assistant.loaders.ocr import OcrEngine
from assistant.schema import Chunk, DocumentInfo
from assistant.structure import parse_structure
from assistant.text_analysis import ANALYSED_LANGUAGES, analyse, file_name_words, name_variants

EMBED_BATCH = 32
# Starting the workers costs a model load each: small documents and runs embed here.
POOL_MIN_CHUNKS = 200
POOL_MIN_BYTES = 4 * 1024 * 1024
COVER_CHARS = 1200


@dataclass
class FileResult:
    path: str
    status: str  # added | updated | unchanged | failed | skipped
    reason: str = ""
    chunks: int = 0
    doc_id: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class PreparedDocument:
    path: Path
    info: DocumentInfo
    chunks: list[Chunk]
    size: int
    mtime: float
    replaces: bool
    warnings: list[str]
    cover: str = ""
    # BM25 terms of each chunk (text, context), analysed in the loader thread
    terms: list[tuple[list[str], list[str]]] = field(default_factory=list)
    # The batches already queued on the embedding workers, when they were running
    queued: list[Future[np.ndarray] | None] | None = None

    @cached_property
    def chunks_of(self) -> dict[str, list[Chunk]]:
        """Each distinct text to embed, shortest first, with its chunks: a text repeated in
        a document (a table row, a FAQ answer) is embedded once."""
        chunks_of: dict[str, list[Chunk]] = {}
        for chunk in sorted(self.chunks, key=lambda c: len(c.embed_text)):
            chunks_of.setdefault(chunk.embed_text, []).append(chunk)
        return chunks_of

    @cached_property
    def batches(self) -> list[list[str]]:
        """Texts of similar length together: a batch is padded to its longest text, so
        document order (a table row beside a full article) wasted most of the embedder's
        work on padding."""
        texts = list(self.chunks_of)
        return [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]


_QUOTED = re.compile(r"[“\"«]([^”\"»]{3,80})[”\"»]")


def name_lines(cover: str) -> str:
    """Lines of a cover page that name the document: short lines mostly in capitals
    (`SEED PA`, `BANDO “STRADE VERDI”`) and quoted names."""
    names = []
    for line in cover.split("\n"):
        words_in_line = line.split()
        letters = [c for c in line if c.isalpha()]
        capitals = sum(c.isupper() for c in letters)
        if 0 < len(words_in_line) <= 12 and letters and capitals >= 0.6 * len(letters):
            names.append(line.strip())
        names.extend(m.group(1) for m in _QUOTED.finditer(line))
    return " ".join(names)


def _analysis_language(language: str, fallback: str) -> str:
    if language in ANALYSED_LANGUAGES:
        return language
    return fallback if fallback in ANALYSED_LANGUAGES else "it"


def lexical_terms(chunk: Chunk, info: DocumentInfo) -> tuple[list[str], list[str]]:
    """BM25 terms of a chunk's text and of its context (document title and headings)."""
    language = _analysis_language(chunk.language, info.language)
    context = f"{info.title} {chunk.section} {chunk.section_title}"
    return analyse(chunk.text, language), analyse(context, language)


def name_terms(info: DocumentInfo) -> list[str]:
    names = str(info.metadata.get("names") or info.title)
    return analyse(f"{names} {name_variants(names)}", _analysis_language(info.language, "it"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was listed: its own error comes when it is read
        return 0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def document_id(source: str, workspace: str) -> str:
    return hashlib.sha256(f"{workspace}\x00{source}".encode()).hexdigest()[:16]


def source_of(path: Path) -> str:
    return path.resolve().as_posix()


def shown_path(path: Path) -> str:
    """The path as printable text: a NUL byte or bytes that are not UTF-8 as escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def name_problem(path: Path) -> str | None:
    text = str(path)
    if "\x00" in text:
        return "invalid file name (NUL byte)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Such a name failed later as a bare UnicodeEncodeError (document id, catalogue).
        return "invalid file name (not UTF-8): rename the file"
    return None


def expand_paths(paths: Iterable[Path], suffixes: set[str]) -> Iterator[tuple[Path, str | None]]:
    """Files to ingest; directories are walked (hidden entries skipped). Yields (path, problem)."""
    for path in paths:
        if problem := name_problem(path):
            yield path, problem
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in rel.parts):
                    if child.suffix.lower() not in suffixes:
                        yield child, "skip"
                    else:
                        yield child, name_problem(child)
        elif path.is_file():
            yield path, None
        else:
            yield path, "no such file or directory"


class Ingestor:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.settings = index.settings
        ocr = OcrEngine(self.settings.ocr_languages) if self.settings.ocr_enabled else None
        self.loaders = build_loaders(self.settings.tables_enabled, ocr)
        self._chunker: Chunker | None = None
        self._unfinished = False  # a store failed: the journal stays for the next run
        self._pool: EmbeddingPool | None = None

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            embedder = self.index.embedder
            self._chunker = Chunker(
                embedder.count_tokens,
                self.settings.chunk_max_tokens,
                embedder.max_tokens,
            )
        return self._chunker

    # -- locking and recovery --------------------------------------------------------
    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One writer at a time; a journal file marks a run that did not finish."""
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.settings.index_dir / f"{self.index.embedder_id}.lock"
        journal = self.settings.index_dir / f"{self.index.embedder_id}.journal"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if journal.exists():
                self.reconcile()
            journal.write_text(str(os.getpid()))
            self._unfinished = False
            try:
                yield
                # Kept when a store failed or the run was interrupted (Ctrl-C, an error):
                # vectors of a version the catalogue never got may be left, and only the
                # next run's reconcile() removes them.
                if not self._unfinished:
                    journal.unlink(missing_ok=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def reconcile(self) -> int:
        """Delete vectors of document versions the catalogue does not hold (an interrupted run)."""
        current = self.index.catalog.current_versions()
        removed = 0
        for doc_id, versions in self.index.vectors.versions().items():
            stale = versions - {current.get(doc_id)}
            if stale:
                if doc_id in current:
                    self.index.vectors.delete_document(doc_id, keep_version=current[doc_id])
                else:
                    self.index.vectors.delete_document(doc_id)
                removed += len(stale)
        return removed

    # -- public ----------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[Path],
        workspace: str = "shared",
        doc_type: str | None = None,
        programme: str | None = None,
        comune: str | None = None,
        on_result: Callable[[FileResult], None] | None = None,
        on_progress: Callable[[str, int], None] | None = None,
        force: bool = False,
        on_plan: Callable[[int], None] | None = None,
    ) -> list[FileResult]:
        results: list[FileResult] = []

        def report(result: FileResult) -> None:
            results.append(result)
            if on_result:
                on_result(result)

        suffixes = supported_suffixes(self.loaders)
        todo: list[Path] = []
        for path, problem in expand_paths(paths, suffixes):
            if problem == "skip":
                report(
                    FileResult(
                        shown_path(path),
                        "skipped",
                        f"unsupported file type {path.suffix or '(none)'}",
                    )
                )
            elif problem:
                # escaped: a NUL or a non-UTF-8 byte in the name must not reach a terminal raw
                report(FileResult(shown_path(path), "failed", problem))
            else:
                todo.append(path)
        if on_plan:
            on_plan(len(results) + len(todo))

        with self._exclusive():
            if sum(_size(p) for p in todo) >= POOL_MIN_BYTES:
                # A bulk run: the workers load their models while the first file is parsed.
                self._pool = self._start_pool()
            prepared: queue.Queue[PreparedDocument | FileResult | None] = queue.Queue(maxsize=2)

            def produce() -> None:
                for path in todo:
                    try:
                        item = self._prepare(path, workspace, doc_type, programme, comune, force)
                        pool = self._pool
                        if isinstance(item, PreparedDocument) and pool is not None:
                            item.queued = pool.submit(item.batches)
                    except LoadError as error:
                        item = FileResult(str(path), "failed", str(error))
                    except Exception as error:  # a parser bug must not stop the batch
                        item = FileResult(str(path), "failed", f"{type(error).__name__}: {error}")
                    prepared.put(item)
                prepared.put(None)

            producer = threading.Thread(target=produce, name="euroassist-loader", daemon=True)
            producer.start()
            try:
                self._consume(prepared, workspace, report, on_progress)
            finally:
                if self._pool is not None:
                    self._pool.close()
                    self._pool = None
            producer.join()
        return results

    def _consume(
        self,
        prepared: queue.Queue[PreparedDocument | FileResult | None],
        workspace: str,
        report: Callable[[FileResult], None],
        on_progress: Callable[[str, int], None] | None,
    ) -> None:
        while (item := prepared.get()) is not None:
            if isinstance(item, FileResult):
                report(item)
                continue
            try:
                self._store(item, workspace, on_progress)
                report(
                    FileResult(
                        str(item.path),
                        "updated" if item.replaces else "added",
                        chunks=len(item.chunks),
                        doc_id=item.info.doc_id,
                        warnings=item.warnings,
                    )
                )
            except Exception as error:
                self._unfinished = True
                report(
                    FileResult(
                        str(item.path), "failed", f"not stored: {type(error).__name__}: {error}"
                    )
                )

    def rebuild_lexical(self) -> int:
        """Re-analyse every stored chunk into the BM25 index (after a change of stemming,
        stop words or terminology), without reading files or embedding anything."""
        catalog = self.index.catalog
        rebuilt = 0
        with self._exclusive():
            for info in catalog.documents():
                chunks = catalog.document_chunks(info.doc_id)
                catalog.replace_terms(
                    info.doc_id, [(c, *lexical_terms(c, info)) for c in chunks], name_terms(info)
                )
                rebuilt += len(chunks)
        return rebuilt

    def remove(self, doc_ids: Iterable[str]) -> int:
        removed = 0
        with self._exclusive():
            for doc_id in doc_ids:
                removed += self.index.catalog.remove_document(doc_id)
                self.index.vectors.delete_document(doc_id)
        return removed

    # -- steps -----------------------------------------------------------------------
    def _prepare(
        self,
        path: Path,
        workspace: str,
        doc_type: str | None,
        programme: str | None,
        comune: str | None,
        force: bool,
    ) -> PreparedDocument | FileResult:
        source = source_of(path)
        doc_id = document_id(source, workspace)
        stat = path.stat()
        limit = self.settings.max_file_mb * 1024 * 1024
        if stat.st_size > limit:
            raise LoadError(
                f"file is {stat.st_size / 1048576:.0f} MB, above the {self.settings.max_file_mb} MB limit"
            )
        if stat.st_size == 0:
            raise LoadError("empty file")
        loader = loader_for(path, self.loaders)  # before hashing: refused without reading it
        known = self.index.catalog.file_stat(doc_id)
        if known and not force and known[0] == stat.st_size and known[1] == stat.st_mtime:
            return FileResult(str(path), "unchanged", doc_id=doc_id)
        sha = sha256_file(path)
        if known and not force and known[2] == sha:
            self.index.catalog.touch(doc_id, stat.st_size, stat.st_mtime)
            return FileResult(str(path), "unchanged", doc_id=doc_id)

        loaded = loader.load(path)
        units, structure_title = parse_structure(loaded.blocks, regulation_like=False)
        head = "\n".join(b.text for b in loaded.blocks[:40])
        title = loaded.title or structure_title or fallback_title(path)
        kind = doc_type or guess_doc_type(path, loaded, head)
        if kind == "regulation":
            # Recitals are told apart from numbered points only in regulations.
            units, structure_title = parse_structure(loaded.blocks, regulation_like=True)
        step = max(1, len(loaded.blocks) // 12)
        language = detect_document_language([b.text[:2000] for b in loaded.blocks[::step]])
        full_text = "\n".join(b.text for b in loaded.blocks)
        version = sha[:12]
        info = DocumentInfo(
            doc_id=doc_id,
            source=source,
            title=title[:300],
            doc_type=kind,
            language=language,
            sha256=sha,
            identifiers=find_identifiers(f"{title}\n{full_text}"),
            version=version,
            programme=programme or guess_programme(title, head),
            comune=comune,
            page_count=loaded.page_count,
            metadata={k: v for k, v in loaded.metadata.items() if k.startswith("csv_")},
        )
        drafts = self.chunker.chunk(units, info.title)
        if not drafts:
            raise LoadError("no text to index after parsing")
        chunks: list[Chunk] = []
        for ordinal, draft in enumerate(drafts):
            chunk_language = detect_language(draft.text) if len(draft.text) > 80 else language
            if chunk_language == "und":
                chunk_language = language
            chunks.append(
                Chunk(
                    chunk_id=f"{doc_id}:{version}:{ordinal}",
                    doc_id=doc_id,
                    ordinal=ordinal,
                    text=draft.text,
                    embed_text=draft.embed_text,
                    section=draft.section,
                    section_title=draft.section_title
                    or str(draft.metadata.get("record_title", "")),
                    page=draft.page,
                    page_end=draft.page_end,
                    page_label=draft.page_label,
                    language=chunk_language,
                    kind=draft.kind,
                    token_count=draft.token_count,
                    metadata=draft.metadata,
                )
            )
        cover = name_lines(
            "\n".join(b.text for b in loaded.blocks[:3] if b.kind != "record")[:COVER_CHARS]
        )
        return PreparedDocument(
            path,
            info,
            chunks,
            stat.st_size,
            stat.st_mtime,
            known is not None,
            loaded.warnings,
            cover,
            [lexical_terms(chunk, info) for chunk in chunks],
        )

    def _vector_metadata(self, chunk: Chunk, info: DocumentInfo, workspace: str) -> dict:
        from assistant.index.catalog import normalise_filter_value

        meta: dict = {
            "doc_id": info.doc_id,
            "version": info.version,
            "workspace": workspace,
            "doc_type": info.doc_type,
            "language": chunk.language,
            "source": info.source,
        }
        programme = chunk.metadata.get("programme_tag") or info.programme
        comune = chunk.metadata.get("comune") or info.comune
        if programme:
            meta["programme"] = str(programme)
        if comune:
            meta["comune"] = normalise_filter_value("comune", str(comune))
        return meta

    @staticmethod
    def _names(item: PreparedDocument) -> str:
        """What a document is called: title, file name, identifiers and the name-like lines
        of its cover, for questions that name a call ("il bando SEED PA")."""
        info = item.info
        return " ".join(
            [info.title, file_name_words(item.path.name), *info.identifiers, item.cover]
        )

    def _start_pool(self) -> EmbeddingPool | None:
        workers = self.settings.embed_processes
        if workers is None:
            workers = os.cpu_count() or 1
            if workers < 2:  # one single-threaded worker would be slower than this process
                return None
        if workers < 1:
            return None
        return EmbeddingPool(self.settings.embedder, workers)

    def _store(
        self, item: PreparedDocument, workspace: str, on_progress: Callable[[str, int], None] | None
    ) -> None:
        embedder = self.index.embedder
        vectors = self.index.vectors
        batches, chunks_of = item.batches, item.chunks_of
        if self._pool is None and len(chunks_of) >= POOL_MIN_CHUNKS:
            self._pool = self._start_pool()
        if self._pool is not None:
            if item.queued is not None:  # queued by the loader thread as soon as parsed
                matrices = self._pool.results(batches, item.queued)
            else:
                matrices = self._pool.embed_batches(batches)
        else:
            matrices = (embedder.embed_passages(batch) for batch in batches)
        for batch, matrix in zip(batches, matrices, strict=True):
            if not np.all(np.isfinite(matrix)):
                raise ValueError("embedder returned non-finite values")
            rows = [row for row, text in enumerate(batch) for _ in chunks_of[text]]
            chunks = [chunk for text in batch for chunk in chunks_of[text]]
            vectors.add(
                [c.chunk_id for c in chunks],
                matrix[rows],
                [self._vector_metadata(c, item.info, workspace) for c in chunks],
            )
            if on_progress:
                on_progress(str(item.path), len(chunks))
        item.info.metadata["names"] = self._names(item)
        items = [(chunk, *pair) for chunk, pair in zip(item.chunks, item.terms, strict=True)]
        self.index.catalog.replace_document(
            item.info, items, workspace, item.size, item.mtime, name_terms(item.info)
        )
        vectors.delete_document(item.info.doc_id, keep_version=item.info.version)
