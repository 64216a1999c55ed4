"""Grounded answers per provider on the dev questions: time to first token, tokens/s, share of
answer sentences that carry a citation, share of citations whose passage covers the gold
evidence.

    python -m bench.generation [--providers extractive,llamacpp,llamacpp-small,openai-server]

`--providers openai` measures the OpenAI-compatible endpoint the environment names
(EUROASSIST_OPENAI_BASE_URL, EUROASSIST_OPENAI_MODEL, EUROASSIST_OPENAI_API_KEY): a GPU
server or a paid API, on the same questions and index.

Needs the real-corpus index of bench.retrieval_quality (bench/out/data-real).
Writes the `generation` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from assistant.answers.grounded import passages_to_read
from assistant.core import EuroAssist
from assistant.evaluation import covers, evaluate, load_questions, same_source
from assistant.llm.models import MODELS, installed_path
from assistant.settings import Settings
from bench.common import DEV_QUESTIONS, ROOT, machine, require_shared, write_section
from bench.retrieval_quality import DATA

PROVIDERS = {
    "extractive": {"llm_provider": "extractive"},
    "llamacpp": {"llm_provider": "llamacpp", "llm_model": "default"},
    "llamacpp-small": {"llm_provider": "llamacpp", "llm_model": "small"},
    "openai-server": {"llm_provider": "openai"},
    # not in the default run: the endpoint comes from the environment
    "openai": {"llm_provider": "openai"},
}
DEFAULT_PROVIDERS = ("extractive", "llamacpp", "llamacpp-small", "openai-server")


# The sampling options of the in-process model (the server's default repeat_penalty is 1.1)
SERVER_EXTRA_BODY = {"repeat_penalty": 1.0}


@contextmanager
def llama_server(model: Path):
    """llama-cpp-python's OpenAI-compatible server on loopback, for the `openai` provider."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(ROOT / "bench" / "out" / "llama-server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
            "--model_alias",
            model.stem,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def run_provider(name: str, overrides: dict, questions) -> dict:
    settings = Settings(data_dir=DATA, **overrides)
    assistant = EuroAssist(settings)
    answerer = assistant.answerer
    answerer.answer("warm-up: tasso di cofinanziamento")  # load models before timing
    flagged: list[str] = []  # answers with figures no passage holds, and the figures
    ttfts, speeds, sentences, cited, citations, valid, not_found, fallbacks = (
        [],
        [],
        0,
        0,
        0,
        0,
        0,
        0,
    )
    model = ""
    for question in questions:
        start = time.perf_counter()
        first = None
        answer = None
        for event in answerer.stream(question.question):
            if event.kind == "token" and first is None:
                first = time.perf_counter() - start
            if event.kind == "final":
                answer = event.answer
        model = answer.model or model
        if answer.notice:
            fallbacks += 1
        if first is not None:
            ttfts.append(first)
        if answer.tokens_per_s:
            speeds.append(answer.tokens_per_s)
        if not answer.found:
            not_found += 1
        if answer.unverified_figures:
            flagged.append(f"{question.id} ({', '.join(answer.unverified_figures)})")
        sentences += answer.sentences
        cited += answer.sentences_cited
        for passage in answer.cited_passages():
            citations += 1
            if same_source(passage.hit.source, question.source) and covers(
                passage.hit.text, question.evidence
            ):
                valid += 1
    return {
        "provider": name,
        "model": model or "–",
        "n": len(questions),
        "ttft_median": statistics.median(ttfts) if ttfts else None,
        "ttft_p90": sorted(ttfts)[int(0.9 * (len(ttfts) - 1))] if ttfts else None,
        "tokens_per_s": statistics.mean(speeds) if speeds else None,
        "cited_sentences": cited / sentences if sentences else 0.0,
        "valid_citations": valid / citations if citations else 0.0,
        "citations": citations,
        "not_found": not_found,
        "flagged": flagged,
        "fallbacks": fallbacks,
    }


