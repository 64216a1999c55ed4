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
        pieces = 0
        try:
            for chunk in bound.stream(to_langchain(messages)):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
                    pieces += 1
                    # Servers stream about a token per chunk; some ignore the length limit
                    # (llama-cpp-python's server ignores max_completion_tokens, the name
                    # langchain-openai sends): stop reading, which closes the stream.
                    if pieces >= max_tokens:
                        break
        except Exception as error:  # network, server, model: the caller shows a fallback
            kind, status = classify(error)
            raise LlmUnavailable(
                f"{self.provider} ({self.model}): {type(error).__name__}: {error}", kind, status
            ) from error


def classify(error: BaseException) -> tuple[str, int | None]:
    """Why a call failed (LlmUnavailable.kind), from the error and the errors behind it:
    the OpenAI client, httpx and LangChain wrap each other's exceptions."""
    seen: BaseException | None = error
    depth = 0
    while seen is not None and depth < 8:
        names = {c.__name__ for c in type(seen).__mro__}
        status = getattr(seen, "status_code", None)
        if isinstance(seen, TimeoutError) or names & {"APITimeoutError", "TimeoutException"}:
            return "timeout", None
        if isinstance(status, int):
            return "http", status
        if isinstance(seen, ConnectionError) or names & {"APIConnectionError", "ConnectError"}:
            return "unreachable", None
        if isinstance(seen, ValueError):  # bad JSON, bad bytes, a stream with no text
            return "invalid", None
        seen = seen.__cause__ or seen.__context__
        depth += 1
    return "error", None
