"""The stories and chapters tables: what the library says about each story besides its passages."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime

from index.models import RATINGS, Frozen, Rating, Story, StoryMeta


class StoryInfo(Frozen):
    """A story as the library lists it."""

    id: str
    title: str
    source: str
    chapters: int
    passages: int
    words: int
    added_at: str
    content_hash: str
    # The Discord server the story was added in; None for a story every server may read.
    guild: int | None = None
    # The rating that gates it: an admin's choice if one was made, else what the file said.
    rating: Rating = "unrated"
    updated_at: str = ""


class ChapterInfo(Frozen):
    """One chapter as `/story info` shows it."""

    number: int
    title: str
    words: int
    passages: int


def content_hash(text: str) -> str:
    """Return the sha256 of a text, as recorded in the manifest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_SELECT = (
    "SELECT id, title, source, chapters, passages, words, added_at, content_hash, guild, "
    "COALESCE(rating_override, rating, 'unrated'), COALESCE(updated_at, added_at) FROM stories"
)
_KEYS = (
    "id",
    "title",
    "source",
    "chapters",
    "passages",
    "words",
    "added_at",
    "content_hash",
    "guild",
    "rating",
    "updated_at",
)


def select_stories(conn: sqlite3.Connection) -> list[StoryInfo]:
    """Every story, in id order."""
    rows = conn.execute(f"{_SELECT} ORDER BY id").fetchall()
    return [StoryInfo.model_validate(dict(zip(_KEYS, row, strict=True))) for row in rows]


def new_info(conn: sqlite3.Connection, story: Story, passages: int, guild: int | None) -> StoryInfo:
    """The listing a story will have once stored; a replaced story keeps its first added date."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    row = conn.execute("SELECT added_at, rating_override FROM stories WHERE id=?", (story.id,)).fetchone()
    override = row[1] if row and row[1] in RATINGS else None
    return StoryInfo(
        id=story.id,
        title=story.title,
        source=story.source,
        chapters=len(story.chapters),
        passages=passages,
        words=len(story.text.split()),
        added_at=row[0] if row else now,
        content_hash=content_hash(story.text),
        guild=guild,
        rating=override or story.meta.rating,
        updated_at=now,
    )


def insert_story(conn: sqlite3.Connection, story: Story, info: StoryInfo, override: str | None) -> None:
    """Write the story's row and its chapters' rows (the caller deleted any previous ones)."""
    conn.execute(
        "INSERT INTO stories (id, title, source, chapters, passages, words, added_at, content_hash, guild, "
        "rating, rating_override, updated_at, meta, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            info.id,
            info.title,
            info.source,
            info.chapters,
            info.passages,
            info.words,
            info.added_at,
            info.content_hash,
            info.guild,
            story.meta.rating,
            override,
            info.updated_at,
            story.meta.model_dump_json(),
            story.text,
        ),
    )
    conn.executemany(
        "INSERT INTO chapters VALUES (?,?,?,?,?,?)",
        [
            (story.id, c.number, c.title, c.start, c.end, content_hash(story.text[c.start : c.end]))
            for c in story.chapters
        ],
    )


def rating_override(conn: sqlite3.Connection, story_id: str) -> str | None:
    """The admin's rating for a story, if one was set."""
    row = conn.execute("SELECT rating_override FROM stories WHERE id=?", (story_id,)).fetchone()
    return str(row[0]) if row and row[0] in RATINGS else None


def select_meta(conn: sqlite3.Connection, story_id: str) -> StoryMeta | None:
    """The story's metadata, or None if there is no such story."""
    row = conn.execute("SELECT meta FROM stories WHERE id=?", (story_id,)).fetchone()
    if row is None:
        return None
    return StoryMeta.model_validate_json(row[0]) if row[0] else StoryMeta()


def select_chapters(conn: sqlite3.Connection, story_id: str) -> list[ChapterInfo]:
    """The story's chapters in reading order, with their words and passages."""
    text_row = conn.execute("SELECT text FROM stories WHERE id=?", (story_id,)).fetchone()
    if text_row is None:
        return []
    text = str(text_row[0])
    counts = dict(
        conn.execute("SELECT chapter, COUNT(*) FROM passages WHERE story=? GROUP BY chapter", (story_id,))
    )
    rows = conn.execute(
        "SELECT number, title, start, end FROM chapters WHERE story=? ORDER BY number", (story_id,)
    ).fetchall()
    return [
        ChapterInfo(number=n, title=title, words=len(text[a:b].split()), passages=counts.get(n, 0))
        for n, title, a, b in rows
    ]
