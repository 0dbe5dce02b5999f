"""The discord.py bot: holds the services, loads one extension per feature, handles every error once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.catalog import Catalog
from bot.composers import LLMComposer
from bot.cooldown import QuestionCooldown
from bot.formatting import send_kwargs
from bot.formatting.stories import story_choices
from bot.settings import Settings
from index.errors import StorybotError

log = logging.getLogger("storybot.bot")

EXTENSIONS = ("bot.exts.ask", "bot.exts.stories", "bot.exts.progress", "bot.exts.recap")


class Where(NamedTuple):
    """Who asks, in which server, and whether the channel is age-restricted (the rating gate)."""

    guild: int
    user: int
    nsfw: bool


def is_nsfw(channel: object) -> bool:
    """Whether a channel (or a thread, through its parent) is age-restricted."""
    check = getattr(channel, "is_nsfw", None)
    return bool(check()) if callable(check) else False


def where_asked(interaction: discord.Interaction[Any]) -> Where:
    """The server, user and channel rating of an interaction."""
    return Where(interaction.guild_id or 0, interaction.user.id, is_nsfw(interaction.channel))


class Services(NamedTuple):
    """What the bot runs on: the stories, and the LLM composer if one is configured."""

    catalog: Catalog
    llm: LLMComposer | None


class OnCooldown(app_commands.AppCommandError):
    """A user asked more questions than the cooldown allows."""

    def __init__(self, retry_after: float):
        super().__init__(f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


def user_message(error: BaseException) -> str:
    """The short, true sentence a Discord user is shown for ``error``."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    if isinstance(error, OnCooldown):
        return f"Slow down a little: you can ask again in {max(1, round(error.retry_after))} s."
    if isinstance(error, app_commands.MissingPermissions):
        needed = " and ".join(
            p.replace("_", " ").replace("guild", "server").title() for p in error.missing_permissions
        )
        return f"You need the {needed} permission for this."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works in a server, not in direct messages."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, StorybotError):
        return str(error)[:1000]
    return "Something went wrong on my side; the bot's host can find the details in its log."


def expected(error: BaseException) -> bool:
    """Whether ``error`` is a user's mistake (one log line) rather than a bug (a traceback)."""
    cause = error.__cause__ if isinstance(error, app_commands.CommandInvokeError) else error
    return isinstance(cause, StorybotError | app_commands.CheckFailure | OnCooldown)


async def tell(interaction: discord.Interaction[Any], text: str) -> None:
    """Send ``text`` privately to the user of ``interaction``, as a response or a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **send_kwargs())
        else:
            await interaction.response.send_message(text, ephemeral=True, **send_kwargs())
    except discord.HTTPException:
        log.warning("could not tell user %s about an error", interaction.user.id)


class StoryTree(app_commands.CommandTree["StoryBot"]):
    """The command tree, with the one error handler every slash command and autocomplete shares."""

    async def on_error(
        self, interaction: discord.Interaction[StoryBot], error: app_commands.AppCommandError
    ) -> None:
        """Show the user a short message; log the traceback unless it was the user's mistake."""
        name = interaction.command.qualified_name if interaction.command else "?"
        if expected(error):
            log.info("/%s refused: %s", name, user_message(error))
        else:
            log.error("/%s failed", name, exc_info=error)
        await tell(interaction, user_message(error))


class StoryBot(commands.Bot):
    """storybot on Discord: slash commands and mentions over a Catalog of stories."""

    def __init__(self, services: Services, settings: Settings, **options: Any):
        # storybot never joins voice; the missing voice libraries are not worth a warning per start.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            # Mentions are read by the ask extension; there are no prefix commands.
            command_prefix=commands.when_mentioned,
            help_command=None,
            # No privileged intent: messages that mention the bot carry their content anyway.
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=StoryTree,
            **options,
        )
        self.catalog = services.catalog
        self.llm = services.llm
        self.settings = settings
        self.cooldown = QuestionCooldown(settings.cooldown_questions, settings.cooldown_seconds)

    async def setup_hook(self) -> None:
        """Load the extensions and register the slash commands."""
        for name in EXTENSIONS:
            await self.load_extension(name)
        if self.settings.sync_commands:
            synced = await self.tree.sync()
            log.info("registered %d slash commands", len(synced))

    async def on_ready(self) -> None:
        """Log the connection."""
        log.info("connected as %s to %d servers", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        """Prefix commands are not used; the ask extension's listener handles mentions."""

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log errors from event listeners (mentions) with their traceback."""
        log.exception("error in %s", event_method)

    def check_cooldown(self, user_id: int) -> None:
        """Spend one of the user's questions, or raise OnCooldown."""
        retry_after = self.cooldown.retry_after(user_id)
        if retry_after is not None:
            raise OnCooldown(retry_after)


async def story_choices_for(
    interaction: discord.Interaction[StoryBot], current: str, *, own: bool = False
) -> list[app_commands.Choice[str]]:
    """Autocomplete the server's stories (``own``: only those it added) matching what the user typed."""
    guild = interaction.guild_id or 0
    stories = await asyncio.to_thread(interaction.client.catalog.visible, guild)
    return story_choices([s for s in stories if not own or s.guild == guild], current)


def point_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the given endpoints."""
    # discord.py reads these class attributes whenever it builds a route or connects.
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


async def serve(settings: Settings, build: Callable[[], Services], token: str) -> None:
    """Load the model and library in a worker thread, then connect and answer until closed."""
    point_at(settings.discord_api_base, settings.discord_gateway_url)
    log.info("loading the model and the library from %s", settings.data_dir)
    services = await asyncio.to_thread(build)
    async with StoryBot(services, settings) as bot:
        await bot.start(token)
