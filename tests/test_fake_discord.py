"""The fake Discord drives the real discord.py client: login, gateway, slash commands, rate limits, resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fake_discord import (
    AUTOCOMPLETE_RESULT,
    DEFERRED_UPDATE,
    MESSAGE_FLAG_EPHEMERAL,
    UPDATE_MESSAGE,
    FakeDiscord,
    option,
    running_fake,
)

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


async def next_message(bot: Bot, predicate: Callable[[discord.Message], bool]) -> discord.Message:
    """The next message ``on_message`` saw that satisfies ``predicate`` (others are skipped)."""
    while True:
        message = await asyncio.wait_for(bot.messages.get(), 3)
        if predicate(message):
            return message


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
        async with running_bot(setup):
            payload = fake.slash_interaction("vote", user_id=USER_ID)
            await fake.dispatch("INTERACTION_CREATE", payload)
            message_id = (await fake.wait_for_response(payload))["id"]
            buttons = fake.bot_messages[message_id]["components"][0]["components"]
            assert [b["custom_id"] for b in buttons] == ["later", "yes"]

            later = fake.component_interaction(message_id, "later", user_id=OTHER_USER_ID)
            await fake.dispatch("INTERACTION_CREATE", later)
            assert (await fake.wait_for_callback(later)).json["type"] == DEFERRED_UPDATE
            await fake.wait_for("PATCH", rf"/webhooks/\d+/{later['token']}/messages/@original$", status=200)
            assert fake.bot_messages[message_id]["content"] == "Maybe later"

            yes = fake.component_interaction(message_id, "yes", user_id=OTHER_USER_ID)
            assert yes["message"]["content"] == "Maybe later"
            await fake.dispatch("INTERACTION_CREATE", yes)
            assert (await fake.wait_for_callback(yes)).json["type"] == UPDATE_MESSAGE
            assert fake.bot_messages[message_id]["content"] == f"Voted by {OTHER_USER_ID}"
            assert fake.bot_messages[message_id]["components"] == []

    run(body)


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
