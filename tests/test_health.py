"""The heartbeat file and `storybot health`'s verdict on it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.cli import run
from bot.health import Heartbeat, State, remove_heartbeat, verdict, write_heartbeat

NOW = 1_800_000_000.0


def _beat(path: Path, state: State, *, age: float = 1.0, every: float = 15.0) -> None:
    write_heartbeat(
        path, Heartbeat(pid=1, state=state, at=NOW - age, every=every, servers=3, stories=2, shards=[0, 2])
    )


def test_ready_and_fresh_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "hb" / "heartbeat.json"
    _beat(path, "ready", age=5)
    healthy, reason = verdict(path, now=NOW)
    assert healthy
    assert reason == "connected to 3 servers with 2 stories, shards 0, 2 (5 s ago)"
    assert [p.name for p in path.parent.iterdir()] == ["heartbeat.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("state", "age", "reason"),
    [
        ("starting", 1.0, "the bot is starting"),
        ("disconnected", 1.0, "the bot is disconnected"),
        ("stopping", 1.0, "the bot is stopping"),
        ("ready", 61.0, "the last heartbeat is 61 s old"),
    ],
)
def test_anything_else_is_unhealthy(tmp_path: Path, state: State, age: float, reason: str) -> None:
    path = tmp_path / "heartbeat.json"
    _beat(path, state, age=age)
    healthy, said = verdict(path, now=NOW)
    assert not healthy
    assert said.startswith(reason)


def test_no_file_or_a_broken_file_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    assert verdict(path) == (False, f"no heartbeat at {path}: the bot is not running (or not yet started)")
    path.write_text("{not json", encoding="utf-8")
    assert verdict(path) == (False, f"unreadable heartbeat at {path}: ValidationError")
    remove_heartbeat(path)
    remove_heartbeat(path)  # already gone: fine
    assert not path.exists()


def test_the_health_command_exits_with_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "heartbeat.json"
    monkeypatch.setenv("STORYBOT_HEARTBEAT_FILE", str(path))
    assert run(["health"]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: no heartbeat")
    write_heartbeat(path, Heartbeat(pid=1, state="ready", at=time.time(), every=15))
    assert run(["health"]) == 0
    assert capsys.readouterr().out.startswith("healthy: connected to 0 servers")
