"""A deterministic eligibility check of a project against a call and the regulations.

Every criterion is pass, fail or needs-information, with the rule it applies, quoted, and
the place that states it. The verdict is "eligible" only when every criterion passes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from assistant.calls.project import ProjectProfile
from assistant.calls.schema import ApplicantGroup, Call, Place
from assistant.eligibility.regulation import RULES, RuleTexts, category_of
from assistant.text_analysis import fold

Status = Literal["pass", "fail", "needs_information"]
PERIOD_START, PERIOD_END = date(2021, 1, 1), date(2029, 12, 31)
VAT_THRESHOLD = 5_000_000


class CriterionResult(BaseModel):
    id: str
    criterion: str
    status: Status
    detail: str
    rule: str = ""  # the words of the rule
    where: str = ""  # document, section, page


class Verdict(BaseModel):
    call: str
    project: str
    verdict: Literal["eligible", "not_eligible", "needs_information"]
    results: list[CriterionResult]
    failed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and fold(a).strip() == fold(b).strip()


def _in(value: str | None, options: list[str]) -> bool:
    return any(_same(value, option) for option in options)


def _euro(value: float) -> str:
    return f"{value:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


class EligibilityEngine:
    def __init__(self, rule_texts: RuleTexts | None = None, today: date | None = None) -> None:
        self.texts = rule_texts or RuleTexts()
        self.today = today or date.today()

    def check(self, call: Call, project: ProjectProfile) -> Verdict:
        results: list[CriterionResult] = []
        for check in self._call_checks():
            results.extend(check(call, project))
        if call.cohesion_policy:
            for check in self._regulation_checks():
                results.extend(check(call, project))
        failed = [r.criterion for r in results if r.status == "fail"]
        missing = [r.criterion for r in results if r.status == "needs_information"]
        verdict = "not_eligible" if failed else "needs_information" if missing else "eligible"
        return Verdict(
            call=call.id,
            project=project.title,
            verdict=verdict,
            results=results,
            failed=failed,
            missing=missing,
        )

    # -- helpers ---------------------------------------------------------------------
    def _result(
        self,
        id: str,
        criterion: str,
        status: Status,
        detail: str,
        place: Place | None = None,
        call: Call | None = None,
    ) -> CriterionResult:
        where = ""
        if place is not None and call is not None:
            where = ", ".join(p for p in (call.title, place.label()) if p)
        return CriterionResult(
            id=id,
            criterion=criterion,
            status=status,
            detail=detail,
            rule=(place.quote or "") if place else "",
            where=where,
        )

    def _regulation(
        self, id: str, criterion: str, status: Status, detail: str, rule_key: str
    ) -> CriterionResult:
        quote, where = self.texts.quote(RULES[rule_key])
        return CriterionResult(
            id=id, criterion=criterion, status=status, detail=detail, rule=quote, where=where
        )

    def _call_checks(self) -> list[Callable[[Call, ProjectProfile], list[CriterionResult]]]:
        return [
            self.applicant,
            self.partnership,
            self.site,
            self.costs,
            self.cost_categories,
            self.funding,
            self.timing,
            self.cumulation,
        ]

    def _regulation_checks(self) -> list[Callable[[Call, ProjectProfile], list[CriterionResult]]]:
        return [
            self.cofinancing,
            self.eligibility_period,
            self.vat,
            self.durability,
            self.horizontal,
            self.double_funding,
            self.visibility,
        ]

    # -- the call's own rules ----------------------------------------------------------
    def applicant(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        rules = call.applicants
        a = project.applicant
        out = []
        if rules.excluded_types and _in(a.type, rules.excluded_types):
            out.append(
                self._result(
                    "applicant_excluded",
                    "Soggetto escluso",
                    "fail",
                    f"i soggetti di tipo «{a.type}» sono esclusi",
                    rules.place,
                    call,
                )
            )
        if not rules.groups:
            return out
        reasons, unknown = [], []
        for group in rules.groups:
            failed, missing = self._group(group, project)
            if not failed and not missing:
                out.append(
                    self._result(
                        "applicant",
                        "Soggetto ammissibile",
                        "pass",
                        f"{a.name} rientra tra i beneficiari ammessi",
                        group.place,
                        call,
                    )
                )
                return out
            reasons.append((failed, group))
            unknown.append(missing)
        if any(not f for f, _ in reasons):  # only unknowns stand in the way somewhere
            group = next(g for f, g in reasons if not f)
            missing = next(m for (f, _), m in zip(reasons, unknown, strict=True) if not f)
            out.append(
                self._result(
                    "applicant",
                    "Soggetto ammissibile",
                    "needs_information",
                    "servono: " + ", ".join(missing),
                    group.place,
                    call,
                )
            )
            return out
        failed, group = reasons[0]
        out.append(
            self._result(
                "applicant",
                "Soggetto ammissibile",
                "fail",
                f"{a.name}: " + "; ".join(failed),
                group.place,
                call,
            )
        )
        return out

    def _group(self, group: ApplicantGroup, project: ProjectProfile) -> tuple[list[str], list[str]]:
        a = project.applicant
        failed, missing = [], []
        if group.types and not _in(a.type, group.types):
            failed.append(f"tipo «{a.type}» non ammesso (ammessi: {', '.join(group.types)})")
        if group.regions:
            if a.region is None:
                missing.append("regione del richiedente")
            elif not _in(a.region, group.regions):
                failed.append(
                    f"regione {a.region} non ammessa (ammesse: {', '.join(group.regions)})"
                )
        if group.provinces:
            if a.province is None:
                missing.append("provincia del richiedente")
            elif not _in(a.province, group.provinces):
                failed.append(f"provincia {a.province} non ammessa")
        if group.istat_codes and a.istat_code not in group.istat_codes:
            failed.append("comune non compreso nell'elenco dei codici ISTAT ammessi")
        if group.min_population is not None or group.max_population is not None:
            if a.population is None:
                missing.append("popolazione residente")
            else:
                if group.min_population is not None and a.population <= group.min_population:
                    failed.append(
                        f"popolazione {a.population:,} non superiore a {group.min_population:,} abitanti".replace(
                            ",", "."
                        )
                    )
                if group.max_population is not None and a.population > group.max_population:
                    failed.append(
                        f"popolazione {a.population:,} oltre {group.max_population:,} abitanti".replace(
                            ",", "."
                        )
                    )
        if group.capoluogo is not None:
            if a.capoluogo is None:
                missing.append("se il comune è capoluogo")
            elif a.capoluogo != group.capoluogo:
                failed.append(
                    "il comune è capoluogo"
                    if a.capoluogo
                    else "il comune non è capoluogo di provincia"
                )
        return failed, missing

    def partnership(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        rules = call.partnership
        if (
            rules.min_partners is None
            and rules.max_partners is None
            and rules.min_countries is None
        ):
            return []
        partners = len(project.partners)
        countries = {project.applicant.country, *(p.country for p in project.partners)}
        problems = []
        if rules.min_partners is not None and partners < rules.min_partners:
            problems.append(f"{partners} partner, ne servono almeno {rules.min_partners}")
        if rules.max_partners is not None and partners > rules.max_partners:
            problems.append(f"{partners} partner, al massimo {rules.max_partners}")
        if rules.min_countries is not None and len(countries) < rules.min_countries:
            problems.append(
                f"partner da {len(countries)} paese/i ({', '.join(sorted(countries))}), "
                f"ne servono almeno {rules.min_countries}"
            )
        status: Status = "fail" if problems else "pass"
        detail = "; ".join(problems) or f"{partners} partner da {len(countries)} paese/i"
        return [self._result("partnership", "Partenariato", status, detail, rules.place, call)]

    def site(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        rules = call.site
        out = []
        if rules.regions:
            region = project.site.region or project.applicant.region
            if region is None:
                out.append(
                    self._result(
                        "site_region",
                        "Localizzazione",
                        "needs_information",
                        "serve la regione dell'intervento",
                        rules.place,
                        call,
                    )
                )
            else:
                ok = _in(region, rules.regions)
                out.append(
                    self._result(
                        "site_region",
                        "Localizzazione",
                        "pass" if ok else "fail",
                        f"intervento in {region}"
                        + ("" if ok else f", ammesse solo: {', '.join(rules.regions)}"),
                        rules.place,
                        call,
                    )
                )
        if rules.allowed_ownership or rules.excluded_ownership:
            ownership = project.site.ownership
            if ownership is None:
                status, detail = "needs_information", "serve il titolo di proprietà del sito"
            elif rules.excluded_ownership and _in(ownership, rules.excluded_ownership):
                status, detail = "fail", f"sito in {ownership}: escluso dal bando"
            elif rules.allowed_ownership and not _in(ownership, rules.allowed_ownership):
                status, detail = (
                    "fail",
                    f"sito in {ownership}: ammessi solo {', '.join(rules.allowed_ownership)}",
                )
            else:
                status, detail = "pass", f"sito: {ownership}"
            out.append(
                self._result(
                    "site_ownership", "Proprietà del sito", status, detail, rules.place, call
                )
            )
        return out

    def costs(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        rules = call.costs
        if rules.min_total is None and rules.max_total is None:
            return []
        if not project.cost_lines:
            return [
                self._result(
                    "total_cost",
                    "Costo del progetto",
                    "needs_information",
                    "servono le voci di costo",
                    rules.place,
                    call,
                )
            ]
        total = project.total_cost
        problems = []
        if rules.min_total is not None and total < rules.min_total:
            problems.append(
                f"costo totale {_euro(total)} sotto il minimo di {_euro(rules.min_total)}"
            )
        if rules.max_total is not None and total > rules.max_total:
            problems.append(
                f"costo totale {_euro(total)} oltre il massimo di {_euro(rules.max_total)}"
            )
        return [
            self._result(
                "total_cost",
                "Costo del progetto",
                "fail" if problems else "pass",
                "; ".join(problems) or f"costo totale {_euro(total)}",
                rules.place,
                call,
            )
        ]

    def cost_categories(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        out = []
        known = {c.id: c for c in call.cost_categories}
        total = project.total_cost
        # flat-rate categories (indirect costs) are computed on the direct costs, not part of them
        direct = total - sum(project.cost_of(c.id) for c in call.cost_categories if c.flat_rate)
        for category in call.cost_categories:
            amount = project.cost_of(category.id)
            base = direct if category.share_base == "direct" else total
            base_name = "dei costi diretti" if category.share_base == "direct" else "del costo"
            problems = []
            if not category.eligible and amount:
                problems.append(f"«{category.name}» non è una spesa ammissibile ({_euro(amount)})")
            if category.min_amount is not None and amount < category.min_amount:
                problems.append(
                    f"«{category.name}» {_euro(amount)}, minimo {_euro(category.min_amount)}"
                )
            if category.max_amount is not None and amount > category.max_amount:
                problems.append(
                    f"«{category.name}» {_euro(amount)}, massimo {_euro(category.max_amount)}"
                )
            share = amount / base * 100 if base else 0.0
            if category.max_share is not None and base and share > category.max_share + 1e-9:
                problems.append(
                    f"«{category.name}» {share:.1f}% {base_name}, massimo {category.max_share:g}%"
                )
            if category.min_share is not None and base and share < category.min_share - 1e-9:
                problems.append(
                    f"«{category.name}» {share:.1f}% {base_name}, minimo {category.min_share:g}%"
                )
            if category.flat_rate is not None and amount and direct:
                expected = direct * category.flat_rate / 100
                if amount > expected + 0.01:
                    problems.append(
                        f"«{category.name}» {_euro(amount)} oltre il forfait del "
                        f"{category.flat_rate:g}% dei costi diretti ({_euro(expected)})"
                    )
            checks_something = (
                not category.eligible
                or category.min_amount is not None
                or category.max_amount is not None
                or category.max_share is not None
                or category.min_share is not None
                or category.flat_rate is not None
            )
            if checks_something and (
                amount or category.min_amount is not None or category.min_share is not None
            ):
                detail = f"{_euro(amount)}" + (f", {share:.1f}% {base_name}" if base else "")
                out.append(
                    self._result(
                        f"category_{category.id}",
                        f"Voce di costo: {category.name}",
                        "fail" if problems else "pass",
                        "; ".join(problems) or detail,
                        category.place,
                        call,
                    )
                )
        unknown = (
            sorted({line.category for line in project.cost_lines} - set(known)) if known else []
        )
        if unknown:
            out.append(
                CriterionResult(
                    id="category_unknown",
                    criterion="Voci di costo",
                    status="needs_information",
                    detail="voci non previste dal bando: " + ", ".join(unknown),
                )
            )
        return out

    def funding(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        rules = call.funding
        requested = project.requested_contribution
        if rules.max_contribution is None and rules.max_rate is None and not rules.tiers:
            return []
        if requested is None:
            return [
                self._result(
                    "contribution",
                    "Contributo richiesto",
                    "needs_information",
                    "serve l'importo del contributo richiesto",
                    rules.place,
                    call,
                )
            ]
        problems = []
        population = project.applicant.population
        cap = rules.cap_for(population)
        if rules.tiers and population is None:
            return [
                self._result(
                    "contribution",
                    "Contributo richiesto",
                    "needs_information",
                    "il massimale dipende dalla popolazione del proponente: serve la popolazione",
                    rules.place,
                    call,
                )
            ]
        if cap is not None and requested > cap + 0.005:
            band = f" per {population:,} abitanti".replace(",", ".") if rules.tiers else ""
            problems.append(
                f"contributo richiesto {_euro(requested)} oltre il massimo di {_euro(cap)}{band}"
            )
        if (
            rules.max_rate is not None
            and project.total_cost
            and requested > project.total_cost * rules.max_rate / 100 + 0.01
        ):
            problems.append(
                f"contributo pari al {requested / project.total_cost:.0%} del costo, massimo {rules.max_rate:g}%"
            )
        within = f"{_euro(requested)}" + (f", massimale {_euro(cap)}" if cap is not None else "")
        return [
            self._result(
                "contribution",
                "Contributo richiesto",
                "fail" if problems else "pass",
                "; ".join(problems) or within,
                rules.place,
                call,
            )
        ]

    def timing(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        dates = call.dates
        out = []
        if dates.closing is not None and self.today > dates.closing:
            out.append(
                self._result(
                    "deadline",
                    "Termine di presentazione",
                    "fail",
                    f"il bando si è chiuso il {dates.closing:%d/%m/%Y}",
                    dates.place,
                    call,
                )
            )
        for id, criterion, given, limit, missing, word in (
            ("start_date", "Avvio delle attività", project.start_date, dates.project_start_by,
             "serve la data di avvio", "avvio"),
            ("end_date", "Termine dei lavori", project.end_date, dates.project_end_by,
             "serve la data di conclusione", "conclusione"),
        ):  # fmt: skip
            if limit is None:
                continue
            if given is None:
                status, detail = "needs_information", missing
            else:
                status = "pass" if given <= limit else "fail"
                detail = f"{word} {given:%d/%m/%Y}, entro {limit:%d/%m/%Y}"
            out.append(self._result(id, criterion, status, detail, dates.place, call))
        return out

    def cumulation(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        if call.cumulation_allowed is not False or not project.other_funding:
            return []
        sources = ", ".join(f.source for f in project.other_funding)
        return [
            CriterionResult(
                id="cumulation",
                criterion="Cumulo con altre agevolazioni",
                status="fail",
                detail=f"il bando esclude il cumulo; altri finanziamenti: {sources}",
            )
        ]

    # -- the regulations ---------------------------------------------------------------
    def cofinancing(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        region = project.site.region or project.applicant.region
        category = category_of(region)
        if category is None:
            return [
                self._regulation(
                    "cofinancing",
                    "Cofinanziamento UE (categoria di regione)",
                    "needs_information",
                    "serve la regione dell'intervento",
                    "cofinancing",
                )
            ]
        names = {
            "less_developed": "meno sviluppata",
            "transition": "in transizione",
            "more_developed": "più sviluppata",
        }
        return [
            self._regulation(
                "cofinancing",
                "Cofinanziamento UE (categoria di regione)",
                "pass",
                f"{region}: regione {names[category.category]}, quota UE della priorità al massimo "
                f"{category.max_rate:g}%; il resto è cofinanziamento nazionale",
                "cofinancing",
            )
        ]

    def eligibility_period(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        out = []
        if project.start_date is None or project.end_date is None:
            out.append(
                self._regulation(
                    "period",
                    "Periodo di ammissibilità della spesa",
                    "needs_information",
                    "servono le date di inizio e fine",
                    "period",
                )
            )
        else:
            ok = project.start_date >= PERIOD_START and project.end_date <= PERIOD_END
            out.append(
                self._regulation(
                    "period",
                    "Periodo di ammissibilità della spesa",
                    "pass" if ok else "fail",
                    f"dal {project.start_date:%d/%m/%Y} al {project.end_date:%d/%m/%Y}"
                    + ("" if ok else "; fuori dal periodo 1/1/2021-31/12/2029"),
                    "period",
                )
            )
            if project.end_date < self.today:
                out.append(
                    self._regulation(
                        "completed",
                        "Operazione non ancora conclusa",
                        "fail",
                        f"conclusa il {project.end_date:%d/%m/%Y}, prima della domanda",
                        "completed",
                    )
                )
        return out

    def vat(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        if not project.cost_lines:
            return []
        total = project.total_cost
        if total < VAT_THRESHOLD:
            return [
                self._regulation(
                    "vat",
                    "IVA",
                    "pass",
                    f"costo totale {_euro(total)} sotto 5 milioni: l'IVA è ammissibile",
                    "vat",
                )
            ]
        if project.vat_recoverable is None:
            return [
                self._regulation(
                    "vat",
                    "IVA",
                    "needs_information",
                    "costo oltre 5 milioni: serve sapere se l'IVA è recuperabile",
                    "vat",
                )
            ]
        with_vat = any(line.vat_included for line in project.cost_lines)
        bad = project.vat_recoverable and with_vat
        return [
            self._regulation(
                "vat",
                "IVA",
                "fail" if bad else "pass",
                "l'IVA recuperabile va tolta dai costi ammissibili"
                if bad
                else "IVA trattata correttamente",
                "vat",
            )
        ]

    def durability(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        if project.infrastructure is False:
            return []
        if project.durability_commitment is None:
            status, detail = (
                "needs_information",
                "serve l'impegno a mantenere l'operazione per cinque anni dal saldo",
            )
        else:
            status = "pass" if project.durability_commitment else "fail"
            detail = (
                "impegno di stabilità per cinque anni"
                if project.durability_commitment
                else "nessun impegno di stabilità"
            )
        return [
            self._regulation(
                "durability", "Stabilità delle operazioni", status, detail, "durability"
            )
        ]

    def horizontal(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        if project.dnsh_assessed is None:
            status, detail = (
                "needs_information",
                "serve la valutazione DNSH e dei principi orizzontali",
            )
        else:
            status = "pass" if project.dnsh_assessed else "fail"
            detail = "valutazione DNSH svolta" if project.dnsh_assessed else "DNSH non rispettato"
        return [
            self._regulation(
                "horizontal", "Principi orizzontali e DNSH", status, detail, "horizontal"
            )
        ]

    def double_funding(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        mine = {line.category for line in project.cost_lines}
        out = []
        for other in project.other_funding:
            overlap = sorted(mine & set(other.covers))
            pnrr = "pnrr" in fold(other.source)
            if overlap:
                rule = "rrf_double" if pnrr else "double_funding"
                out.append(
                    self._regulation(
                        "double_funding",
                        "Nessun doppio finanziamento",
                        "fail",
                        f"{other.source} finanzia già: {', '.join(overlap)}",
                        rule,
                    )
                )
        if not out:
            detail = (
                "altri finanziamenti su costi diversi: "
                + ", ".join(f.source for f in project.other_funding)
                if project.other_funding
                else "nessun altro finanziamento dichiarato"
            )
            out.append(
                self._regulation(
                    "double_funding",
                    "Nessun doppio finanziamento",
                    "pass",
                    detail,
                    "double_funding",
                )
            )
        return out

    def visibility(self, call: Call, project: ProjectProfile) -> list[CriterionResult]:
        if project.visibility_plan is None:
            status, detail = "needs_information", "serve il piano di comunicazione e visibilità"
        else:
            status = "pass" if project.visibility_plan else "fail"
            detail = (
                "obblighi di visibilità previsti"
                if project.visibility_plan
                else "obblighi di visibilità assenti"
            )
        return [
            self._regulation(
                "visibility", "Visibilità del sostegno UE", status, detail, "visibility"
            )
        ]
