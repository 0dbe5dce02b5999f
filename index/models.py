"""Pydantic value objects shared by every layer: Story, Chapter, Passage, Hit."""

from __future__ import annotations

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


class Story(Frozen):
    """A story as read from a file: normalised text plus chapters that index into it."""

    id: str
    title: str
    text: str
    chapters: tuple[Chapter, ...]
    source: str = ""
    warnings: tuple[str, ...] = ()


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


class Hit(Frozen):
    """A passage returned by search, with its fused relevance score."""

    passage: Passage
    score: float

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
