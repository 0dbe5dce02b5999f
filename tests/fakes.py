"""Test doubles: a deterministic hashing embedder and helpers to build stories and libraries."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.chunking import chunk_story
from index.embedding import Vectors
from index.models import Passage, Story
from index.readers import read_story
from index.search import tokenize
from index.store import Library


class HashEmbedder:
    """Implements the ``Embedder`` protocol with signed feature hashing of ``tokenize`` tokens.

    Texts sharing words get a positive inner product, so search behaves plausibly, yet no model
    is loaded. ``calls`` and ``texts_embedded`` count the work asked of it.
    """

    def __init__(self, dimension: int = 64, model_id: str = "fake-hash") -> None:
        if dimension < 2:
            raise ValueError("dimension must be at least 2")
        # Plain attributes satisfy the Embedder protocol's read-only properties.
        self.dimension = dimension
        self.model_id = model_id
        self.calls = 0
        self.texts_embedded = 0

    def _row(self, text: str) -> Vectors:
        row = np.zeros(self.dimension, dtype=np.float32)
        for token in tokenize(text):
            h = zlib.crc32(token.encode("utf-8"))
            row[h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
        norm = float(np.linalg.norm(row))
        if norm == 0.0:
            row[0] = 1.0  # a fixed unit vector for texts without tokens (or cancelling ones)
            return row
        return row / np.float32(norm)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Embed each text as one unit-length float32 row."""
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._row(text)
        return out

    def embed_query(self, text: str) -> Vectors:
        """Embed one question as a (1, dimension) array."""
        return self.embed([text])


def story_from_text(tmp_path: Path, text: str, story_id: str = "story", *, suffix: str = ".txt") -> Story:
    """Write ``text`` (UTF-8, newlines as given) to a file in ``tmp_path`` and read it back."""
    path = tmp_path / f"{story_id}{suffix}"
    path.write_bytes(text.encode("utf-8"))
    return read_story(path, story_id=story_id)


def put(library: Library, embedder: HashEmbedder, story: Story, *, replace: bool = False) -> list[Passage]:
    """Chunk, embed and store a story with the library's chunking; return its passages."""
    passages = chunk_story(story, library.manifest.chunking)
    vectors = embedder.embed([p.text for p in passages])
    library.put_story(story, passages, vectors, replace=replace)
    return passages
