"""Retrieval evaluation on questions with verbatim gold evidence (the dev.jsonl format).

A hit at k is a top-k chunk from the gold source whose text covers at least half of the
evidence's word trigrams, after normalising case, whitespace and PDF hyphenation.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from assistant.schema import Hit

_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")


class EvalQuestion(BaseModel):
    id: str
    lang: str = "und"
    question: str
    source: str
    evidence: str
    page: int | None = None
    location: str | None = None
    gold_answer: str | None = None
    eligibility_case: dict | None = None


def normalise_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = text.replace("\u00ad", "")
    return re.findall(r"\w+", text.casefold())


def trigrams(words: list[str]) -> set[tuple[str, str, str]]:
    if len(words) < 3:
        return {tuple(words + [""] * (3 - len(words)))} if words else set()  # type: ignore[arg-type]
    return {(words[i], words[i + 1], words[i + 2]) for i in range(len(words) - 2)}


def covers(chunk_text: str, evidence: str, threshold: float = 0.5) -> bool:
    gold = trigrams(normalise_words(evidence))
    if not gold:
        return False
    found = trigrams(normalise_words(chunk_text))
    return len(gold & found) / len(gold) >= threshold


def same_source(hit_source: str, gold_source: str) -> bool:
    hit = hit_source.replace("\\", "/")
    gold = gold_source.replace("\\", "/").lstrip("./")
    return hit == gold or hit.endswith("/" + gold)


def load_questions(path: Path) -> list[EvalQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append(EvalQuestion.model_validate_json(line))
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not a valid question ({error})") from error
    return questions


@dataclass
class QuestionResult:
    question: EvalQuestion
    first_hit_rank: int | None  # 1-based
    latency_s: float
    top_sources: list[str] = field(default_factory=list)


@dataclass
class Report:
    results: list[QuestionResult]

    def metrics(self, subset: list[QuestionResult] | None = None) -> dict[str, float]:
        rows = self.results if subset is None else subset
        n = max(1, len(rows))

        def recall(k: int) -> float:
            return sum(1 for r in rows if r.first_hit_rank and r.first_hit_rank <= k) / n

        mrr = (
            sum(1.0 / r.first_hit_rank for r in rows if r.first_hit_rank and r.first_hit_rank <= 10)
            / n
        )
        return {
            "n": len(rows),
            "recall@1": recall(1),
            "recall@5": recall(5),
            "recall@10": recall(10),
            "mrr@10": mrr,
            "latency_ms": 1000 * statistics.mean(r.latency_s for r in rows) if rows else 0.0,
        }

    def by_language(self) -> dict[str, dict[str, float]]:
        languages = sorted({r.question.lang for r in self.results})
        return {
            lang: self.metrics([r for r in self.results if r.question.lang == lang])
            for lang in languages
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.metrics(),
            "by_language": self.by_language(),
            "questions": [
                {
                    "id": r.question.id,
                    "lang": r.question.lang,
                    "rank": r.first_hit_rank,
                    "latency_ms": round(1000 * r.latency_s, 1),
                }
                for r in self.results
            ],
        }


def evaluate(
    questions: list[EvalQuestion], search: Callable[[str, int], list[Hit] | list[dict]], k: int = 10
) -> Report:
    results = []
    for question in questions:
        start = time.perf_counter()
        hits = search(question.question, k)
        latency = time.perf_counter() - start
        rank = None
        for position, hit in enumerate(hits[:k], start=1):
            text, source = (
                (hit.text, hit.source) if isinstance(hit, Hit) else (hit["text"], hit["source"])
            )
            if same_source(source, question.source) and covers(text, question.evidence):
                rank = position
                break
        sources = [h.source if isinstance(h, Hit) else h["source"] for h in hits[:3]]
        results.append(QuestionResult(question, rank, latency, sources))
    return Report(results)


def report_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
