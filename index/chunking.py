"""Story → ordered passages: sentence-aware windows that respect paragraphs and chapters.

Pure functions: no vectors, no files. Every passage satisfies ``story.text[start:end] == text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby, pairwise

from pydantic import Field

from index.models import Chapter, Frozen, Passage, Story


class ChunkParams(Frozen):
    """How a chapter is cut into passages; recorded in the library's manifest."""

    target_chars: int = Field(default=700, ge=80, le=4000)
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
_SCENE_MARK = r"(?:[*\-~#=_•·o0§][ \t]*){1,12}"
_MARK_LINE = re.compile(rf"^[ \t]*{_SCENE_MARK}$", re.MULTILINE)
# A sentence ends at . ! ? or … (optionally followed by closing quotes or brackets) when the next
# word does not start in lower case: "he said. then" is rarely a boundary in fiction.
_SENT_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[^\s a-z])")
# Quotation marks that open a quotation, each with the mark that closes it.
_OPENERS = {"“": "”", "«": "»", '"': '"'}
# A quotation up to this long stays one sentence; a longer speech splits at its own sentence ends.
QUOTE_KEPT_WHOLE = 300
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "prof",
        "gen",
        "col",
        "capt",
        "lt",
        "sgt",
        "rev",
        "hon",
        "vs",
        "etc",
        "vol",
        "ch",
        "fig",
        "mt",
        "ft",
        "sq",
        "esq",
    ]
)
_NUMBERED = frozenset({"no", "nos", "vol", "ch", "fig", "p", "pp"})  # abbreviations only before a number
_WORD_BEFORE = re.compile(r"([A-Za-z]+)\.$")


def paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each non-blank paragraph in ``text[start:end]``."""
    for a, b, _ in scenes_and_paragraphs(text, start, end):
        yield a, b


def scenes_and_paragraphs(text: str, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, scene) per paragraph; scene-break marker lines are not paragraphs."""
    pos, scene = start, 0
    blocks = [(m.start(), m.end()) for m in _PARA_BREAK.finditer(text, start, end)] + [(end, end)]
    for brk_start, brk_end in blocks:
        for a, b in _pieces(text, pos, brk_start):
            if a < 0:
                scene += 1
            else:
                yield a, b, scene
        if _SCENE_GAP.search(text, brk_start, brk_end):
            scene += 1
        pos = brk_end


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut one block at scene-break marker lines, blank lines around them or not.

    Yields (start, end) of each text piece and (-1, -1) for each marker line.
    """
    pos = start
    for line in _MARK_LINE.finditer(text, start, end):
        yield from _trimmed(text, pos, line.start())
        yield -1, -1
        pos = line.end()
    yield from _trimmed(text, pos, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _is_abbreviation(text: str, start: int, match: re.Match[str]) -> bool:
    if match.group().rstrip(".!?…"):
        return False  # a closing quote or bracket after the stop: “No.” ends a sentence
    before = _WORD_BEFORE.search(text, max(start, match.start() - 11), match.start() + 1)
    if before is None:
        return False
    word = before.group(1)
    if word.lower() in _NUMBERED:
        return text[match.end() : match.end() + 8].lstrip()[:1].isdigit()
    # Single capitals are initials ("J. R. R. Tolkien"), except the pronoun I.
    return word.lower() in _ABBREV or (len(word) == 1 and word.isupper() and word != "I")


def quotations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The [open, after close) ranges of the quotations in one paragraph ``text[start:end]``.

    Curly and guillemet quotes pair by kind; a straight double quote opens when none is open and
    closes otherwise. A quotation left open runs to the paragraph's end (speech that goes on in the
    next paragraph). Single quotes are left alone: ’ is far more often an apostrophe.
    """
    found: list[tuple[int, int]] = []
    opened, closer = -1, ""
    for i in range(start, end):
        ch = text[i]
        if opened < 0 and ch in _OPENERS:
            opened, closer = i, _OPENERS[ch]
        elif opened >= 0 and ch == closer:
            found.append((opened, i + 1))
            opened = -1
    if opened >= 0:
        found.append((opened, end))
    return found


def sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of each sentence in one paragraph ``text[start:end]``.

    A short quotation is never cut: “Snoke’ll find us. He’ll kill us.” is one sentence, as a reader
    takes it, so a quote never loses its closing mark to the next span.
    """
    pos = start
    kept = [(a, b) for a, b in quotations(text, start, end) if b - a <= QUOTE_KEPT_WHOLE]
    for match in _SENT_END.finditer(text, start, end):
        if _is_abbreviation(text, pos, match) or any(a < match.end() < b for a, b in kept):
            continue
        yield from _trimmed(text, pos, match.end())
        pos = match.end()
    yield from _trimmed(text, pos, end)


def text_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a short text (a passage), paragraph by paragraph."""
    return [span for a, b in paragraphs(text, 0, len(text)) for span in sentences(text, a, b)]


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
    for i, j in _runs(spans, lambda s: s.para):
        if spans[j - 1].end - spans[i].start <= target:
            units.append((i, j))
        else:
            units.extend((n, n + 1) for n in range(i, j))
    return units


def _runs(spans: list[Span], key: Callable[[Span], int]) -> Iterator[tuple[int, int]]:
    """[first, last) index ranges of consecutive spans that share a key."""
    first = 0
    for _, group in groupby(spans, key):
        last = first + sum(1 for _ in group)
        yield first, last
        first = last


def pack(spans: list[Span], params: ChunkParams) -> list[tuple[int, int]]:
    """Pack sentence spans into passages as [first, last) span index ranges.

    Scenes are packed one by one (see ``_pack_scene``), so no passage straddles a scene break;
    with ``overlap_sentences`` a passage also repeats the last sentences of its predecessor.
    """
    ranges: list[tuple[int, int]] = []
    for first, last in _runs(spans, lambda s: s.scene):
        ranges += _pack_scene(spans, first, last, params.target_chars)
    if params.overlap_sentences:
        n = params.overlap_sentences
        ranges = [ranges[0]] + [
            (max(prev[0] + 1, s - n) if spans[s].scene == spans[prev[0]].scene else s, e)
            for prev, (s, e) in pairwise(ranges)
        ]
    return ranges


def _pack_scene(spans: list[Span], first: int, last: int, target: int) -> list[tuple[int, int]]:
    """Cut one scene into the fewest passages of at most ``target`` characters, evenly sized.

    A small dynamic programme over packing units: each passage costs 1, plus its squared
    deviation from the target and a penalty for ending mid-paragraph (both below 1, so the
    count of passages is minimised first). Only a single over-long unit may exceed the target.
    """
    units = [(a + first, b + first) for a, b in _units(spans[first:last], target)]
    n = len(units)
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        end = spans[units[j - 1][1] - 1].end
        mid_paragraph = j < n and spans[units[j][0]].para == spans[units[j - 1][1] - 1].para
        for i in range(j - 1, -1, -1):
            length = end - spans[units[i][0]].start
            if length > target and i < j - 1:
                break
            cost = best[i] + 1 + 0.4 * (length / target - 1) ** 2 + (0.3 if mid_paragraph else 0)
            if cost < best[j]:
                best[j], back[j] = cost, i
    bounds = [n]
    while bounds[-1]:
        bounds.append(back[bounds[-1]])
    bounds.reverse()
    return [(units[a][0], units[b - 1][1]) for a, b in pairwise(bounds)]


def through(start: int, chapter_start: int, chapter_end: int, paragraphs: int, passages: int) -> int | None:
    """``Passage.through``: a passage's place in its chapter, in percent, rounded to 5, when the
    chapter is a single paragraph cut into several passages (¶1 for all of them helps nobody)."""
    if paragraphs > 1 or passages < 2 or chapter_end <= chapter_start:
        return None
    return min(100, 5 * round(20 * (start - chapter_start) / (chapter_end - chapter_start)))


def chunk_chapter(story: Story, chapter: Chapter, params: ChunkParams) -> list[Passage]:
    """Cut one chapter into passages with ids ``{story}:{chapter}:{ordinal}``."""
    spans = chapter_spans(story.text, chapter, params)
    ranges = pack(spans, params)
    paragraphs = max((s.para for s in spans), default=0) + 1
    passages = []
    for ordinal, (first, last) in enumerate(ranges):
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
                through=through(start, chapter.start, chapter.end, paragraphs, len(ranges)),
            )
        )
    return passages


def chunk_story(story: Story, params: ChunkParams) -> list[Passage]:
    """Cut every chapter of a story into passages, in reading order."""
    return [p for chapter in story.chapters for p in chunk_chapter(story, chapter, params)]
