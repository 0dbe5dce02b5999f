"""A library's self-check, for `storybot doctor`: SQLite's rows against the manifest, and the cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

import faiss

from index.schema import Manifest

# Per-story row counts that ``Library.verify`` holds against the manifest; ``bad``: vectors of the wrong size.
_STORY_COUNTS = {
    "chapters": "SELECT story, count(*) FROM chapters GROUP BY story",
    "passages": "SELECT story, count(*) FROM passages GROUP BY story",
    "bad": "SELECT story, count(*) FROM passages WHERE length(vector) != :size GROUP BY story",
}


class Verification(NamedTuple):
    """What ``Library.verify`` found: problems make answers wrong or missing; notes are harmless."""

    problems: list[str]
    notes: list[str]


def check_rows(
    conn: sqlite3.Connection, manifest: Manifest, dimension: int | None
) -> tuple[Verification, int | None]:
    """The problems in SQLite's rows, and how many passages it holds (None: it could not be read)."""
    problems = []
    if dimension is not None and dimension != manifest.dimension:
        problems.append(f"its vectors have {manifest.dimension} dimensions, the model's have {dimension}")
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check(3)")]
        if integrity != ["ok"]:
            return Verification([*problems, f"SQLite integrity check: {'; '.join(integrity)}"], []), None
        stories = {row[0] for row in conn.execute("SELECT id FROM stories")}
        counts = {
            name: dict(conn.execute(query, {"size": 4 * manifest.dimension}))
            for name, query in _STORY_COUNTS.items()
        }
    except sqlite3.DatabaseError as exc:
        return Verification([*problems, f"the library database is unreadable: {exc}"], []), None
    problems += _row_problems(manifest, stories, **counts)
    return Verification(problems, []), sum(counts["passages"].values())


def cache_notes(path: Path, count: int, manifest: Manifest) -> list[str]:
    """Harmless findings about the FAISS cache file: missing, unreadable or stale."""
    rebuilt = "the bot rebuilds it from SQLite when it opens the library"
    if not path.is_file():
        return [f"no FAISS cache {path.name} yet: {rebuilt}"]
    try:
        cached = faiss.read_index(str(path))
    except RuntimeError:
        return [f"the FAISS cache {path.name} is unreadable: {rebuilt}"]
    if cached.ntotal != count or cached.d != manifest.dimension:
        return [f"the FAISS cache {path.name} is stale ({cached.ntotal} vectors, not {count}): {rebuilt}"]
    return []


def _row_problems(
    manifest: Manifest,
    stories: set[str],
    chapters: dict[str, int],
    passages: dict[str, int],
    bad: dict[str, int],
) -> list[str]:
    """Each story's rows in SQLite against what the manifest committed with them."""
    problems = []
    for story in sorted(stories | set(manifest.stories) | set(passages)):
        entry = manifest.stories.get(story)
        if entry is None or story not in stories:
            where = "SQLite but not in the manifest" if entry is None else "the manifest but not in SQLite"
            problems.append(f"story '{story}' is in {where}")
            continue
        for what, recorded, held in (
            ("chapters", entry.chapters, chapters.get(story, 0)),
            ("passages", entry.passages, passages.get(story, 0)),
        ):
            if recorded != held:
                problems.append(
                    f"story '{story}': the manifest records {recorded} {what}, SQLite holds {held}"
                )
        if story in bad:
            problems.append(
                f"story '{story}': {bad[story]} vectors are not {manifest.dimension} float32 values"
            )
    return problems
