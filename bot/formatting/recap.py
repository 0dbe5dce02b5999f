"""`/recap` pages: one field per chapter, several chapters a page, within Discord's limits."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.formatting import LIMITS, escape_story_text, fit_embed, quote, truncate
from bot.formatting.stories import chapter_label
from bot.recap import ChapterRecap

CHAPTERS_PER_PAGE = 8
_PASSAGE_CHARS = 400
_SUMMARY_CHARS = 700


def recap_pages(title: str, limit: int | None, recaps: Sequence[ChapterRecap]) -> list[discord.Embed]:
    """The recap as pages of embeds; each chapter a field with its summary or central passage."""
    heading = truncate(
        f"The story so far: {escape_story_text(title)}".replace("\n\n", " "), LIMITS.embed_title
    )
    if not recaps:
        return [discord.Embed(title=heading, description="There is nothing to recap yet.")]
    how = "summaries" if recaps[0].kind == "summary" else "the most central passage of each chapter"
    where = f"up to chapter {limit}" if limit is not None else "the whole story"
    pages = []
    chunks = [recaps[i : i + CHAPTERS_PER_PAGE] for i in range(0, len(recaps), CHAPTERS_PER_PAGE)]
    for n, chunk in enumerate(chunks, 1):
        embed = discord.Embed(title=heading)
        for r in chunk:
            room = _SUMMARY_CHARS if r.kind == "summary" else _PASSAGE_CHARS
            text = escape_story_text(r.text)
            value = truncate(text, room) if r.kind == "summary" else quote(truncate(text, room))
            name = truncate(
                chapter_label(r.number, escape_story_text(r.title).replace("\n\n", " ")), LIMITS.field_name
            )
            embed.add_field(name=name, value=value or "…", inline=False)
        page = f"Page {n} of {len(chunks)} · " if len(chunks) > 1 else ""
        embed.set_footer(text=f"{page}{where.capitalize()}, from {how}")
        pages.append(fit_embed(embed))
    return pages
