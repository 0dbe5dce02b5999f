"""An LLM-composed answer as an embed: its text with [n] turned into chapter citations, and its sources."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import discord

from bot.formatting import LIMITS, cite, escape_story_text, fit_embed, truncate
from index.models import Hit

_MARKER = re.compile(r"\[(\d{1,3})\]")
_SOURCE_EXCERPT = 200


def _short_cite(hit: Hit) -> str:
    return f"[ch. {hit.passage.chapter}, {hit.passage.place}]"


def with_citations(text: str, passages: Sequence[Hit]) -> str:
    """Escape the model's text (it may echo the story's markdown or mentions); [n] becomes [ch. N, ¶p]."""
    escaped = escape_story_text(text)

    def replace(match: re.Match[str]) -> str:
        n = int(match[1])
        return _short_cite(passages[n - 1]) if 1 <= n <= len(passages) else ""

    # escape_markdown leaves brackets alone, so the markers survive escaping unchanged.
    return _MARKER.sub(replace, escaped)


def composed_embed(
    text: str,
    *,
    passages: Sequence[Hit],
    cited: Sequence[int],
    titles: Mapping[str, str],
    limit: int | None,
    model: str,
    done: bool = True,
) -> discord.Embed:
    """The answer an LLM wrote from the given passages, with the passages it cited as sources."""
    story = titles.get(passages[0].passage.story, "") if passages else ""
    title = truncate(escape_story_text(story).replace("\n\n", " "), LIMITS.embed_title) or None
    body = with_citations(text, passages) if text.strip() else "…"
    embed = discord.Embed(
        title=title, description=truncate(body + ("" if done else " …"), LIMITS.embed_description)
    )
    for n in cited if done else ():
        hit = passages[n - 1]
        excerpt = truncate(escape_story_text(hit.passage.text), _SOURCE_EXCERPT) or "…"
        embed.add_field(
            name=truncate(f"[{n}] {cite(hit.passage)}", LIMITS.field_name), value=excerpt, inline=False
        )
    parts = [
        f"Written by {model} from the story's passages" if model else "Written from the story's passages"
    ]
    parts += [f"Up to chapter {limit}"] if limit is not None else []
    embed.set_footer(text=truncate(" · ".join(parts), LIMITS.footer_text))
    return fit_embed(embed)
