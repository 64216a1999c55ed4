"""Which LLM answers: settings.llm_provider = auto | extractive | llamacpp | openai."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from assistant.llm.base import ChatMessage, ChatModel, LlmUnavailable
from assistant.llm.models import MODELS, installed_path, is_installed
from assistant.settings import Settings


def local_model_path(settings: Settings) -> Path:
    if settings.llm_model_path:
        return Path(settings.llm_model_path)
    return installed_path(MODELS[settings.llm_model], settings.models_dir)


def resolve_provider(settings: Settings) -> str:
    """The provider `auto` means here: the local model when installed, else a configured
    OpenAI-compatible server, else extractive answers."""
    if settings.llm_provider != "auto":
        return settings.llm_provider
    local = local_model_path(settings)
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    if has_llama and (
        settings.llm_model_path
        and local.is_file()
        or is_installed(MODELS[settings.llm_model], settings.models_dir)
    ):
        return "llamacpp"
    if settings.openai_base_url:
        return "openai"
    return "extractive"


def load_chat_model(settings: Settings) -> ChatModel | None:
    """The configured chat model, or None for extractive answers."""
    provider = resolve_provider(settings)
    if provider == "extractive":
        return None
    if provider == "llamacpp":
        from assistant.llm.llamacpp_chat import llamacpp_chat

        return llamacpp_chat(
            local_model_path(settings), settings.llm_context_tokens, settings.llm_threads
        )
    if provider == "openai":
        from assistant.llm.openai_chat import openai_chat

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return openai_chat(
            settings.openai_base_url,
            settings.openai_model,
            key,
            settings.llm_context_tokens,
            settings.llm_timeout_s,
            settings.openai_extra_body,
        )
    raise ValueError(f"unknown LLM provider {provider!r}: use auto, extractive, llamacpp or openai")


__all__ = ["ChatMessage", "ChatModel", "LlmUnavailable", "load_chat_model", "resolve_provider"]
