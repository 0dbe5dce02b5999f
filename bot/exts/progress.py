"""`/progress` (each reader's chapter per story) and `/spoilers` (the policy for readers without one)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import StoryBot, story_choices_for
from bot.formatting import escape_story_text, send_kwargs, truncate
from bot.progress import POLICIES, Policy
from index.errors import InputError
from index.store import StoryInfo

POLICY_CHOICES = [
    app_commands.Choice(name=f"Readers without progress see {text}", value=key)
    for key, text in POLICIES.items()
]


class Progress(commands.Cog):
    """How far each reader has read; answers never go past it."""

    def __init__(self, bot: StoryBot):
        self.bot = bot

    @app_commands.command(
        name="progress", description="Set or show how far you've read, so answers never spoil what's next"
    )
    @app_commands.guild_only()
    @app_commands.describe(
        story="The story (leave out to see all your progress)",
        chapter="The last chapter you've read",
        finished="True: you've finished it, so answers may use every chapter; False: forget your progress",
    )
    async def progress(
        self,
        interaction: discord.Interaction[StoryBot],
        story: str | None = None,
        chapter: app_commands.Range[int, 1, 100_000] | None = None,
        finished: bool | None = None,
    ) -> None:
        """Set, clear or show the reader's progress; every reply is private."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild, user = interaction.guild_id or 0, interaction.user.id
        text = await asyncio.to_thread(self._progress, guild, user, story, chapter, finished)
        await interaction.followup.send(truncate(text, 2000), ephemeral=True, **send_kwargs())

    def _progress(
        self, guild: int, user: int, story: str | None, chapter: int | None, finished: bool | None
    ) -> str:
        catalog = self.bot.catalog
        if story is None:
            if chapter is not None or finished is not None:
                raise InputError("say which story: /progress story:<story> chapter:<n>")
            return self._overview(guild, user, catalog.visible(guild))
        info = catalog.story(guild, story)
        title = f"**{_title(info)}**"
        if chapter is not None and finished is not None:
            raise InputError("give a chapter or finished, not both")
        if chapter is not None:
            if chapter > info.chapters:
                raise InputError(f"'{info.title}' has {info.chapters} chapters")
            catalog.progress.set(guild, user, info.id, chapter)
            return f"Got it: answers about {title} will use chapters 1 to {chapter} only."
        if finished:
            catalog.progress.set(guild, user, info.id, None)
            return f"Got it: you've finished {title}, so answers may use every chapter."
        if finished is False:
            catalog.progress.clear(guild, user, info.id)
            policy = POLICIES[catalog.progress.policy(guild)]
            return f"Your progress in {title} is forgotten; this server then shows {policy}."
        return self._overview(guild, user, [info])

    def _overview(self, guild: int, user: int, stories: list[StoryInfo]) -> str:
        progress = self.bot.catalog.progress.of(guild, user)
        policy = POLICIES[self.bot.catalog.progress.policy(guild)]
        lines = []
        for info in stories:
            if info.id not in progress:
                where = f"not set (you see {policy})"
            elif progress[info.id] is None:
                where = "finished"
            else:
                where = f"chapter {progress[info.id]} of {info.chapters}"
            lines.append(f"**{_title(info)}**: {where}")
        if not lines:
            return "This server has no stories yet."
        return "Your progress here:\n" + "\n".join(lines) + "\nSet it with `/progress story:… chapter:…`."

    @progress.autocomplete("story")
    async def _story(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current)

    @app_commands.command(name="spoilers", description="What readers who haven't set their progress may see")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        policy="What a reader who hasn't set their progress may see (leave out to show it)"
    )
    @app_commands.choices(policy=POLICY_CHOICES)
    async def spoilers(
        self, interaction: discord.Interaction[StoryBot], policy: app_commands.Choice[str] | None = None
    ) -> None:
        """Show or set the server's spoiler policy."""
        await interaction.response.defer(ephemeral=True)
        guild = interaction.guild_id or 0
        store = self.bot.catalog.progress
        if policy is not None:
            chosen: Policy = policy.value  # type: ignore[assignment]
            await asyncio.to_thread(store.set_policy, guild, chosen)
        current = POLICIES[await asyncio.to_thread(store.policy, guild)]
        text = f"Readers who haven't set their progress with `/progress` see {current}."
        await interaction.followup.send(text, ephemeral=True, **send_kwargs())


def _title(info: StoryInfo) -> str:
    return truncate(escape_story_text(info.title).replace("\n\n", " "), 200)


async def setup(bot: StoryBot) -> None:
    """Add the progress extension."""
    await bot.add_cog(Progress(bot))
