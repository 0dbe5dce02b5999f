"""Tests for index/search.py: filters, spoiler limits, de-duplication, batching, refresh."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import ChunkParams, chunk_story
from index.errors import InputError, UnknownStoryError
from index.models import Chapter, Passage, Story
from index.search import Query, Searcher
from index.store import Library
from tests.fakes import HashEmbedder, put, story_from_text

# Hypothesis builds a library per example; on tmpfs its fsyncs cost nothing.
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

VOCAB = (
    "anna", "house", "cold", "stove", "snow", "road", "window", "light", "river", "horse", "letter",
    "morning", "garden", "kitchen", "door", "bread", "lighthouse", "keeper", "lamp", "storm",
)  # fmt: skip


def library_at(root: Path, embedder: HashEmbedder, params: ChunkParams | None = None) -> Library:
    return Library.create_or_open(
        root, embedder.model_id, embedder.dimension, params or ChunkParams(target_chars=120)
    )


def story_with_chapters(story_id: str, bodies: list[str]) -> Story:
    """A story whose chapters are the given bodies, each under a 'Chapter N' line."""
    parts: list[str] = []
    chapters: list[Chapter] = []
    pos = 0
    for number, body in enumerate(bodies, 1):
        head = ("\n\n" if number > 1 else "") + f"Chapter {number}\n\n"
        parts.append(head + body)
        start = pos + len(head)
        pos = start + len(body)
        chapters.append(Chapter(number=number, title=f"Chapter {number}", start=start, end=pos))
    return Story(id=story_id, title=story_id.title(), text="".join(parts), chapters=tuple(chapters))


GARDEN = "\n\n".join(
    f"Anna weeded the garden, row {i}. The bread in the kitchen was still warm." for i in range(4)
)
LIGHTHOUSE = "\n\n".join(
    f"The lighthouse keeper lit the lighthouse lamp, night {i}. The keeper trimmed the lamp "
    "in the storm, and the lighthouse lamp burned."
    for i in range(6)
)
HARBOUR_TEXT = (
    "Chapter 1\n\nThe horse pulled the cart along the road. Snow fell on the road all morning.\n\n"
    "A letter waited by the door.\n\n"
    "Chapter 2\n\nThe river froze. The horse would not cross the river.\n\n"
    "Chapter 3\n\nAt last the letter was opened by the stove. It spoke of the river and the road."
)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def searcher(tmp_path: Path, embedder: HashEmbedder) -> Searcher:
    library = library_at(tmp_path / "lib", embedder)
    put(library, embedder, story_with_chapters("coast", [GARDEN, LIGHTHOUSE, LIGHTHOUSE]))
    put(library, embedder, story_from_text(tmp_path, HARBOUR_TEXT, story_id="harbour"))
    return Searcher(library, embedder)


def passages_of(searcher: Searcher, story: str) -> list[Passage]:
    rowids, _, stories, _ = searcher.library.passage_table()
    return searcher.library.passages([int(r) for r, s in zip(rowids, stories, strict=True) if s == story])


# -- validation and filters ---------------------------------------------------------------------


def test_story_filter_keeps_to_one_story(searcher: Searcher) -> None:
    for story in ("coast", "harbour"):
        hits = searcher.search("the river road and the lighthouse lamp", k=6, story=story)
        assert hits
        assert {h.passage.story for h in hits} == {story}
    everywhere = searcher.search("the river road and the lighthouse lamp", k=10)
    assert {h.passage.story for h in everywhere} == {"coast", "harbour"}


def test_unknown_story_raises(searcher: Searcher) -> None:
    with pytest.raises(UnknownStoryError, match="atlantis"):
        searcher.search("river", story="atlantis")


@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_positive(searcher: Searcher, k: int) -> None:
    with pytest.raises(InputError):
        searcher.search("river", k=k)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_blank_question_is_refused(searcher: Searcher, embedder: HashEmbedder, question: str) -> None:
    calls = embedder.calls
    with pytest.raises(InputError):
        searcher.search(question)
    with pytest.raises(InputError):
        searcher.search_many([Query(question="river"), Query(question=question)])
    assert embedder.calls == calls  # refused before any embedding


@pytest.mark.parametrize("until", [0, -3])
def test_until_chapter_below_one_is_refused(searcher: Searcher, until: int) -> None:
    with pytest.raises(InputError):
        searcher.search("river", until_chapter=until)


# -- spoiler limit ------------------------------------------------------------------------------


def test_until_chapter_excludes_later_chapters_but_fills_k(searcher: Searcher) -> None:
    question = "lighthouse keeper lamp storm"
    unlimited = searcher.search(question, k=3, story="coast")
    assert all(h.passage.chapter > 1 for h in unlimited)  # the best matches are after chapter 1
    in_first = [p for p in passages_of(searcher, "coast") if p.chapter == 1]
    assert 1 < len(in_first) < 10
    for k in (1, 2, len(in_first), len(in_first) + 5):
        hits = searcher.search(question, k=k, story="coast", until_chapter=1)
        assert all(h.passage.chapter == 1 for h in hits)
        assert len(hits) == min(k, len(in_first))
    unfiltered = searcher.search(question, k=50, until_chapter=1)
    assert {(h.passage.story, h.passage.chapter) for h in unfiltered} == {("coast", 1), ("harbour", 1)}


def test_until_chapter_past_the_end_is_everything(searcher: Searcher) -> None:
    total = len(passages_of(searcher, "harbour"))
    hits = searcher.search("river", k=100, story="harbour", until_chapter=99)
    assert len(hits) == total


@settings(max_examples=60, deadline=None)
@given(
    chapters=st.lists(
        st.lists(st.lists(st.sampled_from(VOCAB), min_size=3, max_size=25), min_size=1, max_size=4),
        min_size=1,
        max_size=5,
    ),
    progress=st.integers(1, 6),
    words=st.lists(st.sampled_from((*VOCAB, "zebra")), min_size=1, max_size=4),
    k=st.integers(1, 8),
    only_rand=st.booleans(),
)
def test_random_spoiler_limits_hold(
    chapters: list[list[list[str]]], progress: int, words: list[str], k: int, only_rand: bool
) -> None:
    bodies = ["\n\n".join(" ".join(p).capitalize() + "." for p in paras) for paras in chapters]
    other = story_with_chapters("other", ["Anna fed the horse. The snow kept falling.", LIGHTHOUSE])
    embedder = HashEmbedder(dimension=16)
    with tempfile.TemporaryDirectory(dir=FAST_TMP) as tmp:
        library = library_at(Path(tmp), embedder, ChunkParams(target_chars=80))
        try:
            passages = put(library, embedder, story_with_chapters("rand", bodies))
            if not only_rand:
                passages += put(library, embedder, other)
            searcher = Searcher(library, embedder)
            story = "rand" if only_rand else None
            hits = searcher.search(" ".join(words), k=k, story=story, until_chapter=progress)
        finally:
            library.close()
    allowed = [p for p in passages if p.chapter <= progress]
    assert all(h.passage.chapter <= progress for h in hits)
    assert len(hits) == min(k, len(allowed))
    assert len({h.passage.id for h in hits}) == len(hits)
    if only_rand:
        assert all(h.passage.story == "rand" for h in hits)


# -- de-duplication, batching, output -----------------------------------------------------------


def test_overlapping_passages_never_both_returned(tmp_path: Path, embedder: HashEmbedder) -> None:
    library = library_at(tmp_path / "lib", embedder, ChunkParams(target_chars=100, overlap_sentences=1))
    body = " ".join(
        f"The keeper lit lamp {i}. The storm hit the lighthouse." if i % 2 else f"Anna baked bread {i}."
        for i in range(40)
    )
    passages = put(library, embedder, story_with_chapters("overlap", [body]))
    assert any(a.end > b.start for a, b in itertools.pairwise(passages))  # the library has overlaps
    searcher = Searcher(library, embedder)
    for question in ("keeper lamp storm lighthouse", "anna bread", "storm"):
        hits = searcher.search(question, k=10)
        assert len(hits) >= 3
        for i, a in enumerate(hits):
            for b in hits[i + 1 :]:
                assert a.passage.end <= b.passage.start or b.passage.end <= a.passage.start


def test_search_many_matches_single_searches(searcher: Searcher, embedder: HashEmbedder) -> None:
    queries = [
        Query(question="lighthouse lamp"),
        Query(question="river road", story="harbour"),
        Query(question="keeper storm", story="coast", until_chapter=1),
        Query(question="letter by the stove", until_chapter=2),
    ]
    calls = embedder.calls
    batched = searcher.search_many(queries, k=3)
    assert embedder.calls == calls + 1  # one batch for every question
    single = [searcher.search(q.question, k=3, story=q.story, until_chapter=q.until_chapter) for q in queries]
    assert [[h.to_json() for h in hits] for hits in batched] == [
        [h.to_json() for h in hits] for hits in single
    ]
    assert all(hits for hits in batched)


def test_hits_sorted_and_json_shaped(searcher: Searcher) -> None:
    hits = searcher.search("the lighthouse keeper and the river road", k=8)
    assert len(hits) == 8
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    for hit in hits:
        data = hit.to_json()
        assert set(data) == {"story", "chapter", "chapter_title", "start", "end", "text", "score"}
        p = hit.passage
        assert (data["story"], data["chapter"], data["chapter_title"]) == (
            p.story,
            p.chapter,
            p.chapter_title,
        )
        assert (data["start"], data["end"], data["text"]) == (p.start, p.end, p.text)
        assert data["score"] == pytest.approx(hit.score, abs=1e-6)
        assert searcher.library.story_text(p.story)[p.start : p.end] == p.text


def test_best_hit_is_the_matching_passage(searcher: Searcher) -> None:
    hits = searcher.search("the horse would not cross the frozen river", k=1, story="harbour")
    assert hits[0].passage.chapter == 2
    assert "would not cross" in hits[0].passage.text


# -- refresh ------------------------------------------------------------------------------------


def test_refresh_picks_up_put_and_remove(tmp_path: Path, embedder: HashEmbedder) -> None:
    library = library_at(tmp_path / "lib", embedder)
    put(library, embedder, story_with_chapters("coast", [GARDEN, LIGHTHOUSE]))
    searcher = Searcher(library, embedder)
    harbour = story_from_text(tmp_path, HARBOUR_TEXT, story_id="harbour")
    put(library, embedder, harbour)
    with pytest.raises(UnknownStoryError):
        searcher.search("river", story="harbour")
    searcher.refresh()
    hits = searcher.search("river", k=3, story="harbour")
    assert len(hits) == min(3, len(chunk_story(harbour, library.manifest.chunking)))
    assert {h.passage.story for h in searcher.search("horse river road", k=20)} == {"coast", "harbour"}

    library.remove_story("coast")
    searcher.refresh()
    with pytest.raises(UnknownStoryError):
        searcher.search("lamp", story="coast")
    remaining = searcher.search("lighthouse lamp garden bread", k=20)
    assert remaining
    assert {h.passage.story for h in remaining} == {"harbour"}


def test_refresh_sees_changes_made_by_another_library_instance(
    tmp_path: Path, embedder: HashEmbedder
) -> None:
    # The bot reads the library while `storybot ingest` (another process) writes to it.
    root = tmp_path / "lib"
    writer = library_at(root, embedder)
    put(writer, embedder, story_with_chapters("coast", [GARDEN, LIGHTHOUSE]))
    put(writer, embedder, story_from_text(tmp_path, HARBOUR_TEXT, story_id="harbour"))
    searcher = Searcher(Library.open(root, embedder.model_id), embedder)

    writer.remove_story("harbour")
    searcher.refresh()
    hits = searcher.search("horse river road lamp", k=5)
    assert hits
    assert {h.passage.story for h in hits} == {"coast"}

    harbour = story_from_text(tmp_path, HARBOUR_TEXT, story_id="harbour")
    put(writer, embedder, harbour)
    searcher.refresh()
    best = searcher.search("the horse would not cross the frozen river", k=1, story="harbour")
    assert "would not cross" in best[0].passage.text
    assert int(searcher.library.dense.ntotal) == len(searcher.library.passage_table()[0])
