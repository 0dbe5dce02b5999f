"""Guild scope over one library: each server sees its own stories plus the shared ones, and no other's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering import Answerer
from bot.catalog import Catalog, NoStoriesError, SharedStoryError
from bot.cooldown import QuestionCooldown
from bot.progress import ReadingProgress
from index.chunking import ChunkParams
from index.errors import InputError, StoryExistsError, UnknownStoryError
from index.ingest import ingest_story
from index.readers import read_story
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.fakes import HashEmbedder

A, B = 1001, 2002
LIGHTHOUSE = (
    "Chapter 1\n\nThe keeper lit the lighthouse lamp every night.\n\nChapter 2\n\nA storm broke the lamp.\n"
)
ORCHARD = "Chapter 1\n\nThe farmer picked apples in the orchard.\n\nChapter 2\n\nThe cider press creaked.\n"
HARBOUR = "Chapter 1\n\nBoats rested in the harbour while gulls circled.\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_catalog(tmp_path: Path, *, shared: bool = True) -> tuple[Catalog, HashEmbedder]:
    embedder = HashEmbedder()
    library = Library.create_or_open(tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams())
    # A story ingested with the CLI: no guild, shared by every server.
    ingest_story(library, embedder, read_story(write(tmp_path, "harbour.txt", HARBOUR)), replace=False)
    progress = ReadingProgress(tmp_path / "data" / DB_NAME)
    answerer = Answerer(Searcher(library, embedder), embedder)
    return Catalog(library, answerer, progress, shared_stories=shared), embedder


def test_a_server_sees_its_own_and_shared_stories_but_never_another_servers(tmp_path: Path) -> None:
    catalog, _ = make_catalog(tmp_path)
    catalog.add(write(tmp_path, "lighthouse.txt", LIGHTHOUSE), guild=A)
    catalog.add(write(tmp_path, "orchard.txt", ORCHARD), guild=B)
    assert [s.id for s in catalog.visible(A)] == ["harbour", "lighthouse"]
    assert [s.id for s in catalog.visible(B)] == ["harbour", "orchard"]
    # Unscoped questions search only the server's stories, even when another server's fits better.
    answer = catalog.ask("who picked apples in the orchard", guild=A).answer
    assert all(h.passage.story in {"harbour", "lighthouse"} for h in answer.hits)
    assert {h.passage.story for h in catalog.ask("apples orchard cider", guild=B).answer.hits} <= {
        "harbour",
        "orchard",
    }
    with pytest.raises(UnknownStoryError, match="no story 'orchard' in this server"):
        catalog.ask("apples", guild=A, story="orchard")


def test_shared_stories_can_be_hidden(tmp_path: Path) -> None:
    catalog, _ = make_catalog(tmp_path, shared=False)
    with pytest.raises(NoStoriesError, match="no stories yet"):
        catalog.ask("boats in the harbour", guild=A)
    catalog.add(write(tmp_path, "lighthouse.txt", LIGHTHOUSE), guild=A)
    assert [s.id for s in catalog.visible(A)] == ["lighthouse"]


def test_an_id_taken_by_another_server_gets_a_suffix_and_a_repeat_here_is_refused(tmp_path: Path) -> None:
    catalog, _ = make_catalog(tmp_path)
    path = write(tmp_path, "lighthouse.txt", LIGHTHOUSE)
    assert catalog.add(path, guild=A).id == "lighthouse"
    assert catalog.add(path, guild=B).id == "lighthouse-2"
    with pytest.raises(StoryExistsError, match="already has a story 'lighthouse'"):
        catalog.add(path, guild=A)
    with pytest.raises(StoryExistsError, match="'harbour'"):
        catalog.add(write(tmp_path, "harbour.txt", HARBOUR), guild=A)
    assert len(catalog.library.stories()) == 3


def test_remove_only_the_servers_own_stories(tmp_path: Path) -> None:
    catalog, _ = make_catalog(tmp_path)
    catalog.add(write(tmp_path, "lighthouse.txt", LIGHTHOUSE), guild=A)
    with pytest.raises(UnknownStoryError):
        catalog.remove("lighthouse", guild=B)
    with pytest.raises(SharedStoryError, match="storybot remove harbour"):
        catalog.remove("harbour", guild=A)
    assert catalog.remove("lighthouse", guild=A).id == "lighthouse"
    assert [s.id for s in catalog.visible(A)] == ["harbour"]
    assert catalog.ask("lighthouse lamp keeper", guild=A).answer.hits[0].passage.story == "harbour"


def test_add_reports_progress_and_bad_files_change_nothing(tmp_path: Path) -> None:
    catalog, _ = make_catalog(tmp_path)
    seen: list[tuple[int, int]] = []
    summary = catalog.add(
        write(tmp_path, "lighthouse.txt", LIGHTHOUSE), guild=A, on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (summary.passages, summary.passages)
    before = catalog.library.generation
    (tmp_path / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(InputError, match="unsupported format"):
        catalog.add(tmp_path / "cover.png", guild=A)
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError):
        catalog.add(tmp_path / "binary.txt", guild=A)
    assert catalog.library.generation == before


def test_stories_written_by_another_process_are_picked_up(tmp_path: Path) -> None:
    catalog, embedder = make_catalog(tmp_path)
    other = Library.open(tmp_path / "data", embedder.model_id)
    ingest_story(other, embedder, read_story(write(tmp_path, "orchard.txt", ORCHARD)), replace=False)
    other.close()
    assert catalog.ask("apples orchard", guild=A).answer.hits[0].passage.story == "orchard"


def test_cooldown_allows_the_rate_then_says_how_long_to_wait() -> None:
    cooldown = QuestionCooldown(rate=2, per=30)
    assert cooldown.retry_after(7) is None
    assert cooldown.retry_after(7) is None
    wait = cooldown.retry_after(7)
    assert wait is not None
    assert 0 < wait <= 30
    assert cooldown.retry_after(8) is None  # budgets are per user
