"""A LangChain chat model behind our ChatModel protocol (streaming, errors as LlmUnavailable)."""

from __future__ import annotations

from collections.abc import Iterator

from assistant.llm.base import ChatMessage, LlmUnavailable


def to_langchain(messages: list[ChatMessage]) -> list:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


class LangChainChat:
    def __init__(self, provider: str, model: str, context_window: int, chat) -> None:
        self.provider = provider
        self.model = model
        self.context_window = context_window
        self._chat = chat

    def stream(
        self, messages: list[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        bound = self._chat.bind(max_tokens=max_tokens, temperature=temperature)
        try:
            for chunk in bound.stream(to_langchain(messages)):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
        except Exception as error:  # network, server, model: the caller shows a fallback
            raise LlmUnavailable(
                f"{self.provider} ({self.model}): {type(error).__name__}: {error}"
            ) from error
