"""The extractive answer: which sentence(s) are highlighted, in which passage, and when none is."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import (
    MIN_READ_CONFIDENCE,
    READ_COSINE_WEIGHT,
    Answer,
    Answerer,
    Selection,
    SelectionParams,
    _embed_by_length,
)
from index.chunking import ChunkParams
from index.models import Hit, Story
from index.search import Query, Searcher
from index.store import Library
from tests.fakes import HashEmbedder, put, story_from_text

# One paragraph per passage (ChunkParams(target_chars=160)), so each test knows where a sentence lies.
LIGHTHOUSE = (
    "Chapter 1\n\n"
    "Mira lived by the sea with her grandmother. The cottage had a red door and a small garden.\n\n"
    "The keeper climbed the tower at dusk. He lit the copper lamp with a long match.\n\n"
    "Chapter 2\n\n"
    "A storm came over the cliffs that night. The waves broke the old pier in two.\n\n"
    "Chapter 3\n\n"
    "The village rebuilt the pier with oak planks. Mira painted the new railings blue.\n"
)


def make(tmp_path: Path, text: str = LIGHTHOUSE, **options: object) -> tuple[Answerer, Story, HashEmbedder]:
    embedder = HashEmbedder()
    library = Library.create_or_open(
        tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams(target_chars=160)
    )
    story = story_from_text(tmp_path, text, "lighthouse")
    put(library, embedder, story)
    answerer = Answerer(Searcher(library, embedder), embedder, **options)  # type: ignore[arg-type]
    return answerer, story, embedder


def assert_verbatim_in_first_hit(answer: Answer, story: Story) -> None:
    p = answer.hits[0].passage
    assert p.start <= answer.sentence_start < answer.sentence_end <= p.end
    assert answer.sentence == story.text[answer.sentence_start : answer.sentence_end]
    assert answer.sentence == answer.sentence.strip()


def test_the_highlight_is_verbatim_story_text_inside_the_first_passage(tmp_path: Path) -> None:
    answerer, story, _ = make(tmp_path, params=SelectionParams(window_chars=0))
    answer = answerer.ask(Query(question="What did the waves break?", story="lighthouse"))
    assert answer.found
    assert_verbatim_in_first_hit(answer, story)
    assert answer.sentence == "The waves broke the old pier in two."


def test_the_next_sentence_joins_when_both_fit_in_the_window(tmp_path: Path) -> None:
    # The question paraphrases the first sentence; what he did there is the second.
    question = "What did the keeper do after he climbed the tower at dusk?"
    both = "The keeper climbed the tower at dusk. He lit the copper lamp with a long match."
    answerer, story, _ = make(tmp_path)
    answer = answerer.ask(Query(question=question, story="lighthouse"))
    assert answer.sentence == both
    assert_verbatim_in_first_hit(answer, story)
    # A window too small for both keeps the matching sentence alone.
    narrow, _, _ = make(tmp_path / "narrow", params=SelectionParams(window_chars=len(both) - 1))
    assert narrow.ask(Query(question=question, story="lighthouse")).sentence == both.split(" He ")[0]


class ReversedSearcher(Searcher):
    """Retrieval's order turned around: the passage that answers is no longer first."""

    def search_query(self, query: Query, *, k: int = 5) -> list[Hit]:
        return super().search_query(query, k=k)[::-1]


def test_a_better_sentence_in_a_later_passage_moves_that_passage_first(tmp_path: Path) -> None:
    answerer, story, embedder = make(tmp_path, params=SelectionParams(window_chars=0))
    reversed_ = Answerer(ReversedSearcher(answerer.searcher.library, embedder), embedder)
    query = Query(question="Who painted the new railings blue?", story="lighthouse")
    retrieved = reversed_.searcher.search_query(query, k=3)
    answer = reversed_.ask(query, k=3)
    assert answer.sentence.startswith("Mira painted the new railings blue.")
    assert_verbatim_in_first_hit(answer, story)
    # The same passages come back, the answering one first and the others in retrieval's order.
    moved = next(h for h in retrieved if h.passage == answer.hits[0].passage)
    assert answer.hits == (moved, *[h for h in retrieved if h is not moved])
    assert retrieved[0] is not moved


def test_only_the_best_passages_sentences_compete_and_few_go_through_the_model(tmp_path: Path) -> None:
    answerer, _, embedder = make(tmp_path, params=SelectionParams(passages=1, max_sentences=1))
    hits = answerer.searcher.search_query(Query(question="pier", story="lighthouse"), k=4)
    before = embedder.texts_embedded
    chosen = answerer.select("Who painted the new railings blue?", hits)
    assert embedder.texts_embedded - before == 2  # the question and one sentence
    assert chosen.hit == 0
    assert hits[0].passage.start <= chosen.start < chosen.end <= hits[0].passage.end


