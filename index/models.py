"""Pydantic value objects shared by every layer: Story, Chapter, Passage, Hit."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Frozen(BaseModel):
    """Base for value objects that cross layers or are persisted."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Chapter(Frozen):
    """One chapter: a 1-based ordinal in reading order and a span of the story text."""

    number: int = Field(ge=1)
    title: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Chapter:
        if self.end < self.start:
            raise ValueError("chapter end precedes its start")
        return self


Rating = Literal["general", "teen", "mature", "explicit", "unrated"]
RATINGS: tuple[Rating, ...] = ("general", "teen", "mature", "explicit", "unrated")


class ChapterNotes(Frozen):
    """The author's words around one chapter: shown on request, never story text, never retrieved."""

    number: int = Field(ge=1)
    summary: str = ""
    notes: str = ""
    end_notes: str = ""


class StoryMeta(Frozen):
    """What a story's file says about it besides its text (AO3 and EPUB metadata); all optional."""

    authors: tuple[str, ...] = ()
    fandoms: tuple[str, ...] = ()
    # As the source labels it ("Mature", "Teen And Up Audiences"); see ``rating`` for the gate.
    rating_label: str = ""
    rating: Rating = "unrated"
    warnings: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    relationships: tuple[str, ...] = ()
    characters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str = ""
    series: str = ""
    summary: str = ""
    notes: str = ""
    end_notes: str = ""
    url: str = ""
    published: str = ""
    updated: str = ""
    # "3/?" on AO3: 3 chapters posted, total unknown (a work in progress); "3/3": complete.
    chapters_posted: int | None = None
    chapters_planned: int | None = None
    chapter_notes: tuple[ChapterNotes, ...] = ()
    # Pages the readers left out of the story (title and summary pages, contents, preface,
    # afterword) as plain text: shown on request, never story text, never retrieved.
    front_matter: str = ""
    back_matter: str = ""


class Story(Frozen):
    """A story as read from a file: normalised text plus chapters that index into it."""

    id: str
    title: str
    text: str
    chapters: tuple[Chapter, ...]
    source: str = ""
    warnings: tuple[str, ...] = ()
    meta: StoryMeta = Field(default_factory=StoryMeta)


class Passage(Frozen):
    """A quotable window of one chapter; ``story_text[start:end] == text``."""

    id: str
    story: str
    chapter: int = Field(ge=1)
    chapter_title: str
    ordinal: int = Field(ge=0)
    para_start: int = Field(ge=1)
    para_end: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    # How far into its chapter it starts, in percent, when paragraph numbers cannot tell the
    # chapter's passages apart (a chapter that is one long paragraph); None otherwise.
    through: int | None = Field(default=None, ge=0, le=100)

    @property
    def paragraphs(self) -> str:
        """The paragraphs it spans: "¶3" or "¶3–5"."""
        a, b = self.para_start, self.para_end
        return f"¶{a}" if a == b else f"¶{a}–{b}"

    @property
    def place(self) -> str:
        """Where a reader finds it in its chapter, as cited: "¶3–5", or "about 80 % through"."""
        if self.through is None:
            return self.paragraphs
        return "at the start" if self.through < 5 else f"about {self.through} % through"


class Hit(Frozen):
    """A passage returned by search, with its fused relevance score."""

    passage: Passage
    score: float
    # What the reader made of it, when one ranked it (not part of the CLI JSON): its own score of
    # the passage, comparable across questions (``score`` also weighs in the first stage's), and of
    # each sentence, as (start, end, score) relative to the passage.
    read_score: float | None = None
    sentences: tuple[tuple[int, int, float], ...] = ()

    def to_json(self) -> dict[str, object]:
        """Return the CLI JSON contract for one hit."""
        p = self.passage
        return {
            "story": p.story,
            "chapter": p.chapter,
            "chapter_title": p.chapter_title,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "score": round(self.score, 6),
        }
