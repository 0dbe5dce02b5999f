"""The X-Ray of one story up to a chapter: its people, and for one person where they appear.

Everything is computed from the chapters up to the limit only (their name records, their text,
their passages), so no answer can reveal a later chapter. Name records come from the library
(stored at ingest); a story stored before them is read afresh once per process.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass

from index.chunking import paragraphs, sentences
from index.errors import InputError
from index.models import Chapter, Frozen, Passage
from index.people import Person, find_people
from index.store import Library
from index.xray import ChapterNames, chapter_names, name_key

NEAR_CHARS = 250  # "near": within about two sentences either side of a mention
TOP_PASSAGES = 3
TOP_NEAR = 5
MAX_SENTENCE_CHARS = 300


class UnknownPersonError(InputError):
    """No one by that name in the chapters the reader may see."""


class PersonLine(Frozen):
    """One person in the list: name, mentions so far, first chapter."""

    name: str
    mentions: int
    first_chapter: int


class CastList(Frozen):
    """A story's people up to ``until`` (the last chapter read), most mentioned first."""

    story: str
    title: str
    until: int
    chapters: int
    people: tuple[PersonLine, ...]


class Profile(Frozen):
    """One person up to ``until``: where they first appear, how often, where they matter, who is near."""

    story: str
    title: str
    until: int
    name: str
    forms: tuple[str, ...]
    mentions: int
    first_chapter: int
    first_chapter_title: str
    first_sentence: str
    per_chapter: tuple[int, ...]  # chapters 1..until
    passages: tuple[Passage, ...]
    near: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Story:
    generation: int
    title: str
    text: str
    chapters: tuple[Chapter, ...]
    names: dict[int, ChapterNames]
    tags: tuple[str, ...]


class XRay:
    """People queries over a library, with each story's records and cast lists cached per generation."""

    def __init__(self, library: Library) -> None:
        self._library = library
        self._stories: dict[str, _Story] = {}
        self._casts: dict[tuple[str, int, int], list[Person]] = {}
        self._lock = threading.Lock()

    def cast(self, story_id: str, until: int | None = None) -> CastList:
        """The story's people in chapters 1..until (every chapter when None)."""
        story, last, people = self._people(story_id, until)
        lines = tuple(PersonLine(name=p.name, mentions=p.total, first_chapter=p.first()[0]) for p in people)
        return CastList(
            story=story_id, title=story.title, until=last, chapters=len(story.chapters), people=lines
        )

    def profile(self, story_id: str, name: str, until: int | None = None) -> Profile:
        """One person of chapters 1..until; UnknownPersonError if no one there goes by ``name``."""
        story, last, people = self._people(story_id, until)
        person = _match(people, name, last)
        chapter, offset = person.first()
        offsets = sorted(o for v in person.mentions.values() for o in v)
        return Profile(
            story=story_id,
            title=story.title,
            until=last,
            name=person.name,
            forms=person.forms,
            mentions=person.total,
            first_chapter=chapter,
            first_chapter_title=story.chapters[chapter - 1].title,
            first_sentence=sentence_at(story.text, offset),
            per_chapter=per_chapter(person, last),
            passages=self._top_passages(story_id, offsets, last),
            near=_near(person, people, offsets),
        )

    def mentions(
        self, story_id: str, names: list[str], until: int | None = None
    ) -> list[tuple[str, tuple[int, ...]]]:
        """Mentions per chapter (1..until) of each person named, for a chart."""
        _, last, people = self._people(story_id, until)
        return [(p.name, per_chapter(p, last)) for p in (_match(people, n, last) for n in names)]

    def _people(self, story_id: str, until: int | None) -> tuple[_Story, int, list[Person]]:
        story = self._story(story_id)
        last = len(story.chapters) if until is None else max(0, min(until, len(story.chapters)))
        key = (story_id, story.generation, last)
        with self._lock:
            cached = self._casts.get(key)
        if cached is None:
            chapters = {n: story.names[n] for n in range(1, last + 1)}
            starts = {c.number: c.start for c in story.chapters[:last]}
            cached = find_people(chapters, starts, story.tags)
            with self._lock:
                if len(self._casts) > 256:
                    self._casts.clear()
                self._casts[key] = cached
        return story, last, cached

    def _story(self, story_id: str) -> _Story:
        generation = self._library.generation
        with self._lock:
            found = self._stories.get(story_id)
        if found is not None and found.generation == generation:
            return found
        info = self._library.story(story_id)
        text = self._library.story_text(story_id)
        chapters = tuple(self._library.chapter_spans(story_id))
        names = {r.number: r.names for r in self._library.stored_names(story_id)}
        for c in chapters:
            if c.number not in names:  # stored before the X-Ray existed
                names[c.number] = chapter_names(text[c.start : c.end], c.title)
        meta = self._library.story_meta(story_id)
        loaded = _Story(generation, info.title, text, chapters, names, meta.characters)
        with self._lock:
            self._stories[story_id] = loaded
        return loaded

    def _top_passages(self, story_id: str, offsets: list[int], last: int) -> tuple[Passage, ...]:
        """The passages (chapters 1..last) that mention the person most, in reading order."""
        if last < 1:
            return ()
        scored = []
        for passage in self._library.passages_until(story_id, last):
            count = bisect_left(offsets, passage.end) - bisect_left(offsets, passage.start)
            if count:
                scored.append((-count, passage.start, passage))
        best = sorted(scored, key=lambda s: (s[0], s[1]))[:TOP_PASSAGES]
        return tuple(p for *_, p in sorted(best, key=lambda s: s[1]))


