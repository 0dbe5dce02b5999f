"""Calibrate "I couldn't find that in the story": answer rate on a story's own questions, refusal rate on
questions about another story, for a range of thresholds: on the reranker's score of the answering
passage plus a weight times the best cosine of the question with a sentence weighed for the answer
or, with --no-rerank, on that cosine alone.

    python bench/refusal.py [--devset ../shared/devset] [--no-rerank] [--encoder int8|fp32|torch]

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
from bot.answering import MIN_READ_CONFIDENCE, MIN_SIMILARITY, READ_COSINE_WEIGHT, Answerer
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.onnx_encoder import ENCODERS, Encoder
from index.readers import read_story
from index.rerank import load_reader
from index.search import Query, Searcher
from index.store import Library


def confidences(
    devset: Path, cache_dir: Path, *, rerank: bool, encoder: Encoder = "torch"
) -> tuple[np.ndarray, np.ndarray]:
    """(reader score or cosine, cosine) of every question asked of its own story and of another."""
    stories, questions = load_devset(devset)
    ids = [s["story_id"] for s in stories]
    other = {sid: ids[(i + 1) % len(ids)] for i, sid in enumerate(ids)}
    # Sentences go through the ONNX encoder, as when the bot answers; passages through ``encoder``.
    embedder = SentenceTransformerEmbedder(threads=2, query_cache_dir=cache_dir, encoder=encoder)
    print(f"encoder: {embedder.encoder} ({embedder.path})")
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(
            Path(tmp), embedder.model_id, embedder.dimension, ChunkParams(), embedder.encoder
        )
        read = [read_story(devset / s["path"], story_id=s["story_id"]) for s in stories]
        ingest_all(library, embedder, read, replace=False)
        reader = load_reader(threads=2) if rerank else None
        answerer = Answerer(Searcher(library, embedder, reader=reader), embedder)
        own, foreign = [], []

        def chosen(query: Query) -> tuple[float, float]:
            hits = answerer.searcher.search_query(query, k=K)
            if not hits:
                return (float("-inf"), float("-inf"))
            sel = answerer.select(query.question, hits)
            return (sel.confidence, sel.cosine if sel.read else sel.confidence)

        for q in questions:
            own.append(chosen(Query(question=q["question"], story=q["story_id"])))
            foreign.append(chosen(Query(question=q["question"], story=other[q["story_id"]])))
        library.close()
    return np.array(own), np.array(foreign)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX model")
    parser.add_argument("--no-rerank", action="store_true", help="the cosine rule of the first stage alone")
    parser.add_argument("--encoder", choices=ENCODERS, default="torch", help="what embeds the passages")
    args = parser.parse_args()
    own, foreign = confidences(args.devset, args.cache_dir, rerank=not args.no_rerank, encoder=args.encoder)
    print(f"{len(own)} questions, each asked of its own story and of another")
    cosines = np.arange(0.25, 0.61, 0.0125)
    if args.no_rerank:
        print("cosine  answered(own)  refused(other story)")
        for t in sorted({*np.round(cosines, 4), MIN_SIMILARITY}):
            mark = "  <- default" if abs(t - MIN_SIMILARITY) < 1e-9 else ""
            print(
                f"  {t:5.3f}   {np.mean(own[:, 1] >= t):6.3f}         {np.mean(foreign[:, 1] < t):6.3f}{mark}"
            )
        return
    print("reader score + weight × cosine ≥ threshold: answered(own) refused(other story)")
    for w in sorted({0.0, 4.0, 6.0, 8.0, 10.0, 15.0, READ_COSINE_WEIGHT}):
        for t in sorted({*np.round(np.arange(-1.0, 1.01, 0.1) + w * 0.425, 2), MIN_READ_CONFIDENCE}):
            answered = np.mean(own[:, 0] + w * own[:, 1] >= t)
            refused = np.mean(foreign[:, 0] + w * foreign[:, 1] < t)
            mark = "  <- default" if (w, t) == (READ_COSINE_WEIGHT, MIN_READ_CONFIDENCE) else ""
            print(f"  {w:4.1f}, {t:5.2f}: {answered:6.3f} {refused:6.3f}{mark}")


if __name__ == "__main__":
    main()
