"""The chapter_names table: each chapter's name record (index.xray), keyed by the chapter's content
hash so that a re-ingest re-reads only new or changed chapters."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from index.models import Frozen, Story
from index.story_rows import content_hash
from index.xray import ChapterNames, chapter_names

TABLE = """
CREATE TABLE IF NOT EXISTS chapter_names (
    story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    names TEXT NOT NULL,
    PRIMARY KEY (story, number)
)
"""


class NamesRow(Frozen):
    """One chapter's name record as stored."""

    number: int
    content_hash: str
    names: ChapterNames


def select_names(conn: sqlite3.Connection, story_id: str, until: int | None = None) -> list[NamesRow]:
    """The story's chapter records up to ``until`` (all when None), in chapter order; [] when none."""
    last = until if until is not None else 2**31
    try:
        rows = conn.execute(
            "SELECT number, content_hash, names FROM chapter_names WHERE story=? AND number<=? "
            "ORDER BY number",
            (story_id, last),
        ).fetchall()
    except sqlite3.OperationalError:  # a read-only library from before the table existed
        return []
    return [NamesRow(number=n, content_hash=h, names=ChapterNames.model_validate_json(j)) for n, h, j in rows]


def names_rows(story: Story, stored: Sequence[NamesRow] = ()) -> list[NamesRow]:
    """A record for every chapter of ``story``, reusing stored ones whose chapter text is unchanged."""
    by_hash: Mapping[str, ChapterNames] = {r.content_hash: r.names for r in stored}
    rows = []
    for chapter in story.chapters:
        text = story.text[chapter.start : chapter.end]
        digest = content_hash(text)
        names = by_hash.get(digest)
        rows.append(
            NamesRow(
                number=chapter.number, content_hash=digest, names=names or chapter_names(text, chapter.title)
            )
        )
    return rows


def insert_names(conn: sqlite3.Connection, story_id: str, rows: Sequence[NamesRow]) -> None:
    """Write a story's chapter records (the caller deleted the previous ones with the story row)."""
    conn.executemany(
        "INSERT INTO chapter_names VALUES (?,?,?,?)",
        [(story_id, r.number, r.content_hash, r.names.model_dump_json()) for r in rows],
    )
