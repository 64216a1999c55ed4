"""A project idea as a profile: who applies, with whom, where, what it does and costs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assistant.calls.schema import load_yaml_model


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: str = Field(description="comune, unione_di_comuni, ambito_sociale, provincia, …")
    comune: str | None = None
    province: str | None = None
    region: str | None = None
    country: str = "IT"
    istat_code: str | None = None
    population: int | None = None
    capoluogo: bool | None = None


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    type: str = ""
    country: str = "IT"
    region: str | None = None


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    comune: str | None = None
    region: str | None = None
    ownership: str | None = Field(
        default=None, description="comunale, pubblica, privata, comodato, …"
    )


class CostLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str
    description: str = ""
    amount: float
    vat_included: bool = True


class OtherFunding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="e.g. PNRR M1C1 1.4.1, PR Puglia FESR")
    amount: float = 0.0
    covers: list[str] = Field(default_factory=list, description="cost categories it pays for")


class ProjectProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    summary: str = ""
    applicant: Applicant
    partners: list[Partner] = Field(default_factory=list)
    site: Site = Field(default_factory=Site)
    themes: list[str] = Field(default_factory=list)
    activities: list[str] = Field(default_factory=list)
    cost_lines: list[CostLine] = Field(default_factory=list)
    requested_contribution: float | None = None
    start_date: date | None = None
    end_date: date | None = None
    other_funding: list[OtherFunding] = Field(default_factory=list)
    infrastructure: bool | None = Field(default=None, description="an investment in infrastructure")
    vat_recoverable: bool | None = None
    dnsh_assessed: bool | None = Field(
        default=None, description="DNSH and horizontal principles assessed"
    )
    durability_commitment: bool | None = Field(
        default=None, description="keeps the operation 5 years"
    )
    visibility_plan: bool | None = None

    @property
    def total_cost(self) -> float:
        return sum(line.amount for line in self.cost_lines)

    def cost_of(self, category: str) -> float:
        return sum(line.amount for line in self.cost_lines if line.category == category)

    @classmethod
    def load(cls, path: Path) -> ProjectProfile:
        return load_yaml_model(cls, path, "project profile")
