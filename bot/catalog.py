"""The stories each Discord server can read and change: guild scope over one library. Discord-free.

Every method blocks (model and FAISS work) and is safe to call from several worker threads at once;
the bot calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bot.answering import Answer, Answerer
from bot.progress import ProgressNeeded, ReadingProgress, chapter_limits
from bot.recap import ChapterRecap, Summarize, SummaryCache, central_passages, summaries
from index.cast import CastList, Profile, XRay
from index.embedding import Embedder, Vectors
from index.errors import InputError, StoryExistsError, UnknownStoryError
from index.ingest import IngestSummary, ingest_story
from index.models import Rating, StoryMeta
from index.readers import read_story
from index.search import Query, Searcher
from index.store import ChapterInfo, Library, StoryInfo

Progress = Callable[[int, int], None]


class Who(NamedTuple):
    """A /who answer: the story, and its people or one person's profile with mentions to chart."""

    info: StoryInfo
    cast: CastList | None
    profile: Profile | None
    series: list[tuple[str, tuple[int, ...]]]


class NoStoriesError(InputError):
    """The server has no story to search yet."""


class SharedStoryError(InputError):
    """A story shared by every server cannot be changed from one server."""


class RatingGateError(InputError):
    """A story rated Mature or Explicit, asked about outside an age-restricted channel."""


GATED: frozenset[Rating] = frozenset({"mature", "explicit"})


class Asked(NamedTuple):
    """An answer with what the reader needs to read it: the limit applied and the stories' titles."""

    answer: Answer
    limit: int | None
    titles: dict[str, str]


def _find(stories: Sequence[StoryInfo], story_id: str) -> StoryInfo:
    for info in stories:
        if info.id == story_id:
            return info
    raise UnknownStoryError(f"there is no story '{story_id}' in this server (see /story list)")


def _gate_notice(scope: Sequence[StoryInfo]) -> str:
    if len(scope) == 1:
        story = scope[0]
        return f"'{story.title}' is rated {story.rating.title()}: ask about it in an age-restricted channel."
    return "This server's stories are rated Mature or Explicit: ask about them in an age-restricted channel."


def _progress_notice(scope: Sequence[StoryInfo]) -> str:
    which = scope[0].id if len(scope) == 1 else "…"
    return (
        f"This server asks readers to set how far they've read first: "
        f"/progress story:{which} chapter:<n> (or finished:True)."
    )


