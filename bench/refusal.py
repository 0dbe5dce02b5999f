"""Calibrate "I couldn't find that in the story": answer rate on a story's own questions, refusal rate on
questions about another story, for a range of thresholds on `Answer.similarity` (the best cosine of
the question with any sentence weighed for the answer).

    python bench/refusal.py [--devset ../shared/devset]

Each devset question is asked twice, with the bot's k and sentence selection: of its own story (it
should be answered) and of the next story in the devset (it should be refused). Prints both rates
per threshold, and the rates at the default.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.answer_sentence import K
from bench.eval_devset import load_devset
from bot.answering import MIN_SIMILARITY, Answerer
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.readers import read_story
from index.search import Query, Searcher
from index.store import Library


def similarities(devset: Path, cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Similarities of every question asked of its own story and of another story."""
    stories, questions = load_devset(devset)
    ids = [s["story_id"] for s in stories]
    other = {sid: ids[(i + 1) % len(ids)] for i, sid in enumerate(ids)}
    # Sentences go through the ONNX encoder, as when the bot answers.
    embedder = SentenceTransformerEmbedder(threads=2, query_cache_dir=cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(Path(tmp), embedder.model_id, embedder.dimension, ChunkParams())
        read = [read_story(devset / s["path"], story_id=s["story_id"]) for s in stories]
        ingest_all(library, embedder, read, replace=False)
        answerer = Answerer(Searcher(library, embedder), embedder)
        own, foreign = [], []
        for q in questions:
            own.append(answerer.ask(Query(question=q["question"], story=q["story_id"]), k=K).similarity)
            asked = Query(question=q["question"], story=other[q["story_id"]])
            foreign.append(answerer.ask(asked, k=K).similarity)
        library.close()
    return np.array(own), np.array(foreign)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX model")
    args = parser.parse_args()
    own, foreign = similarities(args.devset, args.cache_dir)
    medians = f"own median {np.median(own):.3f}, other story's median {np.median(foreign):.3f}"
    print(f"{len(own)} questions; similarity: {medians}")
    print("threshold  answered(own)  refused(other story)")
    for t in [*np.arange(0.25, 0.61, 0.025), MIN_SIMILARITY]:
        mark = "  <- default" if abs(t - MIN_SIMILARITY) < 1e-9 else ""
        print(f"  {t:5.3f}     {np.mean(own >= t):6.3f}         {np.mean(foreign < t):6.3f}{mark}")


if __name__ == "__main__":
    main()
