"""Reading progress per reader per story per server, and each server's policy for readers without any.

Kept in the library's own SQLite file, so it survives restarts and travels with the data dir. The
limits it yields are applied inside retrieval (``Query.chapter_limits``), never after ranking.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from index.errors import InputError
from index.sqlite_io import connect, transaction

Policy = Literal["whole", "first", "ask"]
POLICIES: dict[Policy, str] = {
    "whole": "the whole story",
    "first": "the first chapter only",
    "ask": "nothing until they set their progress",
}
DEFAULT_POLICY: Policy = "whole"
FINISHED = None  # a stored chapter of NULL: the reader has finished the story

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reader_progress (
    guild INTEGER NOT NULL,
    user INTEGER NOT NULL,
    story TEXT NOT NULL,
    chapter INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (guild, user, story)
);
CREATE TABLE IF NOT EXISTS guild_settings (
    guild INTEGER PRIMARY KEY,
    spoiler_policy TEXT NOT NULL
);
"""


class ProgressNeeded(InputError):
    """The server asks readers to set their progress before asking."""


class ReadingProgress:
    """Readers' chapters and servers' spoiler policies, in the library's SQLite file."""

    def __init__(self, db_path: Path):
        self._conn = connect(db_path)
        self._lock = threading.Lock()
        with self._lock, transaction(self._conn):
            for statement in _SCHEMA.split(";"):
                self._conn.execute(statement)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    # -- readers -----------------------------------------------------------------------------------
    def set(self, guild: int, user: int, story: str, chapter: int | None) -> None:
        """Record that ``user`` has read ``story`` up to ``chapter`` (None: finished)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO reader_progress VALUES (?,?,?,?,?)",
                (guild, user, story, chapter, now),
            )

    def of(self, guild: int, user: int) -> dict[str, int | None]:
        """Every story ``user`` has set progress for in ``guild``: chapter, or None when finished."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT story, chapter FROM reader_progress WHERE guild=? AND user=?", (guild, user)
            ).fetchall()
        return dict(rows)

    def clear(self, guild: int, user: int, story: str) -> None:
        """Forget ``user``'s progress in ``story``: the server's policy applies again."""
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "DELETE FROM reader_progress WHERE guild=? AND user=? AND story=?", (guild, user, story)
            )

    def renumber(self, story: str, moves: dict[int, int]) -> int:
        """Move readers' progress in ``story`` from old chapter numbers to new (see index.renumber);
        return how many readers moved. Finished readers stay finished."""
        if not moves:
            return 0
        with self._lock, transaction(self._conn):
            rows = self._conn.execute(
                "SELECT guild, user, chapter FROM reader_progress WHERE story=? AND chapter IS NOT NULL",
                (story,),
            ).fetchall()
            moved = [(moves[c], g, u, story) for g, u, c in rows if c in moves]
            self._conn.executemany(
                "UPDATE reader_progress SET chapter=? WHERE guild=? AND user=? AND story=?", moved
            )
        return len(moved)

    def forget_story(self, story: str) -> None:
        """Drop every reader's progress for a removed story."""
        with self._lock, transaction(self._conn):
            self._conn.execute("DELETE FROM reader_progress WHERE story=?", (story,))

    # -- servers -----------------------------------------------------------------------------------
    def policy(self, guild: int) -> Policy:
        """What a reader without progress may see in ``guild``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT spoiler_policy FROM guild_settings WHERE guild=?", (guild,)
            ).fetchone()
        value = row[0] if row else DEFAULT_POLICY
        return value if value in POLICIES else DEFAULT_POLICY

    def set_policy(self, guild: int, policy: Policy) -> None:
        """Set what a reader without progress may see in ``guild``."""
        with self._lock, transaction(self._conn):
            self._conn.execute("INSERT OR REPLACE INTO guild_settings VALUES (?,?)", (guild, policy))


def chapter_limits(
    stories: Iterable[str],
    progress: dict[str, int | None],
    policy: Policy,
    until_chapter: int | None = None,
) -> dict[str, int | None]:
    """The last chapter a reader may see of each story (None: no limit); hidden stories are left out.

    A reader's own progress wins over the server policy; an ``until_chapter`` they ask for can only
    lower it, never lift it past where they are.
    """
    limits: dict[str, int | None] = {}
    for story in stories:
        if story in progress:
            limit = progress[story]
        elif policy == "ask":
            continue
        else:
            limit = 1 if policy == "first" else None
        if until_chapter is not None:
            limit = until_chapter if limit is None else min(limit, until_chapter)
        limits[story] = limit
    return limits
