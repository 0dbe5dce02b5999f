"""`/story list|add|remove`: the stories a server can ask about; adding and removing need Manage Server."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import StoryBot
from bot.formatting import escape_story_text, send_kwargs, stories_embed, story_choices, truncate
from index.errors import InputError, StorybotError
from index.ingest import IngestSummary

log = logging.getLogger("storybot.stories")

_PROGRESS_EVERY = 2.0  # seconds between progress edits: well inside the webhook's 5 edits / 5 s
_MB = 1024 * 1024


class Stories(
    commands.GroupCog, group_name="story", group_description="The stories this server can ask about"
):
    """List, add and remove stories."""

    def __init__(self, bot: StoryBot):
        self.bot = bot
        super().__init__()

    @app_commands.command(name="list", description="List the stories you can ask about here")
    @app_commands.guild_only()
    async def list_stories(self, interaction: discord.Interaction[StoryBot]) -> None:
        """Show the server's stories (its own and the shared ones)."""
        await interaction.response.defer()
        stories = await asyncio.to_thread(self.bot.catalog.visible, interaction.guild_id or 0)
        server = interaction.guild.name if interaction.guild else "this server"
        await interaction.followup.send(embed=stories_embed(stories, server=server), **send_kwargs())

    @app_commands.command(name="add", description="Add a story file (.txt or .md) to this server")
    @app_commands.guild_only()
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        file="The story: a plain-text (.txt) or Markdown (.md) file",
        title="The story's title (default: from the file)",
        story_id="A short id for the story (default: from the file name)",
    )
    async def add(
        self,
        interaction: discord.Interaction[StoryBot],
        file: discord.Attachment,
        title: app_commands.Range[str, 1, 200] | None = None,
        story_id: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Download the file, ingest it in a worker thread, and report progress by editing the reply."""
        cap = round(self.bot.settings.max_upload_mb * _MB)
        _check_size(file.filename, file.size, cap)
        await interaction.response.defer(thinking=True)
        shown = escape_story_text(file.filename)
        data = await file.read()
        _check_size(file.filename, len(data), cap)
        progress = _Progress()
        with tempfile.TemporaryDirectory(prefix="storybot-upload-") as tmp:
            path = Path(tmp, _safe_name(file.filename))
            path.write_bytes(data)
            work = asyncio.create_task(
                asyncio.to_thread(
                    self.bot.catalog.add,
                    path,
                    guild=interaction.guild_id or 0,
                    title=title,
                    story_id=story_id,
                    on_progress=progress.update,
                )
            )
            await _report_progress(interaction, work, progress, shown)
            try:
                summary = await work
            except StorybotError as exc:
                log.info("upload of %s refused: %s", file.filename, exc)
                text = truncate(f"Could not add {shown}: {escape_story_text(str(exc))}", 2000)
                await interaction.edit_original_response(content=text, **send_kwargs())
                return
        log.info("guild=%s added story %s (%d passages)", interaction.guild_id, summary.id, summary.passages)
        await interaction.edit_original_response(content=_added(summary), **send_kwargs())

    @app_commands.command(name="remove", description="Remove one of this server's stories")
    @app_commands.guild_only()
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(story="The story to remove")
    async def remove(self, interaction: discord.Interaction[StoryBot], story: str) -> None:
        """Remove a story this server added."""
        await interaction.response.defer(thinking=True)
        info = await asyncio.to_thread(self.bot.catalog.remove, story, guild=interaction.guild_id or 0)
        log.info("guild=%s removed story %s", interaction.guild_id, info.id)
        title = truncate(escape_story_text(info.title), 300)
        await interaction.followup.send(f"Removed **{title}** (`{info.id}`).", **send_kwargs())

    @remove.autocomplete("story")
    async def _own_story_autocomplete(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        guild = interaction.guild_id or 0
        stories = await asyncio.to_thread(self.bot.catalog.visible, guild)
        return story_choices([s for s in stories if s.guild == guild], current)


class _Progress:
    """(done, total) passages embedded so far, written by the worker thread, read by the event loop."""

    def __init__(self) -> None:
        self.state: tuple[int, int] = (0, 0)

    def update(self, done: int, total: int) -> None:
        self.state = (done, total)  # one assignment: atomic under the GIL


async def _report_progress(
    interaction: discord.Interaction[StoryBot],
    work: asyncio.Future[IngestSummary],
    progress: _Progress,
    name: str,
) -> None:
    """Edit the reply with the embedding progress until ``work`` finishes."""
    shown = ""
    while not work.done():
        done, total = progress.state
        text = (
            f"Reading {name}…" if total == 0 else f"Indexing {name}: {done:,} of {total:,} passages embedded…"
        )
        if text != shown:
            try:
                await interaction.edit_original_response(content=text, **send_kwargs())
                shown = text
            except discord.HTTPException:
                log.debug("progress edit failed", exc_info=True)
        await asyncio.wait({work}, timeout=_PROGRESS_EVERY)


def _check_size(name: str, size: int, cap: int) -> None:
    if size > cap:
        raise InputError(
            f"{name} is {size / _MB:.1f} MB; the largest story file accepted is {cap / _MB:.0f} MB"
        )


def _safe_name(filename: str) -> str:
    """The attachment's own name (its suffix picks the reader), with no path in it."""
    name = Path(filename.replace("\\", "/")).name.strip().lstrip(".")
    return name[-120:] or "story.txt"


def _added(summary: IngestSummary) -> str:
    chapters = f"{summary.chapters} chapter" + ("" if summary.chapters == 1 else "s")
    title = truncate(escape_story_text(summary.title), 300)
    text = (
        f"Added **{title}** (`{summary.id}`): {chapters}, {summary.passages:,} passages. "
        f"Ask about it with `/ask story:{summary.id}` or by mentioning me."
    )
    if summary.warnings:
        text += "\n" + escape_story_text(" ".join(summary.warnings))
    return truncate(text, 2000)


async def setup(bot: StoryBot) -> None:
    """Add the stories extension."""
    await bot.add_cog(Stories(bot))
