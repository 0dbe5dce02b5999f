"""`storybot run` as a real process, configured only by environment variables, against the fake Discord."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import pytest

from bot.cli import run
from tests.bot_harness import PROCESS_TOKEN, READER, embed_text, process_env, storybot_command
from tests.fake_discord import FakeDiscord, option

QUESTION = "Who tells Hux to go to bed?"


def test_storybot_run_connects_answers_and_logs_one_line_per_question(
    tmp_path: Path, demo_library: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo_library, data)
    log = tmp_path / "bot.log"

    async def main() -> None:
        async with FakeDiscord() as fake:
            env = process_env(fake, data)
            with log.open("wb") as out:
                bot = await asyncio.create_subprocess_exec(
                    *storybot_command(), "run", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
                )
                try:
                    await fake.wait_until(
                        lambda: fake.identify_count == 1 and bool(fake.commands), timeout=120
                    )
                    payload = fake.slash_interaction("ask", [option("question", QUESTION)], user_id=READER)
                    await fake.dispatch("INTERACTION_CREATE", payload)
                    answer = await fake.wait_for_response(payload, timeout=20)
                    assert "Phasma tells him to go to bed" in embed_text(answer)
                    identify = next(p for p in fake.gateway_received if p.get("op") == 2)
                    assert identify["d"]["token"] == PROCESS_TOKEN
                    assert identify["d"]["intents"] & (1 << 15) == 0  # no Message Content intent
                finally:
                    bot.send_signal(signal.SIGINT)
                    await asyncio.wait_for(bot.wait(), 30)

    asyncio.run(main())
    text = log.read_text(encoding="utf-8", errors="replace")
    question_lines = [line for line in text.splitlines() if "storybot.questions" in line]
    assert len(question_lines) == 1
    assert "via=slash" in question_lines[0]
    assert "found=True" in question_lines[0]
    assert QUESTION not in text  # questions are not logged unless STORYBOT_LOG_QUESTIONS=true
    assert "fake-secret-token" not in text


def test_storybot_run_without_a_token_says_what_to_set(capsys: object) -> None:
    assert run(["run"]) == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "STORYBOT_DISCORD_TOKEN" in err
    assert len(err.strip().splitlines()) == 1


def test_storybot_run_with_an_unusable_data_dir_says_so_before_loading_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    monkeypatch.setenv("STORYBOT_DISCORD_TOKEN", PROCESS_TOKEN)
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("STORYBOT_HEARTBEAT_FILE", str(tmp_path / "heartbeat.json"))

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model loaded before the data dir was checked")

    monkeypatch.setattr("bot.cli.wiring.SentenceTransformerEmbedder", no_model)
    assert run(["run"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("storybot: cannot create data dir"), err
    assert str(blocker / "data") in err[-1]
    assert "Traceback" not in "\n".join(err)
