"""How long `storybot run` takes to turn healthy, how much memory it holds, and how fast it stops.

Runs the container's commands (`storybot run`, `storybot health`) as plain processes against the
loopback fake Discord, over a copy of a library (default: the demo story, ingested first).

    python bench/startup.py [--data-dir LIBRARY] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot_harness import process_env, storybot_command
from tests.fake_discord import FakeDiscord

REPO = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _health(env: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    check = await asyncio.create_subprocess_exec(
        *storybot_command(), "health", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    return await check.wait(), time.perf_counter() - started


async def one_run(library: Path, work: Path) -> dict[str, float]:
    data = work / "data"
    shutil.copytree(library, data)
    async with FakeDiscord() as fake:
        env = process_env(fake, data)
        started = time.perf_counter()
        bot = await asyncio.create_subprocess_exec(
            *storybot_command(), "run", env=env, stderr=asyncio.subprocess.DEVNULL
        )
        while (await _health(env))[0] != 0:
            await asyncio.sleep(0.1)
        healthy = time.perf_counter() - started
        rss = _rss_mb(bot.pid)
        health_seconds = statistics.median([(await _health(env))[1] for _ in range(3)])
        stopping = time.perf_counter()
        bot.send_signal(signal.SIGTERM)
        code = await bot.wait()
        return {
            "healthy_s": round(healthy, 2),
            "rss_mb": round(rss),
            "health_command_s": round(health_seconds, 2),
            "sigterm_to_exit_s": round(time.perf_counter() - stopping, 2),
            "exit_code": code,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a library (default: the demo story)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = args.data_dir
        if library is None:
            library = Path(tmp) / "demo"
            subprocess.run(
                [*storybot_command(), "--data-dir", str(library), "ingest", str(REPO / "stories/demo.txt")],
                check=True,
                capture_output=True,
            )
        for run in range(args.runs):
            work = Path(tmp) / f"run{run}"
            work.mkdir()
            print(json.dumps(asyncio.run(one_run(library, work))), flush=True)


if __name__ == "__main__":
    main()
