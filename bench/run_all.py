"""`make bench`: every benchmark, one after the other, each rewriting its own section."""

from __future__ import annotations

import runpy
import sys

MODULES = [
    "bench.retrieval_quality",
    "bench.tutorial_baseline",
    "bench.scale",
    "bench.generation",
    "bench.web_load",
    "bench.eligibility",
    "bench.calls_extract",
    "bench.skeletons",
]

if __name__ == "__main__":
    for module in MODULES:
        print(f"== {module}", flush=True)
        sys.argv = [module]
        runpy.run_module(module, run_name="__main__")
