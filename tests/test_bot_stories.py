"""`/story add|list|remove` end to end: permissions, downloads, guild scope, bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.store import Library
from tests.bot_harness import (
    ADMIN,
    ADMIN_PERMISSIONS,
    READER,
    embed_text,
    pings_nobody,
    run_with_bot,
    sent_payloads,
)
from tests.fake_discord import CHANNEL_MESSAGE, JSON, MESSAGE_FLAG_EPHEMERAL, FakeDiscord, option

LANTERN = (
    "Chapter 1: The Keeper\n\nMira kept the copper lantern on the northern cliff for forty winters.\n\n"
    "Chapter 2: The Storm\n\nWhen the storm broke the lens, Mira carried the lantern down to the village.\n"
)


def stories_in(tmp_path: Path) -> list[tuple[str, int | None]]:
    """The stories in the bot's library (the harness copies it to tmp_path/data)."""
    library = Library.open(tmp_path / "data")
    try:
        return [(s.id, s.guild) for s in library.stories()]
    finally:
        library.close()


def add_story(fake: FakeDiscord, filename: str, data: bytes, **kwargs: Any) -> JSON:
    return fake.slash_interaction(
        "story", subcommand="add", attachments={"file": (filename, data)}, user_id=ADMIN, **kwargs
    )


async def private_reply(fake: FakeDiscord, payload: JSON) -> str:
    """The content of an ephemeral message sent in reply to ``payload`` (as a response or followup)."""
    callback = await fake.wait_for_callback(payload)
    if callback.json["type"] == CHANNEL_MESSAGE:
        assert callback.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
        return str(callback.json["data"]["content"])
    return str((await fake.wait_for_response(payload, timeout=30))["content"])


