"""The eligibility cases of the dev questions, through `euroassist eligibility`.

    python -m bench.eligibility

Each case of bench/eligibility/cases.yaml pairs a call YAML written from the call's text
with a project profile written from the question. The command's JSON verdict and the
criterion that decides it are compared with the case. Deadlines are checked as of the date
the case gives (the calls are from 2025). Writes the `eligibility` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import time

import yaml

from assistant.evaluation import load_questions
from bench.common import DEV_QUESTIONS, EXE, ROOT, machine, require_shared, run, write_section

CASES = ROOT / "bench" / "eligibility" / "cases.yaml"


def main() -> None:
    require_shared()
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    questions = {q.id: q for q in load_questions(DEV_QUESTIONS)}
    gold = {q.id for q in questions.values() if q.eligibility_case}
    rows, right = [], 0
    started = time.perf_counter()
    for case in cases:
        folder = CASES.parent
        args = [str(EXE), "eligibility", "--call", str(folder / case["call"])]
        args += ["--project", str(folder / case["project"]), "--json"]
        args += ["--as-of", str(case.get("as_of", "2025-06-01"))]
        done = run(args, env={"EUROASSIST_LLM_PROVIDER": "extractive"})
        verdict = json.loads(done.stdout)
        failed_ids = [r["id"] for r in verdict["results"] if r["status"] == "fail"]
        decisive = next(r for r in verdict["results"] if r["id"] == case["criterion"])
        ok = verdict["verdict"] == case["verdict"] and case["criterion"] in failed_ids
        right += ok
        expected = questions[case["id"]].eligibility_case or {}
        rows.append(
            f"| {case['id']} | {expected.get('applicant', '')} | {expected.get('verdict', '')} "
            f"| {verdict['verdict']} | {decisive['criterion']}: {decisive['detail']} "
            f"| {', '.join(failed_ids)} | {'✓' if ok else '✗'} |"
        )
    seconds = time.perf_counter() - started
    missing = sorted(gold - {c["id"] for c in cases})
    body = f"""## Eligibility cases (`python -m bench.eligibility`)

Machine: {machine()}. Every item of `dev.jsonl` with an `eligibility_case`
({len(gold)} items{", not covered: " + ", ".join(missing) if missing else ""}) through
`euroassist eligibility --call CALL.yaml --project PROJECT.yaml --json`, with the call YAML
and project profile in `bench/eligibility/`. A case is right when the verdict matches and
the deciding criterion is among the failed ones.

**{right} of {len(cases)} right**, {seconds:.1f} s for all ({seconds / len(cases):.2f} s per
command, mostly Python start-up).

| case | applicant (dev.jsonl) | expected | verdict | deciding criterion | failed | |
|---|---|---|---|---|---|---|
""" + "\n".join(rows)
    write_section("eligibility", body)
    print(body)


if __name__ == "__main__":
    main()
