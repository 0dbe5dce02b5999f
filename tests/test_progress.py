"""Reading progress, spoiler policy and rating gate, below Discord: limits apply inside retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering import Answerer
from bot.catalog import Catalog, RatingGateError, SharedStoryError
from bot.progress import ProgressNeeded, ReadingProgress, chapter_limits
from index.chunking import ChunkParams
from index.ingest import ingest_story
from index.readers import read_story
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.fakes import HashEmbedder

GUILD, READER, OTHER = 7, 70, 71
LIGHTHOUSE = (
    "Chapter 1\n\nMira kept the copper lantern burning on the northern cliff.\n\n"
    "Chapter 2\n\nA storm broke the lens and Mira carried the lantern to the village.\n\n"
    "Chapter 3\n\nThe village rebuilt the lighthouse with a lens of blue glass.\n"
)
ORCHARD = (
    "Chapter 1\n\nThe farmer picked apples in the orchard.\n\nChapter 2\n\nThe storm broke the cider press.\n"
)


def make_catalog(tmp_path: Path) -> Catalog:
    embedder = HashEmbedder()
    library = Library.create_or_open(tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams())
    for name, text in (("lighthouse", LIGHTHOUSE), ("orchard", ORCHARD)):
        path = tmp_path / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        ingest_story(library, embedder, read_story(path), replace=False, guild=GUILD)
    answerer = Answerer(Searcher(library, embedder), embedder, min_similarity=-1.0)
    return Catalog(library, answerer, ReadingProgress(tmp_path / "data" / DB_NAME))


def chapters_of(catalog: Catalog, question: str, **kwargs: object) -> set[tuple[str, int]]:
    asked = catalog.ask(question, guild=GUILD, **kwargs)  # type: ignore[arg-type]
    return {(h.passage.story, h.passage.chapter) for h in asked.answer.hits}


def test_progress_is_kept_per_user_and_story_and_survives_reopening(tmp_path: Path) -> None:
    db = tmp_path / "progress.sqlite"
    store = ReadingProgress(db)
    store.set(GUILD, READER, "lighthouse", 2)
    store.set(GUILD, READER, "orchard", None)
    store.set(GUILD + 1, READER, "lighthouse", 3)
    store.set_policy(GUILD, "ask")
    store.close()
    reopened = ReadingProgress(db)
    assert reopened.of(GUILD, READER) == {"lighthouse": 2, "orchard": None}
    assert reopened.of(GUILD, OTHER) == {}
    assert reopened.policy(GUILD) == "ask"
    assert reopened.policy(GUILD + 1) == "whole"
    reopened.clear(GUILD, READER, "lighthouse")
    assert reopened.of(GUILD, READER) == {"orchard": None}


def test_chapter_limits_follow_progress_then_policy_and_asking_only_lowers_them() -> None:
    progress: dict[str, int | None] = {"a": 3, "b": None}
    assert chapter_limits(["a", "b", "c"], progress, "whole") == {"a": 3, "b": None, "c": None}
    assert chapter_limits(["a", "b", "c"], progress, "first") == {"a": 3, "b": None, "c": 1}
    assert chapter_limits(["a", "b", "c"], progress, "ask") == {"a": 3, "b": None}
    assert chapter_limits(["a", "b", "c"], progress, "whole", until_chapter=5) == {"a": 3, "b": 5, "c": 5}
    assert chapter_limits(["a"], progress, "whole", until_chapter=2) == {"a": 2}


def test_a_reader_never_gets_a_passage_past_their_chapter(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    question = "what broke the lens in the storm"
    assert (("lighthouse", 2)) in chapters_of(catalog, question, user=READER, story="lighthouse")
    catalog.progress.set(GUILD, READER, "lighthouse", 1)
    assert chapters_of(catalog, question, user=READER, story="lighthouse") == {("lighthouse", 1)}
    # Every story keeps its own limit when the question spans the server's stories.
    catalog.progress.set(GUILD, READER, "orchard", 1)
    assert chapters_of(catalog, question, user=READER) == {("lighthouse", 1), ("orchard", 1)}
    # Another reader without progress sees the whole story (the default policy).
    assert ("lighthouse", 3) in chapters_of(catalog, "blue glass lens", user=OTHER)


def test_the_reader_is_told_when_the_best_match_is_later_and_shown_nothing_of_it(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    catalog.answerer.min_similarity = 0.5  # refuse the weak chapter-1 match, as the real threshold would
    catalog.progress.set(GUILD, READER, "lighthouse", 1)
    asked = catalog.ask(
        "the village rebuilt the lighthouse with a lens of blue glass",
        guild=GUILD,
        user=READER,
        story="lighthouse",
    )
    assert asked.answer.later_chapter
    assert not asked.answer.found
    assert asked.limit == 1
    catalog.progress.set(GUILD, READER, "lighthouse", None)
    finished = catalog.ask(
        "the village rebuilt the lighthouse with a lens of blue glass",
        guild=GUILD,
        user=READER,
        story="lighthouse",
    )
    assert not finished.answer.later_chapter
    assert finished.answer.hits[0].passage.chapter == 3


def test_policies_for_readers_without_progress(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    catalog.progress.set_policy(GUILD, "first")
    assert {c for _, c in chapters_of(catalog, "storm lens village", user=READER)} == {1}
    catalog.progress.set_policy(GUILD, "ask")
    with pytest.raises(ProgressNeeded, match="/progress story:lighthouse"):
        catalog.ask("storm", guild=GUILD, user=READER, story="lighthouse")
    catalog.progress.set(GUILD, READER, "lighthouse", 2)
    assert chapters_of(catalog, "storm lens village", user=READER) == {("lighthouse", 1), ("lighthouse", 2)}


def test_mature_stories_answer_only_in_age_restricted_channels(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    assert catalog.set_rating("orchard", "mature", guild=GUILD).rating == "mature"
    with pytest.raises(RatingGateError, match="rated Mature: ask about it in an age-restricted channel"):
        catalog.ask("apples", guild=GUILD, story="orchard", nsfw=False)
    assert {s for s, _ in chapters_of(catalog, "storm apples cider", nsfw=False)} == {"lighthouse"}
    assert "orchard" in {s for s, _ in chapters_of(catalog, "storm apples cider", nsfw=True)}
    catalog.set_rating("lighthouse", "explicit", guild=GUILD)
    with pytest.raises(RatingGateError, match="stories are rated Mature or Explicit"):
        catalog.ask("storm", guild=GUILD, nsfw=False)
    assert catalog.set_rating("orchard", None, guild=GUILD).rating == "unrated"  # back to the file's


def test_a_shared_story_is_rated_and_updated_by_the_host_only(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    path = tmp_path / "harbour.txt"
    path.write_text("Chapter 1\n\nBoats rested in the harbour.\n", encoding="utf-8")
    ingest_story(catalog.library, catalog.searcher.embedder, read_story(path), replace=False)
    with pytest.raises(SharedStoryError, match="storybot rate harbour RATING"):
        catalog.set_rating("harbour", "mature", guild=GUILD)
    with pytest.raises(SharedStoryError, match="--replace"):
        catalog.update(path, guild=GUILD, story_id="harbour")


def test_update_replaces_a_servers_story_and_keeps_its_title(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    newer = tmp_path / "lighthouse-v2.txt"
    newer.write_text(LIGHTHOUSE + "\nChapter 4\n\nA keeper's daughter lit the blue lamp.\n", encoding="utf-8")
    summary = catalog.update(newer, guild=GUILD, story_id="lighthouse")
    assert (summary.id, summary.title, summary.chapters) == ("lighthouse", "Lighthouse", 4)
    assert ("lighthouse", 4) in chapters_of(catalog, "daughter blue lamp", story="lighthouse")
    assert catalog.library.story("lighthouse").guild == GUILD
