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
    """The model cannot answer now (server down, model missing); the caller falls back."""


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
