"""Vector reuse on re-ingest: chapters the library already holds keep the vectors it stored.

A passage's vector depends only on its text and the model, and the manifest fixes the model, so
a stored vector is as good as a fresh one for the same text. A new chapter is matched to a stored
chapter by the content hash the chapters table records, and reuses that chapter's vectors only if
its passages' texts are identical to the stored ones, in order: a chapter that chunks differently
(another chunking configuration, or a chunker change between versions) is embedded afresh.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from index.embedding import Vectors
from index.errors import LibraryError
from index.models import Passage, Story
from index.story_rows import content_hash


@dataclass(frozen=True, slots=True)
class StoredChapter:
    """One chapter as the library holds it: its number, its passages' texts and their vectors."""

    number: int
    texts: tuple[str, ...]
    vectors: Vectors


# Stored chapters by content hash; a list because a story may repeat a chapter word for word.
StoredChapters = dict[str, list[StoredChapter]]


@dataclass(slots=True)
class ReusePlan:
    """Vectors for every new passage: reused rows filled in, rows at ``missing`` still to embed."""

    vectors: Vectors
    missing: list[int] = field(default_factory=list)

    @property
    def reused(self) -> int:
        """How many passages take a stored vector."""
        return len(self.vectors) - len(self.missing)

    def fill(self, embedded: Vectors) -> Vectors:
        """Put freshly embedded rows (one per ``missing`` position, in order) in place; return all."""
        expected = (len(self.missing), self.vectors.shape[1])
        if embedded.shape != expected:
            raise LibraryError(f"expected embedded vectors of shape {expected}, got {embedded.shape}")
        if self.missing:
            self.vectors[self.missing] = embedded
        return self.vectors


def select_stored(conn: sqlite3.Connection, story_id: str, dimension: int) -> StoredChapters:
    """Read a story's chapters with their passages' texts and vectors, keyed by content hash."""
    passages: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
    rows = conn.execute(
        "SELECT chapter, text, vector FROM passages WHERE story=? ORDER BY chapter, ordinal", (story_id,)
    )
    for chapter, text, blob in rows:
        passages[chapter].append((text, blob))
    stored: StoredChapters = defaultdict(list)
    for number, digest in conn.execute(
        "SELECT number, content_hash FROM chapters WHERE story=? ORDER BY number", (story_id,)
    ):
        rows_of = passages.get(number, [])
        # A read-only view: ``plan_reuse`` copies the rows it takes into an array of its own.
        vectors = np.frombuffer(b"".join(blob for _, blob in rows_of), dtype=np.float32)
        chapter = StoredChapter(number, tuple(t for t, _ in rows_of), vectors.reshape(-1, dimension))
        stored[digest].append(chapter)
    return dict(stored)


def plan_reuse(
    story: Story, passages: Sequence[Passage], stored: StoredChapters, dimension: int
) -> ReusePlan:
    """Match each chapter of ``story`` to a stored one and take its vectors; list what is left."""
    positions: dict[int, list[int]] = defaultdict(list)
    for i, passage in enumerate(passages):
        positions[passage.chapter].append(i)
    plan = ReusePlan(np.zeros((len(passages), dimension), dtype=np.float32))
    for chapter in story.chapters:
        mine = positions.get(chapter.number, [])
        texts = tuple(passages[i].text for i in mine)
        candidates = stored.get(content_hash(story.text[chapter.start : chapter.end]), [])
        match = _match(candidates, chapter.number, texts)
        if match is None:
            plan.missing += mine
        elif mine:
            plan.vectors[mine] = match.vectors
    return plan


def _match(candidates: Sequence[StoredChapter], number: int, texts: tuple[str, ...]) -> StoredChapter | None:
    """The stored chapter whose passages are these texts, preferring the one with this number.

    Any text-identical chapter has the right vectors; the same number first keeps a chapter that
    did not move byte-identical even if the model's output for a text varied with its batch.
    """
    usable = [c for c in candidates if c.texts == texts]
    same = [c for c in usable if c.number == number]
    return next(iter(same or usable), None)
