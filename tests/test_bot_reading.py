"""Spoiler-safe reading on Discord, end to end: /progress across a restart, /spoilers, the rating gate,
/story info and /story update, with the real model over the loopback fake Discord."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import run
from index.store import Library
from tests.bot_harness import (
    ADMIN,
    ADMIN_PERMISSIONS,
    READER,
    bot_settings,
    copy_library,
    embed_text,
    ingest,
    pings_nobody,
    running_storybot,
    sent_payloads,
)
from tests.fake_discord import JSON, FakeDiscord, option
from tests.story_files.ao3 import Ao3Work, write_ao3_epub
from tests.story_files.hostile import write_zip_bomb

LIGHTHOUSE = (
    "Chapter 1: The Keeper\n\nMira kept the copper lantern burning on the northern cliff every night.\n\n"
    "Chapter 2: The Storm\n\nA winter storm shattered the great lens, and Mira carried the lantern down "
    "to the village.\n\n"
    "Chapter 3: Blue Glass\n\nThe village rebuilt the lighthouse with a new lens of blue glass.\n"
)
STORM_QUESTION = "What shattered the great lens?"


@pytest.fixture(scope="module")
def lighthouse_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lighthouse")
    (folder / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    return ingest(folder / "data", folder / "lighthouse.txt")


async def command(fake: FakeDiscord, name: str, *options: JSON, user: int = READER, **kwargs: object) -> JSON:
    """Send a slash command and return the visible reply (after any "thinking")."""
    payload = fake.slash_interaction(name, list(options), user_id=user, **kwargs)  # type: ignore[arg-type]
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload)
    if callback.json["type"] == 4:  # answered at once (a refusal)
        return dict(callback.json["data"])
    return await fake.wait_for_response(payload, timeout=20)


def test_progress_bounds_answers_and_survives_a_restart(tmp_path: Path, lighthouse_library: Path) -> None:
    data = copy_library(lighthouse_library, tmp_path)

    async def main() -> None:
        async with FakeDiscord() as fake:
            settings = bot_settings(fake, data)
            async with running_storybot(fake, settings):
                unlimited = embed_text(await command(fake, "ask", option("question", STORM_QUESTION)))
                assert "storm shattered" in unlimited
                set_to = await command(fake, "progress", option("story", "lighthouse"), option("chapter", 1))
                assert "chapters 1 to 1" in set_to["content"]
                assert set_to["flags"] & 64  # private
            since = len(fake.requests)
            async with running_storybot(fake, settings):  # a new process would read the same file
                shown = await command(fake, "progress")
                assert "chapter 1 of 3" in shown["content"]
                limited = embed_text(await command(fake, "ask", option("question", STORM_QUESTION)))
                assert "may be in a later chapter" in limited
                assert "shattered" not in "".join(embed_text(m) for _, m in sent_payloads(fake)[since:])
                other = embed_text(
                    await command(fake, "ask", option("question", STORM_QUESTION), user=READER + 1)
                )
                assert "storm shattered" in other  # progress is per reader
                await command(fake, "progress", option("story", "lighthouse"), option("finished", True))
                assert "storm shattered" in embed_text(
                    await command(fake, "ask", option("question", STORM_QUESTION))
                )

    asyncio.run(main())


def test_a_server_can_ask_readers_to_set_progress_first(tmp_path: Path, lighthouse_library: Path) -> None:
    async def main() -> None:
        async with (
            FakeDiscord() as fake,
            running_storybot(fake, bot_settings(fake, copy_library(lighthouse_library, tmp_path))),
        ):
            refused = await command(fake, "spoilers", option("policy", "ask"))
            assert "Manage Server" in refused["content"]
            assert "spoilers" in {
                c["name"] for c in fake.commands[None] if c.get("default_member_permissions")
            }
            await command(
                fake, "spoilers", option("policy", "ask"), user=ADMIN, permissions=ADMIN_PERMISSIONS
            )
            notice = await command(fake, "ask", option("question", STORM_QUESTION))
            assert "/progress story:lighthouse" in notice["content"]
            await command(fake, "progress", option("story", "lighthouse"), option("chapter", 2))
            assert "storm shattered" in embed_text(
                await command(fake, "ask", option("question", STORM_QUESTION))
            )

    asyncio.run(main())


def test_a_mature_story_answers_only_in_an_age_restricted_channel(
    tmp_path: Path, lighthouse_library: Path
) -> None:
    data = copy_library(lighthouse_library, tmp_path)
    assert run(["--data-dir", str(data), "rate", "lighthouse", "mature"]) == 0

    async def main() -> None:
        async with FakeDiscord() as fake, running_storybot(fake, bot_settings(fake, data)):
            nsfw = await fake.add_channel(fake.guild_id, "after-dark", nsfw=True)
            gated = await command(fake, "ask", option("question", STORM_QUESTION))
            assert "rated Mature: ask about it in an age-restricted channel" in gated["content"]
            assert len(gated["content"].splitlines()) == 1
            info = await command(fake, "story", option("story", "lighthouse"), subcommand="info")
            assert "age-restricted" in info["content"]
            answered = await command(fake, "ask", option("question", STORM_QUESTION), channel_id=nsfw)
            assert "storm shattered" in embed_text(answered)

    asyncio.run(main())


def test_story_info_and_an_update_that_adds_a_chapter(tmp_path: Path, lighthouse_library: Path) -> None:
    newer = (
        LIGHTHOUSE + "\nChapter 4: The Daughter\n\nMira's daughter climbed the tower and lit the blue lamp.\n"
    )

    async def main() -> None:
        async with (
            FakeDiscord() as fake,
            running_storybot(fake, bot_settings(fake, copy_library(lighthouse_library, tmp_path))),
        ):
            add = fake.slash_interaction(
                "story",
                subcommand="add",
                attachments={"file": ("tower.txt", LIGHTHOUSE.encode())},
                user_id=ADMIN,
                permissions=ADMIN_PERMISSIONS,
            )
            await fake.dispatch("INTERACTION_CREATE", add)
            await fake.wait_until(lambda: "Added" in _content(fake, add), timeout=60)
            update = fake.slash_interaction(
                "story",
                [option("story", "tower")],
                subcommand="update",
                attachments={"file": ("tower-v2.txt", newer.encode())},
                user_id=ADMIN,
                permissions=ADMIN_PERMISSIONS,
            )
            await fake.dispatch("INTERACTION_CREATE", update)
            await fake.wait_until(lambda: "Updated" in _content(fake, update), timeout=60)
            assert "4 chapters" in _content(fake, update)
            info = embed_text(await command(fake, "story", option("story", "tower"), subcommand="info"))
            for expected in (
                "Tower",
                "Chapter 4: The Daughter (",
                "Chapter 2: The Storm (",
                "Rating",
                "4 chapters",
            ):
                assert expected in info
            lamp = await command(
                fake, "ask", option("question", "Who lit the blue lamp?"), option("story", "tower")
            )
            assert "daughter climbed the tower" in embed_text(lamp)

    asyncio.run(main())


def _content(fake: FakeDiscord, payload: JSON) -> str:
    messages = fake.response_messages(payload)
    return str(messages[0].get("content") or "") if messages else ""


def test_an_ao3_download_is_gated_by_its_rating_and_its_notes_are_never_answers(
    tmp_path: Path, lighthouse_library: Path
) -> None:
    work = Ao3Work(rating="Mature")
    epub = write_ao3_epub(tmp_path / "lantern.epub", work).read_bytes()
    bomb = write_zip_bomb(tmp_path / "bomb.epub").read_bytes()
    data = copy_library(lighthouse_library, tmp_path)

    async def main() -> None:
        async with FakeDiscord() as fake, running_storybot(fake, bot_settings(fake, data)):
            nsfw = await fake.add_channel(fake.guild_id, "after-dark", nsfw=True)
            for name, blob in (("bomb.epub", bomb), ("lantern.epub", epub)):
                add = fake.slash_interaction(
                    "story",
                    subcommand="add",
                    attachments={"file": (name, blob)},
                    user_id=ADMIN,
                    permissions=ADMIN_PERMISSIONS,
                )
                await fake.dispatch("INTERACTION_CREATE", add)
                await fake.wait_until(lambda a=add: _content(fake, a).startswith(("Added", "Could not")), 60)  # type: ignore[misc]
                if name == "bomb.epub":
                    assert "refused as unsafe" in _content(fake, add)
            story = option("story", "lantern")
            gated = await command(fake, "ask", option("question", "What did Tomas find in the sand?"), story)
            assert "rated Mature" in gated["content"]
            asked = await command(
                fake, "ask", option("question", "What did Tomas find in the sand?"), story, channel_id=nsfw
            )
            assert "brass compass" in embed_text(asked)
            note = await command(
                fake, "ask", option("question", "Who was the beta reader?"), story, channel_id=nsfw
            )
            info = embed_text(await command(fake, "story", story, subcommand="info", channel_id=nsfw))
            for expected in (
                "saltwick",
                "Mature",
                "Lighthouse Keepers (TV)",
                "Slow Burn",
                "3 of ?",
                "The Storm",
            ):
                assert expected in info
            assert "Juniper" not in embed_text(note)  # notes are metadata, never passages

    asyncio.run(main())
    assert [s for s in Library.open(data).stories() if s.id == "bomb"] == []


def test_a_recap_stops_at_the_readers_chapter(tmp_path: Path, lighthouse_library: Path) -> None:
    async def main() -> None:
        async with (
            FakeDiscord() as fake,
            running_storybot(fake, bot_settings(fake, copy_library(lighthouse_library, tmp_path))),
        ):
            await command(fake, "progress", option("story", "lighthouse"), option("chapter", 2))
            recap = embed_text(await command(fake, "recap", option("story", "lighthouse")))
            assert "Chapter 1: The Keeper" in recap
            assert "storm shattered" in recap
            assert "blue glass" not in recap.lower()
            assert "Up to chapter 2" in recap
            assert all(pings_nobody(m) for _, m in sent_payloads(fake))

    asyncio.run(main())
