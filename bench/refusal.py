"""Calibrate "I couldn't find that in the story": answer rate on a story's own questions, refusal rate on
questions about another story, for a range of thresholds on the answering sentence's cosine.

    python bench/refusal.py [--devset ../shared/devset]

Each devset question is asked twice: of its own story (it should be answered) and of the next story
in the devset (it should be refused). Prints both rates per threshold, and the rates at the default.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_devset import load_devset
from bot.answering import MIN_SIMILARITY, Answerer
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.readers import read_story
from index.search import Query, Searcher
from index.store import Library


def similarities(devset: Path) -> tuple[np.ndarray, np.ndarray]:
    """Best-sentence cosines of every question asked of its own story and of another story."""
    stories, questions = load_devset(devset)
    ids = [s["story_id"] for s in stories]
    other = {sid: ids[(i + 1) % len(ids)] for i, sid in enumerate(ids)}
    embedder = SentenceTransformerEmbedder(threads=2)
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(Path(tmp), embedder.model_id, embedder.dimension, ChunkParams())
        read = [read_story(devset / s["path"], story_id=s["story_id"]) for s in stories]
        ingest_all(library, embedder, read, replace=False)
        answerer = Answerer(Searcher(library, embedder), embedder)
        own, foreign = [], []
        for q in questions:
            own.append(answerer.ask(Query(question=q["question"], story=q["story_id"])).similarity)
            asked = Query(question=q["question"], story=other[q["story_id"]])
            foreign.append(answerer.ask(asked).similarity)
        library.close()
    return np.array(own), np.array(foreign)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    args = parser.parse_args()
    own, foreign = similarities(args.devset)
    medians = f"own median {np.median(own):.3f}, other story's median {np.median(foreign):.3f}"
    print(f"{len(own)} questions; best-sentence cosine: {medians}")
    print("threshold  answered(own)  refused(other story)")
    for t in [*np.arange(0.10, 0.56, 0.05), MIN_SIMILARITY]:
        mark = "  <- default" if abs(t - MIN_SIMILARITY) < 1e-9 else ""
        print(f"  {t:5.2f}      {np.mean(own >= t):6.3f}         {np.mean(foreign < t):6.3f}{mark}")


if __name__ == "__main__":
    main()
