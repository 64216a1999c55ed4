"""A local GGUF model in-process through llama-cpp-python (LangChain's ChatLlamaCpp)."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.lazy_import import require
from assistant.llm.langchain_chat import LangChainChat


def llamacpp_chat(
    model_path: Path, context_window: int, threads: int | None = None
) -> LangChainChat:
    require("llama_cpp", extra="local-llm", package="llama-cpp-python")
    from langchain_community.chat_models import ChatLlamaCpp

    if not model_path.is_file():
        raise FileNotFoundError(f"no model at {model_path}: run `euroassist models install`")
    chat = ChatLlamaCpp(
        model_path=str(model_path),
        n_ctx=context_window,
        n_threads=threads or os.cpu_count() or 2,
        n_batch=256,
        # A grounded answer repeats the passages' words, figures and markers: no penalty for
        # that (LangChain's default is 1.1). Dev questions, 1.5B model behind a llama.cpp
        # server: 59% of citations valid with 1.1, 66% with 1.0; the loop 1.0 allows is
        # stopped by the answerer (CitationStream.repeated).
        repeat_penalty=1.0,
        # 0: the RoPE base and scale the GGUF declares. LangChain's default (10000, 1.0)
        # overrides them: Qwen2.5 was trained with a base of 1,000,000, and the in-process
        # model answered differently from the same GGUF behind a llama.cpp server.
        rope_freq_base=0.0,
        rope_freq_scale=0.0,
        verbose=False,
        streaming=True,
    )
    return LangChainChat("llamacpp", model_path.name, context_window, chat)
