"""Shared bench helpers: machine description and sections of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
SHARED = Path(os.environ.get("EUROASSIST_SHARED", ROOT.parent / "shared"))
CORPUS_REAL = SHARED / "corpus-real"
DEV_QUESTIONS = SHARED / "eval" / "dev.jsonl"
EXE = Path(sys.executable).with_name("euroassist")

HEADER = """# Benchmarks

Every figure here was measured on the machine described in each section, by the command
given with it. Sections are rewritten by `make bench` (or the single bench module named in
the section); nothing is typed in by hand.
"""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 1048576:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, {platform.system()}"


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between `<!-- bench:name -->` markers."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")


def run(
    args: list[str], env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


@contextmanager
def stopwatch():
    start = time.perf_counter()
    box: dict[str, float] = {}
    yield box
    box["seconds"] = time.perf_counter() - start


def require_shared() -> None:
    if not CORPUS_REAL.is_dir() or not DEV_QUESTIONS.is_file():
        raise SystemExit(f"the shared corpus is needed: {CORPUS_REAL} and {DEV_QUESTIONS}")
