"""Find chapters in normalised story text: pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from index.models import Chapter
from index.readers.headings import Candidate, classify, clean_title

MAX_HEADING_CHARS = 100
FRONT_MATTER_MIN_WORDS = 100
FRONT_MATTER_TITLE = "Front matter"
SERIES_MIN_HEADINGS = 3
TOC_MAX_BODY_WORDS = 15
TOC_MIN_RUN = 3
_TITLE_JOIN = " — "
# Gutenberg-style run-in headings ("BOOK I. (_Folio_) ... .—This whale") begin prose.
_RUN_IN_RE = re.compile(r"[.)!?_]\s*(?:—|--)")
_CONTENTS_RE = re.compile(r"(?:table of )?contents[.:]?", re.IGNORECASE)

Span = tuple[int, int]


@dataclass(frozen=True)
class _Heading:
    """A heading found in the text; ``end`` is the end of its last line."""

    start: int
    end: int
    cand: Candidate


def detect_chapters(text: str, markdown: bool = False) -> tuple[Chapter, ...]:
    """Split ``text`` into chapters whose spans are trimmed bodies in reading order."""
    heads = _find_headings(text, markdown)
    bodies = [_body(text, heads, i) for i in range(len(heads))]
    dropped = _toc_flags(heads, [_words(text, heads, i) for i in range(len(heads))])
    title_index = _title_heading(heads, markdown)
    if title_index is not None:
        dropped[title_index] = True
    found = _assemble(heads, bodies, dropped)
    if not found:
        whole = _trim(text, 0, len(text))
        return () if whole is None else (Chapter(number=1, title="", start=whole[0], end=whole[1]),)
    front = _front_matter(text, heads, dropped, found[0][1])
    if front is not None:
        found.insert(0, (FRONT_MATTER_TITLE, front))
    return tuple(
        Chapter(number=n, title=title, start=span[0], end=span[1]) for n, (title, span) in enumerate(found, 1)
    )


def markdown_title(text: str) -> str | None:
    """Return the text of a single leading level-1 Markdown heading, if there is one."""
    heads = _find_headings(text, markdown=True)
    index = _title_heading(heads, markdown=True)
    return None if index is None else heads[index].cand.title


def _title_heading(heads: Sequence[_Heading], markdown: bool) -> int | None:
    """Index of the story-title heading: the first heading, the only level-1 one."""
    # "# Chapter 1" names a chapter, not the story, so only plain headings qualify.
    if not markdown or not heads or heads[0].cand.md_level != 1 or heads[0].cand.kind != "markdown":
        return None
    level_one = sum(1 for h in heads if h.cand.md_level == 1)
    return 0 if level_one == 1 else None


def _lines(text: str) -> Iterator[Span]:
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield start, end
        start = end + 1


def _paragraphs(text: str) -> Iterator[list[Span]]:
    """Yield runs of non-blank lines; blank lines may hold whitespace."""
    para: list[Span] = []
    for start, end in _lines(text):
        if text[start:end].strip():
            para.append((start, end))
        elif para:
            yield para
            para = []
    if para:
        yield para


def _find_headings(text: str, markdown: bool) -> list[_Heading]:
    heads: list[_Heading] = []
    for para in _paragraphs(text):
        heads.extend(_paragraph_headings(text, para, markdown))
    return _drop_lone_series(heads)


def _paragraph_headings(text: str, para: list[Span], markdown: bool) -> Iterator[_Heading]:
    """Yield the headings of one paragraph, following where headings may stand."""
    lines = [text[s:e].strip() for s, e in para]
    cands = [_candidate(line, markdown) for line in lines]
    # A table of contents written without blank lines: every line is a heading.
    all_heads = all(
        c is not None or _CONTENTS_RE.fullmatch(line) for c, line in zip(cands, lines, strict=True)
    )
    for i, cand in enumerate(cands):
        if cand is None:
            continue
        if cand.md_level or len(para) == 1 or all_heads:
            yield _Heading(para[i][0], para[i][1], cand)
        elif i == 0:
            found = _run_in_heading(para, lines, cand)
            if found is not None:
                yield found


def _candidate(line: str, markdown: bool) -> Candidate | None:
    cand = classify(line, markdown)
    if cand is None or cand.md_level or len(line) <= MAX_HEADING_CHARS:
        return cand
    return None


def _run_in_heading(para: list[Span], lines: list[str], cand: Candidate) -> _Heading | None:
    """Judge a heading candidate that opens a paragraph with more lines after it."""
    first, following = lines[0], lines[1]
    if not cand.has_title:
        return _Heading(para[0][0], para[0][1], cand)
    if _RUN_IN_RE.search(first):
        return None
    # A long title wrapped onto a short second line ("... and the True\nPictures of ...").
    if len(para) == 2 and len(first) >= 50 and first[-1] not in ".!?:;" and len(following) <= 60:
        title = clean_title(f"{first} {following}")
        return _Heading(para[0][0], para[1][1], replace(cand, title=title))
    if following[:1].islower():
        return None
    return _Heading(para[0][0], para[0][1], cand)


def _drop_lone_series(heads: list[_Heading]) -> list[_Heading]:
    """Keep "WORD n" and "IV. TITLE" headings only when their series recurs."""
    numbers: dict[str, set[int | str]] = {}
    counts: dict[str, int] = {}
    for h in heads:
        if h.cand.group:
            numbers.setdefault(h.cand.group, set()).add(h.cand.key[1])
            counts[h.cand.group] = counts.get(h.cand.group, 0) + 1
    keep = {
        group
        for group, count in counts.items()
        if count >= SERIES_MIN_HEADINGS and len(numbers[group]) >= SERIES_MIN_HEADINGS
    }
    return [h for h in heads if not h.cand.group or h.cand.group in keep]


def _body_bounds(text: str, heads: Sequence[_Heading], i: int) -> Span:
    end = heads[i + 1].start if i + 1 < len(heads) else len(text)
    return heads[i].end, end


def _body(text: str, heads: Sequence[_Heading], i: int) -> Span | None:
    return _trim(text, *_body_bounds(text, heads, i))


def _words(text: str, heads: Sequence[_Heading], i: int) -> int:
    start, end = _body_bounds(text, heads, i)
    return len(text[start:end].split())


def _trim(text: str, start: int, end: int) -> Span | None:
    """Shrink [start, end) past surrounding whitespace; None if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _toc_flags(heads: Sequence[_Heading], words: Sequence[int]) -> list[bool]:
    """Flag table-of-contents entries: a run of near-empty headings repeated later."""
    flags = [False] * len(heads)
    i = 0
    while i < len(heads):
        if words[i] > TOC_MAX_BODY_WORDS:
            i += 1
            continue
        run_end = i
        while run_end < len(heads) and words[run_end] <= TOC_MAX_BODY_WORDS:
            run_end += 1
        real = _toc_repeat(heads, i, run_end) if run_end - i >= TOC_MIN_RUN else None
        if real is not None:
            flags[i:real] = [True] * (real - i)
        i = max(run_end, real or 0)
    return flags


