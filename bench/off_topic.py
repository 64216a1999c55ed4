"""Questions the documents do not answer: how often each provider says so (and shows the
closest passages) instead of answering from what the model knows.

    python -m bench.off_topic [--providers llamacpp]

Questions: bench/off_topic_questions.txt (16, written by the project). Index: the real-corpus
index of bench.retrieval_quality. Writes the `off_topic` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.core import EuroAssist
from assistant.settings import Settings
from bench.common import machine, require_shared, write_section
from bench.generation import PROVIDERS
from bench.retrieval_quality import DATA

QUESTIONS = Path(__file__).with_name("off_topic_questions.txt")


def load() -> list[str]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def run_provider(name: str, questions: list[str]) -> dict:
    answerer = EuroAssist(Settings(data_dir=DATA, **PROVIDERS[name])).answerer
    answers = [answerer.answer(q) for q in questions]
    kept = [a for a in answers if a.found]
    return {
        "provider": name,
        "model": next((a.model for a in answers if a.model), "–"),
        "replaced": len(answers) - len(kept),
        "answered": [a.question for a in kept],
        "flagged": [
            f"{a.question} ({', '.join(a.unverified_figures)})"
            for a in kept
            if a.unverified_figures
        ],
        "fallbacks": sum(bool(a.notice) for a in answers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", default="llamacpp")
    args = parser.parse_args()
    require_shared()
    if not DATA.exists():
        raise SystemExit("run python -m bench.retrieval_quality first (it builds the index)")
    questions = load()
    rows = []
    for name in args.providers.split(","):
        rows.append(run_provider(name, questions))
        print(rows[-1], flush=True)
    table = "\n".join(
        f"| {r['provider']} | {r['model']} | {r['replaced']} of {len(questions)} | "
        f"{len(r['flagged'])} | {r['fallbacks']} |"
        for r in rows
    )
    answered = "; ".join(rows[-1]["answered"])
    flagged = (
        f"Figures named under them: {'; '.join(rows[-1]['flagged'])}."
        if rows[-1]["flagged"]
        else ""
    )
    write_section(
        "off_topic",
        f"""
## Questions the documents do not answer

Machine: {machine()}. Questions: the {len(questions)} of `bench/off_topic_questions.txt`
(recipes, sport, weather, opening hours; written by the project), over the real-corpus index.
*Replaced*: answers that say the documents do not answer and show the closest passages, because
no sentence of the model's answer came close to a passage (`EUROASSIST_ANSWER_MIN_SUPPORT`),
nor stated figures most of which no passage holds, or the model wrote the not-found mark. The
same check made no dev question's answer "not in the documents" (generation section, column
"not in the documents"). *Figures to check*: answers kept, with the figures no passage holds
named under them.

| provider | model | replaced | figures to check | fallbacks |
|---|---|---|---|---|
{table}

Still answered ({rows[-1]["provider"]}): {answered}.
{flagged}

Command: `python -m bench.off_topic` (after `python -m bench.retrieval_quality`).
""",
    )


if __name__ == "__main__":
    main()
