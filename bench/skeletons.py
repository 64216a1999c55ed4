"""Batch proposal skeletons for the Lecce demo: seconds per skeleton, per provider.

    python -m bench.skeletons [--llm-ideas 1] [--skip-llm]

Indexes the sample corpus into bench/out/data-sample, then runs `euroassist skeletons` for
the ten ideas of corpus/ideas/idee-ambito-lecce.csv with the extractive provider, and for
the first `--llm-ideas` ideas with the local 1.5B model (every section drafted), each into
an empty folder. Writes the `skeletons` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

from bench.common import EXE, ROOT, machine, run, write_section

OUT = ROOT / "bench" / "out"
DATA = OUT / "data-sample"
CALL = "avviso-facilitazione-digitale-ambito-lecce"
IDEAS = ROOT / "corpus" / "ideas" / "idee-ambito-lecce.csv"
CORPUS = [str(ROOT / "corpus" / d) for d in ("regulations", "calls", "projects")]


def batch(provider: str, ideas_file, folder, extra_env=None) -> tuple[float, int, dict]:
    shutil.rmtree(folder, ignore_errors=True)
    env = {"EUROASSIST_DATA_DIR": str(DATA), "EUROASSIST_LLM_PROVIDER": provider}
    started = time.perf_counter()
    run(
        [
            str(EXE),
            "skeletons",
            "--call",
            CALL,
            "--projects",
            str(ideas_file),
            "--out",
            str(folder),
        ],
        env={**env, **(extra_env or {})},
    )
    seconds = time.perf_counter() - started
    manifest = json.loads((folder / "skeletons.json").read_text(encoding="utf-8"))
    verdicts: dict[str, int] = {}
    for entry in manifest.values():
        verdicts[entry["verdict"]] = verdicts.get(entry["verdict"], 0) + 1
    return seconds, len(manifest), verdicts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-ideas", type=int, default=1)
    parser.add_argument("--skip-llm", action="store_true")
    options = parser.parse_args()
    shutil.rmtree(DATA, ignore_errors=True)
    started = time.perf_counter()
    run([str(EXE), "ingest", *CORPUS], env={"EUROASSIST_DATA_DIR": str(DATA)})
    ingest_s = time.perf_counter() - started
    rows = []
    seconds, count, verdicts = batch("extractive", IDEAS, OUT / "skeletons-extractive")
    rows.append(("extractive", count, seconds, verdicts))
    if not options.skip_llm and options.llm_ideas > 0:
        lines = IDEAS.read_text(encoding="utf-8").splitlines()
        subset = OUT / "idee-llm.csv"
        subset.write_text("\n".join(lines[: 1 + options.llm_ideas]) + "\n", encoding="utf-8")
        seconds, count, verdicts = batch("llamacpp", subset, OUT / "skeletons-llamacpp")
        rows.append(("llamacpp (Qwen2.5-Coder-1.5B Q4_K_M, 2 threads)", count, seconds, verdicts))
    table = "\n".join(
        f"| {name} | {count} | {seconds:.1f} | {seconds / count:.1f} | "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
        + " |"
        for name, count, seconds, verdicts in rows
    )
    body = f"""## Batch skeletons (`python -m bench.skeletons`)

Machine: {machine()}. The Lecce demo (`make skeletons`): one proposal skeleton (.docx and
.md) per idea of `corpus/ideas/idee-ambito-lecce.csv` for the sample call, each with the
eligibility checklist, the 14 sections of the call drafted within their limits and cited,
similar past projects, the budget and the indicators. Times are the whole
`euroassist skeletons` command (start-up and model loading included) into an empty folder,
on the sample corpus indexed in {ingest_s:.1f} s.

| provider | skeletons | seconds | s / skeleton | eligibility verdicts |
|---|---|---|---|---|
{table}
"""
    write_section("skeletons", body)
    print(body)


if __name__ == "__main__":
    main()
