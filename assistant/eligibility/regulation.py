"""The rules of the 2021-27 regulations that apply to every cohesion-policy operation, and
where they are written. Quotes come from the indexed texts when the article is indexed
(the official regulation, or the project's notes), else from the short paraphrase here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from assistant.text_analysis import fold


@dataclass(frozen=True)
class RuleRef:
    regulation: str  # "2021/1060"
    article: str  # "65"
    paragraph: str | None  # "1"
    label: str  # "Reg. (UE) 2021/1060, art. 65, par. 1"
    paraphrase: str  # our words, when the text is not indexed
    point: str | None = None  # "c" for "lett. c)"


CPR = "2021/1060"
RRF = "2021/241"
RULES = {
    "cofinancing": RuleRef(
        CPR,
        "112",
        "3",
        "Reg. (UE) 2021/1060, art. 112, par. 3",
        "Il tasso di cofinanziamento UE di ciascuna priorità non supera l'85% nelle regioni "
        "meno sviluppate, il 60% (70%) nelle regioni in transizione, il 40% (50%) nelle "
        "regioni più sviluppate.",
    ),
    "period": RuleRef(
        CPR,
        "63",
        "2",
        "Reg. (UE) 2021/1060, art. 63, par. 2",
        "Sono ammissibili le spese sostenute e pagate tra il 1º gennaio 2021 e il 31 dicembre 2029.",
    ),
    "completed": RuleRef(
        CPR,
        "63",
        "6",
        "Reg. (UE) 2021/1060, art. 63, par. 6",
        "Non sono selezionate operazioni portate materialmente a termine o completamente "
        "attuate prima della domanda di finanziamento.",
    ),
    "vat": RuleRef(
        CPR,
        "64",
        "1",
        "Reg. (UE) 2021/1060, art. 64, par. 1, lett. c)",
        "L'IVA non è ammissibile, salvo per le operazioni di costo totale inferiore a 5 milioni di "
        "euro (IVA compresa) e per quelle di costo superiore quando l'IVA non è recuperabile.",
        point="c",
    ),
    "durability": RuleRef(
        CPR,
        "65",
        "1",
        "Reg. (UE) 2021/1060, art. 65, par. 1",
        "Per gli investimenti in infrastrutture o produttivi il contributo è rimborsato se, "
        "entro cinque anni dal pagamento finale, l'operazione cessa, cambia proprietà con "
        "vantaggio indebito o è modificata in modo sostanziale.",
    ),
    "horizontal": RuleRef(
        CPR,
        "9",
        "4",
        "Reg. (UE) 2021/1060, art. 9",
        "I Fondi sostengono attività che rispettano i diritti fondamentali, la parità di "
        "genere, l'accessibilità, lo sviluppo sostenibile e il principio «non arrecare un "
        "danno significativo» (DNSH).",
    ),
    "double_funding": RuleRef(
        CPR,
        "63",
        "9",
        "Reg. (UE) 2021/1060, art. 63, par. 9",
        "Un'operazione può ricevere sostegno da più Fondi o strumenti dell'Unione solo "
        "se la stessa spesa non è finanziata due volte.",
    ),
    "rrf_double": RuleRef(
        RRF,
        "9",
        None,
        "Reg. (UE) 2021/241, art. 9",
        "Il sostegno del dispositivo si aggiunge a quello di altri programmi dell'Unione e "
        "non copre lo stesso costo.",
    ),
    "visibility": RuleRef(
        CPR,
        "50",
        "1",
        "Reg. (UE) 2021/1060, art. 50",
        "I beneficiari rendono visibile il sostegno dei Fondi (sito, cartelloni, emblema); "
        "se non rimediano, l'autorità di gestione sopprime fino al 3% del sostegno.",
    ),
}


@dataclass(frozen=True)
class RegionCategory:
    category: str  # less_developed | transition | more_developed
    max_rate: float


@lru_cache(maxsize=1)
def region_categories() -> dict[str, RegionCategory]:
    path = Path(str(resources.files("assistant").joinpath("resources/region_categories.yaml")))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rates = data["max_rates"]
    return {
        fold(region): RegionCategory(category, float(rates[category]))
        for category, regions in data["categories"].items()
        for region in regions
    }


def category_of(region: str | None) -> RegionCategory | None:
    return region_categories().get(fold(region)) if region else None


class RuleTexts:
    """Finds the words of a regulation's article in the index (the catalogue's sections)."""

    def __init__(self, catalog=None, workspaces=None) -> None:
        self.catalog = catalog
        self.workspaces = sorted(workspaces) if workspaces is not None else None

    def quote(self, rule: RuleRef) -> tuple[str, str]:
        """(quote, where), from the indexed text when possible: the regulation's own
        document first (others cite it too), the paragraph the rule names within it."""
        if self.catalog is not None:
            article = f"Art. {rule.article}"
            with self.catalog.engine.connect() as connection:
                # only the workspaces the reader may see (every query path is scoped)
                scope = ""
                params: list = [article, f"{article} ›%", f"%{rule.regulation}%"]
                if self.workspaces is not None:
                    scope = (
                        f" AND d.workspace IN ({', '.join('?' * len(self.workspaces)) or 'NULL'})"
                    )
                    params += self.workspaces
                rows = connection.exec_driver_sql(
                    "SELECT c.text, d.title, c.page, c.section, d.source FROM chunks c "
                    "JOIN documents d ON d.doc_id = c.doc_id "
                    "WHERE (c.section = ? OR c.section LIKE ?) AND d.identifiers LIKE ?"
                    + scope
                    + " ORDER BY CASE WHEN d.title LIKE ? THEN 0 ELSE 1 END, "
                    "CASE d.language WHEN 'it' THEN 0 WHEN 'en' THEN 1 ELSE 2 END, "
                    "d.doc_id, c.ordinal LIMIT 12",
                    (*params, f"%{rule.regulation}%"),
                ).fetchall()
            if rows:
                best = rows[0]
                document = rows[0][1]
                text = " ".join(best[0].split())
                if rule.paragraph:
                    opening = re.compile(rf"(?:^|\s){re.escape(rule.paragraph)}\.\s")
                    for row in rows:
                        if row[1] != document:
                            break
                        flat = " ".join(row[0].split())
                        match = opening.search(flat)
                        if match:
                            best, text = row, flat[match.start() :].strip()
                            break
                if rule.point:
                    match = re.search(rf"(?:^|\s){re.escape(rule.point)}\)\s", text)
                    if match:
                        text = text[match.start() :].strip()
                _, title, page, found, source = best
                where = (
                    f"{title}, {found}"
                    + (f", p. {page}" if page else "")
                    + f" ({Path(source).name})"
                )
                return text[:400] + ("…" if len(text) > 400 else ""), where
        return rule.paraphrase, f"{rule.label} (sintesi)"
