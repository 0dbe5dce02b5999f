"""Files → stories → passages → vectors → library, validating everything before any embedding."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import Field

from index.chunking import chunk_story
from index.embedding import Embedder, Vectors
from index.errors import InputError, StoryExistsError
from index.models import Frozen, Story
from index.readers import read_story, story_files
from index.renumber import chapter_keys, renumbering
from index.reuse import plan_reuse
from index.store import Library, content_hash
from index.xray_rows import names_rows


class IngestSummary(Frozen):
    """What `storybot ingest --json` prints for one story."""

    id: str
    title: str
    chapters: int
    passages: int
    embedded: int
    reused: int
    seconds: float
    warnings: tuple[str, ...] = ()
    # Old chapter number → new one, for chapters a replacement moved (readers' progress follows).
    renumbered: dict[int, int] = Field(default_factory=dict)


def load_stories(
    paths: Sequence[Path], *, story_id: str | None = None, title: str | None = None
) -> list[Story]:
    """Read every file named (folders expanded); ``story_id``/``title`` need a single file."""
    files = [f for p in paths for f in story_files(p)]
    if not files:
        raise InputError("no stories given")
    if len(files) > 1 and (story_id or title):
        raise InputError("--story-id and --title apply to a single file, not several")
    stories = [read_story(f, story_id=story_id, title=title) for f in files]
    seen: dict[str, Path] = {}
    for story, path in zip(stories, files, strict=True):
        if story.id in seen:
            raise InputError(f"{seen[story.id].name} and {path.name} would both be story '{story.id}'")
        seen[story.id] = path
    return stories


def check_new(library: Library, stories: Sequence[Story], *, replace: bool) -> None:
    """Refuse, before any work, a story id already in the library unless replacing."""
    if replace:
        return
    for story in stories:
        if story.id in library.manifest.stories:
            raise StoryExistsError(
                f"story '{story.id}' is already in the library; use --replace to update it"
            )


def ingest_story(
    library: Library,
    embedder: Embedder,
    story: Story,
    *,
    replace: bool,
    progress: bool = False,
    guild: int | None = None,
) -> IngestSummary:
    """Chunk, embed and store one story (``guild`` owns it, if given); leave an unchanged one as it is.

    When replacing, chapters the library already holds keep their stored vectors: only new or
    changed chapters are embedded. Nothing is written until ``put_story``'s single transaction.
    """
    started = time.perf_counter()
    entry = library.manifest.stories.get(story.id)
    moves: dict[int, int] = {}
    if replace and entry is not None and _unchanged(library, story, guild):
        chapters, passages, embedded = entry.chapters, entry.passages, 0
    else:
        if replace and entry is not None:
            old = chapter_keys(library.story_text(story.id), library.chapter_spans(story.id))
            moves = renumbering(old, chapter_keys(story.text, story.chapters))
        chunks = chunk_story(story, library.manifest.chunking)
        if not chunks:
            raise InputError(f"{story.source or story.id} has no text to index")
        # Without replace the story must be new (put_story refuses it otherwise): nothing to reuse.
        stored = library.stored_chapters(story.id) if replace and entry is not None else {}
        plan = plan_reuse(story, chunks, stored, library.manifest.dimension)
        vectors = plan.fill(_embed(embedder, [chunks[i].text for i in plan.missing], progress))
        names = names_rows(story, library.stored_names(story.id) if replace and entry is not None else ())
        info = library.put_story(story, chunks, vectors, replace=replace, guild=guild, names=names)
        chapters, passages, embedded = info.chapters, info.passages, len(plan.missing)
    return IngestSummary(
        id=story.id,
        title=story.title,
        chapters=chapters,
        passages=passages,
        embedded=embedded,
        reused=passages - embedded,
        seconds=round(time.perf_counter() - started, 3),
        warnings=story.warnings,
        renumbered=moves,
    )


def _unchanged(library: Library, story: Story, guild: int | None) -> bool:
    """Whether the library already holds this story's text, title, owner and metadata."""
    entry = library.manifest.stories[story.id]
    return (
        entry.content_hash == content_hash(story.text)
        and entry.title == story.title
        and library.story(story.id).guild == guild
        and library.story_meta(story.id) == story.meta
    )


def _embed(embedder: Embedder, texts: list[str], progress: bool) -> Vectors:
    # No call at all when every chapter was reused: a progress bar or report of 0 of 0 is noise.
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return embedder.embed(texts, progress=progress)


def ingest_all(
    library: Library,
    embedder: Embedder,
    stories: Sequence[Story],
    *,
    replace: bool,
    progress: bool = False,
    guild: int | None = None,
    on_done: Callable[[IngestSummary], None] | None = None,
) -> list[IngestSummary]:
    """Ingest several stories with one model; each commits on its own."""
    check_new(library, stories, replace=replace)
    summaries = []
    for story in stories:
        summary = ingest_story(library, embedder, story, replace=replace, progress=progress, guild=guild)
        summaries.append(summary)
        if on_done is not None:
            on_done(summary)
    return summaries
