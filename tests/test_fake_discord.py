"""The fake Discord drives the real discord.py client: login, gateway, slash commands, rate limits, resume."""

from __future__ import annotations

import asyncio

import aiohttp
import discord
from discord import app_commands

from tests.fake_client import OTHER_USER_ID, USER_ID, Bot, run, running_bot
from tests.fake_discord import (
    AUTOCOMPLETE_RESULT,
    DEFERRED_UPDATE,
    MESSAGE_FLAG_EPHEMERAL,
    UPDATE_MESSAGE,
    FakeDiscord,
    option,
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
