"""The library's SQLite schema and manifest: what a restart needs, in one transactional file."""

from __future__ import annotations

from pydantic import Field

from index.chunking import ChunkParams
from index.models import Frozen
from index.xray_rows import TABLE as NAMES_TABLE

FORMAT_VERSION = 1

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    chapters INTEGER NOT NULL,
    passages INTEGER NOT NULL,
    words INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    text TEXT NOT NULL,
    guild INTEGER,
    rating TEXT,
    rating_override TEXT,
    updated_at TEXT,
    meta TEXT
);
CREATE TABLE IF NOT EXISTS chapters (
    story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (story, number)
);
CREATE TABLE IF NOT EXISTS passages (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    pid TEXT NOT NULL UNIQUE,
    story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    chapter INTEGER NOT NULL,
    chapter_title TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    para_start INTEGER NOT NULL,
    para_end INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_by_story ON passages (story, chapter, ordinal);
"""
    + NAMES_TABLE
)

# Columns added after format 1 shipped: (table, column, declaration), applied by ``migrate``.
ADDED_COLUMNS = (
    ("stories", "guild", "INTEGER"),
    ("stories", "rating", "TEXT"),
    ("stories", "rating_override", "TEXT"),
    ("stories", "updated_at", "TEXT"),
    ("stories", "meta", "TEXT"),
)

PASSAGE_COLUMNS = "pid, story, chapter, chapter_title, ordinal, para_start, para_end, start, end, text"


class StoryEntry(Frozen):
    """What the manifest records of one story."""

    title: str
    content_hash: str
    chapters: int
    passages: int


class Manifest(Frozen):
    """Format version, embedding model, encoder and chunking: what makes vectors comparable."""

    format_version: int = FORMAT_VERSION
    model: str
    dimension: int = Field(ge=1)
    # What ran the model: "torch", "onnx-fp32" or "onnx-int8" (the fp32 export, dynamically
    # quantized per channel). Libraries from before the field were all made by torch.
    encoder: str = "torch"
    chunking: ChunkParams
    stories: dict[str, StoryEntry] = Field(default_factory=dict)
