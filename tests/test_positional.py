"""Whole-story and positional questions: recognised, answered from the story's structure, spoiler-safe."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import Answerer
from bot.positional import Position, recognise
from index.chunking import ChunkParams
from index.search import Query, Searcher
from index.store import Library
from tests.fakes import HashEmbedder, put, story_from_text

# Four chapters of two paragraphs each; one paragraph per passage (ChunkParams(target_chars=160)).
TALE = "".join(
    f"Chapter {n}\n\n"
    f"Chapter {n} opens in the valley below the hills. The miller counts sack number {n} twice.\n\n"
    f"At dusk the tired miller rests by the wheel. Chapter {n} closes with sack number {n} sealed.\n\n"
    for n in range(1, 5)
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How does it end?", Position(kind="end")),
        ("How does the story end?", Position(kind="end")),
        ("so how did it all end", Position(kind="end")),
        ("What happens at the end?", Position(kind="end")),
        ("What happens at the end of the book?", Position(kind="end")),
        ("What’s the ending?", Position(kind="end")),
        ("How does it begin?", Position(kind="beginning")),
        ("How does the story start?", Position(kind="beginning")),
        ("What happens at the beginning?", Position(kind="beginning")),
        ("What happens in chapter 3?", Position(kind="chapter", chapter=3)),
        ("what happened in chapter three", Position(kind="chapter", chapter=3)),
        ("Summarize chapter 12", Position(kind="chapter", chapter=12)),
        ("What happens in chapter twenty-one?", Position(kind="chapter", chapter=21)),
        ("Recap chapter forty two", Position(kind="chapter", chapter=42)),
        ("What is chapter 2 about?", Position(kind="chapter", chapter=2)),
        ("What happened so far?", Position(kind="so_far")),
        ("What has happened so far?", Position(kind="so_far")),
        ("Summarize the story", Position(kind="so_far")),
        ("Please summarise it.", Position(kind="so_far")),
        ("Give me a recap", Position(kind="so_far")),
        ("What is the story about?", Position(kind="so_far")),
    ],
)
def test_positional_phrasings_are_recognised(question: str, expected: Position) -> None:
    assert recognise(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How does the dragon end up in the cave?",
        "What happened at the end of the year?",
        "Why did Hux leave?",
        "How do they escape?",
        "What happened after the sun went down?",
        "Who is at the beginning of the line?",
        "What did the chapter of knights decide?",
    ],
)
def test_ordinary_questions_are_not_positional(question: str) -> None:
    assert recognise(question) is None


def make(tmp_path: Path) -> tuple[Answerer, str]:
    embedder = HashEmbedder()
    library = Library.create_or_open(
        tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams(target_chars=160)
    )
    story = story_from_text(tmp_path, TALE, "tale")
    put(library, embedder, story)
    return Answerer(Searcher(library, embedder), embedder, min_similarity=2.0), story.text


def test_how_does_it_end_quotes_the_last_sentence_of_the_story(tmp_path: Path) -> None:
    # min_similarity=2.0 refuses every searched answer: only the structure can answer these.
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="How does it end?", story="tale"), k=3)
    assert answer.found
    assert not answer.later_chapter
    assert (
        answer.sentence
        == "At dusk the tired miller rests by the wheel. Chapter 4 closes with sack number 4 sealed."
    )
    assert [h.passage.chapter for h in answer.hits] == [4, 4, 3]


def test_the_end_is_the_end_so_far_for_a_reader_held_at_a_chapter(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="How does the story end?", story="tale", until_chapter=2), k=5)
    assert answer.sentence.endswith("Chapter 2 closes with sack number 2 sealed.")
    assert all(h.passage.chapter <= 2 for h in answer.hits)
    assert answer.later_chapter  # the real ending lies past the reader's chapter


def test_how_does_it_begin_quotes_the_opening(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="How does it begin?", story="tale"), k=2)
    assert (
        answer.sentence
        == "Chapter 1 opens in the valley below the hills. The miller counts sack number 1 twice."
    )
    assert answer.hits[0].passage.ordinal == 0
    assert answer.hits[0].passage.chapter == 1


def test_a_chapter_question_answers_from_that_chapter_only(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="What happens in chapter 3?", story="tale"), k=5)
    assert answer.found
    assert {h.passage.chapter for h in answer.hits} == {3}
    assert len(answer.hits) == 2


def test_a_chapter_past_the_readers_progress_is_not_shown(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="What happens in chapter 3?", story="tale", until_chapter=2), k=5)
    assert not answer.found
    assert answer.later_chapter
    beyond = answerer.ask(Query(question="What happens in chapter 9?", story="tale"), k=5)
    assert not beyond.found
    assert not beyond.later_chapter


def test_the_story_so_far_is_spread_through_it_in_reading_order(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="What happened so far?", story="tale", until_chapter=3), k=3)
    chapters = [h.passage.chapter for h in answer.hits]
    assert chapters == sorted(chapters)
    assert (chapters[0], chapters[-1]) == (1, 3)
    assert answer.later_chapter


def test_a_positional_question_without_a_story_takes_the_only_one(tmp_path: Path) -> None:
    answerer, _ = make(tmp_path)
    answer = answerer.ask(Query(question="How does it end?"), k=1)
    assert answer.hits[0].passage.story == "tale"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.sampled_from(
        ["How does it end?", "How does it begin?", "What happened so far?", "Summarize the story"]
        + [f"What happens in chapter {n}?" for n in range(1, 6)]
    ),
    limit=st.integers(min_value=1, max_value=5),
    k=st.integers(min_value=1, max_value=6),
)
def test_no_positional_answer_shows_anything_past_the_limit(
    tmp_path: Path, question: str, limit: int, k: int
) -> None:
    answerer = _shared(tmp_path)
    answer = answerer.ask(Query(question=question, story="tale", until_chapter=limit), k=k)
    assert all(h.passage.chapter <= limit for h in answer.hits)
    assert len(answer.hits) <= k
    if answer.found:
        p = answer.hits[0].passage
        assert p.start <= answer.sentence_start < answer.sentence_end <= p.end


_answerers: dict[Path, Answerer] = {}


def _shared(tmp_path: Path) -> Answerer:
    # One library for every example hypothesis draws (tmp_path is the same within the test).
    if tmp_path not in _answerers:
        _answerers[tmp_path] = make(tmp_path)[0]
    return _answerers[tmp_path]
