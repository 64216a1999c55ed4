"""A proposal skeleton for one project idea: the eligibility checklist, each section of the
call drafted and cited, similar past projects, a budget within the call's caps, indicators."""

from __future__ import annotations

import re
import threading
from contextlib import nullcontext
from datetime import date

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call
from assistant.drafting.limits import UNIT_NAMES
from assistant.drafting.section import Draft, SectionDrafter
from assistant.eligibility.engine import EligibilityEngine, Verdict
from assistant.eligibility.regulation import RuleTexts
from assistant.schema import Hit, SearchFilters
from assistant.skeletons.formatting import euro
from assistant.skeletons.model import (
    Budget,
    BudgetLine,
    IndicatorRow,
    PastProject,
    Skeleton,
    SkeletonSection,
    SourceRef,
)

_MARKER = re.compile(r"\[(\d+)\]")


def limit_text(section, language: str = "it") -> str:
    if section.limit is None:
        return ""
    unit = UNIT_NAMES.get(language, UNIT_NAMES["it"])[section.limit.unit]
    return f"max {section.limit.max:,} {unit}".replace(",", ".")


class SourceList:
    """Sources numbered once per skeleton; the same chunk keeps its number everywhere."""

    def __init__(self) -> None:
        self.refs: list[SourceRef] = []
        self._by_chunk: dict[str, int] = {}

    def number(self, hit: Hit) -> int:
        if hit.chunk_id not in self._by_chunk:
            locator = ", ".join(
                p for p in (hit.section, f"p. {hit.page}" if hit.page is not None else "") if p
            )
            quote = " ".join(hit.text.split())
            self.refs.append(
                SourceRef(
                    number=len(self.refs) + 1,
                    document=hit.title,
                    locator=locator,
                    quote=quote[:400] + ("…" if len(quote) > 400 else ""),
                )
            )
            self._by_chunk[hit.chunk_id] = len(self.refs)
        return self._by_chunk[hit.chunk_id]


