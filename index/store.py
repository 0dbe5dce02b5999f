"""A library on disk: passages, vectors and manifest in SQLite, with a FAISS index beside it.

SQLite is the single commit point: a story's passages, vectors and the manifest change in one
transaction, so a process killed mid-ingest leaves the previous library intact. The FAISS file is
a cache named after the library's generation; a missing or stale one is rebuilt from SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import cast

import faiss
import numpy as np
import numpy.typing as npt

from index.chunking import ChunkParams, through
from index.embedding import Vectors
from index.errors import (
    EncoderMismatchError,
    LibraryError,
    ModelMismatchError,
    StoryExistsError,
    UnknownStoryError,
)
from index.models import Chapter, Passage, Rating, Story, StoryMeta
from index.onnx_encoder import compatible, settings_for
from index.reuse import StoredChapters, select_stored
from index.schema import ADDED_COLUMNS, FORMAT_VERSION, PASSAGE_COLUMNS, SCHEMA, Manifest, StoryEntry
from index.sqlite_io import atomic_write, check_writable, connect, has_manifest, transaction
from index.story_rows import (
    ChapterInfo,
    StoryInfo,
    content_hash,
    insert_story,
    new_info,
    rating_override,
    select_chapters,
    select_meta,
    select_stories,
)
from index.verify import Verification, cache_notes, check_rows
from index.xray_rows import TABLE as NAMES_TABLE
from index.xray_rows import NamesRow, insert_names, select_names

__all__ = ["DB_NAME", "MANIFEST_NAME", "ChapterInfo", "Library", "StoryInfo", "Verification", "content_hash"]

DB_NAME = "library.sqlite"
MANIFEST_NAME = "manifest.json"


class Library:
    """One data directory: several stories embedded with one model."""

    def __init__(self, root: Path, conn: sqlite3.Connection, manifest: Manifest, writable: bool):
        self.root = root
        self._conn = conn
        self._manifest = manifest
        self._writable = writable
        self._lock = threading.RLock()
        self.dense: faiss.IndexIDMap2 = self._load_dense()

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, model_id: str | None = None, encoder: str | None = None) -> Library:
        """Open an existing library for reading; check it was built with ``model_id`` and ``encoder``."""
        db = root / DB_NAME
        if not db.is_file():
            raise LibraryError(f"no library in {root}: run 'storybot ingest' first")
        conn = connect(db)
        if not has_manifest(conn):
            conn.close()
            raise LibraryError(f"no library in {root}: run 'storybot ingest' first")
        manifest = cls._read_manifest(conn, root)
        writable = os.access(root, os.W_OK)
        try:
            _migrate(conn, root, writable)
        except LibraryError:
            conn.close()
            raise
        if model_id is not None and manifest.model != model_id:
            conn.close()
            raise ModelMismatchError(
                f"the library in {root} was built with model '{manifest.model}', not '{model_id}'. "
                f"Use that model (STORYBOT_EMBEDDING_MODEL={manifest.model}), or re-index into a new "
                "data dir: storybot ingest STORIES --data-dir NEW_DIR"
            )
        if encoder is not None and not compatible(manifest.encoder, encoder):
            conn.close()
            raise EncoderMismatchError(
                f"the library in {root} holds vectors made by encoder '{manifest.encoder}', not "
                f"'{encoder}'. Use that encoder (STORYBOT_ENCODER={settings_for(manifest.encoder)}), "
                "or re-index into a new data dir: storybot ingest STORIES --data-dir NEW_DIR"
            )
        return cls(root, conn, manifest, writable=writable)

    @classmethod
    def create_or_open(
        cls, root: Path, model_id: str, dimension: int, chunking: ChunkParams, encoder: str = "torch"
    ) -> Library:
        """Open a library for writing, creating it with this model, encoder and chunking if new."""
        check_writable(root)
        conn = connect(root / DB_NAME)
        if has_manifest(conn):
            conn.close()
            return cls.open(root, model_id, encoder)
        # No manifest: a new library, or one whose first commit never happened (a killed ingest).
        manifest = Manifest(model=model_id, dimension=dimension, chunking=chunking, encoder=encoder)
        with transaction(conn):
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', '0')")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('manifest', ?)", (manifest.model_dump_json(),))
        library = cls(root, conn, manifest, writable=True)
        library._export_manifest()
        return library

    @classmethod
    def peek_manifest(cls, root: Path) -> Manifest | None:
        """The committed manifest of the library in ``root`` without loading it; None if there is none."""
        if not (root / DB_NAME).is_file():
            return None
        conn = connect(root / DB_NAME)
        try:
            return cls._read_manifest(conn, root) if has_manifest(conn) else None
        finally:
            conn.close()

    @staticmethod
    def _read_manifest(conn: sqlite3.Connection, root: Path) -> Manifest:
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='manifest'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"the library in {root} is unreadable: {exc}") from exc
        if row is None:
            raise LibraryError(f"the library in {root} has no manifest")
        manifest = Manifest.model_validate_json(row[0])
        if manifest.format_version != FORMAT_VERSION:
            raise LibraryError(
                f"the library in {root} has format {manifest.format_version}; this storybot reads "
                f"format {FORMAT_VERSION}. Re-index into a new data dir."
            )
        return manifest

    def reload(self) -> bool:
        """Pick up changes another process committed; return whether anything changed."""
        with self._lock:
            generation = self.generation
            if generation == self._loaded_generation:
                return False
            self._manifest = self._read_manifest(self._conn, self.root)
            self.dense = self._load_dense()
            return True

    def close(self) -> None:
        """Close the database; the library must not be used afterwards."""
        with self._lock:
            self._conn.close()

    # -- reading ---------------------------------------------------------------------------
    def locked(self) -> AbstractContextManager[bool]:
        """Hold the library still: no write or reload changes ``dense`` while this is held."""
        return self._lock

    @property
    def manifest(self) -> Manifest:
        """The manifest as of the last commit."""
        return self._manifest

    @property
    def generation(self) -> int:
        """A counter bumped by every committed change."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0])

    @property
    def loaded_generation(self) -> int:
        """The generation the in-memory FAISS index reflects."""
        return self._loaded_generation

    def stories(self) -> list[StoryInfo]:
        """Every story, in id order."""
        with self._lock:
            return select_stories(self._conn)

    def story(self, story_id: str) -> StoryInfo:
        """One story's listing, or UnknownStoryError."""
        for info in self.stories():
            if info.id == story_id:
                return info
        raise UnknownStoryError(f"no story '{story_id}' in the library (see 'storybot list')")

    def story_meta(self, story_id: str) -> StoryMeta:
        """The story's metadata (authors, tags, summary, notes…), or UnknownStoryError."""
        with self._lock:
            meta = select_meta(self._conn, story_id)
        if meta is None:
            raise UnknownStoryError(f"no story '{story_id}' in the library (see 'storybot list')")
        return meta

    def chapters(self, story_id: str) -> list[ChapterInfo]:
        """The story's chapters in reading order, with words and passages per chapter."""
        with self._lock:
            return select_chapters(self._conn, story_id)

    def story_text(self, story_id: str) -> str:
        """The story's full normalised text, which passage offsets index into."""
        with self._lock:
            row = self._conn.execute("SELECT text FROM stories WHERE id=?", (story_id,)).fetchone()
        if row is None:
            raise UnknownStoryError(f"no story '{story_id}' in the library (see 'storybot list')")
        return str(row[0])

    def stored_names(self, story_id: str, until: int | None = None) -> list[NamesRow]:
        """The story's chapters' name records up to ``until`` ([] for a story stored without them)."""
        with self._lock:
            return select_names(self._conn, story_id, until)

    def chapter_spans(self, story_id: str) -> list[Chapter]:
        """The story's chapters with their spans of the story text, in reading order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT number, title, start, end FROM chapters WHERE story=? ORDER BY number", (story_id,)
            ).fetchall()
        return [Chapter(number=n, title=t, start=a, end=b) for n, t, a, b in rows]

    def stored_chapters(self, story_id: str) -> StoredChapters:
        """The story's chapters by content hash, with passage texts and vectors (empty if unknown)."""
        with self._lock:
            return select_stored(self._conn, story_id, self._manifest.dimension)

    def passages(self, rowids: Sequence[int]) -> list[Passage]:
        """Passages by row id, in the order asked."""
        if not rowids:
            return []
        marks = ",".join("?" * len(rowids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT rowid, {PASSAGE_COLUMNS}, {_CHAPTER_SHAPE} FROM passages p WHERE rowid IN ({marks})",
                [int(r) for r in rowids],
            ).fetchall()
        found = {row[0]: _passage(row[1:]) for row in rows}
        return [found[int(r)] for r in rowids if int(r) in found]

    def story_passages(
        self, story_id: str, until_chapter: int | None = None
    ) -> tuple[list[Passage], Vectors]:
        """A story's passages up to a chapter, in reading order, with their vectors."""
        rows = self._story_rows(story_id, until_chapter, ", vector")
        vectors = np.frombuffer(b"".join(cast(bytes, r[-1]) for r in rows), dtype=np.float32)
        return [_passage(r[:-1]) for r in rows], vectors.reshape(len(rows), self._manifest.dimension)

    def passages_until(self, story_id: str, until_chapter: int | None = None) -> list[Passage]:
        """A story's passages up to a chapter, in reading order, without their vectors."""
        return [_passage(r) for r in self._story_rows(story_id, until_chapter, "")]

    def _story_rows(self, story_id: str, until_chapter: int | None, extra: str) -> list[tuple[object, ...]]:
        last = until_chapter if until_chapter is not None else 2**31
        with self._lock:
            rows: list[tuple[object, ...]] = self._conn.execute(
                f"SELECT {PASSAGE_COLUMNS}, {_CHAPTER_SHAPE}{extra} FROM passages p "
                "WHERE story=? AND chapter<=? ORDER BY chapter, ordinal",
                (story_id, last),
            ).fetchall()
        return rows

    def passage_table(self) -> tuple[npt.NDArray[np.int64], list[str], list[str], npt.NDArray[np.int32]]:
        """Row ids, texts, story ids and chapter numbers of every passage, in row-id order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, text, story, chapter FROM passages ORDER BY rowid"
            ).fetchall()
        rowids = np.array([r[0] for r in rows], dtype=np.int64)
        chapters = np.array([r[3] for r in rows], dtype=np.int32)
        return rowids, [r[1] for r in rows], [r[2] for r in rows], chapters

    def _iter_vectors(self) -> Iterator[tuple[npt.NDArray[np.int64], Vectors]]:
        cursor = self._conn.execute("SELECT rowid, vector FROM passages ORDER BY rowid")
        while batch := cursor.fetchmany(4096):
            ids = np.array([r[0] for r in batch], dtype=np.int64)
            vecs = np.frombuffer(b"".join(r[1] for r in batch), dtype=np.float32)
            yield ids, vecs.reshape(len(batch), self._manifest.dimension)

    def verify(self, dimension: int | None = None) -> Verification:
        """Check SQLite's integrity, its rows against the manifest, and ``dimension``; change nothing."""
        with self._lock:
            found, passages = check_rows(self._conn, self._manifest, dimension)
        if passages is None:
            return found
        return found._replace(notes=cache_notes(self._dense_path(self.generation), passages, self._manifest))

    # -- the FAISS cache -------------------------------------------------------------------
    def _dense_path(self, generation: int) -> Path:
        return self.root / f"vectors.{generation}.faiss"

    def _load_dense(self) -> faiss.IndexIDMap2:
        generation = self._loaded_generation = self.generation
        path = self._dense_path(generation)
        count = self._conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        cached = _read_cache(path)
        if (
            isinstance(cached, faiss.IndexIDMap2)
            and cached.ntotal == count
            and cached.d == self._manifest.dimension
        ):
            return cached
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(self._manifest.dimension))
        for ids, vecs in self._iter_vectors():
            index.add_with_ids(vecs, ids)
        if self._writable:
            self._save_dense(index, generation)
        return index

    def _save_dense(self, index: faiss.Index, generation: int) -> None:
        path = self._dense_path(generation)
        atomic_write(path, faiss.serialize_index(index).tobytes())
        for old in self.root.glob("vectors.*.faiss"):
            if old != path:
                old.unlink(missing_ok=True)

    def _export_manifest(self) -> None:
        # A human-readable copy for admins and `doctor`; SQLite's copy is the authority.
        data = self._manifest.model_dump(mode="json") | {"generation": self.generation}
        atomic_write(self.root / MANIFEST_NAME, json.dumps(data, indent=2).encode())

    # -- writing ---------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self._writable:
            raise LibraryError(f"data dir {self.root} is not writable")

    def put_story(
        self,
        story: Story,
        passages: Sequence[Passage],
        vectors: Vectors,
        *,
        replace: bool,
        guild: int | None = None,
        names: Sequence[NamesRow] = (),
    ) -> StoryInfo:
        """Add a story (or replace it, when ``replace``) with its passages, vectors and chapters' name
        records (``names``, for the X-Ray); ``guild`` owns it."""
        self._require_writable()
        if vectors.shape != (len(passages), self._manifest.dimension):
            raise LibraryError(
                f"expected {len(passages)} vectors of dimension {self._manifest.dimension}, "
                f"got an array of shape {vectors.shape}"
            )
        with self._lock:
            with transaction(self._conn):
                self._catch_up()
                if story.id in self._manifest.stories and not replace:
                    raise StoryExistsError(
                        f"story '{story.id}' is already in the library; use --replace to update it"
                    )
                info = new_info(self._conn, story, len(passages), guild)
                override = rating_override(self._conn, story.id)
                removed = self._delete_rows(story.id)
                insert_story(self._conn, story, info, override)
                insert_names(self._conn, story.id, names)
                new_ids = self._insert_passages(passages, vectors)
                manifest = self._with_story(story.id, info)
                generation = self._commit_meta(manifest)
            self._manifest = manifest
            self._apply_dense(removed, new_ids, vectors, generation)
        return info

    def set_rating(self, story_id: str, rating: Rating | None) -> StoryInfo:
        """Set (or, with None, clear) an admin's rating for a story; it outlives updates of the story."""
        self._require_writable()
        with self._lock:
            if story_id not in self._manifest.stories:
                raise UnknownStoryError(f"no story '{story_id}' in the library (see 'storybot list')")
            with transaction(self._conn):
                self._conn.execute("UPDATE stories SET rating_override=? WHERE id=?", (rating, story_id))
        return self.story(story_id)

    def remove_story(self, story_id: str) -> None:
        """Remove a story and everything derived from it."""
        self._require_writable()
        with self._lock:
            with transaction(self._conn):
                self._catch_up()
                if story_id not in self._manifest.stories:
                    raise UnknownStoryError(f"no story '{story_id}' in the library (see 'storybot list')")
                stories = {k: v for k, v in self._manifest.stories.items() if k != story_id}
                manifest = self._manifest.model_copy(update={"stories": stories})
                removed = self._delete_rows(story_id)
                generation = self._commit_meta(manifest)
            self._manifest = manifest
            self._apply_dense(removed, np.zeros(0, dtype=np.int64), None, generation)

    def _delete_rows(self, story_id: str) -> npt.NDArray[np.int64]:
        rows = self._conn.execute("SELECT rowid FROM passages WHERE story=?", (story_id,))
        removed = np.array([r[0] for r in rows], dtype=np.int64)
        self._conn.execute("DELETE FROM stories WHERE id=?", (story_id,))
        return removed

    def _insert_passages(self, passages: Sequence[Passage], vectors: Vectors) -> npt.NDArray[np.int64]:
        ids = []
        for p, vec in zip(passages, vectors, strict=True):
            cursor = self._conn.execute(
                f"INSERT INTO passages ({PASSAGE_COLUMNS}, vector) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    p.id,
                    p.story,
                    p.chapter,
                    p.chapter_title,
                    p.ordinal,
                    p.para_start,
                    p.para_end,
                    p.start,
                    p.end,
                    p.text,
                    np.ascontiguousarray(vec, dtype=np.float32).tobytes(),
                ),
            )
            ids.append(cursor.lastrowid)
        return np.array(ids, dtype=np.int64)

    def _with_story(self, story_id: str, info: StoryInfo) -> Manifest:
        entry = StoryEntry(
            title=info.title, content_hash=info.content_hash, chapters=info.chapters, passages=info.passages
        )
        return self._manifest.model_copy(update={"stories": self._manifest.stories | {story_id: entry}})

    def _catch_up(self) -> None:
        """In a write transaction (which holds SQLite's write lock): take in other processes' commits.

        The CLI and the bot, or several bot containers, may write one library; building on a stale
        manifest would drop the stories another process added.
        """
        if self.generation != self._loaded_generation:
            self._manifest = self._read_manifest(self._conn, self.root)
            self.dense = self._load_dense()

    def _commit_meta(self, manifest: Manifest) -> int:
        """Write the manifest and count one more generation; return it."""
        self._conn.execute("UPDATE meta SET value=? WHERE key='manifest'", (manifest.model_dump_json(),))
        self._conn.execute("UPDATE meta SET value=CAST(value AS INTEGER)+1 WHERE key='generation'")
        return self.generation

    def _apply_dense(
        self,
        removed: npt.NDArray[np.int64],
        added: npt.NDArray[np.int64],
        vectors: Vectors | None,
        generation: int,
    ) -> None:
        if len(removed):
            self.dense.remove_ids(faiss.IDSelectorBatch(removed))
        if vectors is not None and len(added):
            self.dense.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), added)
        self._loaded_generation = generation
        self._save_dense(self.dense, generation)
        self._export_manifest()


