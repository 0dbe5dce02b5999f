"""The discord.py bot: holds the services, loads one extension per feature, handles every error once."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any, NamedTuple

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import chart
from bot.catalog import Catalog
from bot.composers import LLMComposer
from bot.cooldown import QuestionCooldown
from bot.formatting import send_kwargs
from bot.formatting.stories import story_choices
from bot.health import Heartbeat, State, write_heartbeat
from bot.settings import Settings
from index.errors import StorybotError

log = logging.getLogger("storybot.bot")

EXTENSIONS = ("bot.exts.ask", "bot.exts.stories", "bot.exts.progress", "bot.exts.recap", "bot.exts.who")
RESTARTING = "storybot is restarting; ask again in a minute."
# After the grace period, abandoned jobs get this long to tell their users before they are cancelled.
ABANDON_WAIT = 3.0


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


class ShuttingDown(app_commands.AppCommandError):
    """The bot was told to stop: it finishes what it is doing and takes nothing new."""


def user_message(error: BaseException) -> str:
    """The short, true sentence a Discord user is shown for ``error``."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        error = error.__cause__ or error
    if isinstance(error, ShuttingDown):
        return RESTARTING
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
    return isinstance(cause, StorybotError | app_commands.CheckFailure | OnCooldown | ShuttingDown)


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

    async def interaction_check(self, interaction: discord.Interaction[StoryBot]) -> bool:
        """Count every command as work in flight; once shutting down, refuse new ones."""
        if interaction.type is discord.InteractionType.autocomplete:
            return not interaction.client.draining
        interaction.client.begin_work()
        return True

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
        self.draining = False
        # Set when the grace period is over: uploads in a worker thread give up at their next step.
        self.abandon = threading.Event()
        self._work: set[asyncio.Task[Any]] = set()
        self._was_ready = False  # before the first READY the heartbeat says "starting", not "disconnected"

    async def setup_hook(self) -> None:
        """Load the extensions, register the slash commands, and start the heartbeat."""
        for name in EXTENSIONS:
            await self.load_extension(name)
        if self.settings.sync_commands:
            synced = await self.tree.sync()
            log.info("registered %d slash commands", len(synced))
        self.loop.create_task(self._heartbeats(), name="storybot-heartbeat")
        # Kept: the loop holds tasks weakly.
        self._warm_up = self.loop.create_task(asyncio.to_thread(chart.warm), name="storybot-chart-warm-up")

    async def on_ready(self) -> None:
        """Log the connection and tell the healthcheck at once."""
        log.info("connected as %s to %d servers", self.user, len(self.guilds))
        self._was_ready = True
        await self.beat()

    async def on_resumed(self) -> None:
        """Tell the healthcheck the connection is back."""
        await self.beat()

    # -- health and shutdown ---------------------------------------------------------------------
    def connected(self) -> bool:
        """Whether the gateway connection is up and the bot has received its servers."""
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    def shard_ids_running(self) -> list[int]:
        """The gateway shards this process runs (none when unsharded)."""
        return []

    async def beat(self, state: State | None = None) -> None:
        """Refresh the heartbeat file `storybot health` reads."""
        beat = Heartbeat(
            pid=os.getpid(),
            state=state or self._state(),
            at=time.time(),
            every=self.settings.heartbeat_seconds,
            servers=len(self.guilds),
            stories=len(await asyncio.to_thread(self.catalog.library.stories)),
            shards=self.shard_ids_running(),
        )
        try:
            await asyncio.to_thread(write_heartbeat, self.settings.heartbeat_file, beat)
        except OSError as exc:
            log.warning("could not write the heartbeat file %s: %s", self.settings.heartbeat_file, exc)

    def _state(self) -> State:
        if self.draining:
            return "stopping"
        if self.connected():
            return "ready"
        return "disconnected" if self._was_ready else "starting"

    async def _heartbeats(self) -> None:
        while not self.is_closed():
            await self.beat()
            await asyncio.sleep(self.settings.heartbeat_seconds)

    def begin_work(self) -> None:
        """Count the running task as a question in flight, or raise ShuttingDown once stopping."""
        if self.draining:
            raise ShuttingDown(RESTARTING)
        task = asyncio.current_task()
        if task is not None and task not in self._work:
            self._work.add(task)
            task.add_done_callback(self._work.discard)

    async def shut_down(self, grace: float) -> bool:
        """Take nothing new, give the questions in flight up to ``grace`` seconds, then disconnect.

        Returns whether they all finished; abandoned ones may leave a worker thread running.
        """
        self.draining = True
        await self.beat("stopping")
        pending = {task for task in self._work if not task.done()}
        if pending:
            log.info("stopping: finishing %d questions in flight (up to %.0f s)", len(pending), grace)
            _, pending = await asyncio.wait(pending, timeout=grace)
        if pending:
            log.warning("stopping: %d still running after %.0f s; abandoning them", len(pending), grace)
            self.abandon.set()
            _, pending = await asyncio.wait(pending, timeout=ABANDON_WAIT)
            for task in pending:
                task.cancel()
        await self.close()
        return not self.abandon.is_set()

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


class ShardedStoryBot(StoryBot, commands.AutoShardedBot):
    """StoryBot over several gateway shards: one process runs some or all of a bot's shards."""

    def connected(self) -> bool:
        """Whether every shard this process runs is connected."""
        expected = self.shard_ids or range(self.shard_count or 0)
        return (
            self.is_ready()
            and not self.is_closed()
            and all(s in self.shards and not self.shards[s].is_closed() for s in expected)
        )

    def shard_ids_running(self) -> list[int]:
        """The gateway shards this process runs."""
        return sorted(self.shards)


def make_bot(services: Services, settings: Settings) -> StoryBot:
    """A StoryBot, sharded when the settings give a shard count."""
    if settings.shard_count is None:
        return StoryBot(services, settings)
    return ShardedStoryBot(services, settings, shard_count=settings.shard_count, shard_ids=settings.shard_ids)
