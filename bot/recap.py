"""The story so far: one entry per chapter up to the reader's, from its most central passage or, with an
LLM, a summary generated once per chapter and cached in the library."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from index.models import Frozen
from index.sqlite_io import connect, transaction
from index.store import Library

# A chapter's text is cut to this many characters before it is summarised: small local models have
# contexts of 2k tokens, and a chapter's opening carries most of what a recap needs.
SUMMARY_INPUT_CHARS = 6000

Summarize = Callable[[str, str], str]  # (chapter title, chapter text) -> summary
Progress = Callable[[int, int], None]


class ChapterRecap(Frozen):
    """One chapter's line in a recap."""

    number: int
    title: str
    text: str
    kind: Literal["passage", "summary"]


class _Chapter(Frozen):
    number: int
    title: str
    content_hash: str
    texts: tuple[str, ...]


def _chapters(
    library: Library, story: str, until_chapter: int | None
) -> tuple[list[_Chapter], dict[int, int]]:
    """The story's chapters up to the limit, and each one's index into its stored vectors."""
    titles = {c.number: c.title for c in library.chapters(story)}
    chapters, vectors = [], {}
    for digest, stored in library.stored_chapters(story).items():
        for c in stored:
            if (until_chapter is None or c.number <= until_chapter) and c.texts:
                chapters.append(
                    _Chapter(
                        number=c.number, title=titles.get(c.number, ""), content_hash=digest, texts=c.texts
                    )
                )
                vectors[c.number] = int(np.argmax(c.vectors @ c.vectors.mean(axis=0)))
    return sorted(chapters, key=lambda c: c.number), vectors


def central_passages(library: Library, story: str, until_chapter: int | None) -> list[ChapterRecap]:
    """Each chapter's most central passage: the one closest to the mean of the chapter's vectors."""
    chapters, best = _chapters(library, story, until_chapter)
    return [
        ChapterRecap(number=c.number, title=c.title, text=c.texts[best[c.number]], kind="passage")
        for c in chapters
    ]


class SummaryCache:
    """Chapter summaries by story, chapter content hash and model: a changed chapter gets a new one."""

    def __init__(self, db_path: Path):
        self._conn = connect(db_path)
        self._lock = threading.Lock()
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS chapter_summaries (story TEXT NOT NULL, "
                "content_hash TEXT NOT NULL, model TEXT NOT NULL, summary TEXT NOT NULL, "
                "created_at TEXT NOT NULL, PRIMARY KEY (story, content_hash, model))"
            )

    def get(self, story: str, digest: str, model: str) -> str | None:
        """A cached summary, if there is one."""
        with self._lock:
            row = self._conn.execute(
                "SELECT summary FROM chapter_summaries WHERE story=? AND content_hash=? AND model=?",
                (story, digest, model),
            ).fetchone()
        return str(row[0]) if row else None

    def put(self, story: str, digest: str, model: str, summary: str) -> None:
        """Cache a summary."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO chapter_summaries VALUES (?,?,?,?,?)",
                (story, digest, model, summary, now),
            )

    def forget_story(self, story: str) -> None:
        """Drop a removed story's summaries."""
        with self._lock, transaction(self._conn):
            self._conn.execute("DELETE FROM chapter_summaries WHERE story=?", (story,))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()


def summaries(
    library: Library,
    story: str,
    until_chapter: int | None,
    *,
    cache: SummaryCache,
    model: str,
    summarize: Summarize,
    on_progress: Progress | None = None,
) -> list[ChapterRecap]:
    """Each chapter's summary, generated once (by ``summarize``) and then read from the cache."""
    chapters, _ = _chapters(library, story, until_chapter)
    recaps = []
    for done, c in enumerate(chapters, 1):
        summary = cache.get(story, c.content_hash, model)
        if summary is None:
            summary = summarize(c.title, " ".join(c.texts)[:SUMMARY_INPUT_CHARS]).strip()
            if summary:
                cache.put(story, c.content_hash, model, summary)
        recaps.append(
            ChapterRecap(number=c.number, title=c.title, text=summary or c.texts[0], kind="summary")
        )
        if on_progress is not None:
            on_progress(done, len(chapters))
    return recaps
