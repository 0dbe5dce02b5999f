"""The image's own commands as plain processes: the bot starts healthy, and SIGTERM stops it gracefully."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bot.client import RESTARTING
from tests.bot_harness import READER, embed_text, process_env, storybot_command
from tests.container_files import healthcheck_command, image_command
from tests.fake_discord import FakeDiscord, option
from tests.paced_llm import PacedLLM, paced_llm

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEs.lifecycle-secret-token-value"
QUESTION = "Who tells Hux to go to bed?"
REPLY = "Phasma tells Hux to go to bed [1]. THE END"
START_TIMEOUT = 120.0


def _local(command: list[str]) -> list[str]:
    """An image command with `storybot` resolved to this environment's console script."""
    return [*storybot_command(command[0]), *command[1:]]


class Bot:
    """A `storybot run` process and what it needs: its environment, log and health command."""

    def __init__(self, process: asyncio.subprocess.Process, env: dict[str, str], log: Path) -> None:
        self.process = process
        self.env = env
        self.log = log

    async def health(self) -> tuple[int, str]:
        """Run the image's HEALTHCHECK command; its exit code and output."""
        check = await asyncio.create_subprocess_exec(
            *_local(healthcheck_command()), env=self.env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(check.communicate(), 30)
        return check.returncode or 0, out.decode()

    async def wait_health(self, wanted: Callable[[int, str], bool], timeout: float) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            code, out = await self.health()
            if wanted(code, out):
                return code, out
            assert self.process.returncode is None, f"the bot exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"health stayed {out!r}:\n{self.text()}"
            await asyncio.sleep(0.3)

    async def exit_code(self, timeout: float) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@asynccontextmanager
async def started_bot(
    fake: FakeDiscord, tmp_path: Path, library: Path, **settings: str
) -> AsyncIterator[Bot]:
    """The image's command, `storybot run`, configured by environment variables as compose does."""
    data = tmp_path / "data"
    shutil.copytree(library, data)
    env = process_env(fake, data, token=TOKEN, heartbeat_seconds="1", **settings)
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *_local(image_command()), env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
        bot = Bot(process, env, log)
        try:
            yield bot
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def _healthy(code: int, out: str) -> bool:
    return code == 0


async def _ask(fake: FakeDiscord, question: str = QUESTION) -> dict[str, object]:
    payload = fake.slash_interaction("ask", [option("question", question)], user_id=READER)
    await fake.dispatch("INTERACTION_CREATE", payload)
    return payload


def _shown(fake: FakeDiscord, payload: dict[str, object]) -> str:
    return "\n".join(str(m.get("content") or "") + embed_text(m) for m in fake.response_messages(payload))


@asynccontextmanager
async def bot_with_paced_llm(
    tmp_path: Path, library: Path, **settings: str
) -> AsyncIterator[tuple[FakeDiscord, Bot, PacedLLM]]:
    """A fake Discord, an LLM endpoint the test paces, and the image's command using both."""
    async with (
        FakeDiscord() as fake,
        paced_llm(REPLY) as llm,
        started_bot(fake, tmp_path, library, llm_base_url=llm.base_url, llm_model="paced", **settings) as bot,
    ):
        yield fake, bot, llm


async def _stop_during_an_answer(fake: FakeDiscord, bot: Bot, llm: PacedLLM) -> dict[str, object]:
    """Ask, wait until the answer is being composed, send SIGTERM, and wait until the bot is stopping."""
    await bot.wait_health(_healthy, START_TIMEOUT)
    asked = await _ask(fake)
    await asyncio.wait_for(llm.received.wait(), 30)
    bot.process.send_signal(signal.SIGTERM)
    await bot.wait_health(lambda code, out: "stopping" in out, 15)
    return asked


def test_the_images_command_turns_healthy_answers_and_stops_cleanly(
    tmp_path: Path, demo_library: Path
) -> None:
    async def main() -> None:
        async with FakeDiscord() as fake, started_bot(fake, tmp_path, demo_library) as bot:
            code, out = await bot.health()
            assert code == 1, out  # starting: the model and library are still loading
            code, out = await bot.wait_health(_healthy, START_TIMEOUT)
            assert "connected to 1 server with 1 story" in out
            asked = await _ask(fake)
            answer = await fake.wait_for_response(asked, timeout=20)
            assert "Phasma tells him to go to bed" in embed_text(answer)

            bot.process.send_signal(signal.SIGTERM)
            assert await bot.exit_code(30) == 0
            code, out = await bot.health()
            assert code == 1
            assert "not running" in out
            assert "the library is closed" in bot.text()

    asyncio.run(main())


def test_sigterm_during_an_answer_finishes_it_and_refuses_new_questions(
    tmp_path: Path, demo_library: Path
) -> None:
    async def main() -> None:
        async with bot_with_paced_llm(tmp_path, demo_library) as (fake, bot, llm):
            first = await _stop_during_an_answer(fake, bot, llm)

            late = await _ask(fake, "Who is Ben Solo?")
            refused = await fake.wait_for_response(late, timeout=10)
            assert refused.get("content") == RESTARTING

            llm.release.set()
            assert await bot.exit_code(30) == 0
            shown = _shown(fake, first)
            assert "THE END" in shown  # the whole composed answer reached the reader
            assert "Phasma tells Hux to go to bed" in shown
            assert llm.requests == 1  # the refused question never reached the model
            log = bot.text()
            assert "finishing 1 questions in flight" in log
            assert "abandoning" not in log

    asyncio.run(main())


def test_questions_get_a_bounded_grace_and_json_logs_never_show_the_token(
    tmp_path: Path, demo_library: Path
) -> None:
    async def main() -> None:
        async with bot_with_paced_llm(
            tmp_path, demo_library, shutdown_grace="1", log_format="json", log_level="DEBUG"
        ) as (fake, bot, llm):
            first = await _stop_during_an_answer(fake, bot, llm)  # the model never answers
            stopped = time.monotonic()
            assert await bot.exit_code(30) == 0
            assert time.monotonic() - stopped < 10  # 1 s grace, then the abandoned answer is told so
            await fake.wait_until(lambda: "restarted before this finished" in _shown(fake, first), 5)

        log = bot.text()
        assert TOKEN not in log
        assert TOKEN.split(".")[2] not in log
        records = [json.loads(line) for line in log.splitlines() if line.strip()]
        assert {"time", "level", "logger", "message"} <= set(records[0])
        assert any(r["level"] == "DEBUG" and r["logger"].startswith("discord") for r in records)
        assert any("abandoning" in r["message"] for r in records)

    asyncio.run(main())


def test_a_second_sigterm_exits_at_once_and_the_library_survives(tmp_path: Path, demo_library: Path) -> None:
    async def main() -> None:
        async with bot_with_paced_llm(tmp_path, demo_library) as (fake, bot, llm):
            await _stop_during_an_answer(fake, bot, llm)  # the model never answers: the grace is 10 s
            again = time.monotonic()
            bot.process.send_signal(signal.SIGTERM)
            assert await bot.exit_code(10) == 128 + signal.SIGTERM
            assert time.monotonic() - again < 3
            assert "again: exiting now" in bot.text()

            listing = await asyncio.create_subprocess_exec(
                *_local(["storybot", "list"]), env=bot.env, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await listing.communicate()
            assert listing.returncode == 0
            assert out.decode().startswith("demo: ")

    asyncio.run(main())
