"""Tests for index/store.py: a library on disk, with the fake embedder and the real chunker."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt
import pytest

import index.store
from index.chunking import ChunkParams, chunk_story
from index.embedding import Vectors
from index.errors import (
    LibraryError,
    ModelMismatchError,
    StoryExistsError,
    UnknownStoryError,
)
from index.models import Passage, Story
from index.search import Searcher
from index.store import MANIFEST_NAME, Library
from tests.fakes import HashEmbedder, put, story_from_text

PARAMS = ChunkParams(target_chars=120)


def text_for(name: str, chapters: int = 2, paragraphs: int = 3) -> str:
    return "\n\n".join(
        f"Chapter {c}\n\n"
        + "\n\n".join(
            f"In chapter {c} {name} walked to the river, paragraph {p}. The water was cold and green. "
            f"{name.capitalize()} counted the stones twice."
            for p in range(paragraphs)
        )
        for c in range(1, chapters + 1)
    )


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "lib"


def new_library(root: Path, embedder: HashEmbedder, params: ChunkParams = PARAMS) -> Library:
    return Library.create_or_open(root, embedder.model_id, embedder.dimension, params)


def make_story(tmp_path: Path, story_id: str, name: str | None = None, chapters: int = 2) -> Story:
    return story_from_text(tmp_path, text_for(name or story_id, chapters), story_id=story_id)


def dense_ids(library: Library) -> list[int]:
    ids: npt.NDArray[np.int64] = faiss.vector_to_array(library.dense.id_map)
    return sorted(int(i) for i in ids)


Snapshot = tuple[list[index.store.StoryInfo], list[int], list[str], list[str], int, int, dict[str, object]]


def snapshot(library: Library) -> Snapshot:
    rowids, texts, stories, _ = library.passage_table()
    return (
        library.stories(),
        [int(r) for r in rowids],
        texts,
        stories,
        library.generation,
        int(library.dense.ntotal),
        library.manifest.model_dump(mode="json"),
    )


def faiss_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("vectors.*.faiss"))


# -- round trip -------------------------------------------------------------------------------


def test_two_stories_round_trip_through_reopen(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    alpha, beta = make_story(tmp_path, "alpha"), make_story(tmp_path, "beta", chapters=3)
    library = new_library(root, embedder)
    passages = put(library, embedder, alpha) + put(library, embedder, beta)
    library.close()

    reopened = Library.open(root, embedder.model_id)
    infos = reopened.stories()
    assert [s.id for s in infos] == ["alpha", "beta"]
    assert [(s.chapters, s.passages) for s in infos] == [
        (2, len(chunk_story(alpha, PARAMS))),
        (3, len(chunk_story(beta, PARAMS))),
    ]
    assert infos[0].words == len(alpha.text.split())
    manifest = reopened.manifest
    assert (manifest.model, manifest.dimension, manifest.chunking) == ("fake-hash", 64, PARAMS)
    for story in (alpha, beta):
        entry = manifest.stories[story.id]
        assert entry.content_hash == hashlib.sha256(story.text.encode("utf-8")).hexdigest()
        assert entry.title == story.title
    assert reopened.story_text("beta") == beta.text

    rowids, texts, stories, chapters = reopened.passage_table()
    assert texts == [p.text for p in passages]
    assert stories == [p.story for p in passages]
    assert chapters.tolist() == [p.chapter for p in passages]
    assert reopened.passages([int(r) for r in rowids]) == passages
    backwards = [int(r) for r in rowids[::-1]]
    assert reopened.passages(backwards) == passages[::-1]
    assert reopened.passages([]) == []
    assert int(reopened.dense.ntotal) == len(passages)
    assert dense_ids(reopened) == sorted(int(r) for r in rowids)


def test_manifest_json_matches_manifest(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    put(library, embedder, make_story(tmp_path, "beta"))
    exported = json.loads((root / MANIFEST_NAME).read_text())
    assert exported == library.manifest.model_dump(mode="json") | {"generation": library.generation}
    assert sorted(exported["stories"]) == ["alpha", "beta"]
    assert exported["model"] == "fake-hash"


def test_dense_vectors_are_the_ones_stored(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    passages = put(library, embedder, make_story(tmp_path, "alpha"))
    rowids, _, _, _ = library.passage_table()
    expected = embedder.embed([p.text for p in passages])
    got = np.stack([library.dense.reconstruct(int(r)) for r in rowids])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


# -- put / replace / remove ---------------------------------------------------------------------


def test_put_existing_without_replace_raises_and_changes_nothing(
    tmp_path: Path, root: Path, embedder: HashEmbedder
) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    before = snapshot(library)
    changed = story_from_text(tmp_path, text_for("someone else", 3), story_id="alpha")
    with pytest.raises(StoryExistsError, match="alpha"):
        put(library, embedder, changed)
    assert snapshot(library) == before
    library.close()
    assert snapshot(Library.open(root))[:5] == before[:5]


def test_replace_swaps_passages_without_leftovers(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    beta_passages = put(library, embedder, make_story(tmp_path, "beta"))
    old_rowids = {int(r) for r in library.passage_table()[0]}

    replacement = story_from_text(tmp_path, text_for("marigold", 1, 2), story_id="alpha")
    new_passages = put(library, embedder, replacement, replace=True)

    rowids, texts, stories, _ = library.passage_table()
    alpha_texts = [t for t, s in zip(texts, stories, strict=True) if s == "alpha"]
    assert alpha_texts == [p.text for p in new_passages]
    assert all("marigold" in t.lower() for t in alpha_texts)
    assert [t for t, s in zip(texts, stories, strict=True) if s == "beta"] == [p.text for p in beta_passages]
    assert len(rowids) == len(new_passages) + len(beta_passages)
    assert int(library.dense.ntotal) == len(rowids)
    assert dense_ids(library) == sorted(int(r) for r in rowids)
    beta_rowids = {int(r) for r, s in zip(rowids, stories, strict=True) if s == "beta"}
    assert {int(r) for r in rowids} & old_rowids == beta_rowids
    info = library.story("alpha")
    assert (info.chapters, info.passages) == (1, len(new_passages))
    assert library.manifest.stories["alpha"].content_hash == index.store.content_hash(replacement.text)


def test_remove_story_removes_everything(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    beta_passages = put(library, embedder, make_story(tmp_path, "beta"))
    library.remove_story("alpha")

    assert [s.id for s in library.stories()] == ["beta"]
    rowids, texts, stories, _ = library.passage_table()
    assert set(stories) == {"beta"}
    assert texts == [p.text for p in beta_passages]
    assert int(library.dense.ntotal) == len(beta_passages)
    assert dense_ids(library) == sorted(int(r) for r in rowids)
    assert "alpha" not in library.manifest.stories
    with pytest.raises(UnknownStoryError):
        library.story_text("alpha")
    library.close()
    reopened = Library.open(root)
    assert [s.id for s in reopened.stories()] == ["beta"]
    assert int(reopened.dense.ntotal) == len(beta_passages)


def test_remove_unknown_story_raises(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    before = snapshot(library)
    with pytest.raises(UnknownStoryError, match="nope"):
        library.remove_story("nope")
    assert snapshot(library) == before


def test_generation_counts_committed_changes(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    alpha = make_story(tmp_path, "alpha")
    seen = [library.generation]
    put(library, embedder, alpha)
    seen.append(library.generation)
    put(library, embedder, make_story(tmp_path, "beta"))
    seen.append(library.generation)
    with pytest.raises(StoryExistsError):
        put(library, embedder, alpha)
    seen.append(library.generation)
    put(library, embedder, alpha, replace=True)
    seen.append(library.generation)
    library.remove_story("beta")
    seen.append(library.generation)
    assert seen == [0, 1, 2, 2, 3, 4]
    assert faiss_files(root) == ["vectors.4.faiss"]


# -- opening ------------------------------------------------------------------------------------


def test_other_model_is_refused_with_a_way_out(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    library.close()
    with pytest.raises(ModelMismatchError) as info:
        Library.open(root, "other-model")
    message = str(info.value)
    assert "fake-hash" in message
    assert "other-model" in message
    assert "re-index" in message.lower()
    with pytest.raises(ModelMismatchError):
        Library.create_or_open(root, "other-model", 64, PARAMS)
    assert [s.id for s in Library.open(root, "fake-hash").stories()] == ["alpha"]


def test_open_empty_dir_says_run_ingest(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="storybot ingest"):
        Library.open(tmp_path)
    with pytest.raises(LibraryError, match="storybot ingest"):
        Library.open(tmp_path / "missing")


def test_data_dir_under_a_file_is_a_library_error(tmp_path: Path, embedder: HashEmbedder) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(LibraryError):
        new_library(blocker / "lib", embedder)
    with pytest.raises(LibraryError):
        new_library(blocker, embedder)
    assert blocker.read_text() == "not a folder"


def test_not_writable_dir_is_refused(
    tmp_path: Path, root: Path, embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = new_library(root, embedder)
    alpha = make_story(tmp_path, "alpha")
    put(library, embedder, alpha)
    library.close()

    def no_access(path: object, mode: int, **kwargs: object) -> bool:
        return False

    monkeypatch.setattr("index.store.os.access", no_access)
    with pytest.raises(LibraryError, match="not writable"):
        new_library(tmp_path / "fresh", embedder)
    with pytest.raises(LibraryError, match="not writable"):
        new_library(root, embedder)
    read_only = Library.open(root)
    assert [s.id for s in read_only.stories()] == ["alpha"]
    with pytest.raises(LibraryError, match="not writable"):
        put(read_only, embedder, make_story(tmp_path, "beta"))
    with pytest.raises(LibraryError, match="not writable"):
        read_only.remove_story("alpha")
    assert [s.id for s in read_only.stories()] == ["alpha"]


# -- the FAISS cache ----------------------------------------------------------------------------


def top_ids(library: Library, embedder: HashEmbedder) -> list[list[str]]:
    searcher = Searcher(library, embedder)
    questions = ("river stones", "cold green water", "alpha counted", "beta walked")
    return [[h.passage.id for h in searcher.search(q, k=4)] for q in questions]


def test_missing_faiss_file_is_rebuilt(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    put(library, embedder, make_story(tmp_path, "beta"))
    expected = top_ids(library, embedder)
    count = len(library.passage_table()[0])
    library.close()
    (root / "vectors.2.faiss").unlink()

    reopened = Library.open(root, embedder.model_id)
    assert int(reopened.dense.ntotal) == count
    assert top_ids(reopened, embedder) == expected
    assert faiss_files(root) == ["vectors.2.faiss"]


def test_stale_faiss_files_are_rebuilt(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    stale = (root / "vectors.1.faiss").read_bytes()
    put(library, embedder, make_story(tmp_path, "beta"))
    expected = top_ids(library, embedder)
    count = len(library.passage_table()[0])
    library.close()

    # A cache of an older generation, under its own name: ignored and removed.
    (root / "vectors.2.faiss").unlink()
    (root / "vectors.1.faiss").write_bytes(stale)
    reopened = Library.open(root, embedder.model_id)
    assert int(reopened.dense.ntotal) == count
    assert top_ids(reopened, embedder) == expected
    assert faiss_files(root) == ["vectors.2.faiss"]
    reopened.close()

    # An older cache written under the current name: its count gives it away.
    (root / "vectors.2.faiss").write_bytes(stale)
    again = Library.open(root, embedder.model_id)
    assert int(again.dense.ntotal) == count
    assert top_ids(again, embedder) == expected


# -- failures roll back -------------------------------------------------------------------------


def test_failure_mid_insert_rolls_back(
    tmp_path: Path, root: Path, embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    put(library, embedder, make_story(tmp_path, "beta"))
    before = snapshot(library)
    original = Library._insert_passages

    def half_then_fail(self: Library, passages: Sequence[Passage], vectors: Vectors) -> object:
        original(self, passages[: len(passages) // 2], vectors[: len(passages) // 2])
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Library, "_insert_passages", half_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        put(library, embedder, make_story(tmp_path, "gamma"))
    with pytest.raises(RuntimeError, match="disk on fire"):
        put(library, embedder, story_from_text(tmp_path, text_for("newer", 3), "alpha"), replace=True)
    assert snapshot(library) == before
    assert library.story_text("alpha") == make_story(tmp_path, "alpha").text
    library.close()

    reopened = Library.open(root)
    assert snapshot(reopened) == before
    assert faiss_files(root) == ["vectors.2.faiss"]


def test_wrong_vector_count_is_refused(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    before = snapshot(library)
    beta = make_story(tmp_path, "beta")
    passages = chunk_story(beta, PARAMS)
    vectors = embedder.embed([p.text for p in passages])
    with pytest.raises(LibraryError):
        library.put_story(beta, passages, vectors[:-1], replace=False)
    assert snapshot(library) == before


def test_wrong_vector_dimension_leaves_library_intact(
    tmp_path: Path, root: Path, embedder: HashEmbedder
) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    before = snapshot(library)
    beta = make_story(tmp_path, "beta")
    passages = chunk_story(beta, PARAMS)
    narrow = HashEmbedder(dimension=32).embed([p.text for p in passages])
    error: Exception | None = None
    try:
        library.put_story(beta, passages, narrow, replace=False)
    except Exception as exc:
        error = exc
    assert snapshot(library)[:5] == before[:5], "vectors of the wrong dimension were committed"
    library.close()
    assert snapshot(Library.open(root))[:5] == before[:5]
    assert isinstance(error, LibraryError), repr(error)


def test_a_library_from_before_guild_scope_is_upgraded_on_open(
    tmp_path: Path, root: Path, embedder: HashEmbedder
) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "old"))
    library.close()
    conn = sqlite3.connect(root / "library.sqlite")
    conn.execute("ALTER TABLE stories DROP COLUMN guild")  # the table as the first release wrote it
    conn.commit()
    conn.close()
    reopened = Library.open(root, embedder.model_id)
    assert [(s.id, s.guild) for s in reopened.stories()] == [("old", None)]
    reopened.close()


def test_a_story_keeps_the_server_that_owns_it(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    story = make_story(tmp_path, "mine")
    passages = chunk_story(story, PARAMS)
    library.put_story(story, passages, embedder.embed([p.text for p in passages]), replace=False, guild=42)
    library.close()
    assert Library.open(root).story("mine").guild == 42


def test_a_corrupt_faiss_file_is_rebuilt(tmp_path: Path, root: Path, embedder: HashEmbedder) -> None:
    library = new_library(root, embedder)
    put(library, embedder, make_story(tmp_path, "alpha"))
    expected = top_ids(library, embedder)
    library.close()
    (root / "vectors.1.faiss").write_bytes(b"torn write")

    reopened = Library.open(root, embedder.model_id)
    assert top_ids(reopened, embedder) == expected
    assert faiss.read_index(str(root / "vectors.1.faiss")).ntotal == reopened.dense.ntotal


def test_two_writers_on_one_library_keep_each_others_stories(
    tmp_path: Path, root: Path, embedder: HashEmbedder
) -> None:
    """Like `storybot ingest` in one container while the bot adds a story in another."""
    first = new_library(root, embedder)
    second = new_library(root, embedder)  # opened before the first writes, like another process
    put(first, embedder, make_story(tmp_path, "alpha"))
    put(second, embedder, make_story(tmp_path, "beta"))  # its view is stale: it must catch up
    first.reload()

    for library in (first, second, Library.open(root, embedder.model_id)):
        assert sorted(library.manifest.stories) == ["alpha", "beta"]
        assert library.verify(embedder.dimension).problems == []
        assert int(library.dense.ntotal) == len(library.passage_table()[0])
    with pytest.raises(StoryExistsError):
        put(first, embedder, make_story(tmp_path, "beta"))
    second.remove_story("alpha")
    put(first, embedder, make_story(tmp_path, "gamma"))
    assert sorted(Library.open(root, embedder.model_id).manifest.stories) == ["beta", "gamma"]


def test_passages_read_back_cite_the_same_place_as_when_chunked(tmp_path: Path) -> None:
    # One chapter of one long paragraph (as the demo story is), and one with paragraphs.
    one_line = " ".join(f"Sentence {n} of the single long paragraph." for n in range(40))
    text = f"Chapter 1\n\n{one_line}\n\nChapter 2\n\n" + "\n\n".join(f"Para {n} here." for n in range(6))
    embedder = HashEmbedder()
    library = Library.create_or_open(tmp_path / "lib", embedder.model_id, embedder.dimension, PARAMS)
    chunked = put(library, embedder, story_from_text(tmp_path, text, "mixed"))
    stored, vectors = library.story_passages("mixed")
    assert stored == chunked
    assert vectors.shape == (len(chunked), embedder.dimension)
    assert all(p.through is not None for p in stored if p.chapter == 1)
    assert all(p.through is None for p in stored if p.chapter == 2)
    rowids, *_ = library.passage_table()
    assert library.passages([int(r) for r in rowids]) == chunked
    up_to_one, _ = library.story_passages("mixed", until_chapter=1)
    assert up_to_one == [p for p in chunked if p.chapter == 1]
