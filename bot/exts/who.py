"""`/who`: a story's people up to the reader's chapter, or one person's X-Ray with a chart."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalog import Who as WhoAnswer
from bot.chart import chart_png, chart_text
from bot.client import StoryBot, story_choices_for, where_asked
from bot.formatting import send_kwargs
from bot.formatting.who import CHART_NAME, cast_pages, profile_embed
from bot.views import AnswerPages


class Who(commands.Cog):
    """Who is this again? The people of a story, never past what the reader has read."""

    def __init__(self, bot: StoryBot):
        self.bot = bot

    @app_commands.command(name="who", description="Who's who in a story, up to where you've read")
    @app_commands.guild_only()
    @app_commands.describe(
        name="One person (or up to four, comma-separated, to compare); leave out for everyone",
        story="The story (leave out when the server has only one)",
        until_chapter="Only up to this chapter (never past your /progress)",
        private="Show the answer only to you",
    )
    async def who(
        self,
        interaction: discord.Interaction[StoryBot],
        name: app_commands.Range[str, 1, 200] | None = None,
        story: str | None = None,
        until_chapter: app_commands.Range[int, 1, 100_000] | None = None,
        private: bool = False,
    ) -> None:
        """Look the people up in a worker thread, then reply with pages or a profile and its chart."""
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        where = where_asked(interaction)

        def job() -> tuple[WhoAnswer, bytes | None]:
            found = self.bot.catalog.who(
                where.guild, story, name=name, user=where.user, until_chapter=until_chapter, nsfw=where.nsfw
            )
            png = (
                chart_png(found.series, f"Mentions per chapter: {found.info.title}") if found.series else None
            )
            return found, png

        found, png = await asyncio.to_thread(job)
        if found.profile is not None:
            text = "" if png is not None else chart_text(found.series, width=12)
            embed = profile_embed(found.profile, chart=png is not None, chart_text=text)
            extra = {"file": discord.File(io.BytesIO(png), filename=CHART_NAME)} if png is not None else {}
            await interaction.followup.send(embed=embed, ephemeral=private, **send_kwargs(**extra))
            return
        assert found.cast is not None
        pages = cast_pages(found.cast)
        if len(pages) == 1:
            await interaction.followup.send(embed=pages[0], ephemeral=private, **send_kwargs())
            return
        view = AnswerPages(pages, owner=interaction.user.id, timeout=self.bot.settings.page_timeout)
        view.message = await interaction.followup.send(
            embed=pages[0], ephemeral=private, wait=True, **send_kwargs(view=view)
        )

    @who.autocomplete("story")
    async def _story(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current)


async def setup(bot: StoryBot) -> None:
    """Add the who extension."""
    await bot.add_cog(Who(bot))
