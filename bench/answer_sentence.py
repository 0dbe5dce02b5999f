"""Does the highlighted sentence hold the answer? Gold-answer containment on the FairytaleQA devset.

    python bench/answer_sentence.py [--devset ../shared/devset] [--passages 3] [--window-chars 400] ...

Every devset story is ingested into one library and each question is asked of its own story, as a
reader would with `story=`, through `Answerer.ask` with the bot's k and refusal threshold, one torch
thread and the ONNX query encoder. The selection options default to the shipped ones; pass them to
measure a variant. Prints containment by question kind, the highlighted length, and `ask` latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_devset import load_devset
from bot.answering import (
    MIN_READ_CONFIDENCE,
    MIN_SIMILARITY,
    READ_COSINE_WEIGHT,
    Answer,
    Answerer,
    SelectionParams,
)
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.onnx_encoder import ENCODERS, Encoder
from index.readers import read_story
from index.rerank import WEIGHTS, load_reader
from index.search import Query, Searcher, tokenize
from index.store import Library

K = 5  # what the bot asks for (bot.catalog.Catalog.ask)
STRICT, LENIENT = 1.0, 0.5
# Function words of an answer ("the", "her", "was") are found anywhere; they do not show an answer.
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as",
    "is", "was", "were", "be", "been", "being", "are", "am", "it", "its", "he", "she", "they", "them",
    "his", "her", "their", "him", "i", "you", "we", "us", "our", "your", "my", "me", "this", "that",
    "these", "those", "there", "here", "then", "than", "so", "do", "did", "does", "had", "has", "have",
    "not", "no", "what", "who", "whom", "which", "why", "how", "when", "where", "into", "out", "up",
    "down", "over",
})  # fmt: skip
DEFINITION = (
    "A question counts as answered at level L when, for at least one of its `answers` or `answers_alt`,\n"
    "a share >= L of the answer's distinct content words (lower-cased word tokens as index.search\n"
    "tokenizes them, minus function words; all its words if it has no other) occurs among the\n"
    "highlighted span's words. Strict: L = 1.0 (every content word); lenient: L = 0.5. A refused\n"
    "question counts as not answered."
)


def coverage(question: dict[str, Any], span: str) -> float:
    """The best share of a gold answer's content words found in ``span``."""
    found = set(tokenize(span))
    best = 0.0
    for gold in [*question["answers"], *question["answers_alt"]]:
        words = tokenize(gold)
        content = {w for w in words if w not in STOPWORDS} or set(words)
        if content:
            best = max(best, len(content & found) / len(content))
    return best


def run(
    devset: Path,
    params: dict[str, Any],
    thresholds: dict[str, float],
    cache_dir: Path,
    *,
    weights: Path | None = WEIGHTS,
    reader_threads: int = 1,
    encoder: Encoder = "torch",
) -> tuple[list[dict[str, Any]], list[Answer], list[tuple[float, float]]]:
    """Ask every devset question of its own story: the questions, answers, (ask, search alone) seconds.

    ``weights`` is the reranker's folder; None asks without it.
    """
    stories, questions = load_devset(devset)
    embedder = SentenceTransformerEmbedder(threads=1, query_cache_dir=cache_dir, encoder=encoder)
    print(f"encoder: {embedder.encoder} ({embedder.path})")
    reader = load_reader(weights, threads=reader_threads) if weights is not None else None
    answers, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(
            Path(tmp), embedder.model_id, embedder.dimension, ChunkParams(), embedder.encoder
        )
        read = [read_story(devset / s["path"], story_id=s["story_id"]) for s in stories]
        ingest_all(library, embedder, read, replace=False)
        searcher = Searcher(library, embedder, reader=reader)
        answerer = Answerer(
            searcher,
            embedder,
            min_similarity=thresholds.get("min_similarity", MIN_SIMILARITY),
            min_read_confidence=thresholds.get("min_read_confidence", MIN_READ_CONFIDENCE),
            read_cosine_weight=thresholds.get("read_cosine_weight", READ_COSINE_WEIGHT),
            params=SelectionParams(**params),
        )
        answerer.ask(Query(question="warm up the encoder", story=stories[0]["story_id"]), k=K)
        for q in questions:
            query = Query(question=q["question"], story=q["story_id"])
            t0 = time.perf_counter()
            answers.append(answerer.ask(query, k=K))
            t1 = time.perf_counter()
            answerer.searcher.search_query(query, k=K)
            times.append((t1 - t0, time.perf_counter() - t1))
        print(f"resident memory after the questions (VmRSS): {_rss_mib():.0f} MiB")
        library.close()
    return questions, answers, times


