"""Lay parsed chapters out as story text that reads like a .txt story, with chapter spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from index.models import Chapter, StoryMeta
from index.readers.blocks import SCENE_BREAK


@dataclass(frozen=True)
class Section:
    """One chapter as parsed: its title, the heading line that opens it, and its paragraphs."""

    title: str
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Parsed:
    """What a structured reader (HTML, EPUB, AO3) found in a file."""

    title: str
    sections: tuple[Section, ...]
    meta: StoryMeta = field(default_factory=StoryMeta)
    warnings: tuple[str, ...] = ()


def trim_breaks(paragraphs: Sequence[str]) -> tuple[str, ...]:
    """Drop scene breaks at either end and repeated ones: they separate nothing there."""
    kept: list[str] = []
    for para in paragraphs:
        if para == SCENE_BREAK and (not kept or kept[-1] == SCENE_BREAK):
            continue
        kept.append(para)
    while kept and kept[-1] == SCENE_BREAK:
        kept.pop()
    return tuple(kept)


def lay_out(sections: Sequence[Section], untitled: str) -> tuple[str, tuple[Chapter, ...]]:
    """Join sections into one text and return it with contiguous chapter spans covering it.

    Each chapter is its heading line (``untitled``, the story's title, when it has none), a blank
    line and its paragraphs separated by blank lines; the blank line after a chapter belongs to
    it, so spans meet and the last one ends the text.
    """
    parts: list[str] = []
    chapters: list[Chapter] = []
    pos = 0
    for number, section in enumerate(sections, 1):
        heading = " ".join(section.heading.split()) or " ".join(untitled.split())
        body = "\n\n".join([heading, *section.paragraphs])
        chunk = body + ("\n\n" if number < len(sections) else "\n")
        chapters.append(Chapter(number=number, title=section.title, start=pos, end=pos + len(chunk)))
        parts.append(chunk)
        pos += len(chunk)
    return "".join(parts), tuple(chapters)


def join_headings(parts: Sequence[str]) -> str:
    """One heading line from stacked headings: "Chapter 2" over "The Storm" → "Chapter 2: The Storm"."""
    line = ""
    for part in parts:
        if not line:
            line = part
        else:
            line += (" " if line[-1] in ".:!?—–-" else ": ") + part
    return line
