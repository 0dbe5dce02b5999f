"""The fake Discord drives the real discord.py client: login, gateway, slash commands, rate limits, resume."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fake_client import OTHER_USER_ID, USER_ID, Bot, press, run, running_bot
from tests.fake_discord import (
    AUTOCOMPLETE_RESULT,
    DEFERRED_UPDATE,
    MESSAGE_FLAG_EPHEMERAL,
    UPDATE_MESSAGE,
    FakeDiscord,
    option,
    shard_of,
)


async def ping_roundtrip(fake: FakeDiscord) -> None:
    """Dispatch /ping and check the deferred callback and the "pong" followup."""
    payload = fake.slash_interaction("ping", [], user_id=USER_ID)
    await fake.dispatch("INTERACTION_CREATE", payload)
    interaction, token = payload["id"], payload["token"]
    callback = await fake.wait_for("POST", rf"/interactions/{interaction}/{token}/callback$", timeout=3)
    assert callback.status == 200
    assert callback.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert callback.query.get("with_response") == "1"
    followup = await fake.wait_for(
        "POST", rf"/webhooks/{fake.application_id}/{token}$", timeout=3, status=200
    )
    assert followup.json["content"] == "pong"
    allowed = followup.json["allowed_mentions"]
    assert allowed["parse"] == []
    assert not allowed.get("users")
    assert not allowed.get("roles")
    assert not allowed.get("replied_user")


def test_login_and_ready() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            guild = bot.client.get_guild(int(fake.guild_id))
            assert guild is not None
            assert guild.name == fake.guild_name
            assert guild.get_channel(int(fake.channel_id)) is not None
            assert bot.client.user is not None
            assert bot.client.user.id == int(fake.application_id)
            assert bot.client.application_id == int(fake.application_id)
            assert fake.identify_count == 1
            assert fake.find("GET", r"/users/@me$", status=200)
            assert fake.gateway_queries[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
            # Unknown routes answer a Discord-style 404 and are recorded.
            async with aiohttp.ClientSession() as session, session.get(f"{fake.base_url}/nope") as response:
                assert response.status == 404
                assert response.headers["Content-Type"] == "application/json"
                assert (await response.json())["code"] == 0
            assert fake.find("GET", r"/nope$", status=404)
            url = fake.add_attachment("chapter.txt", b"Once upon a time")
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert await response.read() == b"Once upon a time"

    run(body)


def test_slash_command_defers_then_follows_up() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            synced = await bot.tree.sync()
            assert [c.name for c in synced] == ["ping"]
            assert synced[0].id > 0
            await ping_roundtrip(fake)

    run(body)


def test_rate_limited_followup_is_retried() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot():
            fake.fail_next("POST", r"/webhooks/", 429, retry_after=0.2)
            await ping_roundtrip(fake)
            attempts = fake.find("POST", r"/webhooks/")
            assert [r.status for r in attempts] == [429, 200]

    run(body)


def test_reconnects_after_dropped_connection() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            await ping_roundtrip(fake)
            await fake.drop_connection()
            await fake.wait_until(lambda: fake.resume_count + fake.identify_count >= 2)
            assert fake.resume_count == 1
            assert fake.gateway_paths[-1] == "/gateway-resume"
            await ping_roundtrip(fake)
            assert bot.client.get_guild(int(fake.guild_id)) is not None

    run(body)


def test_message_create_reaches_on_message() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            await fake.dispatch("MESSAGE_CREATE", fake.message_create("hello there", author_id=USER_ID))
            message = await asyncio.wait_for(bot.messages.get(), 3)
            assert message.content == "hello there"
            assert message.author.id == USER_ID
            assert message.channel.id == int(fake.channel_id)
            assert message.guild is not None
            assert message.guild.id == int(fake.guild_id)

    run(body)


def test_subcommand_attachment_is_downloaded_and_ephemeral_defer_is_kept() -> None:
    story = b"Chapter 1\nThe keeper climbed the stairs."

    def setup(bot: Bot) -> None:
        group = app_commands.Group(name="story", description="Manage stories")

        @group.command(name="add", description="Add a story")
        @app_commands.describe(file="The story text", title="Its title")
        async def add(
            interaction: discord.Interaction[discord.Client], file: discord.Attachment, title: str
        ) -> None:
            await interaction.response.defer(ephemeral=True)
            data = await file.read()
            await interaction.followup.send(
                f"{title}|{file.filename}|{file.size}|{file.content_type}|{data.decode()}"
            )

        bot.tree.add_command(group)

    async def body(fake: FakeDiscord) -> None:
        async with running_bot(setup):
            payload = fake.slash_interaction(
                "story",
                [option("title", "Keeper")],
                user_id=USER_ID,
                subcommand="add",
                attachments={"file": ("keeper.txt", story)},
            )
            assert payload["data"]["options"][0]["type"] == 1
            await fake.dispatch("INTERACTION_CREATE", payload)
            reply = await fake.wait_for_response(payload)
            assert (
                reply["content"]
                == f"Keeper|keeper.txt|{len(story)}|text/plain; charset=utf-8|{story.decode()}"
            )
            # The first followup fills the deferred message, which stays ephemeral.
            assert reply["flags"] & MESSAGE_FLAG_EPHEMERAL
            assert fake.response_messages(payload) == [reply]
            assert reply["id"] in fake.bot_messages
            # Ephemeral messages never reach the gateway.
            assert all(d.get("id") != reply["id"] for e, d in fake.dispatched if e.startswith("MESSAGE_"))

    run(body)


def test_autocomplete_choices_arrive_in_the_callback() -> None:
    titles = ["Dragon's Wake", "Drowned Bells", "Ember"]

    def setup(bot: Bot) -> None:
        @bot.tree.command(name="read", description="Read a story")
        @app_commands.describe(title="Story title")
        async def read(interaction: discord.Interaction[discord.Client], title: str) -> None:
            await interaction.response.send_message(title)

        @read.autocomplete("title")
        async def title_choices(
            interaction: discord.Interaction[discord.Client], current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=t, value=t) for t in titles if t.lower().startswith(current)]

    async def body(fake: FakeDiscord) -> None:
        async with running_bot(setup):
            payload = fake.autocomplete_interaction("read", "title", "dr", user_id=USER_ID)
            await fake.dispatch("INTERACTION_CREATE", payload)
            callback = await fake.wait_for_callback(payload)
            assert callback.json["type"] == AUTOCOMPLETE_RESULT
            assert [c["value"] for c in callback.json["data"]["choices"]] == [
                "Dragon's Wake",
                "Drowned Bells",
            ]
            assert fake.response_messages(payload) == []

    run(body)


class Vote(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Later", custom_id="later")
    async def later(
        self, interaction: discord.Interaction[discord.Client], button: discord.ui.Button[Vote]
    ) -> None:
        await interaction.response.defer()  # a component's defer is DEFERRED_UPDATE_MESSAGE
        await interaction.edit_original_response(content="Maybe later")

    @discord.ui.button(label="Yes", custom_id="yes", style=discord.ButtonStyle.success)
    async def yes(
        self, interaction: discord.Interaction[discord.Client], button: discord.ui.Button[Vote]
    ) -> None:
        await interaction.response.edit_message(content=f"Voted by {interaction.user.id}", view=None)


def test_button_clicks_reach_the_view_and_edit_the_stored_message() -> None:
    def setup(bot: Bot) -> None:
        @bot.tree.command(name="vote", description="Start a vote")
        async def vote(interaction: discord.Interaction[discord.Client]) -> None:
            await interaction.response.send_message("Vote?", view=Vote())

    async def body(fake: FakeDiscord) -> None:
        async with running_bot(setup) as bot:
            payload = fake.slash_interaction("vote", user_id=USER_ID)
            await fake.dispatch("INTERACTION_CREATE", payload)
            message_id = (await fake.wait_for_response(payload))["id"]
            buttons = fake.bot_messages[message_id]["components"][0]["components"]
            assert [b["custom_id"] for b in buttons] == ["later", "yes"]

            later = await press(fake, bot.client, message_id, "later", user_id=OTHER_USER_ID)
            assert (await fake.wait_for_callback(later)).json["type"] == DEFERRED_UPDATE
            await fake.wait_for("PATCH", rf"/webhooks/\d+/{later['token']}/messages/@original$", status=200)
            assert fake.bot_messages[message_id]["content"] == "Maybe later"

            yes = await press(fake, bot.client, message_id, "yes", user_id=OTHER_USER_ID)
            assert yes["message"]["content"] == "Maybe later"
            assert (await fake.wait_for_callback(yes)).json["type"] == UPDATE_MESSAGE
            assert fake.bot_messages[message_id]["content"] == f"Voted by {OTHER_USER_ID}"
            assert fake.bot_messages[message_id]["components"] == []

    run(body)


# -- shards -------------------------------------------------------------------------------------------
@dataclass
class Sharded:
    """A plain discord.py AutoShardedClient and what reached it."""

    name: str
    client: discord.AutoShardedClient
    messages: list[discord.Message] = field(default_factory=list)
    interaction_guilds: list[int | None] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class QuickShards(discord.AutoShardedClient):
    """An AutoShardedClient that identifies every shard at once."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before each shard after the first (Discord's identify rate limit);
        # the fake has no such limit.
        pass