def _migrate(conn: sqlite3.Connection, root: Path, writable: bool) -> None:
    """Add columns and tables that newer versions of format 1 use; a read-only old library is an
    error for a column, while a missing name table only means the X-Ray reads chapters afresh."""
    named = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='chapter_names'").fetchone()
    if writable and named is None:
        with transaction(conn):
            conn.execute(NAMES_TABLE)
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column in present:
            continue
        if not writable:
            raise LibraryError(f"the library in {root} needs an upgrade: open it once with write access")
        with transaction(conn):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _read_cache(path: Path) -> faiss.Index | None:
    """The cached FAISS index, or None when there is none or it is unreadable (it is rebuilt then)."""
    if not path.is_file():
        return None
    try:
        return faiss.read_index(str(path))
    except RuntimeError:  # a torn or corrupt file: SQLite still has every vector
        return None


# What Passage.through needs of a passage's chapter: its span, paragraphs and passages. Worked out
# when read rather than stored, so libraries made before it cite the same way.
_CHAPTER_SHAPE = (
    "(SELECT c.start FROM chapters c WHERE c.story = p.story AND c.number = p.chapter), "
    "(SELECT c.end FROM chapters c WHERE c.story = p.story AND c.number = p.chapter), "
    "(SELECT MAX(q.para_end) FROM passages q WHERE q.story = p.story AND q.chapter = p.chapter), "
    "(SELECT COUNT(*) FROM passages q WHERE q.story = p.story AND q.chapter = p.chapter)"
)


def _passage(row: tuple[object, ...]) -> Passage:
    passage = _plain_passage(row[:-4])
    shape = cast(tuple[int | None, int | None, int, int], row[-4:])
    c_start, c_end, paragraphs, count = shape
    if c_start is None or c_end is None:
        return passage
    return passage.model_copy(update={"through": through(passage.start, c_start, c_end, paragraphs, count)})


def _plain_passage(row: tuple[object, ...]) -> Passage:
    keys = (
        "id",
        "story",
        "chapter",
        "chapter_title",
        "ordinal",
        "para_start",
        "para_end",
        "start",
        "end",
        "text",
    )
    return Passage.model_validate(dict(zip(keys, row, strict=True)))