def _toc_repeat(heads: Sequence[_Heading], start: int, run_end: int) -> int | None:
    """Index where the entries of the run starting at ``start`` recur as real headings.

    The run's last entry may have text after it (front matter following the
    contents), so the repeat may come one heading after the run ends.
    """
    first = heads[start].cand.key
    for m in range(start + 1, min(run_end + 2, len(heads))):
        if heads[m].cand.key != first:
            continue
        if m + 1 < len(heads) and start + 1 < m and heads[start + 1].cand.key != heads[m + 1].cand.key:
            return None
        return m
    return None


def _rank(cand: Candidate, empty: bool) -> int:
    """Nesting rank: 1 for Book/Part-like containers, 2 for chapters."""
    if cand.kind == "container" or (cand.kind == "special" and empty):
        return 1
    if cand.kind == "markdown":
        return cand.md_level
    return 2


def _assemble(
    heads: Sequence[_Heading], bodies: Sequence[Span | None], dropped: Sequence[bool]
) -> list[tuple[str, Span]]:
    """Turn headings with bodies into titled chapters, prefixed by their container."""
    stack: list[tuple[int, str]] = []
    found: list[tuple[str, Span]] = []
    for head, body, drop in zip(heads, bodies, dropped, strict=True):
        if drop:
            continue
        rank = _rank(head.cand, body is None)
        while stack and stack[-1][0] >= rank:
            stack.pop()
        if body is not None:
            title = head.cand.title
            found.append((f"{stack[-1][1]}{_TITLE_JOIN}{title}" if stack else title, body))
        # A prologue with text of its own is a chapter, not a heading over later ones.
        if head.cand.kind in ("container", "markdown") or (head.cand.kind == "special" and body is None):
            stack.append((rank, head.cand.title))
    return found


def _front_matter(text: str, heads: Sequence[_Heading], dropped: Sequence[bool], first: Span) -> Span | None:
    """Span of substantial text before the first chapter, after any contents list."""
    start, end = 0, heads[0].start
    for i, head in enumerate(heads):
        if head.start >= first[0]:
            break
        if dropped[i]:
            # The first chapter's heading comes later, so heads[i + 1] exists.
            start, end = head.end, heads[i + 1].start
    span = _trim(text, start, end)
    if span is None or len(text[span[0] : span[1]].split()) < FRONT_MATTER_MIN_WORDS:
        return None
    return span
