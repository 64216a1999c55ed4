"""Any OpenAI-compatible endpoint: vLLM, Ollama, a llama.cpp server, OpenAI, Mistral, Azure."""

from __future__ import annotations

from assistant.lazy_import import require
from assistant.llm.langchain_chat import LangChainChat


def openai_chat(
    base_url: str | None, model: str, api_key: str | None, context_window: int, timeout: float
) -> LangChainChat:
    require("langchain_openai", extra="openai", package="langchain-openai")
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key or "not-needed",  # local servers accept any key
        timeout=timeout,
        max_retries=1,
        streaming=True,
    )
    return LangChainChat("openai", model, context_window, chat)