@contextlib.asynccontextmanager
async def running_sharded(name: str, **options: Any) -> AsyncIterator[Sharded]:
    """A READY AutoShardedClient whose /ping answers "pong from {name}"; closed on exit."""
    client = QuickShards(intents=discord.Intents.default(), guild_ready_timeout=0.1, **options)
    tree: app_commands.CommandTree[discord.AutoShardedClient] = app_commands.CommandTree(client)
    seen = Sharded(name, client)

    @tree.command(name="ping", description="Replies pong")
    async def ping(interaction: discord.Interaction[discord.AutoShardedClient]) -> None:
        await interaction.response.send_message(f"pong from {name}")

    @tree.error
    async def on_tree_error(
        interaction: discord.Interaction[discord.AutoShardedClient], error: app_commands.AppCommandError
    ) -> None:
        seen.errors.append(error)

    async def on_message(message: discord.Message) -> None:
        seen.messages.append(message)

    async def on_interaction(interaction: discord.Interaction[discord.AutoShardedClient]) -> None:
        seen.interaction_guilds.append(interaction.guild_id)

    async def on_guild_join(guild: discord.Guild) -> None:
        seen.joined.append(guild.id)

    for listener in (on_message, on_interaction, on_guild_join):
        client.event(listener)
    connect: asyncio.Task[None] | None = None
    try:
        await client.login("fake-token")
        connect = asyncio.create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield seen
    finally:
        await client.close()
        if connect is not None:
            await asyncio.wait_for(connect, 5)
    assert seen.errors == []


