"""The fake Discord with the real discord.py client: guilds, channels, NSFW, replies, message edits."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.fake_client import USER_ID, Bot, next_message, run, running_bot
from tests.fake_discord import (
    FakeDiscord,
)


async def ask(
    fake: FakeDiscord, name: str, *, guild_id: str | None = None, channel_id: str | None = None
) -> str:
    """Run ``/name`` there and return the content of the bot's reply."""
    payload = fake.slash_interaction(name, user_id=USER_ID, guild_id=guild_id, channel_id=channel_id)
    await fake.dispatch("INTERACTION_CREATE", payload)
    return str((await fake.wait_for_response(payload))["content"])


def test_guilds_channels_nsfw_and_guild_commands() -> None:
    second_guild: list[str] = []

    def setup(bot: Bot) -> None:
        @bot.tree.command(name="where", description="Describe this channel")
        async def where(interaction: discord.Interaction[discord.Client]) -> None:
            channel = interaction.channel
            assert isinstance(channel, discord.TextChannel)
            await interaction.response.send_message(
                f"{channel.guild.name}/{channel.name} nsfw={channel.is_nsfw()}"
            )

        @bot.tree.command(name="local", description="Only here", guild=discord.Object(int(second_guild[0])))
        async def local(interaction: discord.Interaction[discord.Client]) -> None:
            await interaction.response.send_message("local")

    async def body(fake: FakeDiscord) -> None:
        second = await fake.add_guild("Second Guild")  # before login: in READY
        second_guild.append(second)
        after_dark = await fake.add_channel(second, "after-dark", nsfw=True)
        async with running_bot(setup) as bot:
            assert {g.name for g in bot.client.guilds} == {fake.guild_name, "Second Guild"}
            await bot.tree.sync(guild=discord.Object(int(second)))
            assert await ask(fake, "where") == f"{fake.guild_name}/general nsfw=False"
            assert await ask(fake, "where", channel_id=after_dark) == "Second Guild/after-dark nsfw=True"
            assert await ask(fake, "where", guild_id=second) == "Second Guild/general nsfw=False"
            assert await ask(fake, "local", guild_id=second) == "local"

    run(body)


def test_guilds_and_channels_added_while_connected() -> None:
    joined: asyncio.Queue[discord.Guild] = asyncio.Queue()

    def setup(bot: Bot) -> None:
        @bot.client.event
        async def on_guild_join(guild: discord.Guild) -> None:
            await joined.put(guild)

    async def body(fake: FakeDiscord) -> None:
        async with running_bot(setup) as bot:
            third = await fake.add_guild("Third Guild")  # live: GUILD_CREATE
            assert (await asyncio.wait_for(joined.get(), 3)).id == int(third)
            late = await fake.add_channel(third, "late-night", nsfw=True)  # live: CHANNEL_CREATE
            await fake.wait_until(lambda: bot.client.get_channel(int(late)) is not None)
            channel = bot.client.get_channel(int(late))
            assert isinstance(channel, discord.TextChannel)
            assert channel.is_nsfw()
            assert fake.guild_channels(third)[1:] == [late]

    run(body)


def test_replies_resolve_the_referenced_message() -> None:
    def setup(bot: Bot) -> None:
        async def answer(message: discord.Message) -> None:
            me = bot.client.user
            if me is not None and message.author.id != me.id and me.mentioned_in(message):
                await message.reply("The lighthouse.", mention_author=False)

        bot.on_message = answer

    async def body(fake: FakeDiscord) -> None:
        async with running_bot(setup) as bot:
            question = fake.mention_message("where is it?", author_id=USER_ID)
            assert question["content"] == f"<@{fake.application_id}> where is it?"
            await fake.dispatch("MESSAGE_CREATE", question)
            post = await fake.wait_for("POST", rf"/channels/{fake.channel_id}/messages$", status=200)
            assert str(post.json["message_reference"]["message_id"]) == question["id"]
            assert post.response["type"] == 19
            assert post.response["referenced_message"]["id"] == question["id"]
            answer_id = post.response["id"]
            assert fake.bot_messages[answer_id]["message_reference"]["message_id"] == question["id"]

            # Discord echoes the bot's own message back over the gateway.
            echo = await next_message(bot, lambda m: m.id == int(answer_id))
            assert echo.reference is not None
            assert isinstance(echo.reference.resolved, discord.Message)
            assert echo.reference.resolved.id == int(question["id"])

            follow_up = fake.message_create("and then?", author_id=USER_ID, reply_to=answer_id)
            await fake.dispatch("MESSAGE_CREATE", follow_up)
            seen = await next_message(bot, lambda m: m.id == int(follow_up["id"]))
            assert seen.reference is not None
            resolved = seen.reference.resolved
            assert isinstance(resolved, discord.Message)
            assert resolved.author.id == int(fake.application_id)
            assert resolved.content == "The lighthouse."

    run(body)


def test_channel_messages_can_be_fetched_edited_and_deleted() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            channel = await bot.client.fetch_channel(int(fake.channel_id))
            assert isinstance(channel, discord.TextChannel)
            assert channel.name == fake.channel_name
            with pytest.raises(discord.NotFound):
                await bot.client.fetch_channel(1)

            sent = await channel.send("draft", embed=discord.Embed(title="Chapter 1"))
            assert fake.bot_messages[str(sent.id)]["embeds"][0]["title"] == "Chapter 1"
            edited = await sent.edit(content="final")
            assert edited.content == "final"
            assert (await channel.fetch_message(sent.id)).content == "final"
            assert fake.bot_messages[str(sent.id)]["edited_timestamp"] is not None
            await sent.add_reaction("👀")
            await sent.delete()
            assert str(sent.id) not in fake.bot_messages
            with pytest.raises(discord.NotFound):
                await channel.fetch_message(sent.id)

            dm = await bot.client.create_dm(discord.Object(USER_ID))
            private = await dm.send("psst")
            assert "guild_id" not in fake.bot_messages[str(private.id)]
            assert fake.channels[str(dm.id)]["recipients"][0]["id"] == str(USER_ID)

    run(body)


def test_strict_message_content_hides_content_without_the_intent() -> None:
    async def body(fake: FakeDiscord) -> None:
        async with running_bot() as bot:
            plain = fake.message_create("hello there", author_id=USER_ID)
            await fake.dispatch("MESSAGE_CREATE", plain)
            assert (await next_message(bot, lambda m: m.id == int(plain["id"]))).content == ""
            mention = fake.mention_message("hello bot", author_id=USER_ID)
            await fake.dispatch("MESSAGE_CREATE", mention)
            assert (await next_message(bot, lambda m: m.id == int(mention["id"]))).content == mention[
                "content"
            ]

    run(body, strict_message_content=True)
