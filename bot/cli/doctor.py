"""`storybot doctor`: check the setup a self-hoster gave the bot, one line per check, and say what to fix."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from bot.cli.wiring import embedder, encoder_setting, passage_reader
from bot.doctor import (
    Finding,
    check_discord,
    check_encoder,
    check_heartbeat,
    check_library,
    check_llm,
    check_model,
    check_prompts,
    check_reranker,
    check_token,
    check_writable_dir,
    ok,
    problem,
    skipped,
    summary,
)
from bot.settings import Settings, settings_problems

SETTINGS_FIX = "correct it in .env or the environment, or remove it; the checks below use its default"
DATA_DIR_FIX = (
    "set STORYBOT_DATA_DIR to a directory the bot's user can write (in Docker: the volume at /data)"
)


def lenient_settings() -> tuple[Settings, list[str]]:
    """The settings with defaults in place of invalid ones, and one line naming each invalid one."""
    defaults: dict[str, Any] = {}
    problems: list[str] = []
    while True:
        try:
            return Settings(**defaults), problems
        except ValidationError as exc:
            problems += settings_problems(exc)
            invalid = {name for detail in exc.errors() for name in _fields_of(detail)}
        except SettingsError as exc:
            problems.append(str(exc))
            invalid = set()
        if not invalid - set(defaults):
            # Nothing left to replace one by one (the error names no variable): check with every default.
            return Settings.model_construct(), problems
        for name in invalid:
            defaults[name] = Settings.model_fields[name].get_default(call_default_factory=True)


def _fields_of(detail: ErrorDetails) -> list[str]:
    """The settings an error is about: its field, or for a check across fields the variables it names."""
    loc = detail["loc"]
    if loc and loc[0] in Settings.model_fields:
        return [str(loc[0])]
    return [name for name in Settings.model_fields if f"STORYBOT_{name.upper()}" in str(detail["msg"])]


def checks(settings: Settings, settings_problems: list[str]) -> Iterator[Finding]:
    """Every check in order, each finding as soon as it is known (the model takes seconds)."""
    yield from (problem(f"settings: {line}", fix=SETTINGS_FIX) for line in settings_problems)
    if not settings_problems:
        yield ok("settings: every STORYBOT_* variable is valid")
    found, token = check_token(settings.discord_token)
    yield found
    if token is None:
        yield skipped("Discord: the token is checked with Discord once it is right")
    else:
        yield check_discord(settings.discord_api_base, token)
    yield check_writable_dir("data dir", settings.data_dir, DATA_DIR_FIX)
    yield check_heartbeat(settings.heartbeat_file)
    found, model = check_model(
        settings.embedding_model, lambda: embedder(settings, threads=settings.query_threads, fast=True)
    )
    yield found
    yield check_encoder(encoder_setting(settings), model)
    yield check_reranker(settings.rerank, lambda: passage_reader(settings))
    yield from check_library(settings.data_dir, model, model.encoder if model else None)
    yield check_prompts(settings.prompts_dir)
    yield from check_llm(settings.llm_base_url, settings.llm_model, settings.llm_api_key)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    """Print one line per check and a summary; exit 1 if any check found a problem."""
    findings = []
    for finding in checks(settings, getattr(args, "settings_problems", [])):
        findings.append(finding)
        print("\n".join(finding.lines()), flush=True)
    print(summary(findings))
    return 1 if any(f.status == "problem" for f in findings) else 0
