"""The heartbeat file the running bot refreshes, and the verdict `storybot health` reads from it."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ValidationError

State = Literal["starting", "ready", "disconnected", "stopping"]

# A heartbeat older than this many refresh intervals means the bot is stuck or gone.
STALE_AFTER_BEATS = 4


class Heartbeat(BaseModel):
    """What the bot last said about itself."""

    pid: int
    state: State
    at: float  # seconds since the epoch
    every: float  # the refresh interval the bot runs with
    servers: int = 0
    stories: int = 0
    shards: list[int] = []


class Verdict(NamedTuple):
    """Healthy or not, and one line saying why."""

    healthy: bool
    reason: str


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the heartbeat file in one step, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(beat.model_dump_json(), encoding="utf-8")
    os.replace(partial, path)


def remove_heartbeat(path: Path) -> None:
    """Take the heartbeat away when the bot stops, so nothing reads a stopped bot as healthy."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def verdict(path: Path, now: float | None = None) -> Verdict:
    """Whether the bot that writes ``path`` is connected to Discord with its library loaded."""
    try:
        beat = Heartbeat.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return Verdict(False, f"no heartbeat at {path}: the bot is not running (or not yet started)")
    except (OSError, ValidationError) as exc:
        return Verdict(False, f"unreadable heartbeat at {path}: {type(exc).__name__}")
    age = (time.time() if now is None else now) - beat.at
    if age > STALE_AFTER_BEATS * beat.every:
        return Verdict(False, f"the last heartbeat is {age:.0f} s old: the bot is stuck or stopped")
    if beat.state != "ready":
        return Verdict(False, f"the bot is {beat.state}")
    servers = f"{beat.servers} server{'' if beat.servers == 1 else 's'}"
    stories = f"{beat.stories} stor{'y' if beat.stories == 1 else 'ies'}"
    shards = f", shards {', '.join(map(str, beat.shards))}" if beat.shards else ""
    return Verdict(True, f"connected to {servers} with {stories}{shards} ({age:.0f} s ago)")