def per_chapter(person: Person, last: int) -> tuple[int, ...]:
    """Mentions in each of chapters 1..last."""
    return tuple(len(person.mentions.get(n, ())) for n in range(1, last + 1))


def sentence_at(text: str, offset: int) -> str:
    """The sentence holding ``offset``, on one line; a long one cut to a quotable stretch around it.

    Split as passages are (index.chunking), so "Mr. Darcy" or a short quotation is not cut in two.
    """
    lo, hi = max(0, offset - 2 * MAX_SENTENCE_CHARS), min(len(text), offset + 2 * MAX_SENTENCE_CHARS)
    start, end = lo, hi
    for p_start, p_end in paragraphs(text, lo, hi):
        if p_start <= offset < p_end:
            found = [(a, b) for a, b in sentences(text, p_start, p_end) if a <= offset < b]
            start, end = found[0] if found else (p_start, p_end)
    cut_front = cut_back = False
    if end - start > MAX_SENTENCE_CHARS:  # keep the mention, a third of the way in
        new_start = max(start, min(offset - MAX_SENTENCE_CHARS // 3, end - MAX_SENTENCE_CHARS))
        cut_front, start = new_start > start, new_start
        cut_back, end = start + MAX_SENTENCE_CHARS < end, min(end, start + MAX_SENTENCE_CHARS)
    words = text[start:end].split()
    if cut_front and len(words) > 1:
        words[0] = "…"
    if cut_back and len(words) > 1:
        words[-1] = "…"
    return " ".join(words)


def _match(people: list[Person], name: str, last: int) -> Person:
    """The person ``name`` means: a form or the display name, else the most mentioned holding its words."""
    wanted = name_key(name).casefold()
    if not wanted:
        raise UnknownPersonError("give a name")
    exact = [p for p in people if wanted in {f.casefold() for f in (*p.forms, name_key(p.name))}]
    if exact:
        return exact[0]
    words = set(wanted.split())
    partial = [p for p in people if any(words <= set(f.casefold().split()) for f in p.forms)]
    if partial:
        return partial[0]
    # Same words whether the name comes later in the story or never: the reply must not tell.
    raise UnknownPersonError(f"no one called '{name.strip()[:60]}' in chapters 1 to {last}")


def _near(person: Person, people: list[Person], offsets: list[int]) -> tuple[tuple[str, int], ...]:
    """The people mentioned most often within NEAR_CHARS of this person's mentions."""
    # Every other person's mentions in one sorted list: each of this person's mentions then looks
    # at its own window once, rather than every person being searched for every mention.
    others = sorted(
        (o, i)
        for i, other in enumerate(people)
        if other is not person
        for v in other.mentions.values()
        for o in v
    )
    where = [o for o, _ in others]
    close: Counter[int] = Counter()
    for o in offsets:
        window = others[bisect_left(where, o - NEAR_CHARS) : bisect_right(where, o + NEAR_CHARS)]
        close.update({i for _, i in window})
    counts: Counter[str] = Counter()
    for i in sorted(close):
        counts[people[i].name] = close[i]
    return tuple(counts.most_common(TOP_NEAR))
