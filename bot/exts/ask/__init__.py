"""Asking: `/ask`, a mention of the bot, a reply to one of its answers or a message in a thread it
started (follow-ups), answered with quotes or, when an LLM is configured, in its words with citations."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalog import Asked
from bot.client import (
    RESTARTING,
    ShuttingDown,
    StoryBot,
    Where,
    is_nsfw,
    story_choices_for,
    user_message,
    where_asked,
)
from bot.composers import Composed, Turn
from bot.conversation import Conversations, Exchange, carry_over
from bot.formatting import answer_pages, passage_embed, send_kwargs, truncate
from bot.formatting.composed import composed_embed
from bot.status import with_stream
from bot.views import AnswerPages
from index.errors import StorybotError

log = logging.getLogger("storybot.questions")

HELP = "Ask me about a story: mention me with a question (`@storybot who is Ben?`) or use `/ask`."
Send = Callable[..., Awaitable[discord.Message]]


class Ask(commands.Cog):
    """Questions in, quoted passages (or a composed answer) out."""

    def __init__(self, bot: StoryBot):
        self.bot = bot
        self.conversations = Conversations()

    # -- /ask ----------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question about a story")
    @app_commands.guild_only()
    @app_commands.describe(
        question="What you want to know, e.g. 'Who is Ben Solo?'",
        story="Which story to search (default: every story in this server)",
        until_chapter="Search only up to this chapter, so nothing later is spoiled",
        private="Show the answer only to you",
        thread="Start a thread from the answer, where every message is a follow-up",
    )
    async def ask(
        self,
        interaction: discord.Interaction[StoryBot],
        question: app_commands.Range[str, 1, 500],
        story: str | None = None,
        until_chapter: app_commands.Range[int, 1, 100_000] | None = None,
        private: bool = False,
        thread: bool = False,
    ) -> None:
        """Defer at once, search in a worker thread, then answer."""
        self.bot.check_cooldown(interaction.user.id)
        await interaction.response.defer(ephemeral=private, thinking=True)
        where = where_asked(interaction)
        asked = await self._search(question, where, story, until_chapter, via="slash", previous=None)

        async def send(**kwargs: Any) -> discord.Message:
            return await interaction.followup.send(ephemeral=private, wait=True, **send_kwargs(**kwargs))

        message, shown = await self._deliver(asked, send, owner=interaction.user.id)
        exchange = Exchange(question, shown, story or _top_story(asked))
        self.conversations.remember(message.id, exchange)
        if thread and not private:
            await self._open_thread(message, question, exchange)

    @ask.autocomplete("story")
    async def _story_autocomplete(
        self, interaction: discord.Interaction[StoryBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_choices_for(interaction, current)

    async def _open_thread(self, message: discord.Message, question: str, exchange: Exchange) -> None:
        try:
            started = await message.create_thread(name=truncate(question, 90) or "Follow-ups")
        except discord.HTTPException:
            log.warning("could not start a thread from answer %s", message.id, exc_info=True)
            return
        self.conversations.remember(started.id, exchange)

    # -- mentions and follow-ups ------------------------------------------------------------------
    @commands.Cog.listener("on_message")
    async def on_mention(self, message: discord.Message) -> None:
        """Answer a mention, a reply to an answer, or a message in a thread the bot started."""
        me = self.bot.user
        if message.author.bot or message.guild is None or me is None:
            return
        asked = self._question_in(message, me.id)
        if asked is None:
            return
        question, previous = asked
        if not question:
            await _reply(message, HELP)
            return
        try:
            self.bot.begin_work()
        except ShuttingDown:
            await _reply(message, RESTARTING)
            return
        retry_after = self.bot.cooldown.retry_after(message.author.id)
        if retry_after is not None:
            wait = max(1, round(retry_after))
            await _reply(message, f"Slow down a little: you can ask again in {wait} s.", delete_after=10)
            return
        await self._answer_message(message, question, previous)

    async def _answer_message(
        self, message: discord.Message, question: str, previous: Exchange | None
    ) -> None:
        assert message.guild is not None
        where = Where(message.guild.id, message.author.id, is_nsfw(message.channel))
        story = previous.story if previous else None
        via = "follow-up" if previous else "mention"
        try:
            async with message.channel.typing():
                asked = await self._search(question, where, story, None, via=via, previous=previous)
        except StorybotError as exc:
            await _reply(message, user_message(exc))
            return

        async def send(**kwargs: Any) -> discord.Message:
            return await message.reply(mention_author=False, **send_kwargs(**kwargs))

        sent, shown = await self._deliver(asked, send, owner=message.author.id, history=previous)
        exchange = (
            previous.then(question, shown, story)
            if previous
            else Exchange(question, shown, _top_story(asked))
        )
        self.conversations.remember(sent.id, exchange)
        channel = message.channel
        if isinstance(channel, discord.Thread) and self.bot.user and channel.owner_id == self.bot.user.id:
            self.conversations.remember(channel.id, exchange)

    def _question_in(self, message: discord.Message, me: int) -> tuple[str, Exchange | None] | None:
        """(question, the exchange it follows up) if the message asks the bot something, else None."""
        mention = re.compile(rf"<@!?{me}>")
        text = mention.sub(" ", message.content).strip()
        ref = message.reference
        if ref is not None and ref.message_id is not None:
            previous = self.conversations.get(ref.message_id)
            replied = ref.resolved
            if previous is not None or (isinstance(replied, discord.Message) and replied.author.id == me):
                return text, previous
        channel = message.channel
        if isinstance(channel, discord.Thread) and channel.owner_id == me:
            return text, self.conversations.get(channel.id)
        if mention.search(message.content):
            return text, None
        return None

    # -- shared ------------------------------------------------------------------------------------
    async def _search(
        self,
        question: str,
        where: Where,
        story: str | None,
        until_chapter: int | None,
        *,
        via: str,
        previous: Exchange | None,
    ) -> Asked:
        """Rewrite a follow-up, search in a worker thread, and log one line about it."""
        started = time.perf_counter()
        asked: Asked | None = None
        try:
            searched = await self._standalone(question, previous)
            asked = await asyncio.to_thread(
                self.bot.catalog.ask,
                searched,
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
        return asked

    async def _standalone(self, question: str, previous: Exchange | None) -> str:
        """A follow-up as a standalone question: rewritten by the LLM, else with earlier names added."""
        if previous is None:
            return question
        if self.bot.llm is None:
            return carry_over(question, previous)
        turns = [Turn(question=e.question, answer=e.answer) for e in previous.history()]
        return await asyncio.to_thread(self.bot.llm.rewrite_question, question, turns)

    async def _deliver(
        self, asked: Asked, send: Send, *, owner: int, history: Exchange | None = None
    ) -> tuple[discord.Message, str]:
        """Send the answer (streamed in when an LLM writes it); return the message and the text shown."""
        answer, llm = asked.answer, self.bot.llm
        if llm is None or not answer.found:
            pages = answer_pages(asked.answer, titles=asked.titles, until_chapter=asked.limit)
            return await self._send_pages(pages, send, owner), answer.sentence
        model = self.bot.settings.llm_model
        message = await send(embed=self._composed(asked, "", (), done=False))

        async def show(text: str) -> None:
            await message.edit(embed=self._composed(asked, text, (), done=False), **send_kwargs())

        turns = [Turn(question=e.question, answer=e.answer) for e in history.history()] if history else []
        composed: Composed = await with_stream(
            lambda on_text: llm.compose(answer, titles=asked.titles, history=turns, on_text=on_text),
            show,
            abandon=self.bot.abandon,
        )
        log.info(
            "answer composed by=%s fallback=%s cited=%s",
            model or "llm",
            composed.fallback,
            list(composed.cited),
        )
        if composed.kind == "llm":
            first = self._composed(asked, composed.text, composed.cited, done=True)
        else:
            first = answer_pages(answer, titles=asked.titles, until_chapter=asked.limit)[0]
        pages = [first] + [
            passage_embed(
                hit,
                story_title=asked.titles.get(hit.passage.story, ""),
                position=i,
                pages=len(answer.hits),
                until_chapter=asked.limit,
            )
            for i, hit in enumerate(answer.hits[1:], 2)
        ]
        view = self._view(pages, owner)
        await message.edit(embed=first, **send_kwargs(**({"view": view} if view else {})))
        if view:
            view.message = message
        return message, composed.text

    def _composed(self, asked: Asked, text: str, cited: tuple[int, ...], *, done: bool) -> discord.Embed:
        return composed_embed(
            text,
            passages=asked.answer.hits,
            cited=cited,
            titles=asked.titles,
            limit=asked.limit,
            model=self.bot.settings.llm_model,
            done=done,
        )

    async def _send_pages(self, pages: list[discord.Embed], send: Send, owner: int) -> discord.Message:
        view = self._view(pages, owner)
        message = await send(embed=pages[0], **({"view": view} if view else {}))
        if view:
            view.message = message
        return message

    def _view(self, pages: list[discord.Embed], owner: int) -> AnswerPages | None:
        if len(pages) < 2:
            return None
        return AnswerPages(pages, owner=owner, timeout=self.bot.settings.page_timeout)


def _top_story(asked: Asked) -> str | None:
    return asked.answer.hits[0].passage.story if asked.answer.hits else None


async def _reply(message: discord.Message, text: str, *, delete_after: float | None = None) -> None:
    extra: dict[str, Any] = {"delete_after": delete_after} if delete_after else {}
    await message.reply(text, mention_author=False, **send_kwargs(**extra))


async def setup(bot: StoryBot) -> None:
    """Add the ask extension."""
    await bot.add_cog(Ask(bot))