def best_passage_holds_evidence(questions) -> int:
    """Questions whose best passage, as the answerer packs it (widened with its neighbours in
    the same article), covers the gold evidence: an answer citing only its best passage would
    have this share of valid citations, whatever the model."""
    answerer = EuroAssist(Settings(data_dir=DATA, llm_provider="extractive")).answerer
    report = evaluate(questions, lambda question, k: answerer.hits(question)[:k], k=1)
    return sum(r.first_hit_rank == 1 for r in report.results)


def flagged_list(rows) -> str:
    named = [f"{r['provider']}: {'; '.join(r['flagged'])}" for r in rows if r["flagged"]]
    return f" ({' · '.join(named)})" if named else ""


def fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", default=",".join(DEFAULT_PROVIDERS))
    args = parser.parse_args()
    require_shared()
    if not DATA.exists():
        raise SystemExit("run python -m bench.retrieval_quality first (it builds the index)")
    questions = load_questions(DEV_QUESTIONS)
    first_valid = best_passage_holds_evidence(questions)
    rows = []
    for name in args.providers.split(","):
        overrides = dict(PROVIDERS[name])
        if name == "openai-server":
            model = installed_path(MODELS["default"], Settings().models_dir)
            with llama_server(model) as base:
                overrides.update(
                    openai_base_url=base,
                    openai_model=model.stem,
                    openai_extra_body=SERVER_EXTRA_BODY,
                )
                rows.append(run_provider(name, overrides, questions))
        else:
            rows.append(run_provider(name, overrides, questions))
        print(rows[-1], flush=True)
    table = "\n".join(
        f"| {r['provider']} | {r['model']} | {r['n']} | {fmt(r['ttft_median'], '{:.1f}')} | "
        f"{fmt(r['ttft_p90'], '{:.1f}')} | {fmt(r['tokens_per_s'], '{:.1f}')} | "
        f"{r['cited_sentences']:.0%} | {r['valid_citations']:.0%} ({r['citations']}) | {r['not_found']} | "
        f"{len(r['flagged'])} | {r['fallbacks']} |"
        for r in rows
    )
    write_section(
        "generation",
        f"""
## Grounded answers per provider

Machine: {machine()}. Questions: the {len(questions)} of `{DEV_QUESTIONS}`, over the
real-corpus index. Each answer reads the best passages that fit the model's context:
{passages_to_read(Settings())} (`EUROASSIST_ANSWER_PASSAGES` unset). *Cited sentences*: answer sentences that end with a marker resolving to a
shown passage (markers are checked and, for sentences without one, repaired from the passage
the sentence paraphrases). *Valid citations*: cited passages that come from the gold file and
cover the gold evidence (same test as retrieval). `openai-server` is the `openai` provider
talking to llama-cpp-python's OpenAI-compatible server on loopback with the same 1.5B model
and the in-process sampling options (`EUROASSIST_OPENAI_EXTRA_BODY='{json.dumps(SERVER_EXTRA_BODY)}'`).
Decoding: temperature {Settings().llm_temperature} (0 is greedy: a run repeats exactly).
Prompt layout (`EUROASSIST_ANSWER_PROMPT=auto`): best first, the question before and after
the passages, for every model.
The best passage is joined with the chunks after and before it in the same article or section
(`EUROASSIST_ANSWER_CONTEXT_TOKENS`, {Settings().answer_context_tokens} tokens). A passage
supports a sentence by embedding similarity plus the share of the sentence's content words it
holds. Bound: for {first_valid} of the {len(questions)} questions the widened best passage
covers the gold evidence, so an answer that cited only its best passage would score
{first_valid / len(questions):.0%}; above that, answers must cite the right passage where it
is not the first.

| provider | model | questions | first token, median (s) | first token, p90 (s) | tokens/s | cited sentences | valid citations (n) | "not in the documents" | figures to check | fallbacks |
|---|---|---|---|---|---|---|---|---|---|---|
{table}

*Figures to check*: answers naming, under the answer, figures that neither the passages read
nor the question write{flagged_list(rows)}.

Command: `python -m bench.generation` (after `python -m bench.retrieval_quality`).
""",
    )


if __name__ == "__main__":
    main()
