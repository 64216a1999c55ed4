"""Any OpenAI-compatible endpoint: vLLM, Ollama, a llama.cpp server, OpenAI, Mistral, Azure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assistant.lazy_import import require
from assistant.llm.base import ChatMessage, LlmUnavailable
from assistant.llm.langchain_chat import LangChainChat


class OpenAIChat(LangChainChat):
    """A LangChain chat whose errors never carry the API key: a server may echo the
    Authorization header back in its error body, and the error text reaches the page."""

    def __init__(self, *args, api_key: str | None = None) -> None:
        super().__init__(*args)
        self._api_key = api_key

    def stream(
        self, messages: list[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        try:
            yield from super().stream(messages, max_tokens, temperature)
        except LlmUnavailable as error:
            text = str(error)
            if not self._api_key or self._api_key not in text:
                raise
            error.args = (text.replace(self._api_key, "[chiave nascosta]"),)
            raise error from None  # the client's own error, with the key, stays behind


def openai_chat(
    base_url: str | None,
    model: str,
    api_key: str | None,
    context_window: int,
    timeout: float,
    extra_body: dict[str, Any] | None = None,
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
        extra_body=extra_body or None,
    )
    return OpenAIChat("openai", model, context_window, chat, api_key=api_key)
