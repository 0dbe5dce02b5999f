"""A plain discord.py client (no storybot code) connected to the fake Discord, for testing the fake."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands

from tests.fake_discord import FakeDiscord, running_fake
from tests.fake_discord.payloads import BUTTON, JSON

USER_ID = 111111111111111111
OTHER_USER_ID = 222222222222222222
TEST_TIMEOUT = 15.0


@dataclass
class Bot:
    client: discord.Client
    tree: app_commands.CommandTree[discord.Client]
    messages: asyncio.Queue[discord.Message] = field(default_factory=asyncio.Queue)
    errors: list[BaseException] = field(default_factory=list)
    on_message: Callable[[discord.Message], Awaitable[None]] | None = None


def handles_button(client: discord.Client, custom_id: str) -> bool:
    """Whether ``client`` would run a press of the button ``custom_id`` now.

    discord.py listens to a message's buttons only once the response to the request that sent them
    comes back, and a test can see the message and press sooner than that (a reader never does):
    such a press is dropped. discord.py has no public way to ask, hence its view store is read.
    """
    views = client._connection._view_store._views
    return any((BUTTON, custom_id) in items for items in views.values())


async def press(
    fake: FakeDiscord, client: discord.Client, message_id: str, custom_id: str, *, user_id: int
) -> JSON:
    """Press a button on a message the way a reader does: once it is live. Returns the interaction."""
    await fake.wait_until(lambda: handles_button(client, custom_id), 5.0)
    interaction = fake.component_interaction(message_id, custom_id, user_id=user_id)
    await fake.dispatch("INTERACTION_CREATE", interaction)
    return interaction


@contextlib.asynccontextmanager
async def running_bot(setup: Callable[[Bot], None] | None = None) -> AsyncIterator[Bot]:
    """A logged-in, READY discord.py client with a /ping command (plus ``setup``'s); closed on exit."""
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    bot = Bot(client, tree)
    if setup is not None:
        setup(bot)

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
        if bot.on_message is not None:
            await bot.on_message(message)

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


def run(body: Callable[[FakeDiscord], Awaitable[None]], **fake_options: Any) -> None:
    """Run ``body`` against a fresh fake (discord.py patched to use it) and check nothing is left running."""

    async def main() -> None:
        async with running_fake(**fake_options) as fake:
            await asyncio.wait_for(body(fake), TEST_TIMEOUT)
        await asyncio.sleep(0)
        leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        assert leaked == [], f"leaked tasks: {leaked}"

    original_base = discord.http.Route.BASE
    asyncio.run(main())
    assert original_base == discord.http.Route.BASE


async def next_message(bot: Bot, predicate: Callable[[discord.Message], bool]) -> discord.Message:
    """The next message ``on_message`` saw that satisfies ``predicate`` (others are skipped)."""
    while True:
        message = await asyncio.wait_for(bot.messages.get(), 3)
        if predicate(message):
            return message
