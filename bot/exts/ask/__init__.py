"""Asking: `/ask`, a mention of the bot, and a reply to one of its answers (a follow-up)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering import Answer
from bot.catalog import Asked
from bot.client import StoryBot, Where, is_nsfw, user_message, where_asked
from bot.exts.ask.views import AnswerPages
from bot.formatting import answer_pages, send_kwargs
from bot.formatting.stories import story_choices
from index.errors import StorybotError

log = logging.getLogger("storybot.questions")

# How many answers remember their story for follow-ups; older replies search every story.
_REMEMBERED = 5000
HELP = "Ask me about a story: mention me with a question (`@storybot who is Ben?`) or use `/ask`."


class Ask(commands.Cog):
    """Questions in, quoted passages out."""

    def __init__(self, bot: StoryBot):
        self.bot = bot
        self._story_of: OrderedDict[int, str | None] = OrderedDict()

    # -- /ask ----------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question about a story")
    @app_commands.guild_only()
    @app_commands.describe(
        question="What you want to know, e.g. 'Who is Ben Solo?'",
        story="Which story to search (default: every story in this server)",
        until_chapter="Search only up to this chapter, so nothing later is spoiled",
        private="Show the answer only to you",
    )
    async def ask(
        self,
        interaction: discord.Interaction[StoryBot],
        question: app_commands.Range[str, 1, 500],
        story: str | None = None,
        until_chapter: app_commands.Range[int, 1, 100_000] | None = None,
        private: bool = False,
    ) -> None:
        """Defer at once, search in a worker thread, answer with pages of passages."""
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        answer, pages = await self._answer(
            question, where_asked(interaction), story, until_chapter, via="slash"
        )
        view = self._view(pages, interaction.user.id)
        extra: dict[str, Any] = {"view": view} if view else {}
        message = await interaction.followup.send(
            embed=pages[0], ephemeral=private, wait=True, **send_kwargs(**extra)
        )
        if view:
            view.message = message
        self._remember(message.id, answer, story)

    @ask.autocomplete("story")
    async def _story_autocomplete(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        stories = await asyncio.to_thread(self.bot.catalog.visible, interaction.guild_id or 0)
        return story_choices(stories, current)

    # -- mentions and follow-ups ------------------------------------------------------------------
    @commands.Cog.listener("on_message")
    async def on_mention(self, message: discord.Message) -> None:
        """Answer a message that mentions the bot, or that replies to one of its answers."""
        me = self.bot.user
        if message.author.bot or message.guild is None or me is None:
            return
        asked = self._question_in(message, me.id)
        if asked is None:
            return
        question, story = asked
        if not question:
            await self._reply(message, HELP)
            return
        retry_after = self.bot.cooldown.retry_after(message.author.id)
        if retry_after is not None:
            wait = max(1, round(retry_after))
            await self._reply(message, f"Slow down a little: you can ask again in {wait} s.", delete_after=10)
            return
        try:
            async with message.channel.typing():
                where = Where(message.guild.id, message.author.id, is_nsfw(message.channel))
                answer, pages = await self._answer(question, where, story, None, via="mention")
        except StorybotError as exc:
            await self._reply(message, user_message(exc))
            return
        view = self._view(pages, message.author.id)
        extra: dict[str, Any] = {"view": view} if view else {}
        sent = await message.reply(embed=pages[0], mention_author=False, **send_kwargs(**extra))
        if view:
            view.message = sent
        self._remember(sent.id, answer, story)

    def _question_in(self, message: discord.Message, me: int) -> tuple[str, str | None] | None:
        """(question, story to keep) if the message asks the bot something, else None."""
        mention = re.compile(rf"<@!?{me}>")
        text = mention.sub(" ", message.content).strip()
        ref = message.reference
        if ref is not None and ref.message_id is not None:
            replied = ref.resolved
            if ref.message_id in self._story_of:
                return text, self._story_of[ref.message_id]
            if isinstance(replied, discord.Message) and replied.author.id == me:
                return text, None
        if mention.search(message.content):
            return text, None
        return None

    async def _reply(self, message: discord.Message, text: str, *, delete_after: float | None = None) -> None:
        extra: dict[str, Any] = {"delete_after": delete_after} if delete_after else {}
        await message.reply(text, mention_author=False, **send_kwargs(**extra))

    # -- shared ------------------------------------------------------------------------------------
    async def _answer(
        self, question: str, where: Where, story: str | None, until_chapter: int | None, *, via: str
    ) -> tuple[Answer, list[discord.Embed]]:
        """Search in a worker thread, build the pages, and log one line about it."""
        started = time.perf_counter()
        asked: Asked | None = None
        try:
            # One worker-thread job per question: a second job would queue behind a burst's first ones.
            asked = await asyncio.to_thread(
                self.bot.catalog.ask,
                question,
                guild=where.guild,
                user=where.user,
                story=story,
                until_chapter=until_chapter,
                nsfw=where.nsfw,
            )
        finally:
            answer = asked.answer if asked else None
            log.info(
                "question guild=%s via=%s ms=%.0f hits=%s found=%s%s",
                where.guild,
                via,
                1000 * (time.perf_counter() - started),
                len(answer.hits) if answer else "-",
                answer.found if answer else "error",
                f" text={question!r}" if self.bot.settings.log_questions else "",
            )
        pages = answer_pages(asked.answer, titles=asked.titles, until_chapter=asked.limit, story=story)
        return asked.answer, pages

    def _view(self, pages: list[discord.Embed], owner: int) -> AnswerPages | None:
        if len(pages) < 2:
            return None
        return AnswerPages(pages, owner=owner, timeout=self.bot.settings.page_timeout)

    def _remember(self, message_id: int, answer: Answer, story: str | None) -> None:
        """Keep which story an answer came from, so a reply to it stays with that story."""
        self._story_of[message_id] = story or (answer.hits[0].passage.story if answer.hits else None)
        while len(self._story_of) > _REMEMBERED:
            self._story_of.popitem(last=False)


async def setup(bot: StoryBot) -> None:
    """Add the ask extension."""
    await bot.add_cog(Ask(bot))
