"""`make bench`: every benchmark, one after the other, each rewriting its own section."""

from __future__ import annotations

import runpy
import sys
import time

RUNS = [
    ["bench.retrieval_quality"],
    ["bench.tutorial_baseline"],
    ["bench.scale"],
    ["bench.generation"],
    ["bench.off_topic"],
    ["bench.web_load"],
    ["bench.web_load", "--mixed"],
    ["bench.eligibility"],
    ["bench.calls_extract"],
    ["bench.skeletons"],
]

if __name__ == "__main__":
    for module, *args in RUNS:
        started = time.perf_counter()
        print(f"== {module} {' '.join(args)}", flush=True)
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__")
        print(f"== {module} done in {time.perf_counter() - started:.0f} s", flush=True)