class Catalog:
    """A library seen per Discord server: its own stories plus, if allowed, the shared ones."""

    def __init__(
        self,
        library: Library,
        answerer: Answerer,
        progress: ReadingProgress,
        *,
        shared_stories: bool = True,
        summaries: SummaryCache | None = None,
        summary_model: str = "",
    ):
        self.library = library
        self.answerer = answerer
        self.progress = progress
        self.summaries = summaries
        self.summary_model = summary_model
        self.shared_stories = shared_stories
        self.xray = XRay(library)
        # Writes are rare and each one re-reads the library; one at a time keeps ids unique.
        self._write_lock = threading.Lock()

    def close(self, wait: float = 10.0) -> None:
        """Close the library and the progress and summary stores, once a write in progress is done."""
        if not self._write_lock.acquire(timeout=wait):
            return  # an upload is still writing; its transaction either commits or rolls back at exit
        try:
            self.progress.close()
            if self.summaries is not None:
                self.summaries.close()
            self.library.close()
        finally:
            self._write_lock.release()

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
        return _find(self.visible(guild), story_id)

    def limits(
        self,
        guild: int,
        user: int | None,
        story: str | None,
        until_chapter: int | None,
        nsfw: bool,
        visible: list[StoryInfo] | None = None,
    ) -> dict[str, int | None]:
        """The stories a reader may be answered from here, each with its last readable chapter."""
        visible = self.visible(guild) if visible is None else visible
        scope = [_find(visible, story)] if story is not None else visible
        if not scope:
            raise NoStoriesError("this server has no stories yet: an admin can add one with /story add")
        allowed = scope if nsfw else [s for s in scope if s.rating not in GATED]
        if not allowed:
            raise RatingGateError(_gate_notice(scope))
        progress = self.progress.of(guild, user) if user is not None else {}
        limits = chapter_limits([s.id for s in allowed], progress, self.progress.policy(guild), until_chapter)
        if not limits:
            raise ProgressNeeded(_progress_notice(allowed))
        return limits

    def ask(
        self,
        question: str,
        *,
        guild: int,
        user: int | None = None,
        story: str | None = None,
        until_chapter: int | None = None,
        nsfw: bool = True,
        k: int = 5,
    ) -> Asked:
        """Answer from the server's stories (or ``story``) within the reader's progress and rating gate."""
        visible = self.visible(guild)
        limits = self.limits(guild, user, story, until_chapter, nsfw, visible)
        query = Query(
            question=question,
            story=story,
            stories=tuple(limits),
            chapter_limits={s: last for s, last in limits.items() if last is not None},
        )
        shown = set(limits.values())
        return Asked(
            answer=self.answerer.ask(query, k=k),
            limit=shown.pop() if len(shown) == 1 else None,
            titles={s.id: s.title for s in visible},
        )

    def recap(
        self,
        guild: int,
        story: str,
        *,
        user: int | None = None,
        until_chapter: int | None = None,
        nsfw: bool = True,
        summarize: Summarize | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[StoryInfo, int | None, list[ChapterRecap]]:
        """The story so far for this reader: summaries with ``summarize``, else central passages."""
        visible = self.visible(guild)
        info = _find(visible, story)
        limit = self.limits(guild, user, info.id, until_chapter, nsfw, visible)[info.id]
        if summarize is None or self.summaries is None:
            return info, limit, central_passages(self.library, info.id, limit)
        recaps = summaries(
            self.library,
            info.id,
            limit,
            cache=self.summaries,
            model=self.summary_model,
            summarize=summarize,
            on_progress=on_progress,
        )
        return info, limit, recaps

    def who(
        self,
        guild: int,
        story: str | None,
        *,
        name: str | None = None,
        user: int | None = None,
        until_chapter: int | None = None,
        nsfw: bool = True,
    ) -> Who:
        """The story's people (or one person) up to the reader's chapter, within the rating gate."""
        visible = self.visible(guild)
        if story is None:
            if not visible:
                raise NoStoriesError("this server has no stories yet: an admin can add one with /story add")
            if len(visible) > 1:
                raise InputError("say which story: /who story:<story>")
            story = visible[0].id
        info = _find(visible, story)
        limit = self.limits(guild, user, info.id, until_chapter, nsfw, visible)[info.id]
        if name is None:
            return Who(info, self.xray.cast(info.id, limit), None, [])
        names = [n.strip() for n in name.split(",") if n.strip()] or [name]
        profile = self.xray.profile(info.id, names[0], limit)
        return Who(info, None, profile, self.xray.mentions(info.id, names, limit))

    def info(self, guild: int, story_id: str) -> tuple[StoryInfo, StoryMeta, list[ChapterInfo]]:
        """A story's listing, metadata and chapters."""
        info = self.story(guild, story_id)
        return info, self.library.story_meta(info.id), self.library.chapters(info.id)

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

    def update(
        self,
        path: Path,
        *,
        guild: int,
        story_id: str,
        title: str | None = None,
        on_progress: Progress | None = None,
    ) -> IngestSummary:
        """Replace one of the server's stories with a new version; unchanged chapters are not re-embedded."""
        with self._write_lock:
            info = self._own(guild, story_id, "update")
            story = read_story(path, story_id=info.id, title=title or info.title)
            embedder = _Reporting(self.searcher.embedder, on_progress)
            summary = ingest_story(self.library, embedder, story, replace=True, guild=guild)
            # Readers stay at the chapter they had reached, whatever its number is now.
            self.progress.renumber(info.id, summary.renumbered)
            self.searcher.refresh()
        return summary

    def set_rating(self, story_id: str, rating: Rating | None, *, guild: int) -> StoryInfo:
        """Set the rating of one of the server's stories (None: back to what its file says)."""
        with self._write_lock:
            return self.library.set_rating(self._own(guild, story_id, "rate").id, rating)

    def remove(self, story_id: str, *, guild: int) -> StoryInfo:
        """Remove a story the server added; shared stories are the host's to remove."""
        with self._write_lock:
            info = self._own(guild, story_id, "remove")
            self.library.remove_story(info.id)
            self.progress.forget_story(info.id)
            if self.summaries is not None:
                self.summaries.forget_story(info.id)
            self.searcher.refresh()
        return info

    def _own(self, guild: int, story_id: str, verb: str) -> StoryInfo:
        """A story this server added; shared stories belong to the bot's host."""
        info = self.story(guild, story_id)
        if info.guild is None:
            command = {
                "remove": f"storybot remove {info.id}",
                "update": f"storybot ingest FILE --story-id {info.id} --replace",
                "rate": f"storybot rate {info.id} RATING",
            }[verb]
            raise SharedStoryError(
                f"'{info.title}' is shared by every server; the bot's host can {verb} it with '{command}'"
            )
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