async def ping_in(fake: FakeDiscord, guild_id: str) -> str:
    """Run /ping in ``guild_id`` and return the reply's text."""
    payload = fake.slash_interaction("ping", user_id=USER_ID, guild_id=guild_id)
    await fake.dispatch("INTERACTION_CREATE", payload)
    return str((await fake.wait_for_response(payload))["content"])


def guilds_of_shard(fake: FakeDiscord, shard_id: int, shard_count: int) -> set[int]:
    return {int(g) for g in fake.world.guilds if shard_of(g, shard_count) == shard_id}


def test_two_clients_split_the_guilds_by_shard() -> None:
    async def body(fake: FakeDiscord) -> None:
        left_guild = await fake.add_guild("Left", shard=(0, 2))
        right_guild = await fake.add_guild("Right", shard=(1, 2))
        owned = {shard: guilds_of_shard(fake, shard, 2) for shard in (0, 1)}
        assert int(left_guild) in owned[0]
        assert int(right_guild) in owned[1]
        async with (
            running_sharded("left", shard_count=2, shard_ids=[0]) as left,
            running_sharded("right", shard_count=2, shard_ids=[1]) as right,
        ):
            assert {g.id for g in left.client.guilds} == owned[0]
            assert {g.id for g in right.client.guilds} == owned[1]
            assert fake.live_shards == [(0, 2), (1, 2)]
            assert sorted(p["d"]["shard"] for p in fake.gateway_received if p.get("op") == 2) == [
                [0, 2],
                [1, 2],
            ]
            # A dispatch waits for and goes to the session of the guild's shard only.
            assert await ping_in(fake, left_guild) == "pong from left"
            assert await ping_in(fake, right_guild) == "pong from right"
            assert left.interaction_guilds == [int(left_guild)]
            assert right.interaction_guilds == [int(right_guild)]
            for guild, owner in ((left_guild, left), (right_guild, right)):
                message = fake.message_create("hello", author_id=USER_ID, guild_id=guild)
                await fake.dispatch("MESSAGE_CREATE", message)
                await fake.wait_until(lambda m=message, o=owner: int(m["id"]) in {x.id for x in o.messages})  # type: ignore[misc]
            # Direct messages have no guild: Discord sends them to shard 0.
            dm = fake.message_create(
                "psst", author_id=USER_ID, channel_id=fake.world.dm_channel(str(USER_ID))["id"]
            )
            await fake.dispatch("MESSAGE_CREATE", dm)
            await fake.wait_until(lambda: int(dm["id"]) in {m.id for m in left.messages})
            # A guild joined while connected is announced on its own shard.
            late = await fake.add_guild("Late", shard=(1, 2))
            await fake.wait_until(lambda: right.joined == [int(late)])
            assert left.client.get_guild(int(late)) is None
            await asyncio.sleep(0.1)  # room for a wrongly routed event to arrive
            # Each saw only its own guilds' messages (the bot's echoed replies included) and the DM.
            assert {m.guild.id if m.guild else None for m in left.messages} == {int(left_guild), None}
            assert {m.guild.id if m.guild else None for m in right.messages} == {int(right_guild)}
            assert left.joined == []

    run(body)