def test_a_reader_cannot_add_or_remove(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        add = add_story(fake, "lantern.txt", LANTERN.encode(), permissions="0")
        add["member"]["user"]["id"] = str(READER)
        await fake.dispatch("INTERACTION_CREATE", add)
        assert "Manage Server" in await private_reply(fake, add)
        remove = fake.slash_interaction(
            "story", [option("story", "demo")], subcommand="remove", user_id=READER
        )
        await fake.dispatch("INTERACTION_CREATE", remove)
        assert "Manage Server" in await private_reply(fake, remove)
        assert not fake.find("GET", r"/attachments/")

    run_with_bot(tmp_path, demo_library, body)
    assert stories_in(tmp_path) == [("demo", None)]


def test_an_admin_adds_a_story_that_only_that_server_can_read(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        other_guild = await fake.add_guild("Another Server")
        add = add_story(fake, "lantern.txt", LANTERN.encode(), permissions=ADMIN_PERMISSIONS)
        await fake.dispatch("INTERACTION_CREATE", add)
        await fake.wait_until(lambda: "Added" in _original(fake, add), timeout=60)
        assert fake.find("GET", r"/attachments/\d+-lantern.txt$")
        assert "`lantern`" in _original(fake, add)
        edits = [r.json["content"] for r in fake.find("PATCH", r"/webhooks/\d+/[^/]+/messages/@original$")]
        assert edits[0].startswith("Reading lantern.txt")  # progress shows before the result
        assert edits[-1].startswith("Added **Lantern**")

        ask = [option("question", "Who kept the copper lantern?"), option("story", "lantern")]
        here = fake.slash_interaction("ask", ask, user_id=READER)
        await fake.dispatch("INTERACTION_CREATE", here)
        answer = embed_text(await fake.wait_for_response(here, timeout=10))
        assert "Mira kept the copper lantern" in answer
        assert "Chapter 1" in answer

        there = fake.slash_interaction("ask", ask, user_id=READER, guild_id=other_guild)
        await fake.dispatch("INTERACTION_CREATE", there)
        assert "no story 'lantern' in this server" in await private_reply(fake, there)
        unscoped = fake.slash_interaction(
            "ask", [option("question", "Who kept the copper lantern?")], user_id=READER, guild_id=other_guild
        )
        await fake.dispatch("INTERACTION_CREATE", unscoped)
        assert "Mira" not in embed_text(await fake.wait_for_response(unscoped, timeout=10))

        listing = fake.slash_interaction("story", subcommand="list", user_id=READER, guild_id=other_guild)
        await fake.dispatch("INTERACTION_CREATE", listing)
        listed = embed_text(await fake.wait_for_response(listing, timeout=10))
        assert "demo" in listed
        assert "lantern" not in listed
        assert all(pings_nobody(m) for _, m in sent_payloads(fake))

    run_with_bot(tmp_path, demo_library, body)
    assert sorted(stories_in(tmp_path), key=str)[1][0] == "lantern"


def _original(fake: FakeDiscord, payload: JSON) -> str:
    messages = fake.response_messages(payload)
    return str(messages[0].get("content") or "") if messages else ""


def test_oversize_binary_and_unknown_files_are_refused_and_change_nothing(
    tmp_path: Path, demo_library: Path
) -> None:
    async def body(fake: FakeDiscord) -> None:
        big = add_story(fake, "huge.txt", b"All work and no play. " * 2000, permissions=ADMIN_PERMISSIONS)
        await fake.dispatch("INTERACTION_CREATE", big)
        assert "the largest story file accepted" in await private_reply(fake, big)
        assert not fake.find("GET", r"/attachments/\d+-huge.txt$")  # refused before downloading

        binary = add_story(fake, "story.txt", bytes(range(256)) * 8, permissions=ADMIN_PERMISSIONS)
        await fake.dispatch("INTERACTION_CREATE", binary)
        await fake.wait_until(lambda: "Could not add" in _original(fake, binary), timeout=20)
        assert "binary" in _original(fake, binary) or "text" in _original(fake, binary)

        image = add_story(fake, "cover.png", b"\x89PNG\r\n\x1a\n" * 10, permissions=ADMIN_PERMISSIONS)
        await fake.dispatch("INTERACTION_CREATE", image)
        await fake.wait_until(lambda: "Could not add" in _original(fake, image), timeout=20)
        assert "unsupported format" in _original(fake, image)

    before = (demo_library / "library.sqlite").stat().st_size
    run_with_bot(tmp_path, demo_library, body, max_upload_mb=0.02)
    assert stories_in(tmp_path) == [("demo", None)]
    assert before > 0


def test_an_admin_removes_the_servers_story_but_not_a_shared_one(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        add = add_story(fake, "lantern.txt", LANTERN.encode(), permissions=ADMIN_PERMISSIONS)
        await fake.dispatch("INTERACTION_CREATE", add)
        await fake.wait_until(lambda: "Added" in _original(fake, add), timeout=60)
        typing = fake.autocomplete_interaction(
            "story", "story", "", subcommand="remove", user_id=ADMIN, permissions=ADMIN_PERMISSIONS
        )
        await fake.dispatch("INTERACTION_CREATE", typing)
        choices = (await fake.wait_for_callback(typing)).json["data"]["choices"]
        assert [c["value"] for c in choices] == ["lantern"]  # shared stories are not offered
        shared = fake.slash_interaction(
            "story",
            [option("story", "demo")],
            subcommand="remove",
            user_id=ADMIN,
            permissions=ADMIN_PERMISSIONS,
        )
        await fake.dispatch("INTERACTION_CREATE", shared)
        assert "storybot remove demo" in (await fake.wait_for_response(shared, timeout=10))["content"]
        own = fake.slash_interaction(
            "story",
            [option("story", "lantern")],
            subcommand="remove",
            user_id=ADMIN,
            permissions=ADMIN_PERMISSIONS,
        )
        await fake.dispatch("INTERACTION_CREATE", own)
        assert "Removed" in (await fake.wait_for_response(own, timeout=10))["content"]

    run_with_bot(tmp_path, demo_library, body)
    assert stories_in(tmp_path) == [("demo", None)]
