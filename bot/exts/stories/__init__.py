"""`/story list|info|add|update|rating|remove`: the stories a server can ask about.

Adding, updating, rating and removing need Manage Server, checked when the command runs: Discord
applies default permissions to a whole command group, and `/story list` and `/story info` are for
everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalog import GATED, RatingGateError
from bot.client import StoryBot, is_nsfw, story_choices_for
from bot.exts.stories.upload import MB, check_size, downloaded, ingest_with_progress
from bot.formatting import escape_story_text, send_kwargs, truncate
from bot.formatting.stories import stories_embed, story_info_embed
from index.errors import StorybotError
from index.ingest import IngestSummary
from index.models import Rating

log = logging.getLogger("storybot.stories")

RATING_CHOICES = [
    app_commands.Choice(name="General Audiences", value="general"),
    app_commands.Choice(name="Teen And Up Audiences", value="teen"),
    app_commands.Choice(name="Mature (age-restricted channels only)", value="mature"),
    app_commands.Choice(name="Explicit (age-restricted channels only)", value="explicit"),
    app_commands.Choice(name="Not rated", value="unrated"),
    app_commands.Choice(name="As the story file says", value="file"),
]
_ADMIN = app_commands.checks.has_permissions(manage_guild=True)


class Stories(commands.GroupCog, group_name="story", group_description="The stories you can ask about here"):
    """List, inspect, add, update, rate and remove stories."""

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

    @app_commands.command(name="info", description="A story's details: author, tags, rating, chapters")
    @app_commands.guild_only()
    @app_commands.describe(story="The story")
    async def info(self, interaction: discord.Interaction[StoryBot], story: str) -> None:
        """Metadata, chapters with titles, words, passages, last update and rating."""
        await interaction.response.defer()
        info, meta, chapters = await asyncio.to_thread(
            self.bot.catalog.info, interaction.guild_id or 0, story
        )
        if info.rating in GATED and not is_nsfw(interaction.channel):
            raise RatingGateError(
                f"'{info.title}' is rated {info.rating.title()}: "
                "its details are shown in age-restricted channels only."
            )
        await interaction.followup.send(embed=story_info_embed(info, meta, chapters), **send_kwargs())

    @app_commands.command(name="add", description="Add a story file (.txt, .md, .html, .epub, AO3 download)")
    @app_commands.guild_only()
    @_ADMIN
    @app_commands.describe(
        file="The story: plain text, Markdown, HTML, EPUB, or an AO3 HTML/EPUB download",
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
        guild = interaction.guild_id or 0

        def ingest(path: Path, on_progress: Callable[[int, int], None]) -> IngestSummary:
            return self.bot.catalog.add(
                path, guild=guild, title=title, story_id=story_id, on_progress=on_progress
            )

        await self._receive(interaction, file, ingest, "add")

    @app_commands.command(name="update", description="Replace a story with a new version (new chapters)")
    @app_commands.guild_only()
    @_ADMIN
    @app_commands.describe(
        story="The story to update", file="The new version of the story file", title="A new title (optional)"
    )
    async def update(
        self,
        interaction: discord.Interaction[StoryBot],
        story: str,
        file: discord.Attachment,
        title: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Re-ingest a story: only new or changed chapters are embedded."""
        guild = interaction.guild_id or 0

        def ingest(path: Path, on_progress: Callable[[int, int], None]) -> IngestSummary:
            return self.bot.catalog.update(
                path, guild=guild, story_id=story, title=title, on_progress=on_progress
            )

        await self._receive(interaction, file, ingest, "update")

    async def _receive(
        self,
        interaction: discord.Interaction[StoryBot],
        file: discord.Attachment,
        ingest: Callable[[Path, Callable[[int, int], None]], IngestSummary],
        verb: str,
    ) -> None:
        """Check, download and ingest an attachment, editing one reply from progress to result."""
        cap = round(self.bot.settings.max_upload_mb * MB)
        shown = escape_story_text(file.filename)
        check_size(file.filename, file.size, cap)  # before deferring: a quick private refusal
        await interaction.response.defer(thinking=True)
        try:
            async with downloaded(file, cap) as path:
                summary = await ingest_with_progress(interaction, ingest, path, shown)
        except StorybotError as exc:
            log.info("upload of %s refused: %s", file.filename, exc)
            text = truncate(f"Could not {verb} {shown}: {escape_story_text(str(exc))}", 2000)
            await interaction.edit_original_response(content=text, **send_kwargs())
            return
        log.info(
            "guild=%s %s story %s (%d embedded)", interaction.guild_id, verb, summary.id, summary.embedded
        )
        await interaction.edit_original_response(content=_done(summary, verb), **send_kwargs())

    @app_commands.command(
        name="rating", description="Set a story's rating (Mature/Explicit: NSFW channels only)"
    )
    @app_commands.guild_only()
    @_ADMIN
    @app_commands.describe(story="The story", rating="Its rating")
    @app_commands.choices(rating=RATING_CHOICES)
    async def rating(
        self, interaction: discord.Interaction[StoryBot], story: str, rating: app_commands.Choice[str]
    ) -> None:
        """Change a story's rating; "as the file says" clears an admin's choice."""
        await interaction.response.defer()
        chosen: Rating | None = None if rating.value == "file" else rating.value  # type: ignore[assignment]
        info = await asyncio.to_thread(
            self.bot.catalog.set_rating, story, chosen, guild=interaction.guild_id or 0
        )
        title = truncate(escape_story_text(info.title), 300)
        gate = " It answers only in age-restricted channels." if info.rating in GATED else ""
        await interaction.followup.send(f"**{title}** is now rated {info.rating}.{gate}", **send_kwargs())

    @app_commands.command(name="remove", description="Remove one of this server's stories")
    @app_commands.guild_only()
    @_ADMIN
    @app_commands.describe(story="The story to remove")
    async def remove(self, interaction: discord.Interaction[StoryBot], story: str) -> None:
        """Remove a story this server added, with every reader's progress in it."""
        await interaction.response.defer(thinking=True)
        info = await asyncio.to_thread(self.bot.catalog.remove, story, guild=interaction.guild_id or 0)
        log.info("guild=%s removed story %s", interaction.guild_id, info.id)
        title = truncate(escape_story_text(info.title), 300)
        await interaction.followup.send(f"Removed **{title}** (`{info.id}`).", **send_kwargs())

    @info.autocomplete("story")
    async def _any_story(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current)

    @update.autocomplete("story")
    @rating.autocomplete("story")
    @remove.autocomplete("story")
    async def _own_story(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current, own=True)


def _done(summary: IngestSummary, verb: str) -> str:
    chapters = f"{summary.chapters} chapter" + ("" if summary.chapters == 1 else "s")
    title = truncate(escape_story_text(summary.title), 300)
    done = "Added" if verb == "add" else "Updated"
    text = f"{done} **{title}** (`{summary.id}`): {chapters}, {summary.passages:,} passages"
    if verb == "update":
        text += f" ({summary.embedded:,} embedded, {summary.reused:,} unchanged)"
    text += f". Ask about it with `/ask story:{summary.id}` or by mentioning me."
    if summary.warnings:
        text += "\n" + escape_story_text(" ".join(summary.warnings))
    return truncate(text, 2000)


async def setup(bot: StoryBot) -> None:
    """Add the stories extension."""
    await bot.add_cog(Stories(bot))
