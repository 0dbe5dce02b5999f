"""The container files, checked statically (no Docker engine here); the image's command run as a process."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO


def _dockerfile() -> dict[str, str]:
    instructions: dict[str, str] = {}
    for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            key, _, rest = line.partition(" ")
            instructions[key] = rest
    return instructions


def test_compose_builds_the_image_and_keeps_the_library_in_a_volume() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    assert (REPO / bot["build"] / "Dockerfile").is_file()
    data_dir = bot["environment"]["STORYBOT_DATA_DIR"]
    volumes = {v.split(":")[1]: v.split(":")[0] for v in bot["volumes"]}
    assert volumes[data_dir] in compose["volumes"]  # a named volume survives restarts
    assert volumes["/stories"] == "./stories"


def test_dockerfile_pins_cpu_torch_runs_as_non_root_and_enters_storybot() -> None:
    docker = _dockerfile()
    assert docker["FROM"].startswith("python:3.11-slim")
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert "torch==2.13.0" in text
    assert "/whl/cpu" in text
    assert docker["USER"] not in ("root", "0")
    assert docker["ENTRYPOINT"] == '["storybot"]'


def test_the_images_command_runs_as_a_plain_process(demo_library: Path, tmp_path: Path) -> None:
    docker = _dockerfile()
    command = [
        *shlex.split(docker["ENTRYPOINT"].strip("[]").replace(",", " ")),
        *shlex.split(docker["CMD"].strip("[]").replace(",", " ")),
    ]
    assert command[0] == "storybot"
    env = os.environ | {
        "STORYBOT_DATA_DIR": str(demo_library),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command[1:]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("demo: ")
