"""Drafting one section of a proposal, grounded in the call, the regulations and similar
past projects, with citations, cut to the call's limit as the call counts it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext

from pydantic import BaseModel, Field

from assistant.answers.citations import CitationStream
from assistant.answers.extractive import Passage, build_extractive_answer
from assistant.answers.figures import FigureCheck
from assistant.answers.grounded import LANGUAGE_NAMES, format_passages
from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call, Limit, Section
from assistant.drafting.facts import project_facts, section_kind
from assistant.drafting.limits import (
    UNIT_NAMES,
    budget_in_characters,
    describe,
    fit_to_limit,
    fits,
)
from assistant.llm import ChatMessage, LlmUnavailable
from assistant.llm_tokens import count_llm_tokens
from assistant.prompts import prompt
from assistant.schema import Hit, SearchFilters
from assistant.text_analysis import fold

HEADINGS = {
    "it": {"facts": "Elementi del progetto", "rules": "Riferimenti dal bando e dalle norme"},
    "en": {"facts": "Project elements", "rules": "References from the call and the rules"},
}
DRAFT_MAX_TOKENS = 900  # a long section; the limit cuts whatever is over


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s.*$", re.M)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.M)
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)")


def as_prose(text: str) -> str:
    """A model's draft as the prose a proposal needs: no Markdown headings, bullets or bold,
    and no sentence said twice (small models repeat themselves)."""
    text = _EMPHASIS.sub("", _BULLET.sub("", _HEADING.sub("", text)))
    text = re.sub(r"(?<=[.!?:\]])[ \t]+[-•][ \t]+", " ", text)  # bullets run into one line
    paragraphs, seen = [], set()
    for paragraph in re.split(r"\n\s*\n", text):
        sentences = []
        for sentence in re.split(r"(?<=[.!?])\s+(?!\[)", paragraph.strip()):
            key = re.sub(r"\W+", " ", re.sub(r"\[\d+\]", "", sentence)).strip().casefold()
            if key and key not in seen:
                seen.add(key)
                sentences.append(sentence)
        if sentences:
            paragraphs.append(" ".join(" ".join(sentences).split()))
    return "\n\n".join(paragraphs)


def _terms(text: str) -> set[str]:
    return {w[:6] for w in fold(text).replace("|", " ").split() if len(w) > 3}


class Draft(BaseModel):
    call_id: str
    section_id: str
    section_title: str
    language: str
    text: str
    limit: Limit | None = None
    length: str = ""
    within_limit: bool = True
    passages: list[Passage] = Field(default_factory=list)
    cited: list[int] = Field(default_factory=list)
    provider: str = "extractive"
    model: str = ""
    notice: str = ""
    seconds: float = 0.0
    # figures of the draft that neither its sources nor the call and the project write
    unverified_figures: list[str] = Field(default_factory=list)


def find_section(call: Call, ref: str) -> Section:
    """A section by id, number or (part of) its title."""
    for section in call.sections:
        if ref in (section.id, section.title):
            return section
    matches = [s for s in call.sections if ref.casefold() in s.title.casefold()]
    if len(matches) == 1:
        return matches[0]
    known = "; ".join(f"{s.id} {s.title}" for s in call.sections)
    raise ValueError(f"call {call.id}: no single section {ref!r} (sections: {known})")


class SectionDrafter:
    def __init__(self, assistant, chat=None, lock: threading.Lock | None = None) -> None:
        self.assistant = assistant
        self.chat = chat
        # the index and the embedder are shared: drafts written in parallel take turns there
        self.lock = lock or nullcontext()
        self.settings = assistant.settings
        self.system = prompt("draft_section_system", "language_name")
        self.user = prompt(
            "draft_section_user",
            "call_title",
            "section_title",
            "guidance",
            "criteria",
            "project",
            "passages",
            "target_chars",
            "limit_text",
            "language_name",
        )

    # -- sources ---------------------------------------------------------------------
    def sources(self, call: Call, section: Section, project: ProjectProfile) -> list[Hit]:
        """Passages of the call itself, of the regulations and of similar past projects."""
        query = f"{section.title}. {section.guidance}"
        idea = f"{project.title}. {project.summary} {' '.join(project.themes)}"
        hits: list[Hit] = []
        call_docs = self._call_documents(call)
        if call_docs:
            hits += self.assistant.retrieve(query, 3, SearchFilters(doc_id=call_docs))
        hits += self.assistant.retrieve(
            f"{query} {call.fund or ''}", 2, SearchFilters(doc_type=["regulation"])
        )
        if section_kind(section) in ("context", "activities", "objectives", "summary", "budget"):
            hits += self.assistant.retrieve(idea, 2, SearchFilters(doc_type=["project"]))
        unique: dict[str, Hit] = {}
        for hit in hits:
            unique.setdefault(hit.chunk_id, hit)
        return list(unique.values())

    def _call_documents(self, call: Call) -> list[str]:
        if not call.source or not self.settings.index_dir.exists():
            return []
        documents, _ = self.assistant.resolve_documents([call.source])
        if not documents:  # the source named by file name only
            name = call.source.rsplit("/", 1)[-1]
            documents = [d for d in self.assistant.documents() if d.source.endswith(name)]
        return [d.doc_id for d in documents]

    def facts(self, call: Call, section: Section, project: ProjectProfile) -> list[str]:
        """The project's facts for the section; for the context, the comune's past
        projects too (the figures of the Progetti passati page)."""
        facts = project_facts(project, call, section)
        comune = project.applicant.comune
        if section_kind(section) == "context" and comune and self.settings.index_dir.exists():
            from assistant.territory import comune_context, past_projects

            with self.lock:
                projects = past_projects(self.assistant.index.catalog, self.assistant.scope)
            facts += comune_context(projects, comune)
        return facts

    # -- drafting --------------------------------------------------------------------
    def draft(
        self, call: Call, section: Section, project: ProjectProfile, language: str = "it"
    ) -> Draft:
        final = None
        for kind, value in self.stream(call, section, project, language):
            if kind == "final":
                final = value
        assert isinstance(final, Draft)
        return final

    def stream(
        self, call: Call, section: Section, project: ProjectProfile, language: str = "it"
    ) -> Iterator[tuple[str, object]]:
        """("token", text) while the model writes, then ("final", Draft) cut to the limit."""
        started = time.perf_counter()
        with self.lock:
            hits = self.sources(call, section, project) if self.settings.index_dir.exists() else []
        notice = ""
        if self.chat is not None:
            try:
                yield from self._generate(call, section, project, language, hits, started)
                return
            except LlmUnavailable as error:
                notice = f"LLM non disponibile ({error}): bozza estrattiva."
        yield ("final", self._extractive(call, section, project, language, hits, started, notice))

    def _finish(self, call, section, language, text, passages, cited, started, **extra) -> Draft:
        chars_per_page = self.settings.draft_chars_per_page
        text = fit_to_limit(text, section.limit, chars_per_page)
        numbers = {p.number for p in passages}
        return Draft(
            call_id=call.id,
            section_id=section.id,
            section_title=section.title,
            language=language,
            text=text,
            limit=section.limit,
            length=describe(text, section.limit, language, chars_per_page),
            within_limit=fits(text, section.limit, chars_per_page),
            passages=passages,
            cited=[n for n in dict.fromkeys(cited) if n in numbers and f"[{n}]" in text],
            seconds=time.perf_counter() - started,
            **extra,
        )

    def _extractive(self, call, section, project, language, hits, started, notice) -> Draft:
        """The project's facts for this section, then the sentences of the call and the
        rules that bear on it, each cited: a starting point a person completes."""
        words = HEADINGS.get(language, HEADINGS["it"])
        facts = self.facts(call, section, project)
        parts = [f"{words['facts']}: " + " ".join(facts)]
        passages: list[Passage] = []
        cited: list[int] = []
        if hits:
            with self.lock:
                extractive = self._key_sentences(section, hits)
            passages = extractive.passages
            if extractive.key_sentences:
                parts.append(
                    f"{words['rules']}: "
                    + " ".join(f"{s.text.strip()} [{s.passage}]" for s in extractive.key_sentences)
                )
                cited = [s.passage for s in extractive.key_sentences]
        return self._finish(
            call, section, language, "\n\n".join(parts), passages, cited, started, notice=notice
        )

    def _key_sentences(self, section: Section, hits: list[Hit]):
        """The sentences of the sources that bear on the section: not table fragments and
        not the call's own guidance for the section read back."""
        retriever = self.assistant.default_retriever
        query = f"{section.title}. {section.guidance}"
        answer = build_extractive_answer(
            query,
            retriever.analyse(query),
            hits,
            self.assistant.index.embedder,
            retriever.coverage,
            passages=len(hits),
            sentences_per_passage=3,
            key_sentences=10,
        )
        guidance = _terms(query)
        kept = [
            s
            for s in answer.key_sentences
            if s.text.count("|") < 2
            and len(_terms(s.text) - guidance) >= max(3, len(_terms(s.text)) // 2)
        ]
        return answer.model_copy(update={"key_sentences": kept[:4]})

    def _generate(self, call, section, project, language, hits, started):
        chat = self.chat
        limit = section.limit
        names = UNIT_NAMES.get(language, UNIT_NAMES["it"])
        limit_text = f"{limit.max} {names[limit.unit]}" if limit else "3000 characters"
        target = int(
            budget_in_characters(limit, self.settings.draft_chars_per_page) * 0.8 if limit else 2000
        )
        values = dict(
            call_title=call.title,
            section_title=section.title,
            guidance=section.guidance or "-",
            criteria="; ".join(
                f"{c.name} ({c.max_points:g} punti)"
                for c in call.scoring
                if c.id in section.criteria
            )
            or "-",
            project="\n".join(f"- {f}" for f in self.facts(call, section, project)),
            target_chars=target,
            limit_text=limit_text,
            language_name=LANGUAGE_NAMES.get(language, "Italian"),
        )
        system = self.system.render(language_name=values["language_name"])
        fixed = count_llm_tokens(system + self.user.render(**{**values, "passages": ""}))
        max_tokens = min(DRAFT_MAX_TOKENS, max(200, target // 3))
        budget = chat.context_window - max_tokens - fixed - 96
        passages: list[Passage] = []
        for hit in hits:
            candidate = Passage(number=len(passages) + 1, hit=hit)
            cost = count_llm_tokens(format_passages([candidate])) + 4
            if cost > budget:
                break
            budget -= cost
            passages.append(candidate)
        messages = [
            ChatMessage("system", system),
            ChatMessage(
                "user", self.user.render(**{**values, "passages": format_passages(passages)})
            ),
        ]
        with self.lock:
            scorer = self.assistant.answerer.support_scorer(passages)
        lock = self.lock

        def locked_scorer(sentence: str) -> list[float]:
            with lock:
                return scorer(sentence)

        citations = CitationStream(len(passages), locked_scorer if scorer else None)
        shown: list[str] = []
        for piece in chat.stream(messages, max_tokens, self.settings.llm_temperature):
            for out in citations.feed(piece):
                shown.append(out)
                yield ("token", out)
            if citations.references:
                break  # the model lists the passages: they are cited in the draft already
        for out in citations.close():
            shown.append(out)
            yield ("token", out)
        draft = self._finish(
            call,
            section,
            language,
            as_prose("".join(shown)),
            passages,
            citations.cited,
            started,
            provider=chat.provider,
            model=chat.model,
        )
        # the user's own figures: what the model was given besides the passages, and the
        # whole project profile (its budget is known even where this section leaves it out)
        given = "\n".join([*map(str, values.values()), project.model_dump_json()])
        draft.unverified_figures = FigureCheck.of_passages(passages, given).missing(draft.text)
        yield ("final", draft)