def test_texts_of_mixed_lengths_are_embedded_in_two_runs_with_rows_in_order() -> None:
    embedder = HashEmbedder()
    texts = ["a lamp", "storm " * 40, "the keeper", "waves " * 45, "pier"]
    vectors = _embed_by_length(embedder, texts)
    assert embedder.calls == 2
    np.testing.assert_allclose(vectors, HashEmbedder().embed(texts))
    alike = HashEmbedder()
    _embed_by_length(alike, ["the lamp", "the keeper", "a pier"])
    assert alike.calls == 1


def test_a_question_the_story_does_not_answer_is_refused(tmp_path: Path) -> None:
    answerer, _, _ = make(tmp_path, min_similarity=0.5)
    refused = answerer.ask(Query(question="What is the capital of France?", story="lighthouse"))
    assert not refused.found
    assert refused.hits == ()
    assert (refused.sentence, refused.sentence_start, refused.sentence_end) == ("", 0, 0)
    assert refused.confidence < 0.5
    answered = answerer.ask(Query(question="Who painted the new railings blue?", story="lighthouse"))
    assert answered.found
    assert answered.confidence >= 0.5


def test_the_better_match_past_the_limit_is_flagged_but_never_highlighted(tmp_path: Path) -> None:
    answerer, story, _ = make(tmp_path, min_similarity=-1.0)
    answer = answerer.ask(
        Query(question="Who painted the new railings blue?", story="lighthouse", until_chapter=2)
    )
    assert answer.later_chapter
    assert answer.found
    assert all(h.passage.chapter <= 2 for h in answer.hits)
    assert_verbatim_in_first_hit(answer, story)
    assert "railings" not in answer.sentence


WORDS = ["lantern", "storm", "keeper", "village", "glass", "harbour", "cider", "lens", "cliff", "Mira"]
sentences = st.lists(st.sampled_from(WORDS), min_size=2, max_size=10).map(
    lambda ws: " ".join(ws).capitalize() + "."
)
paragraphs = st.lists(sentences, min_size=1, max_size=5).map(" ".join)
chapters = st.lists(st.lists(paragraphs, min_size=1, max_size=3), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chapter_paragraphs=chapters,
    limit=st.integers(min_value=1, max_value=6),
    question=st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join),
    window=st.sampled_from([0, 60, 400]),
)
def test_nothing_past_the_chapter_limit_is_ever_highlighted(
    chapter_paragraphs: list[list[str]], limit: int, question: str, window: int
) -> None:
    text = "".join(
        f"Chapter {n}\n\n" + "\n\n".join(paras) + "\n\n" for n, paras in enumerate(chapter_paragraphs, 1)
    )
    with tempfile.TemporaryDirectory() as tmp:
        answerer, story, _ = make(
            Path(tmp), text, min_similarity=-2.0, params=SelectionParams(window_chars=window)
        )
        answer = answerer.ask(Query(question=question, story="lighthouse", until_chapter=limit), k=4)
        assert answer.found
        assert all(h.passage.chapter <= limit for h in answer.hits)
        last = max(c.end for c in story.chapters if c.number <= limit)
        assert answer.sentence_end <= last
        assert_verbatim_in_first_hit(answer, story)
        answerer.searcher.library.close()


def test_selecting_from_no_passages_is_a_programming_error(tmp_path: Path) -> None:
    answerer, _, _ = make(tmp_path)
    with pytest.raises(ValueError, match="no passage"):
        answerer.select("anything", [])


def test_with_the_reader_a_sure_passage_makes_up_for_a_distant_wording(tmp_path: Path) -> None:
    answerer, _, _ = make(tmp_path)

    def sure(score: float, cosine: float) -> bool:
        return answerer._sure(Selection(hit=0, start=0, end=1, confidence=score, read=True, cosine=cosine))

    at = MIN_READ_CONFIDENCE - READ_COSINE_WEIGHT * 0.35  # the score that answers at a cosine of 0.35
    assert sure(at, 0.35)
    assert not sure(at - 0.01, 0.35)
    # A passage the reader is sure of answers though its words are far from the question's, and a
    # close wording answers from a passage the reader doubts; neither threshold alone decides.
    assert sure(at + 1.0, 0.35 - 1.0 / READ_COSINE_WEIGHT + 0.001)
    assert sure(-1.5, (MIN_READ_CONFIDENCE + 1.5) / READ_COSINE_WEIGHT)
    assert not sure(-1.5, 0.4)
