"""A funding call as data: who may apply, what it pays for, what the proposal must contain.

Every rule keeps the place in the call that states it (section, page and the words), so an
eligibility check can quote it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

M = TypeVar("M", bound=BaseModel)


def first_error(error: ValidationError) -> str:
    """`applicant.population: Input should be a valid integer` (and how many more)."""
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "file"
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def load_yaml_model(model: type[M], path: Path, what: str) -> M:
    """A pydantic model from a YAML file; one-line errors naming the file and the reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: not a readable YAML file ({error})") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValueError(f"{path}: not a valid {what} ({first_error(error)})") from error


Unit = Literal["characters", "characters_no_spaces", "words", "pages"]


class Place(BaseModel):
    """Where a rule is written: section and page of the call, and its words."""

    model_config = ConfigDict(extra="forbid")
    section: str | None = None
    page: int | None = None
    quote: str | None = None

    def label(self) -> str:
        parts = [p for p in (self.section, f"p. {self.page}" if self.page else None) if p]
        return ", ".join(parts)


class ApplicantGroup(BaseModel):
    """One kind of eligible applicant; all its conditions must hold."""

    model_config = ConfigDict(extra="forbid")
    types: list[str] = Field(
        default_factory=list, description="comune, unione_di_comuni, ambito_sociale, …"
    )
    regions: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    istat_codes: list[str] = Field(default_factory=list)
    min_population: int | None = Field(default=None, description="strictly more than this")
    max_population: int | None = Field(default=None, description="at most this")
    capoluogo: bool | None = Field(
        default=None, description="must (True) or must not (False) be a capoluogo"
    )
    place: Place = Field(default_factory=Place)


class Applicants(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[ApplicantGroup] = Field(default_factory=list, description="any one group suffices")
    excluded_types: list[str] = Field(default_factory=list)
    place: Place = Field(default_factory=Place)


class Partnership(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_partners: int | None = None
    max_partners: int | None = None
    min_countries: int | None = Field(
        default=None, description="distinct countries among applicant and partners"
    )
    allowed_partner_types: list[str] = Field(default_factory=list)
    place: Place = Field(default_factory=Place)


class CostCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    eligible: bool = True
    min_amount: float | None = None
    max_amount: float | None = None
    min_share: float | None = Field(default=None, description="at least this % of the base")
    max_share: float | None = Field(default=None, description="at most this % of the base")
    share_base: Literal["total", "direct"] = Field(
        default="total", description="shares of the total cost or of the direct costs only"
    )
    flat_rate: float | None = Field(
        default=None, description="% of direct costs, paid without receipts"
    )
    place: Place = Field(default_factory=Place)


class Costs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_total: float | None = None
    max_total: float | None = None
    place: Place = Field(default_factory=Place)


class ContributionTier(BaseModel):
    """A cap on the contribution that depends on the applicant's population."""

    model_config = ConfigDict(extra="forbid")
    max_population: int | None = Field(default=None, description="up to this; None: no upper bound")
    max_contribution: float


class Funding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_rate: float | None = Field(
        default=None, description="% of eligible cost the call pays at most"
    )
    max_contribution: float | None = None
    min_cofinancing: float | None = Field(default=None, description="% the applicant must add")
    budget: float | None = Field(default=None, description="the call's total allocation")
    tiers: list[ContributionTier] = Field(
        default_factory=list, description="caps by population, smallest band first"
    )
    place: Place = Field(default_factory=Place)

    def cap_for(self, population: int | None) -> float | None:
        """The contribution cap that applies to an applicant of this population."""
        caps = [self.max_contribution] if self.max_contribution is not None else []
        if self.tiers:
            if population is None:
                return None
            for tier in self.tiers:
                if tier.max_population is None or population <= tier.max_population:
                    caps.append(tier.max_contribution)
                    break
        return min(caps) if caps else None


class SiteRule(BaseModel):
    """Conditions on where the project happens: region, ownership of the site."""

    model_config = ConfigDict(extra="forbid")
    regions: list[str] = Field(default_factory=list)
    allowed_ownership: list[str] = Field(default_factory=list, description="pubblica, comunale, …")
    excluded_ownership: list[str] = Field(
        default_factory=list, description="comodato, diritto_di_superficie, …"
    )
    place: Place = Field(default_factory=Place)


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max: int
    unit: Unit = "characters"


class Section(BaseModel):
    """A section the proposal must contain, with its limit and the call's guidance."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    limit: Limit | None = None
    guidance: str = ""
    criteria: list[str] = Field(
        default_factory=list, description="scoring criteria this section serves"
    )
    place: Place = Field(default_factory=Place)


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    max_points: float
    description: str = ""
    place: Place = Field(default_factory=Place)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    unit: str = ""
    target: str = ""
    place: Place = Field(default_factory=Place)


class Dates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opening: date | None = None
    closing: date | None = None
    project_start_after: date | None = None
    project_start_by: date | None = None
    project_end_by: date | None = None
    place: Place = Field(default_factory=Place)


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    programme: str | None = None
    fund: str | None = Field(default=None, description="FESR, FSE+, PNRR, Interreg, regional, …")
    cohesion_policy: bool = Field(default=True, description="the CPR 2021/1060 rules apply")
    policy_objective: str | None = None
    specific_objective: str | None = None
    managing_authority: str | None = None
    region: str | None = Field(default=None, description="region of the managing authority")
    source: str | None = Field(default=None, description="the call document (file or URL)")
    themes: list[str] = Field(default_factory=list)
    dates: Dates = Field(default_factory=Dates)
    applicants: Applicants = Field(default_factory=Applicants)
    partnership: Partnership = Field(default_factory=Partnership)
    site: SiteRule = Field(default_factory=SiteRule)
    costs: Costs = Field(default_factory=Costs)
    funding: Funding = Field(default_factory=Funding)
    cost_categories: list[CostCategory] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    scoring: list[Criterion] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    required_documents: list[str] = Field(default_factory=list)
    cumulation_allowed: bool | None = Field(
        default=None, description="with other aid for the same costs"
    )
    notes: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Call:
        return load_yaml_model(cls, path, "call")

    def dump(self) -> str:
        return yaml.safe_dump(
            self.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True
        )
