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

    target_chars: int = Field(default=600, ge=80, le=4000)
    overlap_sentences: int = Field(default=0, ge=0, le=3)


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence (or a piece of an over-long one) inside the story text."""

    start: int
    end: int
    para: int
    scene: int


_PARA_BREAK = re.compile(r"\n[ \t]*\n\s*")
# Two or more blank lines, or a line of * - ~ # = o 0 §, mark a scene break in plain-text fiction.
_SCENE_GAP = re.compile(r"\n[ \t]*\n[ \t]*\n")
_SCENE_MARK = re.compile(r"(?:[*\-~#=_•·o0§]\s*){1,12}")
# A sentence ends at . ! ? or … (optionally followed by closing quotes or brackets) when the next
# word does not start in lower case: "he said. then" is rarely a boundary in fiction.
_SENT_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[^\s a-z])")
_ABBREV = frozenset(
    "mr mrs ms dr st jr sr prof gen col capt lt sgt rev hon vs etc no vol ch fig mt ft sq esq".split()
)
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\.$")


def paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each non-blank paragraph in ``text[start:end]``."""
    for a, b, _ in scenes_and_paragraphs(text, start, end):
        yield a, b


def scenes_and_paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, scene) per paragraph; scene-break marker lines are not paragraphs."""
    pos, scene = start, 0
    for brk in _PARA_BREAK.finditer(text, start, end):
        for a, b in _trimmed(text, pos, brk.start()):
            if _SCENE_MARK.fullmatch(text, a, b):
                scene += 1
            else:
                yield a, b, scene
        if _SCENE_GAP.search(text, brk.start(), brk.end()):
            scene += 1
        pos = brk.end()
    for a, b in _trimmed(text, pos, end):
        if not _SCENE_MARK.fullmatch(text, a, b):
            yield a, b, scene


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
    for para, (p_start, p_end, scene) in enumerate(scenes_and_paragraphs(text, chapter.start, chapter.end)):
        for s_start, s_end in sentences(text, p_start, p_end):
            for a, b in _split_long(text, s_start, s_end, params.target_chars):
                spans.append(Span(a, b, para, scene))
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
    """Pack sentence spans into passages as [first, last) span index ranges.

    Each scene is cut into the fewest passages of at most ``target_chars`` that its units allow,
    with the cuts placed near equal shares, preferring paragraph ends: balanced passages leave no
    stub at a scene's end and no passage ever straddles a scene break.
    """
    ranges: list[tuple[int, int]] = []
    first = 0
    while first < len(spans):
        last = first
        while last < len(spans) and spans[last].scene == spans[first].scene:
            last += 1
        ranges += _pack_scene(spans, first, last, params.target_chars)
        first = last
    if params.overlap_sentences:
        n = params.overlap_sentences
        ranges = [ranges[0]] + [
            (max(prev[0] + 1, s - n) if spans[s].scene == spans[prev[0]].scene else s, e)
            for prev, (s, e) in zip(ranges, ranges[1:], strict=False)
        ]
    return ranges


def _pack_scene(spans: list[Span], first: int, last: int, target: int) -> list[tuple[int, int]]:
    units = [(a + first, b + first) for a, b in _units(spans[first:last], target)]
    origin, total = spans[first].start, spans[last - 1].end - spans[first].start
    parts = max(1, -(-total // target))
    cuts: list[int] = []  # unit indices where a new passage starts
    for i in range(1, parts):
        ideal = origin + total * i / parts
        lo = cuts[-1] + 1 if cuts else 1
        candidates = range(lo, len(units) - (parts - 1 - i))
        if not candidates:
            break
        cuts.append(min(candidates, key=lambda u: _cut_cost(spans, units[u][0], ideal, total / parts)))
    bounds = [0, *cuts, len(units)]
    return [(units[a][0], units[b - 1][1]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _cut_cost(spans: list[Span], span: int, ideal: float, share: float) -> float:
    cost = abs(spans[span].start - ideal)
    if spans[span].para != spans[span - 1].para:
        cost -= 0.2 * share  # a paragraph end is a better place to cut than mid-paragraph
    return cost


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
