"""A proposal skeleton as data, before it is written out as Word or Markdown.

The builder fills it from a call, a project idea, the eligibility engine and the index; the
renderers (`docx_render`, `markdown_render`) only lay it out.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from assistant.eligibility.engine import Verdict


class SourceRef(BaseModel):
    """A numbered source: the `[n]` markers in the texts point here."""

    number: int
    document: str
    locator: str = Field(default="", description="article, section, page")
    quote: str = ""


class SkeletonSection(BaseModel):
    id: str
    title: str
    limit: str = Field(default="", description="e.g. 'max 1.500 caratteri spazi inclusi'")
    guidance: str = ""
    criteria: list[str] = Field(default_factory=list, description="scoring criteria it serves")
    draft: str = Field(default="", description="starting text with [n] markers")
    draft_length: str = Field(default="", description="e.g. '1.234 / 1.500 caratteri'")
    rules: list[int] = Field(default_factory=list, description="numbers of the cited sources")
    figures_to_check: list[str] = Field(
        default_factory=list,
        description="figures of the draft that neither its sources nor the call and project hold",
    )


class BudgetLine(BaseModel):
    category: str
    amount: float
    share: float = Field(description="% of the total cost")
    limit: str = ""
    within_limit: bool = True


class Budget(BaseModel):
    lines: list[BudgetLine] = Field(default_factory=list)
    total: float = 0.0
    contribution: float = 0.0
    cofinancing: float = 0.0
    rate: float | None = Field(default=None, description="% of the total the call pays")
    notes: list[str] = Field(default_factory=list)


class IndicatorRow(BaseModel):
    name: str
    unit: str = ""
    target: str = ""


class PastProject(BaseModel):
    title: str
    comune: str = ""
    programme: str = ""
    amount: float | None = None
    status: str = ""
    source: int | None = Field(default=None, description="number of the source it comes from")


class Skeleton(BaseModel):
    call_id: str
    call_title: str
    programme: str = ""
    fund: str = ""
    managing_authority: str = ""
    closing: date | None = None
    project_title: str
    applicant: str
    comune: str = ""
    summary: str = ""
    generated: date
    provider: str = Field(default="", description="which LLM (or 'extractive') wrote the drafts")
    eligibility: Verdict
    sections: list[SkeletonSection] = Field(default_factory=list)
    past_projects: list[PastProject] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    indicators: list[IndicatorRow] = Field(default_factory=list)
    sources: list[SourceRef] = Field(default_factory=list)