def test_a_client_without_a_shard_count_runs_the_recommended_shards() -> None:
    async def body(fake: FakeDiscord) -> None:
        left_guild = await fake.add_guild("Left", shard=(0, 2))
        right_guild = await fake.add_guild("Right", shard=(1, 2))
        async with running_sharded("both") as both:
            gateway_bot = fake.find("GET", r"/gateway/bot$", status=200)
            assert len(gateway_bot) == 1
            assert gateway_bot[0].response["url"] == fake.gateway_url
            assert gateway_bot[0].response["session_start_limit"]["max_concurrency"] == 1
            assert both.client.shard_count == 2
            assert fake.live_shards == [(0, 2), (1, 2)]
            assert {g.id for g in both.client.guilds} == {int(g) for g in fake.world.guilds}
            right = both.client.get_guild(int(right_guild))
            assert right is not None
            assert right.shard_id == 1
            assert await ping_in(fake, left_guild) == "pong from both"
            assert await ping_in(fake, right_guild) == "pong from both"
            assert both.interaction_guilds == [int(left_guild), int(right_guild)]

    run(body, recommended_shards=2)


def test_each_shard_resumes_its_own_session() -> None:
    async def body(fake: FakeDiscord) -> None:
        left_guild = await fake.add_guild("Left", shard=(0, 2))
        right_guild = await fake.add_guild("Right", shard=(1, 2))
        async with running_sharded("both", shard_count=2) as both:
            await fake.drop_connection(shard_id=1)
            await fake.wait_until(lambda: fake.resume_count == 1 and len(fake.live_shards) == 2)
            assert fake.gateway_paths[-1] == "/gateway-resume"
            # Shard 1 resumed its own session: its guild's events reach the client over it again.
            assert await ping_in(fake, right_guild) == "pong from both"
            await fake.drop_connection()
            await fake.wait_until(lambda: fake.resume_count == 3 and len(fake.live_shards) == 2)
            assert await ping_in(fake, left_guild) == "pong from both"
            assert await ping_in(fake, right_guild) == "pong from both"
            assert fake.identify_count == 2
            shard = both.client.get_shard(1)
            assert shard is not None
            assert not shard.is_closed()

    run(body)


def test_an_invalid_shard_is_refused_with_4010() -> None:
    async def identify(fake: FakeDiscord, shard: Any) -> tuple[int | None, str]:
        """Identify with ``shard`` over a bare websocket; the close code and reason the fake answers."""
        async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
            hello = await ws.receive_json(timeout=3)
            assert hello["op"] == 10
            await ws.send_str(
                json.dumps({"op": 2, "d": {"token": "fake-token", "intents": 0, "shard": shard}})
            )
            closing = await ws.receive(timeout=3)
            return ws.close_code, str(closing.extra or "")

    async def body(fake: FakeDiscord) -> None:
        for shard in ([2, 2], [0, 0], [-1, 2], "0,1", [0, True]):
            assert await identify(fake, shard) == (4010, "Invalid shard"), shard
        assert fake.identify_count == 0
        # discord.py gives up on 4010 rather than reconnecting.
        client = discord.AutoShardedClient(intents=discord.Intents.default(), shard_count=2, shard_ids=[2])
        await client.login("fake-token")
        with pytest.raises(discord.ConnectionClosed) as closed:
            await asyncio.wait_for(client.connect(), 5)
        assert closed.value.code == 4010
        assert client.is_closed()
        assert fake.identify_count == 0

    run(body)
