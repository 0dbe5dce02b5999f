"""`/who` pages: a story's people, or one person's X-Ray, within Discord's limits."""

from __future__ import annotations

import discord

from bot.formatting import LIMITS, cite, escape_story_text, fit_embed, quote, truncate
from bot.formatting.stories import chapter_label
from index.cast import CastList, Profile

PEOPLE_PER_PAGE = 15
CHART_NAME = "mentions.png"
_PASSAGE_CHARS = 350
_SENTENCE_CHARS = 400


def _plain(text: str, limit: int) -> str:
    return truncate(escape_story_text(text).replace("\n\n", " "), limit)


def _reach(until: int) -> str:
    return f"up to chapter {until}" if until else "before chapter 1"


def cast_pages(cast: CastList) -> list[discord.Embed]:
    """The people of a story up to the reader's chapter, a page of names at a time."""
    heading = _plain(f"People in {cast.title}", LIMITS.embed_title)
    if not cast.people:
        return [
            discord.Embed(title=heading, description=f"No one is named often enough {_reach(cast.until)}.")
        ]
    chunks = [cast.people[i : i + PEOPLE_PER_PAGE] for i in range(0, len(cast.people), PEOPLE_PER_PAGE)]
    pages = []
    for n, chunk in enumerate(chunks, 1):
        first = (n - 1) * PEOPLE_PER_PAGE
        lines = [
            f"{first + i}. **{_plain(p.name, 100)}**: {p.mentions} mentions, from chapter {p.first_chapter}"
            for i, p in enumerate(chunk, 1)
        ]
        embed = discord.Embed(title=heading, description="\n".join(lines))
        page = f"Page {n} of {len(chunks)} · " if len(chunks) > 1 else ""
        embed.set_footer(text=f"{page}{_reach(cast.until).capitalize()} · /who name:<name> for one person")
        pages.append(fit_embed(embed))
    return pages


def profile_embed(profile: Profile, *, chart: bool, chart_text: str = "") -> discord.Embed:
    """One person: first appearance, mentions, where they matter most, who is near; the chart image."""
    embed = discord.Embed(title=_plain(f"{profile.name} · {profile.title}", LIMITS.embed_title))
    first = _plain(chapter_label(profile.first_chapter, profile.first_chapter_title), 200)
    also = [f for f in profile.forms if f != profile.name]
    lines = [f"First appears in **{first}**:", quote(_plain(profile.first_sentence, _SENTENCE_CHARS))]
    if also:
        lines.insert(0, f"Also called: {_plain(', '.join(also), 300)}")
    embed.description = "\n".join(lines)
    busiest = sorted(range(len(profile.per_chapter)), key=lambda i: -profile.per_chapter[i])[:5]
    counts = ", ".join(
        f"ch. {i + 1}: {profile.per_chapter[i]}" for i in sorted(busiest) if profile.per_chapter[i]
    )
    embed.add_field(
        name="Mentions", value=truncate(f"{profile.mentions} in all; most in {counts}", 1024), inline=False
    )
    if chart_text:
        embed.add_field(
            name="Mentions per chapter",
            value=truncate(f"```\n{chart_text}\n```", 1024, ellipsis="…\n```"),
            inline=False,
        )
    for passage in profile.passages:
        embed.add_field(
            name=truncate(cite(passage), LIMITS.field_name),
            value=quote(_plain(passage.text, _PASSAGE_CHARS)) or "…",
            inline=False,
        )
    if profile.near:
        near = ", ".join(f"{_plain(name, 80)} ({n})" for name, n in profile.near)
        embed.add_field(name="Often near", value=truncate(near, 1024), inline=False)
    if chart:
        embed.set_image(url=f"attachment://{CHART_NAME}")
    embed.set_footer(text=_reach(profile.until).capitalize() + " · never past your /progress")
    return fit_embed(embed)
