"""The `euroassist` command, run as a user runs it (a subprocess on a real index)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_mini_corpus

EXE = Path(sys.executable).with_name("euroassist")


def run(args: list[str], data_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "EUROASSIST_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    done = subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    corpus = write_mini_corpus(root / "corpus")
    data = root / "data"
    done = run(["ingest", str(corpus)], data)
    assert "4 added" in done.stderr, done.stderr
    return corpus, data


def test_retrieve_json_is_the_stable_shape(cli_index):
    _, data = cli_index
    out = run(
        [
            "retrieve",
            "--json",
            "-k",
            "3",
            "Qual è il tasso di cofinanziamento nelle regioni meno sviluppate?",
        ],
        data,
    )
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert all(set(h) == {"text", "source", "page", "section", "doc_type", "score"} for h in hits)
    assert hits[0]["section"].startswith("Art. 112")
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]


def test_retrieve_batch_prints_one_list_per_question(cli_index, tmp_path):
    _, data = cli_index
    questions = tmp_path / "q.txt"
    questions.write_text(
        "contributo massimo del bando Giardini civici\n\npartnership within Interreg operations\n",
        encoding="utf-8",
    )
    out = run(["retrieve", "--json", "-k", "2", "--batch", str(questions)], data)
    lines = out.stdout.strip("\n").split("\n")
    assert len(lines) == 3
    first, empty, third = (json.loads(line) for line in lines)
    assert Path(first[0]["source"]).name == "bando-giardini-civici.pdf" and first[0]["page"] == 3
    assert empty == []
    assert third[0]["section"].startswith("Art. 23")


def test_ask_answers_with_cited_passages(cli_index):
    _, data = cli_index
    out = run(
        ["ask", "Per quanti anni va garantita la stabilità di un'operazione infrastrutturale?"],
        data,
    )
    assert "regolamento-prova-fr.md" in out.stdout
    assert "Art. 65" in out.stdout
    assert "[1]" in out.stdout
    answer = json.loads(
        run(["ask", "--json", "Chi può partecipare al bando Giardini civici?"], data).stdout
    )
    assert answer["passages"] and answer["key_sentences"]
    top = answer["passages"][0]["hit"]
    assert Path(top["source"]).name == "bando-giardini-civici.pdf"
    assert answer["passages"][0]["highlights"], "the best sentence is marked"


def test_ask_refuses_an_empty_question(cli_index):
    _, data = cli_index
    done = run(["ask", "   "], data, check=False)
    assert done.returncode != 0 and "empty" in done.stderr


def test_status_and_remove(cli_index):
    corpus, data = cli_index
    status = run(["status"], data).stdout
    assert "4 documents" in status and "progetti.csv" in status
    done = run(["remove", "progetti.csv", "missing.pdf"], data, check=False)
    assert done.returncode == 1
    assert "removed" in done.stdout and "missing.pdf: not in the index" in done.stderr
    assert "3 documents" in run(["status"], data).stdout
    run(["ingest", str(corpus / "progetti.csv")], data)


def test_ingest_reports_each_bad_file_and_exits_nonzero(cli_index, tmp_path):
    _, data = cli_index
    (tmp_path / "vuoto.md").write_text("", encoding="utf-8")
    (tmp_path / "rotto.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf")
    (tmp_path / "buono.md").write_text("# Buono\n\nUn documento valido.\n", encoding="utf-8")
    done = run(
        [
            "ingest",
            str(tmp_path / "vuoto.md"),
            str(tmp_path / "rotto.pdf"),
            str(tmp_path / "buono.md"),
        ],
        data,
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 2, done.stderr
    assert any("vuoto.md" in e and "empty" in e for e in errors)
    assert any("rotto.pdf" in e and "PDF" in e for e in errors)
    assert "1 added" in done.stderr


def test_eval_scores_questions_with_gold_evidence(cli_index, tmp_path):
    corpus, data = cli_index
    questions = tmp_path / "dev.jsonl"
    items = [
        {
            "id": "T1",
            "lang": "it",
            "question": "Per quanti anni va garantita la stabilità delle operazioni?",
            "source": "regolamento-prova-fr.md",
            "evidence": "dans les cinq ans à compter du paiement final au bénéficiaire",
        },
        {
            "id": "T2",
            "lang": "en",
            "question": "Which partners must Interreg A operations involve?",
            "source": "esf-plus-test-en.md",
            "evidence": "shall involve partners from at least two participating countries",
        },
    ]
    questions.write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")
    report = json.loads(run(["eval", "--json", str(questions)], data).stdout)
    assert report["overall"]["n"] == 2
    assert report["overall"]["recall@5"] == 1.0
    assert set(report["by_language"]) == {"it", "en"}
    table = run(["eval", str(questions)], data).stdout
    assert "recall@5" in table and "MRR@10" in table
