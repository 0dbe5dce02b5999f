"""Story → ordered passages: sentence-aware windows that respect paragraphs and chapters.

Pure functions: no vectors, no files. Every passage satisfies ``story.text[start:end] == text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import Field

from index.models import Chapter, Frozen, Passage, Story


class ChunkParams(Frozen):
    """How a chapter is cut into passages; recorded in the library's manifest."""

    target_chars: int = Field(default=450, ge=80, le=4000)
    overlap_sentences: int = Field(default=0, ge=0, le=3)
    min_chars: int = Field(default=120, ge=0)


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence (or a piece of an over-long one) inside the story text."""

    start: int
    end: int
    para: int


_PARA_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends at . ! ? or … (optionally followed by closing quotes or brackets) when the next
# word does not start in lower case: "he said. then" is rarely a boundary in fiction.
_SENT_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[^\s a-z])")
_ABBREV = frozenset(
    "mr mrs ms dr st jr sr prof gen col capt lt sgt rev hon vs etc no vol ch fig mt ft sq esq".split()
)
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\.$")


def paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each non-blank paragraph in ``text[start:end]``."""
    pos = start
    for brk in _PARA_BREAK.finditer(text, start, end):
        yield from _trimmed(text, pos, brk.start())
        pos = brk.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _is_abbreviation(text: str, start: int, stop: int) -> bool:
    match = _WORD_BEFORE.search(text, max(start, stop - 12), stop)
    if match is None:
        return False
    word = match.group(1)
    # Single capitals are initials ("J. R. R. Tolkien"), not sentence ends.
    return word.lower() in _ABBREV or (len(word) == 1 and word.isupper())


def sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each sentence in one paragraph ``text[start:end]``."""
    pos = start
    for match in _SENT_END.finditer(text, start, end):
        if _is_abbreviation(text, pos, match.start() + 1):
            continue
        yield from _trimmed(text, pos, match.end())
        pos = match.end()
    yield from _trimmed(text, pos, end)


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at whitespace so no piece exceeds ``limit`` characters."""
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        yield from _trimmed(text, start, cut)
        start = cut
    yield from _trimmed(text, start, end)


def chapter_spans(text: str, chapter: Chapter, params: ChunkParams) -> list[Span]:
    """Split a chapter into sentence spans tagged with their 0-based paragraph index."""
    spans: list[Span] = []
    for para, (p_start, p_end) in enumerate(paragraphs(text, chapter.start, chapter.end)):
        for s_start, s_end in sentences(text, p_start, p_end):
            for a, b in _split_long(text, s_start, s_end, params.target_chars):
                spans.append(Span(a, b, para))
    return spans


def _units(spans: list[Span], target: int) -> list[tuple[int, int]]:
    """Group spans into packing units: a whole paragraph when it fits, else single sentences."""
    units: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j = i
        while j < len(spans) and spans[j].para == spans[i].para:
            j += 1
        if spans[j - 1].end - spans[i].start <= target:
            units.append((i, j))
        else:
            units.extend((n, n + 1) for n in range(i, j))
        i = j
    return units


def pack(spans: list[Span], params: ChunkParams) -> list[tuple[int, int]]:
    """Pack sentence spans into passages as [first, last) span index ranges."""
    groups: list[list[int]] = []
    for first, last in _units(spans, params.target_chars):
        if groups:
            begin = spans[groups[-1][0]].start
            if spans[last - 1].end - begin <= params.target_chars:
                groups[-1][1] = last
                continue
        groups.append([first, last])
    # A short tail reads badly and retrieves poorly on its own; fold it into its neighbour.
    if len(groups) > 1:
        a, b = groups[-2], groups[-1]
        tail = spans[b[1] - 1].end - spans[b[0]].start
        merged = spans[b[1] - 1].end - spans[a[0]].start
        if tail < params.min_chars and merged <= params.target_chars * 3 // 2:
            groups[-2:] = [[a[0], b[1]]]
    ranges = [(g[0], g[1]) for g in groups]
    if params.overlap_sentences:
        n = params.overlap_sentences
        ranges = [ranges[0]] + [(max(prev[0] + 1, s - n), e) for prev, (s, e) in zip(ranges, ranges[1:])]
    return ranges


def chunk_chapter(story: Story, chapter: Chapter, params: ChunkParams) -> list[Passage]:
    """Cut one chapter into passages with ids ``{story}:{chapter}:{ordinal}``."""
    spans = chapter_spans(story.text, chapter, params)
    passages = []
    for ordinal, (first, last) in enumerate(pack(spans, params)):
        start, end = spans[first].start, spans[last - 1].end
        passages.append(
            Passage(
                id=f"{story.id}:{chapter.number}:{ordinal}",
                story=story.id,
                chapter=chapter.number,
                chapter_title=chapter.title,
                ordinal=ordinal,
                para_start=spans[first].para + 1,
                para_end=spans[last - 1].para + 1,
                start=start,
                end=end,
                text=story.text[start:end],
            )
        )
    return passages


def chunk_story(story: Story, params: ChunkParams) -> list[Passage]:
    """Cut every chapter of a story into passages, in reading order."""
    return [p for chapter in story.chapters for p in chunk_chapter(story, chapter, params)]
