"""Re-ingesting a work in progress: only new or changed chapters are embedded, atomically."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest

from bot.cli import run
from index.chunking import ChunkParams, chunk_story
from index.embedding import Vectors
from index.ingest import IngestSummary, ingest_story
from index.models import Passage, Story
from index.reuse import StoredChapter, plan_reuse
from index.search import Searcher
from index.store import DB_NAME, Library, content_hash
from tests.fakes import HashEmbedder, story_from_text

PARAMS = ChunkParams(target_chars=120)
# Each chapter has words no other chapter uses, so search can tell chapters apart.
WORDS = ("harbour", "orchard", "lantern", "glacier", "meadow", "furnace", "quarry", "bellows")


def body(word: str, paragraphs: int = 3) -> str:
    return "\n\n".join(
        f"The {word} was quiet in part {p}. Nobody in the {word} spoke of it. "
        f"Later the {word} keeper counted the {word} lamps again."
        for p in range(paragraphs)
    )


def tale(tmp_path: Path, bodies: Sequence[str], story_id: str = "tale") -> Story:
    """A .txt story with one "Chapter N" heading per body, numbered in order, read back."""
    text = "\n\n".join(f"Chapter {n}\n\n{b}" for n, b in enumerate(bodies, start=1))
    return story_from_text(tmp_path, text + "\n", story_id=story_id)


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def library(tmp_path: Path, embedder: HashEmbedder) -> Library:
    return Library.create_or_open(tmp_path / "lib", embedder.model_id, embedder.dimension, PARAMS)


def ingest(
    library: Library, embedder: HashEmbedder, story: Story, *, replace: bool = True, guild: int | None = None
) -> IngestSummary:
    return ingest_story(library, embedder, story, replace=replace, guild=guild)


Rows = dict[str, tuple[int, str, bytes]]


def rows(library: Library | Path) -> Rows:
    """Every stored passage: id → (chapter, text, the vector's bytes), read past the Library API."""
    root = library.root if isinstance(library, Library) else library
    conn = sqlite3.connect(root / DB_NAME)
    try:
        found = conn.execute("SELECT pid, chapter, text, vector FROM passages").fetchall()
    finally:
        conn.close()
    return {pid: (chapter, text, bytes(blob)) for pid, chapter, text, blob in found}


def chapter_passages(story: Story, number: int) -> list[Passage]:
    return [p for p in chunk_story(story, PARAMS) if p.chapter == number]


def assert_dense_matches_rows(library: Library) -> None:
    """FAISS holds exactly the stored passages, each with its stored vector."""
    rowids, _, _, _ = library.passage_table()
    assert sorted(int(i) for i in faiss.vector_to_array(library.dense.id_map)) == sorted(rowids.tolist())
    conn = sqlite3.connect(library.root / DB_NAME)
    try:
        for rowid, blob in conn.execute("SELECT rowid, vector FROM passages"):
            stored = np.asarray(library.dense.reconstruct(int(rowid)), dtype=np.float32)
            assert stored.tobytes() == bytes(blob)
    finally:
        conn.close()


def count(embedder: HashEmbedder) -> tuple[int, int]:
    calls, texts = embedder.calls, embedder.texts_embedded
    embedder.calls = embedder.texts_embedded = 0
    return calls, texts


# -- what is embedded ---------------------------------------------------------------------------


def test_adding_a_chapter_embeds_only_that_chapter(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    five = tale(tmp_path, [body(w) for w in WORDS[:5]])
    ingest(library, embedder, five, replace=False)
    before = rows(library)
    count(embedder)

    six = tale(tmp_path, [body(w) for w in WORDS[:6]])
    summary = ingest(library, embedder, six)

    new = chapter_passages(six, 6)
    assert count(embedder) == (1, len(new))
    assert (summary.chapters, summary.passages) == (6, len(before) + len(new))
    assert (summary.embedded, summary.reused) == (len(new), len(before))
    after = rows(library)
    assert {pid: after[pid] for pid in before} == before  # same ids, texts and vector bytes
    assert sorted(set(after) - set(before)) == sorted(p.id for p in new)
    assert_dense_matches_rows(library)


def test_editing_a_chapter_embeds_only_that_chapter(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    bodies = [body(w) for w in WORDS[:4]]
    ingest(library, embedder, tale(tmp_path, bodies), replace=False)
    before = rows(library)
    count(embedder)

    bodies[2] = bodies[2].replace("counted", "polished", 1)
    edited = tale(tmp_path, bodies)
    summary = ingest(library, embedder, edited)

    changed = chapter_passages(edited, 3)
    assert count(embedder) == (1, len(changed))
    assert (summary.embedded, summary.reused) == (len(changed), summary.passages - len(changed))
    after = rows(library)
    assert {k: v for k, v in after.items() if v[0] != 3} == {k: v for k, v in before.items() if v[0] != 3}
    assert [after[p.id][1] for p in changed] == [p.text for p in changed]
    assert any("polished" in after[p.id][1] for p in changed)
    assert_dense_matches_rows(library)


def test_removing_a_chapter_removes_its_passages_from_search(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    bodies = [body(w) for w in WORDS[:5]]
    ingest(library, embedder, tale(tmp_path, bodies), replace=False)
    before = rows(library)
    gone = {v[1] for v in before.values() if v[0] == 2}
    count(embedder)

    summary = ingest(library, embedder, tale(tmp_path, bodies[:1] + bodies[2:]))

    # Chapters 3-5 move up to 2-4: nothing new to embed, their vectors come along under new ids.
    assert count(embedder) == (0, 0)
    assert (summary.chapters, summary.embedded, summary.reused) == (4, 0, len(before) - len(gone))
    after = rows(library)
    assert not gone & {v[1] for v in after.values()}
    moved = {(v[0] - 1, v[1], v[2]) for v in before.values() if v[0] > 2}
    assert {v for v in after.values() if v[0] > 1} == moved
    assert int(library.dense.ntotal) == len(after)
    assert_dense_matches_rows(library)
    searcher = Searcher(library, embedder)
    hits = searcher.search(f"the {WORDS[1]} keeper counted the {WORDS[1]} lamps", k=50)
    assert hits
    assert all(WORDS[1] not in h.passage.text for h in hits)
    # Straight to FAISS too: its nearest rows to a removed passage are all current passages.
    _, ids = library.dense.search(embedder.embed(sorted(gone)), int(library.dense.ntotal))
    assert {int(i) for i in ids.ravel()} <= set(library.passage_table()[0].tolist())


def test_inserting_a_chapter_in_the_middle_reuses_the_rest(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    bodies = [body(w) for w in WORDS[:5]]
    ingest(library, embedder, tale(tmp_path, bodies), replace=False)
    before = rows(library)
    count(embedder)

    longer = tale(tmp_path, [*bodies[:2], body(WORDS[6], paragraphs=2), *bodies[2:]])
    summary = ingest(library, embedder, longer)

    inserted = chapter_passages(longer, 3)
    assert count(embedder) == (1, len(inserted))
    assert (summary.embedded, summary.reused) == (len(inserted), len(before))
    after = rows(library)
    for pid, (chapter, text, vector) in before.items():
        # Ids follow the new numbers; text and vector bytes are the stored ones.
        number = chapter if chapter < 3 else chapter + 1
        new_pid = pid.replace(f"tale:{chapter}:", f"tale:{number}:")
        assert after[new_pid] == (number, text, vector)
    titles = {p.chapter: p.chapter_title for p in library.passages(library.passage_table()[0].tolist())}
    assert titles == {n: f"Chapter {n}" for n in range(1, 7)}
    assert_dense_matches_rows(library)


def test_unchanged_story_is_a_no_op(tmp_path: Path, library: Library, embedder: HashEmbedder) -> None:
    story = tale(tmp_path, [body(w) for w in WORDS[:3]])
    first = ingest(library, embedder, story, replace=False, guild=5)
    generation, before = library.generation, rows(library)
    count(embedder)

    summary = ingest(library, embedder, story, guild=5)
    assert count(embedder) == (0, 0)
    assert (summary.embedded, summary.reused, summary.passages) == (0, first.passages, first.passages)
    assert library.generation == generation
    assert rows(library) == before


def test_a_new_title_or_owner_is_stored_without_embedding(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    story = tale(tmp_path, [body(w) for w in WORDS[:3]])
    ingest(library, embedder, story, replace=False, guild=5)
    before = rows(library)
    count(embedder)

    renamed = story.model_copy(update={"title": "The Keeper"})
    summary = ingest(library, embedder, renamed, guild=None)
    assert count(embedder) == (0, 0)
    assert (summary.embedded, summary.reused) == (0, len(before))
    assert (library.story("tale").title, library.story("tale").guild) == ("The Keeper", None)
    ingest(library, embedder, tale(tmp_path, [body(w) for w in WORDS[:4]]), guild=7)
    assert library.story("tale").guild == 7
    after = rows(library)
    assert {pid: after[pid] for pid in before} == before


def test_identical_chapters_each_keep_their_own_vectors(
    tmp_path: Path, library: Library, embedder: HashEmbedder
) -> None:
    bodies = [body(WORDS[0]), body(WORDS[1]), body(WORDS[0])]  # a repeated chapter, word for word
    ingest(library, embedder, tale(tmp_path, bodies), replace=False)
    before = rows(library)
    count(embedder)
    ingest(library, embedder, tale(tmp_path, [*bodies, body(WORDS[2])]))
    assert count(embedder)[1] == len(rows(library)) - len(before)
    after = rows(library)
    assert {pid: after[pid] for pid in before} == before


def test_passages_that_chunk_differently_are_embedded_again(tmp_path: Path, embedder: HashEmbedder) -> None:
    story = tale(tmp_path, [body(w) for w in WORDS[:3]])
    library = Library.create_or_open(tmp_path / "lib", embedder.model_id, embedder.dimension, PARAMS)
    ingest(library, embedder, story, replace=False)
    stored = library.stored_chapters("tale")
    assert sorted(c.number for chapters in stored.values() for c in chapters) == [1, 2, 3]

    same = plan_reuse(story, chunk_story(story, PARAMS), stored, embedder.dimension)
    assert (same.missing, same.reused) == ([], len(rows(library)))
    # The chapters' content hashes match, but their passages under other chunking do not.
    wider = chunk_story(story, ChunkParams(target_chars=400))
    plan = plan_reuse(story, wider, stored, embedder.dimension)
    assert (plan.missing, plan.reused) == (list(range(len(wider))), 0)
    assert library.stored_chapters("nope") == {}


# -- atomicity ----------------------------------------------------------------------------------


class FailingEmbedder(HashEmbedder):
    """Embeds once, then raises: the second ingest dies after chunking, before any write."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        if self.calls >= 1:
            raise RuntimeError("model crashed")
        return super().embed(texts, progress=progress)


def state(library: Library) -> tuple[object, ...]:
    conn = sqlite3.connect(library.root / DB_NAME)
    try:
        tables = tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall())
            for table in ("meta", "stories", "chapters", "passages")
        )
    finally:
        conn.close()
    files = sorted(p.name for p in library.root.glob("vectors.*.faiss"))
    return tables, files, int(library.dense.ntotal), library.manifest


def test_a_failure_mid_update_leaves_the_previous_version(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = FailingEmbedder()
    bodies = [body(w) for w in WORDS[:4]]
    ingest(library, failing, tale(tmp_path, bodies), replace=False, guild=3)
    before = state(library)

    edited = [bodies[0], bodies[1].replace("quiet", "loud"), *bodies[2:], body(WORDS[5])]
    with pytest.raises(RuntimeError, match="model crashed"):
        ingest(library, failing, tale(tmp_path, edited), guild=3)
    assert state(library) == before

    # A failure inside the store's transaction, after the new chapter was embedded, rolls back too.
    def fail(self: Library, passages: Sequence[Passage], vectors: Vectors) -> object:
        raise OSError("disk on fire")

    monkeypatch.setattr(Library, "_insert_passages", fail)
    with pytest.raises(OSError, match="disk on fire"):
        ingest(library, HashEmbedder(), tale(tmp_path, edited), guild=3)
    assert state(library) == before
    library.close()
    assert state(Library.open(library.root))[:3] == before[:3]


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_replace_reports_embedded_and_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "lib")
    bodies = ["Mara rowed out to the lighthouse at dawn.", "The lamp had gone dark in the storm."]
    path = tmp_path / "keeper.txt"
    path.write_text("\n\n".join(f"Chapter {n}\n\n{b}" for n, b in enumerate(bodies, 1)) + "\n")
    assert run(["--data-dir", data, "ingest", str(path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["embedded"], first["reused"]) == (2, 0)
    before = rows(Path(data))

    bodies.append("Mara climbed the stairs and relit it by hand.")
    path.write_text("\n\n".join(f"Chapter {n}\n\n{b}" for n, b in enumerate(bodies, 1)) + "\n")
    assert run(["--data-dir", data, "ingest", str(path), "--replace", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["chapters"], summary["passages"]) == (3, 3)
    assert (summary["embedded"], summary["reused"]) == (1, 2)

    assert run(["--data-dir", data, "search", "Who climbed the stairs?", "-k", "1", "--json"]) == 0
    assert "relit" in json.loads(capsys.readouterr().out)["hits"][0]["text"]
    after = rows(Path(data))
    assert {pid: after[pid] for pid in before} == before


def test_a_repeated_chapter_prefers_the_stored_one_with_its_number(tmp_path: Path) -> None:
    story = tale(tmp_path, [body(WORDS[0]), body(WORDS[0])])
    passages = chunk_story(story, PARAMS)
    texts = tuple(p.text for p in passages if p.chapter == 1)
    digest = content_hash(story.text[story.chapters[0].start : story.chapters[0].end])
    # Two stored copies of the same text whose vectors differ (as batches of a real model may).
    ones, twos = (np.full((len(texts), 4), v, dtype=np.float32) for v in (1.0, 2.0))
    stored = {digest: [StoredChapter(1, texts, ones), StoredChapter(2, texts, twos)]}
    plan = plan_reuse(story, passages, stored, 4)
    assert plan.missing == []
    assert plan.vectors[: len(texts)].tolist() == ones.tolist()
    assert plan.vectors[len(texts) :].tolist() == twos.tolist()
