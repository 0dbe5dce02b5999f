"""The fake Discord drives the real discord.py client: login, gateway, slash commands, rate limits, resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import discord
from discord import app_commands

from tests.fake_discord import FakeDiscord, running_fake

USER_ID = 111111111111111111
TEST_TIMEOUT = 15.0


@dataclass
class Bot:
    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    messages: asyncio.Queue[discord.Message] = field(default_factory=asyncio.Queue)
    errors: list[BaseException] = field(default_factory=list)


@contextlib.asynccontextmanager
async def running_bot() -> AsyncIterator[Bot]:
    """A logged-in, READY discord.py client with a /ping command; closed on exit."""
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    bot = Bot(client, tree)

    @tree.command(name="ping", description="Replies pong")
    async def ping(interaction: discord.Interaction[discord.Client]) -> None:
        await interaction.response.defer()
        await interaction.followup.send("pong", allowed_mentions=discord.AllowedMentions.none())

    @tree.error
    async def on_tree_error(
        interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
    ) -> None:
        bot.errors.append(error)

    @client.event
    async def on_message(message: discord.Message) -> None:
        await bot.messages.put(message)

    connect: asyncio.Task[None] | None = None
    try:
        await client.login("fake-token")
        connect = asyncio.create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield bot
    finally:
        await client.close()
        if connect is not None:
            await asyncio.wait_for(connect, 5)
    assert bot.errors == []


def run(body: Callable[[FakeDiscord], Awaitable[None]]) -> None:
    """Run ``body`` against a fresh fake (discord.py patched to use it) and check nothing is left running."""

    async def main() -> None:
        async with running_fake() as fake:
            await asyncio.wait_for(body(fake), TEST_TIMEOUT)
        await asyncio.sleep(0)
        leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        assert leaked == [], f"leaked tasks: {leaked}"

    original_base = discord.http.Route.BASE
    asyncio.run(main())
    assert original_base == discord.http.Route.BASE


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
