"""Discord cards for stories: the server's list, `/story info`, and story autocomplete choices."""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord
from discord import app_commands

from bot.formatting import LIMITS, escape_story_text, fit_embed, truncate
from index.models import StoryMeta
from index.store import ChapterInfo, StoryInfo

_GATED = frozenset({"mature", "explicit"})


def stories_embed(stories: Sequence[StoryInfo], *, server: str) -> discord.Embed:
    """The stories a server can read, one line each, within the description limit."""
    embed = discord.Embed(title=truncate(f"Stories in {escape_story_text(server)}", LIMITS.embed_title))
    if not stories:
        embed.description = "No stories yet. An admin can add one with `/story add`."
        return embed
    lines = []
    for s in stories:
        shared = " · shared" if s.guild is None else ""
        title = truncate(escape_story_text(s.title).replace("\n\n", " "), 200)
        chapters = f"{s.chapters} chapter" + ("" if s.chapters == 1 else "s")
        lines.append(f"**{title}** (`{s.id}`): {chapters}, {s.words:,} words{shared}")
    shown: list[str] = []
    room = LIMITS.embed_description - 40
    for i, line in enumerate(lines):
        if sum(len(x) + 1 for x in shown) + len(line) > room:
            shown.append(f"…and {len(lines) - i} more")
            break
        shown.append(line)
    embed.description = "\n".join(shown)
    return fit_embed(embed)


def story_choices(stories: Sequence[StoryInfo], current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete choices: stories whose title or id contains what the user typed, at most 25."""
    typed = current.casefold().strip()
    matches = [s for s in stories if typed in s.title.casefold() or typed in s.id]
    return [app_commands.Choice(name=truncate(s.title, 100) or s.id, value=s.id) for s in matches[:25]]


_RATING_NAMES = {
    "general": "General Audiences",
    "teen": "Teen And Up Audiences",
    "mature": "Mature",
    "explicit": "Explicit",
    "unrated": "Not Rated",
}


def _plain(text: str, limit: int) -> str:
    """Story-supplied text on one line, escaped and cut to ``limit``."""
    return truncate(escape_story_text(text).replace("\n\n", " "), limit)


def _listing(items: Sequence[str], limit: int = LIMITS.field_value) -> str:
    return _plain(", ".join(items), limit)


def story_info_embed(info: StoryInfo, meta: StoryMeta, chapters: Sequence[ChapterInfo]) -> discord.Embed:
    """`/story info`: who wrote it, rating and tags, summary, notes, and every chapter with its size."""
    embed = discord.Embed(title=_plain(info.title, LIMITS.embed_title))
    if meta.summary:
        embed.description = truncate(escape_story_text(meta.summary), 1500)
    fields = [
        ("By", _listing(meta.authors)),
        (
            "Rating",
            _RATING_NAMES[info.rating] + (" (age-restricted channels only)" if info.rating in _GATED else ""),
        ),
        ("Archive warnings", _listing(meta.warnings)),
        ("Fandoms", _listing(meta.fandoms)),
        ("Relationships", _listing(meta.relationships)),
        ("Characters", _listing(meta.characters)),
        ("Tags", _listing(meta.tags)),
        ("Series", _plain(meta.series, 300)),
        ("Author's notes", truncate(escape_story_text(meta.notes), 600)),
    ]
    for name, value in fields:
        if value:
            embed.add_field(name=name, value=value, inline=name in ("By", "Rating"))
    planned = "?" if meta.chapters_planned is None else str(meta.chapters_planned)
    posted = f"{info.chapters} of {planned}" if meta.chapters_posted is not None else str(info.chapters)
    size = f"{posted} chapters · {info.words:,} words · {info.passages:,} passages"
    size += f" · updated {info.updated_at[:10]}"
    embed.add_field(name="Size", value=size, inline=False)
    lines = [f"{chapter_label(c.number, _plain(c.title, 80))} ({c.words:,} words)" for c in chapters]
    _add_lines(embed, "Chapters", lines)
    embed.set_footer(text=f"id {info.id}" + (" · shared by every server" if info.guild is None else ""))
    return fit_embed(embed)


def _add_lines(embed: discord.Embed, name: str, lines: Sequence[str]) -> None:
    """Add ``lines`` as one field, cut to fit with a count of what was left out."""
    shown: list[str] = []
    for i, line in enumerate(lines):
        if sum(len(x) + 1 for x in shown) + len(line) > LIMITS.field_value - 30:
            shown.append(f"…and {len(lines) - i} more")
            break
        shown.append(line)
    if shown:
        embed.add_field(name=name, value="\n".join(shown), inline=False)


def chapter_label(number: int, title: str) -> str:
    """ "Chapter 2: The Storm" as the source titles it, or "2. The Storm" when the title lacks the number."""
    if re.match(rf"(?:chapter\s+)?{number}\b", title, re.IGNORECASE):
        return title
    return f"{number}. {title or 'Untitled'}"
