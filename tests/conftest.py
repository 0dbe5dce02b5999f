"""Shared fixtures: the bundled demo story and a library built from it with the real model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.llm_server import LLMServer, running_server

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "stories" / "demo.txt"


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export per test session, never in the developer's own ~/.cache."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _model_cache: Path) -> None:
    """Keep a developer's STORYBOT_* variables and .env out of the tests."""
    for name in list(os.environ):
        if name.startswith("STORYBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STORYBOT_CACHE_DIR", str(_model_cache))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding the demo story, ingested once per session with the real model."""
    from bot.cli import run

    data = tmp_path_factory.mktemp("demo-library")
    assert run(["--data-dir", str(data), "ingest", str(DEMO), "--story-id", "demo"]) == 0
    return data


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMServer]:
    """A real llama.cpp server with SmolLM2-135M on 127.0.0.1, started once per session on first use."""
    with running_server(tmp_path_factory.mktemp("llm-server")) as server:
        yield server
