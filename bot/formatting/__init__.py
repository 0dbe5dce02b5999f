"""Discord-facing text: size limits, markdown escaping, mention safety, citations and answer embeds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord

from bot.answering import Answer
from index.models import Hit, Passage


@dataclass(frozen=True, slots=True)
class Limits:
    """Discord's size limits, in characters (``len`` of a Python string)."""

    content: int = 2000
    embed_title: int = 256
    embed_description: int = 4096
    field_name: int = 256
    field_value: int = 1024
    footer_text: int = 2048
    author_name: int = 256
    fields: int = 25
    embed_total: int = 6000
    embeds: int = 10
    message_embeds_total: int = 6000


LIMITS = Limits()

# Markdown markers whose pairs Discord renders; longest first so "**" is not read as two "*".
# A backslash consumes the next character: "\*" is a literal star, not a marker.
_TOKEN = re.compile(r"\\.|```|\*\*|__|~~|\|\||[*_`]", re.DOTALL)
# Sentence end: punctuation and any closing quotes or brackets, then whitespace.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# escape_markdown leaves ordered ("1. ") and "+ " lists alone; a quoted story line must not become one.
_LIST_START = re.compile(r"^(\d+)([.)])(?=\s)|^(\+)(?=\s)", re.MULTILINE)
# escape_mentions only breaks ids of 17-20 digits and skips channels; break any <@…>, <@&…>, <#…>.
_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)|<#(?=\d)")
_RAW_MARKER = re.compile(r"\\.|([*_`~|])", re.DOTALL)
_ZWSP = "\u200b"
_URL_AT_END = re.compile(r"https?://\S*$")
_ALSO_EXCERPT = 300


