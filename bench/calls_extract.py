"""Draft a Call from every real call PDF: fields found and missing, key values, seconds per
file, whether the draft YAML loads back as a Call, and how many values agree with the
hand-written call YAMLs of bench/eligibility/calls (where one has the same source).

    python -m bench.calls_extract [--no-write]

Reads <corpus-real>/calls/*.pdf, <corpus-real> from EUROASSIST_CORPUS_REAL (default
../shared/corpus-real). Writes the `calls-extract` section of docs/benchmarks.md unless
--no-write; prints the table either way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from assistant.calls.extract import ExtractionResult, extract_call, to_yaml
from assistant.calls.schema import Call
from bench.common import CORPUS_REAL, ROOT, machine, stopwatch, write_section

HAND_CALLS = ROOT / "bench" / "eligibility" / "calls"
# Values a hand-written call may state, as (label, getter on the Call).
COMPARED = {
    "programme": lambda c: c.programme,
    "fund": lambda c: c.fund,
    "managing_authority": lambda c: c.managing_authority,
    "dates.opening": lambda c: c.dates.opening,
    "dates.closing": lambda c: c.dates.closing,
    "funding.max_rate": lambda c: c.funding.max_rate,
    "funding.max_contribution": lambda c: c.funding.max_contribution,
    "funding.budget": lambda c: c.funding.budget,
    "costs.min_total": lambda c: c.costs.min_total,
    "costs.max_total": lambda c: c.costs.max_total,
    "applicants.min_population": lambda c: _group(c, "min_population"),
    "applicants.max_population": lambda c: _group(c, "max_population"),
    "site.allowed_ownership": lambda c: set(c.site.allowed_ownership) or None,
    "site.excluded_ownership": lambda c: set(c.site.excluded_ownership) or None,
}


def corpus_calls() -> Path:
    return Path(os.environ.get("EUROASSIST_CORPUS_REAL", CORPUS_REAL)) / "calls"


def _group(call: Call, key: str) -> Any:
    return getattr(call.applicants.groups[0], key) if call.applicants.groups else None


def hand_calls() -> dict[str, Call]:
    """Hand-written calls by the file name of their source."""
    out = {}
    for path in sorted(HAND_CALLS.glob("*.yaml")):
        call = Call.load(path)
        if call.source:
            out[Path(call.source).name] = call
    return out


def agreement(draft: Call, hand: Call | None) -> tuple[int, int, list[str]]:
    """(values that agree, values the hand-written call states, labels that differ)."""
    if hand is None:
        return 0, 0, []
    agree, stated, differ = 0, 0, []
    for label, get in COMPARED.items():
        expected = get(hand)
        if expected is None:
            continue
        stated += 1
        if get(draft) == expected:
            agree += 1
        else:
            differ.append(label)
    return agree, stated, differ


def loads_back(result: ExtractionResult) -> bool:
    body = "\n".join(x for x in to_yaml(result).splitlines() if not x.startswith("#"))
    try:
        return Call.model_validate(yaml.safe_load(body)) == result.call
    except ValueError:
        return False


def measure(path: Path, hands: dict[str, Call]) -> dict[str, Any]:
    with stopwatch() as clock:
        result = extract_call(path)
    agree, stated, differ = agreement(result.call, hands.get(path.name))
    call = result.call
    return {
        "file": path.name,
        "pages": result.pages,
        "seconds": clock["seconds"],
        "found": len(result.found),
        "missing": result.missing,
        "closing": call.dates.closing.isoformat() if call.dates.closing else "—",
        "rate": f"{call.funding.max_rate:g}%" if call.funding.max_rate is not None else "—",
        "sections": len(call.sections),
        "criteria": len(call.scoring),
        "valid": loads_back(result),
        "agree": f"{agree}/{stated}" + (f" ({', '.join(differ)})" if differ else "")
        if stated
        else "—",
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| file | pages | s | found | missing | closing | max rate | sections | criteria "
        "| YAML loads back | agrees with hand YAML |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r['file']} | {r['pages']} | {r['seconds']:.1f} | {r['found']} | {len(r['missing'])}: "
        f"{', '.join(r['missing']) or '—'} | {r['closing']} | {r['rate']} | {r['sections']} "
        f"| {r['criteria']} | {'yes' if r['valid'] else 'NO'} | {r['agree']} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def run() -> tuple[str, list[dict[str, Any]]]:
    folder = corpus_calls()
    pdfs = sorted(folder.glob("*.pdf"))
    if not pdfs:
        raise SystemExit(f"no call PDFs in {folder} (set EUROASSIST_CORPUS_REAL)")
    hands = hand_calls()
    rows = []
    for path in pdfs:
        rows.append(measure(path, hands))
        print(f"{path.name}: {rows[-1]['seconds']:.1f} s", flush=True)
    return table(rows), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    markdown, rows = run()
    print(markdown)
    if not all(r["valid"] for r in rows):
        raise SystemExit("some drafts do not load back as a Call")
    if args.no_write:
        return
    write_section(
        "calls-extract",
        f"""
## Call drafts from the real call PDFs

Machine: {machine()}. `extract_call` on each PDF of `{corpus_calls()}` (text, tables,
structure; no LLM). "found"/"missing" count the checklist fields of
`assistant/calls/extract.py`; the last column compares with the hand-written call YAMLs of
`bench/eligibility/calls` that have the same source (values they state).

{markdown}

Command: `python -m bench.calls_extract`.
""",
    )


if __name__ == "__main__":
    main()
