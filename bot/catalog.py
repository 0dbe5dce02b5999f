"""The stories each Discord server can read and change: guild scope over one library. Discord-free.

Every method blocks (model and FAISS work) and is safe to call from several worker threads at once;
the bot calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.answering import Answer, Answerer
from index.embedding import Embedder, Vectors
from index.errors import InputError, StoryExistsError, UnknownStoryError
from index.ingest import IngestSummary, ingest_story
from index.readers import read_story
from index.search import Query, Searcher
from index.store import Library, StoryInfo

Progress = Callable[[int, int], None]


class NoStoriesError(InputError):
    """The server has no story to search yet."""


class SharedStoryError(InputError):
    """A story shared by every server cannot be changed from one server."""


class Catalog:
    """A library seen per Discord server: its own stories plus, if allowed, the shared ones."""

    def __init__(self, library: Library, answerer: Answerer, *, shared_stories: bool = True):
        self.library = library
        self.answerer = answerer
        self.shared_stories = shared_stories
        # Writes are rare and each one re-reads the library; one at a time keeps ids unique.
        self._write_lock = threading.Lock()

    @property
    def searcher(self) -> Searcher:
        """The searcher answering questions."""
        return self.answerer.searcher

    # -- reading -------------------------------------------------------------------------------
    def visible(self, guild: int) -> list[StoryInfo]:
        """The stories a server can read, by title."""
        self.refresh_if_changed()
        stories = [s for s in self.library.stories() if self._readable(s, guild)]
        return sorted(stories, key=lambda s: (s.title.casefold(), s.id))

    def story(self, guild: int, story_id: str) -> StoryInfo:
        """One story the server can read, or UnknownStoryError."""
        for info in self.visible(guild):
            if info.id == story_id:
                return info
        raise UnknownStoryError(f"there is no story '{story_id}' in this server (see /story list)")

    def ask(
        self,
        question: str,
        *,
        guild: int,
        story: str | None = None,
        until_chapter: int | None = None,
        k: int = 5,
    ) -> Answer:
        """Answer a question from the server's stories (one of them, if ``story`` is given)."""
        if story is not None:
            scope: tuple[str, ...] = (self.story(guild, story).id,)
        else:
            scope = tuple(s.id for s in self.visible(guild))
        if not scope:
            raise NoStoriesError("this server has no stories yet: an admin can add one with /story add")
        query = Query(question=question, story=story, until_chapter=until_chapter, stories=scope)
        return self.answerer.ask(query, k=k)

    def refresh_if_changed(self) -> None:
        """Pick up stories another process (the CLI) added or removed since the last look."""
        if self.library.generation != self.library.loaded_generation:
            self.searcher.refresh()

    # -- writing -------------------------------------------------------------------------------
    def add(
        self,
        path: Path,
        *,
        guild: int,
        title: str | None = None,
        story_id: str | None = None,
        on_progress: Progress | None = None,
    ) -> IngestSummary:
        """Read, embed and store a story file for one server; the library is unchanged on any error."""
        story = read_story(path, story_id=story_id, title=title)
        with self._write_lock:
            self.refresh_if_changed()
            free_id = self._free_id(story.id, guild)
            story = story.model_copy(update={"id": free_id})
            embedder = _Reporting(self.searcher.embedder, on_progress)
            summary = ingest_story(self.library, embedder, story, replace=False, guild=guild)
            self.searcher.refresh()
        return summary

    def remove(self, story_id: str, *, guild: int) -> StoryInfo:
        """Remove a story the server added; shared stories are the host's to remove."""
        with self._write_lock:
            info = self.story(guild, story_id)
            if info.guild is None:
                raise SharedStoryError(
                    f"'{info.title}' is shared by every server; the bot's host can remove it with "
                    f"'storybot remove {info.id}'"
                )
            self.library.remove_story(info.id)
            self.searcher.refresh()
        return info

    # -- helpers -------------------------------------------------------------------------------
    def _readable(self, info: StoryInfo, guild: int) -> bool:
        return info.guild == guild or (info.guild is None and self.shared_stories)

    def _free_id(self, wanted: str, guild: int) -> str:
        """``wanted``, or ``wanted-2``… if another server's story has it: ids are global, titles are not."""
        taken = {s.id: s for s in self.library.stories()}
        if wanted in taken and self._readable(taken[wanted], guild):
            raise StoryExistsError(
                f"this server already has a story '{wanted}' ('{taken[wanted].title}'): "
                "remove it first, or give the new one another story_id"
            )
        candidate, n = wanted, 1
        while candidate in taken:
            n += 1
            suffix = f"-{n}"
            candidate = wanted[: 100 - len(suffix)] + suffix
        return candidate


class _Reporting:
    """An Embedder that embeds in slices and reports (done, total) after each one."""

    def __init__(self, inner: Embedder, on_progress: Progress | None, slice_size: int = 256):
        self._inner = inner
        self._on_progress = on_progress
        self._slice = slice_size

    @property
    def model_id(self) -> str:
        """Name recorded in a library's manifest."""
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._inner.dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Embed ``texts`` a slice at a time, reporting after each slice."""
        parts = []
        for start in range(0, len(texts), self._slice):
            parts.append(self._inner.embed(texts[start : start + self._slice]))
            if self._on_progress is not None:
                self._on_progress(min(start + self._slice, len(texts)), len(texts))
        if not parts:
            return self._inner.embed([])
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        """Embed one question."""
        return self._inner.embed_query(text)
