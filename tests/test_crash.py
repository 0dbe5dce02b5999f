"""A real kill -9 in the middle of an ingest leaves the previous library loading and answering."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import run
from index.store import Library
from tests.conftest import DEMO, REPO


def _long_story(sentences: int) -> str:
    lines = []
    for i in range(sentences):
        lines.append(f"On day {i} the lighthouse keeper counted {i % 17} gulls over the grey harbour.")
        if i % 5 == 4:
            lines.append("\n\n")
    return " ".join(lines)


def _start_ingest(data: Path, *paths: Path) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data), "ingest", *map(str, paths), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=data.parent,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    assert proc.poll() is None, "the ingest finished before it could be killed: make the story longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def _assert_consistent(data: Path) -> list[str]:
    library = Library.open(data)
    try:
        rowids, _, stories, _ = library.passage_table()
        assert library.dense.ntotal == len(rowids)
        listed = library.stories()
        assert sorted(set(stories)) == [s.id for s in listed]
        assert all(stories.count(s.id) == s.passages for s in listed)
        return [s.id for s in listed]
    finally:
        library.close()


def test_kill_mid_ingest_keeps_the_previous_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "lib"
    assert run(["--data-dir", str(data), "ingest", str(DEMO), "--story-id", "demo"]) == 0
    small = tmp_path / "a-small.txt"
    small.write_text("The ferryman sang to the river every evening.\n\nThe river answered him.\n")
    big = tmp_path / "b-big.txt"
    big.write_text(_long_story(6000), encoding="utf-8")

    proc = _start_ingest(data, small, big)
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())  # the small story has committed
    assert first["id"] == "a-small"
    time.sleep(1.5)  # the big one is being embedded now
    _kill(proc)

    assert _assert_consistent(data) == ["a-small", "demo"]
    capsys.readouterr()
    assert run(["--data-dir", str(data), "ask", "Who is Ben Solo?", "--story", "demo", "--json"]) == 0
    assert "Ben Solo" in json.loads(capsys.readouterr().out)["answer"]
    # The interrupted story can simply be ingested again.
    assert run(["--data-dir", str(data), "ingest", str(small), "--replace"]) == 0


def test_kill_during_the_first_ingest_leaves_a_usable_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "lib"
    big = tmp_path / "big.txt"
    big.write_text(_long_story(6000), encoding="utf-8")
    proc = _start_ingest(data, big)
    deadline = time.monotonic() + 120
    while not (data / "library.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    _kill(proc)

    assert run(["--data-dir", str(data), "ingest", str(DEMO), "--story-id", "demo"]) == 0
    assert _assert_consistent(data) == ["demo"]
