"""Prompt templates: files with checked placeholders."""

from __future__ import annotations

import pytest

from assistant.prompts import PromptError, load_prompt, prompt


def test_bundled_prompts_have_the_placeholders_the_code_fills():
    system = prompt("answer_system", "language_name", "not_found")
    assert "{language_name}" in system.text
    rendered = system.render(language_name="Italian", not_found="NESSUNA_RISPOSTA")
    assert "Italian" in rendered and "NESSUNA_RISPOSTA" in rendered
    prompt("answer_user", "passages", "question", "language_name")
    prompt("condense_question", "history", "question", "language_name")


def test_missing_or_unknown_placeholders_fail_at_load_and_render(tmp_path):
    (tmp_path / "t.md").write_text("Question: {question}\nPassages: {passages}", encoding="utf-8")
    with pytest.raises(PromptError, match="missing"):
        load_prompt("t", {"question", "passages", "language_name"}, tmp_path)
    with pytest.raises(PromptError, match="unknown"):
        load_prompt("t", {"question"}, tmp_path)
    template = load_prompt("t", {"question", "passages"}, tmp_path)
    with pytest.raises(PromptError, match="missing"):
        template.render(question="q")
    with pytest.raises(PromptError, match="no placeholder"):
        template.render(question="q", passages="p", extra="x")
    (tmp_path / "bad.md").write_text("{question!r}", encoding="utf-8")
    with pytest.raises(PromptError, match="plain name"):
        load_prompt("bad", {"question"}, tmp_path)
    with pytest.raises(PromptError, match="cannot read"):
        load_prompt("absent", set(), tmp_path)
