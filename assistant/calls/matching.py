"""Which calls suit a project idea: eligible ones first, then by fit to the idea's themes and
activities, then by closing date; and how two calls may share the idea's costs without
paying the same cost twice (CPR art. 63(9), RRF art. 9)."""

from __future__ import annotations

from datetime import date

import numpy as np
from pydantic import BaseModel, Field

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import Call
from assistant.eligibility.engine import EligibilityEngine
from assistant.text_analysis import fold

VERDICT_ORDER = {"eligible": 0, "needs_information": 1, "not_eligible": 2}
DOUBLE_FUNDING_RULE = (
    "Ogni voce di spesa è finanziata da una sola fonte: la stessa spesa non può ricevere il "
    "sostegno di più fondi o strumenti dell'Unione (art. 63, par. 9, Reg. (UE) 2021/1060); "
    "il PNRR può affiancare altri programmi purché non copra lo stesso costo "
    "(art. 9, Reg. (UE) 2021/241)."
)


class CallMatch(BaseModel):
    call_id: str
    title: str
    fund: str = ""
    closing: date | None = None
    verdict: str
    fit: float = Field(description="0-1: how well the call's aims match the idea")
    reasons: list[str] = Field(default_factory=list, description="why it fits")
    blockers: list[str] = Field(default_factory=list, description="what fails")
    missing: list[str] = Field(default_factory=list, description="what must be checked")


class Combination(BaseModel):
    calls: list[str]
    split: dict[str, list[str]] = Field(description="call id -> cost categories it would pay")
    note: str


class MatchReport(BaseModel):
    project: str
    matches: list[CallMatch]
    combinations: list[Combination] = Field(default_factory=list)


def call_text(call: Call) -> str:
    parts = [call.title, call.programme or "", call.specific_objective or "", *call.themes]
    parts += [c.name + " " + c.description for c in call.scoring]
    return ". ".join(p for p in parts if p)


def idea_text(project: ProjectProfile) -> str:
    return ". ".join([project.title, project.summary, *project.themes, *project.activities])


def _terms(text: str) -> set[str]:
    return {w[:6] for w in fold(text).replace("-", " ").split() if len(w) > 3}


class CallMatcher:
    def __init__(self, engine: EligibilityEngine, embedder=None) -> None:
        self.engine = engine
        self.embedder = embedder

    def fit(self, calls: list[Call], project: ProjectProfile) -> list[float]:
        """Similarity of each call's aims to the idea: embeddings when there is an embedder
        (cross-lingual), else shared word stems."""
        if self.embedder is not None and calls:
            query = self.embedder.embed_queries([idea_text(project)])[0]
            vectors = self.embedder.embed_passages([call_text(c) for c in calls])
            return [float(max(0.0, s)) for s in np.asarray(vectors) @ np.asarray(query)]
        idea = _terms(idea_text(project))
        return [len(idea & _terms(call_text(c))) / max(1, len(idea)) for c in calls]

    def match(self, calls: list[Call], project: ProjectProfile) -> MatchReport:
        fits = self.fit(calls, project)
        matches = []
        verdicts = {}
        for call, fit in zip(calls, fits, strict=True):
            verdict = self.engine.check(call, project)
            verdicts[call.id] = verdict
            idea_themes = {fold(t): t for t in project.themes}
            shared = [t for f, t in idea_themes.items() if f in fold(call_text(call))]
            reasons = [f"temi in comune: {', '.join(shared)}"] if shared else []
            passed = [r.criterion for r in verdict.results if r.status == "pass"]
            if passed:
                reasons.append(f"{len(passed)} criteri rispettati")
            matches.append(
                CallMatch(
                    call_id=call.id,
                    title=call.title,
                    fund=call.fund or "",
                    closing=call.dates.closing,
                    verdict=verdict.verdict,
                    fit=round(fit, 3),
                    reasons=reasons,
                    blockers=[
                        f"{r.criterion}: {r.detail}" for r in verdict.results if r.status == "fail"
                    ],
                    missing=[
                        r.criterion for r in verdict.results if r.status == "needs_information"
                    ],
                )
            )
        matches.sort(
            key=lambda m: (
                VERDICT_ORDER[m.verdict],
                -m.fit,
                m.closing or date.max,
            )
        )
        usable = [c for c in calls if verdicts[c.id].verdict != "not_eligible"]
        return MatchReport(
            project=project.title, matches=matches, combinations=combinations(usable, project)
        )


def _pays_for(call: Call, category: str) -> bool | None:
    """Whether a call pays for a cost category: True, False, or None when it does not say."""
    for c in call.cost_categories:
        if c.id == category:
            return c.eligible
    return None if not call.cost_categories else False


def combinations(calls: list[Call], project: ProjectProfile) -> list[Combination]:
    """Pairs of calls from different funds or programmes where each pays for cost
    categories of the idea that the other does not, with the split that avoids double
    funding."""
    categories = list(dict.fromkeys(line.category for line in project.cost_lines))
    out = []
    for i, first in enumerate(calls):
        for second in calls[i + 1 :]:
            if (first.fund, first.programme) == (second.fund, second.programme):
                continue
            if False in (first.cumulation_allowed, second.cumulation_allowed):
                continue
            only_first = [c for c in categories if _pays_for(first, c) and not _pays_for(second, c)]
            only_second = [
                c for c in categories if _pays_for(second, c) and not _pays_for(first, c)
            ]
            if not only_first or not only_second:
                continue
            both = [c for c in categories if _pays_for(first, c) and _pays_for(second, c)]
            note = DOUBLE_FUNDING_RULE
            if both:
                note += f" Le voci {', '.join(both)} vanno attribuite a uno solo dei due bandi."
            out.append(
                Combination(
                    calls=[first.id, second.id],
                    split={first.id: only_first, second.id: only_second},
                    note=note,
                )
            )
    return out
