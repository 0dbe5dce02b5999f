"""Recaps (central passages, cached summaries) and follow-up carry-over, below Discord."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering import Answerer
from bot.catalog import Catalog
from bot.conversation import Conversations, Exchange, carry_over, names
from bot.progress import ReadingProgress
from bot.recap import SummaryCache
from index.chunking import ChunkParams
from index.ingest import ingest_story
from index.readers import read_story
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.fakes import HashEmbedder

GUILD, READER = 3, 30
CHAPTERS = [
    [
        "Mira lit the lantern at dusk on the cliff above the harbour.",
        "Mira kept the lantern burning on the cliff through the night.",
        "Gulls cried over the grey sea while fishing boats came home.",
    ],
    [
        "Gulls slept while wind bent the grass on the quiet headland.",
        "The storm raged all night over the harbour and the old tower.",
        "The storm raged all night over the harbour and the old town.",
    ],
    [
        "The village rebuilt the tower with stones from the old quay.",
        "Blue glass for the new lens came by boat from the far city.",
    ],
]


def make_catalog(tmp_path: Path, chapters: list[list[str]] = CHAPTERS) -> Catalog:
    text = "".join(f"Chapter {n}\n\n" + "\n\n".join(ps) + "\n\n" for n, ps in enumerate(chapters, 1))
    (tmp_path / "tower.txt").write_text(text, encoding="utf-8")
    embedder = HashEmbedder()
    library = Library.create_or_open(
        tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams(target_chars=80)
    )
    ingest_story(library, embedder, read_story(tmp_path / "tower.txt"), replace=False, guild=GUILD)
    db = tmp_path / "data" / DB_NAME
    answerer = Answerer(Searcher(library, embedder), embedder)
    return Catalog(library, answerer, ReadingProgress(db), summaries=SummaryCache(db), summary_model="tiny")


def test_a_recap_has_each_chapters_most_central_passage_up_to_the_readers_chapter(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    catalog.progress.set(GUILD, READER, "tower", 2)
    info, limit, recaps = catalog.recap(GUILD, "tower", user=READER)
    assert (info.id, limit) == ("tower", 2)
    assert [r.number for r in recaps] == [1, 2]
    assert recaps[1].text.startswith("The storm raged")  # the passage most like the rest of chapter 2
    assert all(r.kind == "passage" for r in recaps)
    assert [r.number for r in catalog.recap(GUILD, "tower", until_chapter=1)[2]] == [1]


def test_summaries_are_made_once_per_chapter_and_again_when_it_changes(tmp_path: Path) -> None:
    catalog = make_catalog(tmp_path)
    calls: list[str] = []

    def summarize(title: str, text: str) -> str:
        calls.append(title)
        return f"summary of {title}: {len(text)} chars"

    first = catalog.recap(GUILD, "tower", summarize=summarize)[2]
    assert [r.kind for r in first] == ["summary"] * 3
    assert len(calls) == 3
    catalog.recap(GUILD, "tower", summarize=summarize)
    assert len(calls) == 3  # cached
    changed = [CHAPTERS[0], ["A gale cracked the lens of the lighthouse in the night."], CHAPTERS[2]]
    newer = tmp_path / "v2"
    newer.mkdir()
    (newer / "tower.txt").write_text(
        "".join(f"Chapter {n}\n\n" + "\n\n".join(ps) + "\n\n" for n, ps in enumerate(changed, 1)),
        encoding="utf-8",
    )
    catalog.update(newer / "tower.txt", guild=GUILD, story_id="tower")
    catalog.recap(GUILD, "tower", summarize=summarize)
    assert len(calls) == 4  # only the changed chapter is summarised again


def test_follow_ups_carry_the_earlier_questions_names() -> None:
    assert names("Who is Ben Solo? And what does Hux want?") == ["Ben", "Solo", "Hux"]
    first = Exchange("Who is Ben Solo?", "I'm Ben, Ben Solo.", "demo")
    assert carry_over("Why did he run away?", first) == "Why did he run away? Ben Solo"
    assert carry_over("Why did Hux run away?", first) == "Why did Hux run away?"  # names its own
    second = first.then("Why did he run away?", "They run.", None)
    assert second.story == "demo"
    assert [e.question for e in second.history()] == ["Who is Ben Solo?", "Why did he run away?"]
    memory = Conversations(size=2)
    for key in (1, 2, 3):
        memory.remember(key, first)
    assert memory.get(1) is None
    assert memory.get(3) == first


@pytest.mark.parametrize("question", ["what now?", "Tell me more"])
def test_a_follow_up_without_names_before_it_is_unchanged(question: str) -> None:
    assert carry_over(question, Exchange("what happened next?", "", None)) == question
