"""The LLM seam: a chat model that streams text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class LlmUnavailable(RuntimeError):
    """The model cannot answer now (server down, model missing); the caller falls back.

    kind says why, for a message in the user's language: unreachable (nothing listens),
    timeout (no answer in time), http (an error status, in `status`), invalid (an answer
    that is not one: bad JSON, no text, citations of passages that do not exist), or
    error (anything else; the message says what)."""

    def __init__(self, message: str, kind: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


@runtime_checkable
class ChatModel(Protocol):
    provider: str  # llamacpp | openai
    model: str
    context_window: int  # tokens the model reads and writes in one call

    def stream(
        self, messages: list[ChatMessage], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Text pieces as the model writes them; raises LlmUnavailable when it cannot."""
        ...
