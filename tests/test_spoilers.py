"""The spoiler guarantee as a property: for any story, any progress and any question, nothing past the
reader's chapter comes back, and k hits come back whenever k passages exist up to it.

It runs the whole path a reader's question takes below Discord: progress stored in the library's
SQLite file, limits from the server policy, the query's per-story limits, retrieval's candidate set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import Answerer
from bot.catalog import Catalog
from bot.positional import recognise
from bot.progress import ReadingProgress
from index.chunking import ChunkParams, chunk_story
from index.ingest import ingest_story
from index.models import Story
from index.readers import read_story
from index.rerank import load_reader
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.fakes import HashEmbedder

GUILD, READER = 5, 50
EXAMPLES = 150
WORDS = [
    "lantern",
    "storm",
    "keeper",
    "village",
    "glass",
    "harbour",
    "orchard",
    "cider",
    "lens",
    "cliff",
    "Mira",
]

sentences = st.lists(st.sampled_from(WORDS), min_size=3, max_size=12).map(
    lambda ws: " ".join(ws).capitalize() + "."
)
paragraphs = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
chapters = st.lists(st.lists(paragraphs, min_size=1, max_size=4), min_size=1, max_size=8)


def story_text(chapter_paragraphs: list[list[str]]) -> str:
    return "".join(
        f"Chapter {n}\n\n" + "\n\n".join(paras) + "\n\n" for n, paras in enumerate(chapter_paragraphs, 1)
    )


@contextmanager
def read_up_to(
    chapter_paragraphs: list[list[str]], progress: int
) -> Iterator[tuple[Story, Library, HashEmbedder, ReadingProgress]]:
    """The story ingested into a new library, and a reader whose progress is ``progress``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "story.txt").write_text(story_text(chapter_paragraphs), encoding="utf-8")
        story = read_story(root / "story.txt")
        embedder = HashEmbedder()
        library = Library.create_or_open(
            root / "data", embedder.model_id, embedder.dimension, ChunkParams(target_chars=160)
        )
        ingest_story(library, embedder, story, replace=False, guild=GUILD)
        reading = ReadingProgress(root / "data" / DB_NAME)
        reading.set(GUILD, READER, story.id, progress)
        try:
            yield story, library, embedder, reading
        finally:
            reading.close()
            library.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chapter_paragraphs=chapters,
    progress=st.integers(min_value=1, max_value=9),
    question=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    k=st.integers(min_value=1, max_value=8),
)
def test_no_hit_past_the_readers_chapter_and_k_hits_when_k_exist(
    chapter_paragraphs: list[list[str]], progress: int, question: str, k: int
) -> None:
    with read_up_to(chapter_paragraphs, progress) as (story, library, embedder, reading):
        # A threshold below any cosine: the property is about the limit, not about refusing.
        catalog = Catalog(
            library, Answerer(Searcher(library, embedder), embedder, min_similarity=-2.0), reading
        )
        asked = catalog.ask(question, guild=GUILD, user=READER, k=k)
        within = [p for p in chunk_story(story, library.manifest.chunking) if p.chapter <= progress]
        assert all(h.passage.chapter <= progress for h in asked.answer.hits)
        assert len(asked.answer.hits) == min(k, len(within))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chapter_paragraphs=chapters,
    progress=st.integers(min_value=1, max_value=9),
    question=st.one_of(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
        st.sampled_from(
            ["How does it end?", "How does it begin?", "What happened so far?", "Summarize the story"]
            + [f"What happens in chapter {n}?" for n in range(1, 10)]
        ),
    ),
    k=st.integers(min_value=1, max_value=8),
)
def test_with_the_reranker_and_positional_questions_nothing_past_the_readers_chapter(
    chapter_paragraphs: list[list[str]], progress: int, question: str, k: int
) -> None:
    with read_up_to(chapter_paragraphs, progress) as (story, library, embedder, reading):
        searcher = Searcher(library, embedder, reader=load_reader())
        never_refuses = Answerer(searcher, embedder, min_read_confidence=-1e9)
        catalog = Catalog(library, never_refuses, reading)
        asked = catalog.ask(question, guild=GUILD, user=READER, k=k)
        assert all(h.passage.chapter <= progress for h in asked.answer.hits)
        assert len(asked.answer.hits) <= k
        if recognise(question) is None:
            within = [p for p in chunk_story(story, library.manifest.chunking) if p.chapter <= progress]
            assert len(asked.answer.hits) == min(k, len(within))
