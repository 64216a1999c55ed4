"""The library's front door: what the CLI and the web app call."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from assistant.answers.extractive import ExtractiveAnswer, build_extractive_answer
from assistant.index import Index
from assistant.ingest import FileResult, Ingestor, source_of
from assistant.retrieval.hybrid import HybridRetriever, Mode
from assistant.schema import DocumentInfo, Hit, SearchFilters
from assistant.settings import Settings, get_settings

NO_WORKSPACE = "\x00none"  # a workspace no document has: filters that must match nothing


@dataclass
class EuroAssist:
    settings: Settings = field(default_factory=get_settings)
    # The workspaces this facade may read; None: all (the local operator, no accounts).
    scope: frozenset[str] | None = None

    def for_workspaces(self, workspaces) -> EuroAssist:
        """The same assistant (shared index and models), reading only these workspaces:
        every retrieval path narrows its filters to them in the index query itself."""
        for loaded in ("index", "default_retriever", "chat_model", "answerer"):
            getattr(self, loaded)  # loaded once, shared by every scoped copy
        scoped = copy.copy(self)
        scoped.scope = frozenset(workspaces)
        return scoped

    def scoped(self, filters: SearchFilters | None) -> SearchFilters | None:
        """The filters narrowed to the scope's workspaces (never widened)."""
        if self.scope is None:
            return filters
        narrowed = (filters or SearchFilters()).narrowed(workspace=sorted(self.scope))
        return narrowed if narrowed is not None else SearchFilters(workspace=[NO_WORKSPACE])

    @cached_property
    def index(self) -> Index:
        return Index(self.settings)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.index)

    @cached_property
    def reranker(self):
        if not self.settings.reranker:
            return None
        from assistant.retrieval.rerank import CrossEncoderReranker

        return CrossEncoderReranker(self.settings.reranker)

    def retriever(self, mode: Mode = "hybrid") -> HybridRetriever:
        return HybridRetriever(
            self.index, reranker=self.reranker if mode == "hybrid" else None, mode=mode
        )

    @cached_property
    def default_retriever(self) -> HybridRetriever:
        return self.retriever("hybrid")

    # -- operations ------------------------------------------------------------------
    def ingest(self, paths: list[Path], **options) -> list[FileResult]:
        return self.ingestor.ingest(paths, **options)

    def clip(self, question: str) -> str:
        """The question as the assistant reads it: at most question_max_chars (a 100,000
        character paste would cost a minute of retrieval), NUL bytes removed."""
        return question.replace("\x00", " ")[: self.settings.question_max_chars]

    def retrieve(
        self, question: str, k: int = 10, filters: SearchFilters | None = None
    ) -> list[Hit]:
        return self.default_retriever.retrieve(self.clip(question), k, self.scoped(filters))

    def ask(
        self, question: str, k: int = 6, filters: SearchFilters | None = None
    ) -> ExtractiveAnswer:
        retriever = self.default_retriever
        question = self.clip(question)
        hits = retriever.retrieve(question, k, self.scoped(filters))
        return build_extractive_answer(
            question, retriever.analyse(question), hits, self.index.embedder, retriever.coverage
        )

    @cached_property
    def chat_model(self):
        """The configured LLM, or None for extractive answers."""
        from assistant.llm import load_chat_model

        return load_chat_model(self.settings)

    @cached_property
    def answerer(self):
        from assistant.answers.grounded import GroundedAnswerer

        return GroundedAnswerer(
            self.default_retriever, self.index.embedder, self.chat_model, self.settings
        )

    def answer_stream(self, question: str, history=None, filters: SearchFilters | None = None):
        """Events of a grounded answer: status, tokens as they come, then the final answer."""
        return self.answerer.stream(self.clip(question), history, self.scoped(filters))

    def programmes(self) -> list[str]:
        return self.index.catalog.programmes()

    def documents(self) -> list[DocumentInfo]:
        documents = self.index.catalog.documents()
        if self.scope is None:
            return documents
        return [d for d in documents if d.metadata.get("workspace", "shared") in self.scope]

    def resolve_documents(self, refs: list[str]) -> tuple[list[DocumentInfo], list[str]]:
        """Documents named by id, path or file name; and the refs that matched nothing."""
        documents = self.documents()
        found: dict[str, DocumentInfo] = {}
        missing = []
        for ref in refs:
            source = source_of(Path(ref)) if Path(ref).exists() else None
            matches = [
                d
                for d in documents
                if ref in (d.doc_id, d.source) or d.source == source or Path(d.source).name == ref
            ]
            if matches:
                found.update({d.doc_id: d for d in matches})
            else:
                missing.append(ref)
        return list(found.values()), missing

    def remove(self, documents: list[DocumentInfo]) -> int:
        return self.ingestor.remove([d.doc_id for d in documents])

    # -- proposals: calls, eligibility, drafting, skeletons -----------------------------
    def call_registry(self):
        from assistant.calls.registry import CallRegistry

        return CallRegistry([self.settings.calls_dir])

    def eligibility_engine(self, today=None):
        from assistant.eligibility.engine import EligibilityEngine
        from assistant.eligibility.regulation import RuleTexts

        catalog = self.index.catalog if self.settings.index_dir.exists() else None
        return EligibilityEngine(RuleTexts(catalog, self.scope), today)

    def match_calls(self, project, today=None):
        from assistant.calls.matching import CallMatcher

        calls, problems = self.call_registry().all()
        embedder = self.index.embedder if self.settings.index_dir.exists() else None
        return CallMatcher(self.eligibility_engine(today), embedder).match(calls, project), problems

    def section_drafter(self):
        from assistant.drafting.section import SectionDrafter

        return SectionDrafter(self, self.chat_model)

    def skeleton_batch(self, today=None, sections=None, language: str = "it"):
        from assistant.skeletons.batch import SkeletonBatch

        return SkeletonBatch(
            self, self.chat_model, today, sections, self.settings.skeleton_workers, language
        )
