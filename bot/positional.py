"""Whole-story and positional questions, answered from the story's structure, not by search.

"How does it end?" has no passage that resembles it: the answer is where the story (as far as the
reader has read) ends. Recognised phrasings (the README lists them) map to a place: the end, the
beginning, one chapter, or the story so far. Nothing past the reader's chapter is ever taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np

from index.chunking import text_sentences
from index.embedding import Vectors
from index.models import Frozen, Hit, Passage
from index.readers.headings import NUMBER_WORDS, parse_number
from index.store import Library

Kind = Literal["end", "beginning", "chapter", "so_far"]

_NUMBER = rf"(\d{{1,4}}|{NUMBER_WORDS})"
_IT = r"(?:it|this|it all|things|the (?:story|book|tale|fic|fanfic|novel|work|plot))"
_SOURCES: tuple[tuple[Kind, str], ...] = (
    ("end", rf"^(?:so )?how (?:does|did|will) {_IT} (?:end|finish|conclude|wrap up|turn out)\b(?! up)"),
    ("end", rf"^what (?:happens|happened) (?:at|in) the (?:very )?end(?: of {_IT})?$"),
    ("end", rf"^(?:what is|what's|what was|tell me) (?:the )?ending\b|^the ending\b|^how {_IT} ends\b"),
    ("beginning", rf"^how (?:does|did) {_IT} (?:begin|start|open)\b"),
    (
        "beginning",
        rf"^what (?:happens|happened) (?:at|in) the (?:very )?(?:beginning|start)(?: of {_IT})?$",
    ),
    ("beginning", r"^(?:what is|what's|what was|tell me) the (?:beginning|opening|start)\b"),
    ("chapter", rf"^what (?:happens|happened|goes on|went on) in (?:chapter|ch\.?) {_NUMBER}\b"),
    ("chapter", rf"^(?:summari[sz]e|recap|sum up) (?:chapter|ch\.?) {_NUMBER}\b"),
    ("chapter", rf"^(?:what is|what's) (?:chapter|ch\.?) {_NUMBER} about\b"),
    ("so_far", r"^what (?:has )?happened (?:so far|until now|up to now|up till now)\b"),
    ("so_far", r"^what (?:has )?happened in the story (?:so far|until now)\b"),
    ("so_far", rf"^(?:summari[sz]e|recap|sum up) {_IT}\b|^(?:summari[sz]e|recap)(?: so far)?$"),
    ("so_far", r"^(?:give me |can i have |can you give me )?(?:a |the )?(?:summary|recap)\b"),
    ("so_far", rf"^what(?: is|'s) {_IT} about\b"),
)
_PATTERNS = tuple((kind, re.compile(pattern)) for kind, pattern in _SOURCES)


class Position(Frozen):
    """A recognised positional question: where in the story its answer is."""

    kind: Kind
    chapter: int | None = None


def _normalise(question: str) -> str:
    text = question.casefold().replace("’", "'").strip()
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"^(?:please |so |and |ok,? |okay,? )+", "", text).rstrip(" ?!.")


def recognise(question: str) -> Position | None:
    """The place a positional question asks about, or None for an ordinary question."""
    text = _normalise(question)
    for kind, pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            number = match.group(1) if kind == "chapter" else None
            if number is None:
                return Position(kind=kind)
            value = parse_number(number)
            return Position(kind=kind, chapter=value) if value else None
    return None


@dataclass(frozen=True, slots=True)
class Placed:
    """What answers a positional question: hits (the lead first), the span to quote, a later notice."""

    hits: tuple[Hit, ...]
    start: int = 0
    end: int = 0
    later_chapter: bool = False


def answer(
    library: Library, position: Position, story: str, limit: int | None, *, k: int, window_chars: int
) -> Placed:
    """The passages and span that answer ``position`` in ``story``, read up to ``limit`` at most."""
    chapters = library.story(story).chapters
    last = chapters if limit is None else min(limit, chapters)
    if position.kind == "chapter":
        wanted = position.chapter or 1
        if wanted > last:
            return Placed(hits=(), later_chapter=wanted <= chapters)
        passages, vectors = library.story_passages(story, wanted)
        keep = [i for i, p in enumerate(passages) if p.chapter == wanted]
        passages, vectors = [passages[i] for i in keep], vectors[keep]
        order = _chapter_order(passages, vectors)
    else:
        passages, vectors = library.story_passages(story, last)
        order = _order(position.kind, passages, vectors, k)
    if not passages:
        return Placed(hits=())
    chosen = [passages[i] for i in order[:k]]
    lead = chosen[0]
    start, end = _span(lead, from_end=position.kind == "end", window_chars=window_chars)
    later = position.kind in ("end", "so_far") and last < chapters
    return Placed(tuple(Hit(passage=p, score=0.0) for p in chosen), start, end, later)


def _order(kind: Kind, passages: list[Passage], vectors: Vectors, k: int) -> list[int]:
    n = len(passages)
    if kind == "end":
        return list(range(n - 1, -1, -1))
    if kind == "beginning":
        return list(range(n))
    # The story so far: k stretches of equal length, the most central passage of each, in order.
    bounds = np.linspace(0, n, min(k, n) + 1).round().astype(int)
    return [_central(vectors, int(a), int(b)) for a, b in pairwise(bounds) if b > a]


def _chapter_order(passages: list[Passage], vectors: Vectors) -> list[int]:
    """The chapter's most central passage, then its opening and ending, then the rest in order."""
    if not passages:
        return []
    first = [_central(vectors, 0, len(passages)), 0, len(passages) - 1]
    return list(dict.fromkeys([*first, *range(len(passages))]))


def _central(vectors: Vectors, a: int, b: int) -> int:
    """The index in [a, b) of the passage closest to the stretch's mean vector."""
    part = vectors[a:b]
    return a + int(np.argmax(part @ part.mean(axis=0)))


def _span(passage: Passage, *, from_end: bool, window_chars: int) -> tuple[int, int]:
    """The passage's first (or last) sentence, with the next (or previous) when both fit."""
    spans = text_sentences(passage.text) or [(0, len(passage.text))]
    if from_end:
        start, end = spans[-1]
        if len(spans) > 1 and end - spans[-2][0] <= window_chars:
            start = spans[-2][0]
    else:
        start, end = spans[0]
        if len(spans) > 1 and spans[1][1] - start <= window_chars:
            end = spans[1][1]
    return passage.start + start, passage.start + end