def normalise_whitespace(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep paragraph breaks as one blank line."""
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def escape_story_text(text: str) -> str:
    """Return story text that renders literally in Discord: no markdown, no mention syntax."""
    # One paragraph at a time: escape_markdown's line-start rules can match across a blank line.
    # Links are escaped too: a marker left raw inside a URL turns live once a cut splits the URL.
    paragraphs = normalise_whitespace(text).split("\n\n")
    text = "\n\n".join(discord.utils.escape_markdown(p, ignore_links=False) for p in paragraphs)
    # escape_markdown escapes a "[a](b)" match as a whole, leaving markers inside it raw.
    text = _RAW_MARKER.sub(lambda m: f"\\{m[1]}" if m[1] else m[0], text)
    text = _LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else "\\+", text)
    # Escaping is cosmetic; pings are prevented by AllowedMentions.none() on every send (see send_kwargs).
    text = discord.utils.escape_mentions(text)
    return _MENTION.sub(lambda m: m[0] + _ZWSP, text)


def _odd_markers(text: str) -> dict[str, tuple[int, int]]:
    """Map each marker occurring an odd number of times in ``text`` to its first and last position."""
    seen: dict[str, list[int]] = {}
    for m in _TOKEN.finditer(text):
        if not m[0].startswith("\\"):
            seen.setdefault(m[0], []).append(m.start())
    return {tok: (pos[0], pos[-1]) for tok, pos in seen.items() if len(pos) % 2}


def _escapes_next(text: str, index: int) -> bool:
    """Whether the character at ``index`` is escaped: an odd run of backslashes precedes it."""
    run = len(text[:index]) - len(text[:index].rstrip("\\"))
    return run % 2 == 1


def markdown_balanced(text: str) -> bool:
    """Whether every markdown marker occurs in pairs and no lone backslash ends the text."""
    return not _odd_markers(text) and not _escapes_next(text, len(text))


def _balance_end(kept: str) -> str:
    """Shorten ``kept`` from the end until its markers pair up and no backslash dangles."""
    while True:
        kept = kept.rstrip()
        if _escapes_next(kept, len(kept)):
            kept = kept[:-1]
            continue
        odd = _odd_markers(kept)
        if not odd:
            return kept
        kept = kept[: max(last for _, last in odd.values())]


def _cut_point(text: str, limit: int) -> int:
    """Index to cut ``text`` at, ≤ ``limit``: a sentence end keeping half the limit, else a word end."""
    window = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if ends and ends[-1] >= limit // 2:
        return ends[-1]
    space = next((i for i in range(len(window) - 1, 0, -1) if window[i].isspace()), 0)
    return space or limit


def truncate(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Shorten ``text`` to ``limit`` characters at a sentence or word end, never inside markdown."""
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget <= 0:
        return ellipsis[: max(limit, 0)]
    return _balance_end(text[: _cut_point(text, budget)]) + ellipsis


def truncate_start(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Keep the end of ``text`` within ``limit``, starting at a word, never inside markdown."""
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget <= 0:
        return ellipsis[: max(limit, 0)]
    start = len(text) - budget
    space = next((i for i in range(start - 1, len(text)) if text[i].isspace()), len(text))
    start = space + 1 if space < len(text) - 1 else start
    while start < len(text) and _escapes_next(text, start):
        start += 1
    kept = text[start:].lstrip()
    while odd := _odd_markers(kept):
        tok, (first, _) = min(odd.items(), key=lambda item: item[1][0])
        kept = kept[first + len(tok) :].lstrip()
    return ellipsis + kept if kept else ellipsis


def cite(passage: Passage, story_title: str | None = None) -> str:
    """Cite a passage as "Chapter N: title · ¶a–b" (escaped, ≤ 256 characters)."""
    n = passage.chapter
    paras = passage.place
    title = escape_story_text(passage.chapter_title).replace("\n\n", " ")
    story = truncate(escape_story_text(story_title or "").replace("\n\n", " "), 100)
    head = f"{story} · Chapter {n}" if story else f"Chapter {n}"
    # A title that repeats "Chapter …" or the number reads badly after a colon; a dot separates it.
    sep = " · " if re.match(rf"(?:chapter\b|{n}\b)", passage.chapter_title.strip(), re.IGNORECASE) else ": "
    room = LIMITS.field_name - len(head) - len(sep) - len(paras) - 3
    if not title or room < 10:
        return truncate(f"{head} · {paras}", LIMITS.field_name)
    return f"{head}{sep}{truncate(title, room)} · {paras}"


def no_mentions() -> discord.AllowedMentions:
    """Return AllowedMentions that ping nobody; every send, edit and follow-up must pass it."""
    return discord.AllowedMentions.none()


def send_kwargs(**extra: Any) -> dict[str, Any]:
    """Return keyword arguments for a send/edit/follow-up: ``extra`` plus ``allowed_mentions=none``."""
    if "allowed_mentions" in extra:
        raise TypeError("allowed_mentions is fixed to AllowedMentions.none()")
    return {**extra, "allowed_mentions": no_mentions()}


def _bold(text: str) -> str:
    """Bold each paragraph separately: Discord's bold does not span a blank line."""
    # An autolink runs up to whitespace and would swallow the closing "**"; a space stops it.
    return "\n\n".join(f"**{p} **" if _URL_AT_END.search(p) else f"**{p}**" for p in text.split("\n\n") if p)


def quote(text: str) -> str:
    """Quote every paragraph as one "> " line."""
    return "\n".join(f"> {p}" for p in text.split("\n\n") if p)


def _gap(left: str, right: str) -> str:
    """The normalised whitespace between two raw pieces of a passage."""
    ws = left[len(left.rstrip()) :] + right[: len(right) - len(right.lstrip())]
    return "\n\n" if ws.count("\n") >= 2 else " " if ws else ""


def _compose_description(answer: Answer, room: int) -> str:
    """The bold answering sentence, then its passage quoted with the sentence in bold, within ``room``."""
    p = answer.hits[0].passage
    a = min(max(answer.sentence_start - p.start, 0), len(p.text))
    b = min(max(answer.sentence_end - p.start, a), len(p.text))
    raw = (p.text[:a], p.text[a:b], p.text[b:])
    before, sentence, after = (escape_story_text(part) for part in raw)
    if not sentence:
        return quote(truncate(escape_story_text(p.text), room))
    # Escape first, then cut the escaped pieces, then add our own markdown around them.
    headline = _bold(truncate(sentence, max(room // 4, 1)))
    if not before and not after:
        return headline
    rest = max(room - 2 * len(headline) - 4, 0)
    before = truncate_start(before, rest // 2) if before else ""
    after = truncate(after, rest - len(before)) if after else ""
    # A URL glued to the sentence would swallow its opening "**": keep a space between them.
    gap = _gap(raw[0], raw[1]) or (" " if _URL_AT_END.search(before) else "")
    parts = [before, gap if before else "", headline]
    parts += [_gap(raw[1], raw[2]) if after else "", after]
    return f"{headline}\n\n{quote(''.join(parts))}"


def _description(answer: Answer) -> str:
    """The found answer's description, shrunk until quoting overhead fits the description limit."""
    room = limit = LIMITS.embed_description
    text = _compose_description(answer, room)
    for _ in range(8):
        if len(text) <= limit:
            return text
        room -= len(text) - limit
        text = _compose_description(answer, room)
    return truncate(text, limit)


def answer_embed(
    answer: Answer, *, story_title: str, until_chapter: int | None = None, pages: int = 1
) -> discord.Embed:
    """Build the embed for an answer: quoted passage, citation, runners-up; within Discord's limits."""
    title = truncate(escape_story_text(story_title).replace("\n\n", " "), LIMITS.embed_title) or None
    where = f", up to chapter {until_chapter}" if until_chapter is not None else ""
    if not answer.found:
        later = " The answer may be in a later chapter." if answer.later_chapter else ""
        embed = discord.Embed(title=title, description=f"I couldn't find that in the story{where}.{later}")
    else:
        embed = discord.Embed(title=title, description=_description(answer))
        embed.add_field(name="Source", value=cite(answer.hits[0].passage), inline=False)
        for hit in answer.hits[1:4]:
            excerpt = truncate(escape_story_text(hit.passage.text), _ALSO_EXCERPT) or "…"
            name = truncate(f"Also: {cite(hit.passage)}", LIMITS.field_name)
            embed.add_field(name=name, value=excerpt, inline=False)
    _footer(embed, 1, pages, until_chapter, later=answer.found and answer.later_chapter)
    return fit_embed(embed)


def passage_embed(
    hit: Hit, *, story_title: str, position: int, pages: int, until_chapter: int | None = None
) -> discord.Embed:
    """One more passage as a page of its own: quoted in full and cited."""
    title = truncate(escape_story_text(story_title).replace("\n\n", " "), LIMITS.embed_title) or None
    room = LIMITS.embed_description - 200  # quoting adds "> " to every paragraph
    embed = discord.Embed(title=title, description=quote(truncate(escape_story_text(hit.passage.text), room)))
    embed.add_field(name="Source", value=cite(hit.passage), inline=False)
    _footer(embed, position, pages, until_chapter)
    return fit_embed(embed)


def _footer(
    embed: discord.Embed, position: int, pages: int, until_chapter: int | None, *, later: bool = False
) -> None:
    parts = [f"Passage {position} of {pages}"] if pages > 1 else []
    parts += [f"Up to chapter {until_chapter}"] if until_chapter is not None else []
    parts += ["A closer match may be in a later chapter"] if later else []
    if parts:
        embed.set_footer(text=" · ".join(parts))


def embed_length(embed: discord.Embed) -> int:
    """Count the characters Discord totals for an embed: title, description, fields, footer, author."""
    total = len(embed.title or "") + len(embed.description or "")
    total += sum(len(f.name or "") + len(f.value or "") for f in embed.fields)
    return total + len(embed.footer.text or "") + len(embed.author.name or "")


def _clip_parts(embed: discord.Embed) -> None:
    """Cut every part of ``embed`` to its own limit and drop fields past the 25th."""
    while len(embed.fields) > LIMITS.fields:
        embed.remove_field(LIMITS.fields)
    if embed.title:
        embed.title = truncate(embed.title, LIMITS.embed_title)
    if embed.description:
        embed.description = truncate(embed.description, LIMITS.embed_description)
    for i, f in enumerate(embed.fields):
        name, value = truncate(f.name or "", LIMITS.field_name), truncate(f.value or "", LIMITS.field_value)
        embed.set_field_at(i, name=name, value=value, inline=bool(f.inline))
    if embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, LIMITS.footer_text), icon_url=embed.footer.icon_url)
    if embed.author.name:
        a = embed.author
        embed.set_author(name=truncate(a.name or "", LIMITS.author_name), url=a.url, icon_url=a.icon_url)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Trim ``embed`` in place to Discord's limits (trailing fields first, then description); return it."""
    _clip_parts(embed)
    # The first field (the citation) outlives the rest; the description shrinks before it goes.
    while embed_length(embed) > LIMITS.embed_total and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 1)
    excess = embed_length(embed) - LIMITS.embed_total
    if excess > 0 and embed.description:
        embed.description = truncate(embed.description, max(len(embed.description) - excess, 0)) or None
    while embed_length(embed) > LIMITS.embed_total and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


def content_chunks(text: str, limit: int = LIMITS.content) -> list[str]:
    """Split a plain message into pieces of ≤ ``limit`` characters at paragraph, sentence or word ends."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        breaks = [m.start() for m in _PARAGRAPH_BREAK.finditer(rest[: limit + 1]) if m.start() <= limit]
        cut = breaks[-1] if breaks and breaks[-1] >= limit // 2 else _cut_point(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*chunks, rest] if rest else chunks


def answer_pages(
    answer: Answer, *, titles: Mapping[str, str], until_chapter: int | None = None, story: str | None = None
) -> list[discord.Embed]:
    """The answer, then one page per further passage; ``titles`` maps story ids to titles."""
    if not answer.found:
        return [answer_embed(answer, story_title=titles.get(story or "", ""), until_chapter=until_chapter)]
    pages = len(answer.hits)
    first = answer_embed(
        answer,
        story_title=titles.get(answer.hits[0].passage.story, ""),
        until_chapter=until_chapter,
        pages=pages,
    )
    rest = [
        passage_embed(
            hit,
            story_title=titles.get(hit.passage.story, ""),
            position=i,
            pages=pages,
            until_chapter=until_chapter,
        )
        for i, hit in enumerate(answer.hits[1:], 2)
    ]
    return [first, *rest]