class SkeletonBuilder:
    def __init__(
        self,
        assistant,
        chat=None,
        today: date | None = None,
        draft_sections: set[str] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.assistant = assistant
        self.chat = chat
        self.today = today or date.today()
        self.draft_sections = draft_sections  # None: all sections
        self.lock = lock or nullcontext()
        self.drafter = SectionDrafter(assistant, chat, lock)
        has_index = assistant.settings.index_dir.exists()
        catalog = assistant.index.catalog if has_index else None
        self.rule_texts = RuleTexts(catalog, getattr(assistant, "scope", None))

    def build(self, call: Call, project: ProjectProfile, language: str = "it") -> Skeleton:
        with self.lock:
            verdict = EligibilityEngine(self.rule_texts, self.today).check(call, project)
        sources = SourceList()
        sections = [self._section(call, s, project, language, sources) for s in call.sections]
        provider = self.chat.provider if self.chat is not None else "extractive"
        return Skeleton(
            call_id=call.id,
            call_title=call.title,
            programme=call.programme or "",
            fund=call.fund or "",
            managing_authority=call.managing_authority or "",
            closing=call.dates.closing,
            project_title=project.title,
            applicant=project.applicant.name,
            comune=project.applicant.comune or "",
            summary=project.summary,
            generated=self.today,
            provider=provider + (f" ({self.chat.model})" if self.chat is not None else ""),
            eligibility=verdict,
            sections=sections,
            past_projects=self._past_projects(project, sources),
            budget=budget_for(call, project, verdict),
            indicators=[
                IndicatorRow(name=i.name, unit=i.unit, target=i.target) for i in call.indicators
            ],
            sources=sources.refs,
        )

    def _section(self, call, section, project, language, sources: SourceList) -> SkeletonSection:
        criteria = [
            f"{c.id}. {c.name} ({c.max_points:g} punti)"
            for c in call.scoring
            if c.id in section.criteria
        ]
        out = SkeletonSection(
            id=section.id,
            title=section.title,
            limit=limit_text(section, language),
            guidance=section.guidance,
            criteria=criteria,
        )
        if self.draft_sections is not None and section.id not in self.draft_sections:
            return out
        draft: Draft = self.drafter.draft(call, section, project, language)
        numbers = {p.number: sources.number(p.hit) for p in draft.passages}
        text = _MARKER.sub(
            lambda m: f"[{numbers[int(m[1])]}]" if int(m[1]) in numbers else "", draft.text
        )
        out.draft = text
        out.draft_length = draft.length
        out.rules = sorted({numbers[n] for n in draft.cited if n in numbers})
        out.figures_to_check = draft.unverified_figures
        return out

    def _past_projects(self, project: ProjectProfile, sources: SourceList) -> list[PastProject]:
        if not self.assistant.settings.index_dir.exists():
            return []
        query = f"{project.title}. {project.summary} {' '.join(project.themes)}"
        with self.lock:
            hits = self.assistant.retrieve(query, 5, SearchFilters(doc_type=["project"]))
        out = []
        for hit in hits:
            meta = hit.metadata
            if meta.get("record_kind") != "project":
                continue
            amount = meta.get("amount_total")
            out.append(
                PastProject(
                    title=str(meta.get("title") or meta.get("record_title") or hit.title),
                    comune=str(meta.get("comune", "")),
                    programme=str(meta.get("programme") or meta.get("programme_tag") or ""),
                    amount=float(amount) if isinstance(amount, int | float) else None,
                    status=str(meta.get("status", "")),
                    source=sources.number(hit),
                )
            )
        return out


def budget_for(call: Call, project: ProjectProfile, verdict: Verdict) -> Budget:
    """The cost lines by the call's categories, with the limits the call sets on each and
    the contribution the call can pay (rate and population caps)."""
    total = project.total_cost
    categories = {c.id: c for c in call.cost_categories}
    failed = {r.id for r in verdict.results if r.status == "fail"}
    lines = []
    for category_id in dict.fromkeys(line.category for line in project.cost_lines):
        category = categories.get(category_id)
        amount = project.cost_of(category_id)
        limit = ""
        if category is not None:
            base = "dei costi diretti" if category.share_base == "direct" else "del totale"
            bits = []
            if not category.eligible:
                bits.append("non ammissibile")
            if category.min_share is not None:
                bits.append(f"almeno {category.min_share:g}% {base}")
            if category.max_share is not None:
                bits.append(f"massimo {category.max_share:g}% {base}")
            if category.flat_rate is not None:
                bits.append(f"forfait {category.flat_rate:g}% dei costi diretti")
            if category.max_amount is not None:
                bits.append(f"massimo {euro(category.max_amount)}")
            if category.min_amount is not None:
                bits.append(f"minimo {euro(category.min_amount)}")
            limit = "; ".join(bits)
        lines.append(
            BudgetLine(
                category=category.name if category else category_id,
                amount=amount,
                share=amount / total * 100 if total else 0.0,
                limit=limit or ("voce non prevista dal bando" if category is None else ""),
                within_limit=f"category_{category_id}" not in failed,
            )
        )
    funding = call.funding
    payable = total * (funding.max_rate if funding.max_rate is not None else 100) / 100
    cap = funding.cap_for(project.applicant.population)
    if cap is not None:
        payable = min(payable, cap)
    requested = project.requested_contribution
    contribution = min(requested, payable) if requested is not None else payable
    notes = []
    if cap is not None:
        notes.append(f"Massimale del contributo per il proponente: {euro(cap)}.")
    if requested is not None and requested > payable + 0.005:
        notes.append(
            f"Il contributo richiesto ({euro(requested)}) supera quello concedibile: "
            f"ridotto a {euro(payable)}."
        )
    if total and total - contribution > 0.005:
        notes.append(f"Cofinanziamento a carico del proponente: {euro(total - contribution)}.")
    return Budget(
        lines=lines,
        total=total,
        contribution=contribution,
        cofinancing=max(0.0, total - contribution),
        rate=contribution / total * 100 if total else None,
        notes=notes,
    )
