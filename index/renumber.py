"""Old chapter numbers → new ones when a story is replaced, by what each chapter holds.

A reader's progress is a chapter number; when a new version of a file drops a page that was read
as a chapter (a title page, a summary) or adds one, every later number shifts. Matching chapters
by their text, then by their title, keeps each reader at the chapter they had reached.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import NamedTuple

from index.models import Chapter
from index.xray import heading_end

_CHAPTER_PREFIX = re.compile(r"^(?:chapter|ch\.?)\s+\w+\s*[:.\-–—]?\s*", re.IGNORECASE)


class ChapterKey(NamedTuple):
    """What identifies a chapter across versions: its text without the heading, and its title."""

    number: int
    title: str
    body: str


def chapter_keys(text: str, chapters: Sequence[Chapter]) -> list[ChapterKey]:
    """(number, title key, body hash) per chapter; the body leaves out the heading line, which
    carries the number ("Chapter 2: …") and so changes when chapters move."""
    keys = []
    for c in chapters:
        span = text[c.start : c.end]
        body = span[heading_end(span, c.title) :]
        digest = hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()
        title = " ".join(_CHAPTER_PREFIX.sub("", c.title).casefold().split())
        keys.append(ChapterKey(c.number, title, digest))
    return keys


def renumbering(old: Sequence[ChapterKey], new: Sequence[ChapterKey]) -> dict[int, int]:
    """Each old chapter number whose chapter now has another number → that number.

    An old chapter with no counterpart (a dropped title page, a rewritten chapter with a new title)
    maps where the last matched chapter before it went, so a reader never moves past what they had
    read; one before any match maps to chapter 1.
    """
    taken: set[int] = set()
    matched: dict[int, int] = {}
    for field in ("body", "title"):  # the text first; a chapter the author revised keeps its title
        pool: dict[str, list[int]] = {}
        for key in new:
            if key.number not in taken and getattr(key, field):
                pool.setdefault(getattr(key, field), []).append(key.number)
        for key in old:
            found = pool.get(getattr(key, field), [])
            if key.number not in matched and getattr(key, field) and found:
                matched[key.number] = found.pop(0)
                taken.add(matched[key.number])
    moves: dict[int, int] = {}
    last = 1
    for number in (key.number for key in old):
        target = matched.get(number, last)
        if number in matched:
            last = target
        if target != number:
            moves[number] = target
    return moves
