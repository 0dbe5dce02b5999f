"""Candidates from storybot's own first stage: each question's top passages, as the bot retrieves them.

Every story of a folder is ingested into one library with the shipped chunking and embedder, and
each question is searched within its own story, as a reader asks with `story=`.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.readers import read_story
from index.search import Query, Searcher
from index.store import Library
from training.data import library_id, load


@dataclass(frozen=True, slots=True)
class Candidate:
    """One first-stage hit for a question."""

    start: int
    end: int
    text: str
    score: float


def mine(root: Path, *, depth: int, threads: int = 2) -> dict[str, list[Candidate]]:
    """The first ``depth`` first-stage hits of every question of ``root``, by qid."""
    stories, questions = load(root)
    embedder = SentenceTransformerEmbedder(threads=threads)
    out: dict[str, list[Candidate]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(Path(tmp), embedder.model_id, embedder.dimension, ChunkParams())
        read = [read_story(root / s["path"], story_id=library_id(s["story_id"])) for s in stories]
        ingest_all(library, embedder, read, replace=False)
        searcher = Searcher(library, embedder)
        queries = [Query(question=q.question, story=library_id(q.story)) for q in questions]
        for i in range(0, len(queries), 256):
            batch = searcher.search_many(queries[i : i + 256], k=depth)
            for q, hits in zip(questions[i : i + 256], batch, strict=True):
                out[q.qid] = [
                    Candidate(h.passage.start, h.passage.end, h.passage.text, h.score) for h in hits
                ]
        library.close()
    return out


def cached(root: Path, cache: Path, *, depth: int) -> dict[str, list[Candidate]]:
    """``mine`` once per folder and depth; later runs read the JSON it wrote."""
    path = cache / f"candidates-{root.name}-{depth}.json"
    if not path.is_file():
        mined = mine(root, depth=depth)
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: [asdict(c) for c in v] for k, v in mined.items()}))
        tmp.replace(path)
    raw = json.loads(path.read_text())
    return {k: [Candidate(**c) for c in v] for k, v in raw.items()}
