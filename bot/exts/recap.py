"""`/recap`: the story so far, up to the reader's chapter: chapter summaries with an LLM, else each
chapter's most central passage."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import StoryBot, story_choices_for, where_asked
from bot.formatting import send_kwargs
from bot.formatting.recap import recap_pages
from bot.llm import LLMError
from bot.recap import ChapterRecap
from bot.status import Report, with_status
from bot.views import AnswerPages
from index.store import StoryInfo

log = logging.getLogger("storybot.recap")

Recapped = tuple[StoryInfo, int | None, list[ChapterRecap]]


class Recap(commands.Cog):
    """Remind a reader what happened so far, without spoiling what comes next."""

    def __init__(self, bot: StoryBot):
        self.bot = bot

    @app_commands.command(name="recap", description="The story so far, up to where you've read")
    @app_commands.guild_only()
    @app_commands.describe(
        story="The story to recap",
        until_chapter="Recap only up to this chapter (never past your /progress)",
        private="Show the recap only to you",
    )
    async def recap(
        self,
        interaction: discord.Interaction[StoryBot],
        story: str,
        until_chapter: app_commands.Range[int, 1, 100_000] | None = None,
        private: bool = False,
    ) -> None:
        """Build the recap in a worker thread (showing progress while an LLM summarises), then page it."""
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        where = where_asked(interaction)

        def job(report: Report) -> Recapped:
            catalog, llm = self.bot.catalog, self.bot.llm
            kwargs: dict[str, Any] = {"user": where.user, "until_chapter": until_chapter, "nsfw": where.nsfw}
            if llm is None:
                return catalog.recap(where.guild, story, **kwargs)
            title = catalog.story(where.guild, story).title
            try:
                return catalog.recap(
                    where.guild,
                    story,
                    summarize=lambda chapter, text: llm.summarize_chapter(title, chapter, text),
                    on_progress=report,
                    **kwargs,
                )
            except LLMError as err:
                log.warning("chapter summaries failed (%s); recapping with passages instead", err)
                return catalog.recap(where.guild, story, **kwargs)

        def status(done: int, total: int) -> str:
            return f"Summarising chapter {done + 1} of {total}…" if total and done < total else ""

        info, limit, recaps = await with_status(interaction, job, status)
        pages = recap_pages(info.title, limit, recaps)
        if len(pages) == 1:
            await interaction.edit_original_response(content=None, embed=pages[0], **send_kwargs())
            return
        view = AnswerPages(pages, owner=interaction.user.id, timeout=self.bot.settings.page_timeout)
        view.message = await interaction.edit_original_response(
            content=None, embed=pages[0], **send_kwargs(view=view)
        )

    @recap.autocomplete("story")
    async def _story(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current)


async def setup(bot: StoryBot) -> None:
    """Add the recap extension."""
    await bot.add_cog(Recap(bot))
