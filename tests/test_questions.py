"""Odd questions get a clean answer or a clean refusal, never an error or a long stall."""

from __future__ import annotations

import pytest

QUESTIONS = {
    "empty": "",
    "spaces": "   \n\t",
    "punctuation": "?!?... ;;; ---",
    "sql": "'; DROP TABLE chunks; -- OR 1=1",
    "fts syntax": 'NEAR("a" "b") AND * OR "',
    "template syntax": "{question} {{7*7}} ${jndi:ldap://x} <script>alert(1)</script>",
    "another language": "Wie lange muss ein EFRE-Vorhaben erhalten bleiben?",
    "nul byte": "stabilità\x00 delle operazioni",
    "very long": "stabilità delle operazioni " * 4000,
}


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_odd_questions_are_answered_or_refused_cleanly(sample_indexed, name):
    question = QUESTIONS[name]
    hits = sample_indexed.retrieve(question, 5)
    answer = sample_indexed.ask(question)
    events = list(sample_indexed.answer_stream(question))
    final = events[-1].answer
    assert events[-1].kind == "final" and final is not None
    if name in ("empty", "spaces", "punctuation"):
        assert hits == [] and answer.passages == [] and not final.found
    else:
        assert all(p.hit.text for p in final.passages)
    # the question as read is bounded, whatever was pasted
    assert len(final.question) <= sample_indexed.settings.question_max_chars
    assert "\x00" not in final.question


def test_the_chunks_table_survives_sql_in_a_question(sample_indexed):
    before = sample_indexed.index.catalog.chunk_count()
    sample_indexed.retrieve("'; DROP TABLE chunks; --", 5)
    assert sample_indexed.index.catalog.chunk_count() == before > 0
