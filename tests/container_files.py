"""Readers for the container files (Dockerfile, docker-compose.yml, .env.example) shared by the tests."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERIGNORE = REPO / ".dockerignore"
LOCK = REPO / "constraints.txt"

# `STORYBOT_X=value`, or `# STORYBOT_X=value` for a setting left at its default.
_SETTING_LINE = re.compile(r"^(?P<off>#\s*)?(?P<name>STORYBOT_[A-Z0-9_]+)=(?P<value>.*)$")


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """Every instruction as (INSTRUCTION, the rest), continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        # Docker drops comment lines even in the middle of a continued instruction.
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    if pending:
        raise ValueError(f"{path}: the last instruction ends with a line continuation")
    return instructions


def final_stage(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The instructions of the image that is shipped: from the last FROM on."""
    instructions = dockerfile_instructions(path)
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    if not starts:
        raise ValueError(f"{path} has no FROM")
    return instructions[starts[-1] :]


def _exec_form(rest: str, what: str) -> list[str]:
    # The shell form would run `/bin/sh -c …`, which does not pass signals on to the bot.
    try:
        value = json.loads(rest)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not in exec form (a JSON array): {rest}") from exc
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        raise ValueError(f"{what} is not a JSON array of strings: {rest}")
    return value


def _last(instructions: list[tuple[str, str]], keyword: str) -> str:
    found = [rest for key, rest in instructions if key == keyword]
    if not found:
        raise ValueError(f"the image has no {keyword}")
    return found[-1]


def image_command() -> list[str]:
    """What a container of the image runs by default: ENTRYPOINT followed by CMD."""
    stage = final_stage()
    return _exec_form(_last(stage, "ENTRYPOINT"), "ENTRYPOINT") + _exec_form(_last(stage, "CMD"), "CMD")


def entrypoint() -> list[str]:
    """The image's ENTRYPOINT; `docker compose run SERVICE ARGS…` runs it with ARGS instead of CMD."""
    return _exec_form(_last(final_stage(), "ENTRYPOINT"), "ENTRYPOINT")


def healthcheck_options() -> dict[str, str]:
    """The HEALTHCHECK's options without their dashes: {"interval": "30s", …}."""
    options, _ = _healthcheck()
    return options


def healthcheck_command() -> list[str]:
    """The command the HEALTHCHECK runs (its CMD exec array)."""
    _, command = _healthcheck()
    return command


def _healthcheck() -> tuple[dict[str, str], list[str]]:
    rest = _last(final_stage(), "HEALTHCHECK")
    options: dict[str, str] = {}
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option[2:].partition("=")
        options[name] = value
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise ValueError(f"HEALTHCHECK has no CMD: {rest}")
    return options, _exec_form(command.strip(), "HEALTHCHECK CMD")


def image_env() -> dict[str, str]:
    """The ENV of the final stage (the `KEY=value …` form), as a container of the image sees it."""
    env: dict[str, str] = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, sep, value = pair.partition("=")
                if not sep:
                    raise ValueError(f"ENV in the legacy `ENV key value` form: {rest}")
                env[name] = value
    return env


def compose_file() -> dict[str, Any]:
    """docker-compose.yml as data."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{COMPOSE_FILE} is not a mapping")
    return data


def env_example_settings() -> list[tuple[str, str, bool]]:
    """Each setting line of .env.example as (variable, value, whether it is set rather than commented)."""
    settings = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _SETTING_LINE.match(line.strip())
        if match:
            settings.append((match["name"], match["value"], match["off"] is None))
    return settings


def is_setting_line(line: str) -> bool:
    """Whether a line of .env.example sets (or shows, commented) a STORYBOT_ variable."""
    return _SETTING_LINE.match(line.strip()) is not None