def _rss_mib() -> float:
    """This process's resident memory now: the serving footprint, models and library loaded."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(questions: list[dict[str, Any]], answers: list[Answer], times: list[tuple[float, float]]) -> None:
    """Print containment by question kind, the passage ceiling, span length and latency."""
    print(DEFINITION)
    print(f"\n{'group':<10}{'n':>5}{'strict':>9}{'lenient':>9}{'passage strict':>16}{'refused':>9}")
    for group in ("explicit", "implicit", "all"):
        pairs = [
            (q, a)
            for q, a in zip(questions, answers, strict=True)
            if group in ("all", q["explicit_or_implicit"])
        ]
        span = [coverage(q, a.sentence) for q, a in pairs]
        whole = [coverage(q, a.hits[0].passage.text) if a.found else 0.0 for q, a in pairs]
        print(
            f"{group:<10}{len(pairs):>5}{np.mean([c >= STRICT for c in span]):>9.3f}"
            f"{np.mean([c >= LENIENT for c in span]):>9.3f}{np.mean([c >= STRICT for c in whole]):>16.3f}"
            f"{sum(not a.found for _, a in pairs):>9}"
        )
    spans = [len(a.sentence) for a in answers if a.found]
    print(
        f"\nhighlighted span: mean {statistics.mean(spans):.0f} characters, median "
        f"{statistics.median(spans):.0f}; passage strict = the whole first passage instead of the span"
    )
    ask, search = (np.array(t) * 1000 for t in zip(*times, strict=True))
    print(
        f"ask latency (k={K}, query encoder 1 thread): p50 {np.median(ask):.1f} ms, "
        f"p95 {np.percentile(ask, 95):.1f} ms;"
    )
    print(
        f"  of which retrieval alone: p50 {np.median(search):.1f} ms, p95 {np.percentile(search, 95):.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX encoder")
    ap.add_argument("--min-similarity", type=float, default=MIN_SIMILARITY, help="without the reranker")
    ap.add_argument(
        "--min-read-confidence", type=float, default=MIN_READ_CONFIDENCE, help="with the reranker"
    )
    ap.add_argument("--read-cosine-weight", type=float, default=READ_COSINE_WEIGHT, help="with it")
    ap.add_argument("--no-rerank", action="store_true", help="first-stage order and embedded sentences")
    ap.add_argument("--weights", type=Path, default=WEIGHTS, help="the reranker's folder")
    ap.add_argument("--reader-threads", type=int, default=1, help="ONNX threads of the reranker")
    ap.add_argument("--encoder", choices=ENCODERS, default="torch", help="what embeds the passages")
    defaults = SelectionParams()
    for name in SelectionParams.model_fields:
        flag = "--" + name.replace("_", "-")
        ap.add_argument(flag, type=type(getattr(defaults, name)), help=f"default {getattr(defaults, name)}")
    args = ap.parse_args()
    params = {n: getattr(args, n) for n in SelectionParams.model_fields if getattr(args, n) is not None}
    thresholds = {
        "min_similarity": args.min_similarity,
        "min_read_confidence": args.min_read_confidence,
        "read_cosine_weight": args.read_cosine_weight,
    }
    rerank = "off" if args.no_rerank else f"on ({args.reader_threads} thread(s))"
    print(f"selection: {params or 'shipped defaults'}; {thresholds}; reranker {rerank}")
    questions, answers, times = run(
        args.devset,
        params,
        thresholds,
        args.cache_dir,
        weights=None if args.no_rerank else args.weights,
        reader_threads=args.reader_threads,
        encoder=args.encoder,
    )
    report(questions, answers, times)


if __name__ == "__main__":
    main()
