"""Sharding: the shard settings, two `storybot run` processes splitting the servers, one bot on all shards."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import load_settings
from index.errors import InputError
from tests.bot_harness import (
    READER,
    bot_settings,
    copy_library,
    embed_text,
    process_env,
    running_storybot,
    storybot_command,
)
from tests.fake_discord import FakeDiscord, option, shard_of

QUESTION = "Who tells Hux to go to bed?"
ANSWER = "Phasma tells him to go to bed"
START_TIMEOUT = 120.0  # two processes load the model side by side on a small machine


# -- settings -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("2", "0,1", [0, 1]), ("2", "[0, 1]", [0, 1]), ("4", " 3 ", [3]), ("3", None, None)],
)
def test_shard_settings_read_the_ids_as_people_write_them(
    monkeypatch: pytest.MonkeyPatch, count: str, ids: str | None, expected: list[int] | None
) -> None:
    monkeypatch.setenv("STORYBOT_SHARD_COUNT", count)
    if ids is not None:
        monkeypatch.setenv("STORYBOT_SHARD_IDS", ids)
    settings = load_settings()
    assert settings.shard_count == int(count)
    assert settings.shard_ids == expected


def test_no_shard_settings_mean_one_unsharded_connection() -> None:
    settings = load_settings()
    assert settings.shard_count is None
    assert settings.shard_ids is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STORYBOT_SHARD_IDS": "0"}, "STORYBOT_SHARD_IDS"),  # ids without a count
        ({"STORYBOT_SHARD_COUNT": "2", "STORYBOT_SHARD_IDS": "2"}, "STORYBOT_SHARD_IDS"),
        ({"STORYBOT_SHARD_COUNT": "2", "STORYBOT_SHARD_IDS": "-1"}, "STORYBOT_SHARD_IDS"),
        ({"STORYBOT_SHARD_COUNT": "2", "STORYBOT_SHARD_IDS": "1,1"}, "STORYBOT_SHARD_IDS"),
        ({"STORYBOT_SHARD_COUNT": "2", "STORYBOT_SHARD_IDS": "one"}, "STORYBOT_SHARD_IDS"),
        ({"STORYBOT_SHARD_COUNT": "2", "STORYBOT_SHARD_IDS": "[]"}, "STORYBOT_SHARD_IDS"),
        ({"STORYBOT_SHARD_COUNT": "0"}, "STORYBOT_SHARD_COUNT"),
    ],
)
def test_shard_settings_that_cannot_work_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as refused:
        load_settings()
    message = str(refused.value)
    assert named in message
    assert len(message.splitlines()) == 1


# -- bots against the fake ----------------------------------------------------------------------------
async def two_guilds(fake: FakeDiscord) -> tuple[str, str]:
    """A server on shard 0 of 2 and one on shard 1 of 2 (besides the fake's default one)."""
    left = await fake.add_guild("Left", shard=(0, 2))
    right = await fake.add_guild("Right", shard=(1, 2))
    assert (shard_of(left, 2), shard_of(right, 2)) == (0, 1)
    return left, right


async def ask_in(fake: FakeDiscord, guild_id: str, *, timeout: float = 5.0) -> str:
    """Ask /ask QUESTION in ``guild_id`` and return the answer's text."""
    payload = fake.slash_interaction("ask", [option("question", QUESTION)], user_id=READER, guild_id=guild_id)
    # The dispatch waits for the session of the guild's shard.
    await fake.dispatch("INTERACTION_CREATE", payload, timeout=timeout)
    return embed_text(await fake.wait_for_response(payload, timeout=20))


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def storybot_process(fake: FakeDiscord, data: Path, log: Path, **env: str) -> AsyncIterator[None]:
    """`storybot run` as its own process, configured like a container, stopped with SIGINT on exit."""
    variables = process_env(fake, data, **env)
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *storybot_command(), "run", env=variables, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
        try:
            yield
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)


def test_two_processes_split_the_servers_and_each_answers_only_its_own(
    tmp_path: Path, demo_library: Path
) -> None:
    logs = [tmp_path / "shard0.log", tmp_path / "shard1.log"]
    owned: list[set[str]] = []

    async def main() -> None:
        async with FakeDiscord() as fake:
            left, right = await two_guilds(fake)
            owned.extend({g for g in fake.world.guilds if shard_of(g, 2) == shard} for shard in (0, 1))
            data = []
            for shard in (0, 1):
                data.append(tmp_path / f"data{shard}")
                shutil.copytree(demo_library, data[-1])
            async with (
                storybot_process(fake, data[0], logs[0], shard_count="2", shard_ids="0"),
                storybot_process(fake, data[1], logs[1], shard_count="2", shard_ids="[1]"),
            ):
                await fake.wait_until(
                    lambda: fake.live_shards == [(0, 2), (1, 2)] and bool(fake.commands), START_TIMEOUT
                )
                identified = sorted(p["d"]["shard"] for p in fake.gateway_received if p.get("op") == 2)
                assert identified == [[0, 2], [1, 2]]
                assert ANSWER in await ask_in(fake, left)
                assert ANSWER in await ask_in(fake, right)
                # Slash commands are answered before discord.py's ready event, which waits for the servers.
                await fake.wait_until(lambda: all("connected as" in read(log) for log in logs), 20)

    asyncio.run(main())
    texts = [read(log) for log in logs]
    for shard, text in enumerate(texts):
        # Each process knows only its shard's servers and answered only the question asked in one.
        assert re.findall(r"connected as \S+ to (\d+) servers", text) == [str(len(owned[shard]))], text
        asked_in = set(re.findall(r"question guild=(\d+) ", text))
        assert len(asked_in) == 1, text
        assert asked_in <= owned[shard]
        assert "fake-secret-token" not in text


def test_one_bot_with_a_shard_count_and_no_ids_runs_every_shard(tmp_path: Path, demo_library: Path) -> None:
    async def main() -> None:
        async with FakeDiscord() as fake:
            left, right = await two_guilds(fake)
            settings = bot_settings(fake, copy_library(demo_library, tmp_path), shard_count=2)
            async with running_storybot(fake, settings):
                # discord.py identifies each shard after the first 5 s later (Discord's identify limit).
                await fake.wait_until(lambda: fake.live_shards == [(0, 2), (1, 2)], 20)
                assert ANSWER in await ask_in(fake, left)
                assert ANSWER in await ask_in(fake, right)
                assert fake.identify_count == 2

    asyncio.run(main())
