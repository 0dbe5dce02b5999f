"""Retrieval quality on the FairytaleQA devset: recall@1/5, MRR@5, answer containment.

    python bench/eval_devset.py [--devset ../shared/devset] [--target 450] [--overlap 0]
    python bench/eval_devset.py --sweep      # grid over chunking and fusion settings (first stage)
    python bench/eval_devset.py --no-rerank  # the first stage alone
    python bench/eval_devset.py --encoder int8  # passages and questions through that ONNX encoder

A hit is a passage that lies mostly inside an evidence section or holds half of one. Answer
containment: a passage contains a whole located answer (``answer_spans``), in the top 5 and within
the 2,000 characters a Discord answer can show. Both with a story filter per question and with
all stories pooled in one library and no filter.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.chunking import ChunkParams, chunk_story
from index.embedding import SentenceTransformerEmbedder, Vectors
from index.models import Hit
from index.onnx_encoder import ENCODERS
from index.readers import read_story
from index.rerank import load_reader
from index.search import Query, Searcher, SearchParams
from index.store import Library

BUDGET = 2000


class CachingEmbedder:
    """Wraps the real embedder so repeated sweeps embed each text once."""

    def __init__(self, inner: SentenceTransformerEmbedder):
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def encoder(self) -> str:
        return self.inner.encoder

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            for t, v in zip(missing, self.inner.embed(missing, progress=progress), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.embed([text])


def load_devset(root: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stories = [json.loads(line) for line in (root / "stories.jsonl").read_text().splitlines()]
    questions = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    return stories, questions


def build(
    root: Path, stories: list[dict[str, Any]], chunk: ChunkParams, embedder: CachingEmbedder, data_dir: Path
) -> tuple[Library, list[int]]:
    lib = Library.create_or_open(data_dir, embedder.model_id, embedder.dimension, chunk, embedder.encoder)
    lengths = []
    for meta in stories:
        story = read_story(root / meta["path"], story_id=meta["story_id"])
        passages = chunk_story(story, chunk)
        lengths += [len(p.text) for p in passages]
        lib.put_story(story, passages, embedder.embed([p.text for p in passages]), replace=False)
    return lib, lengths


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def is_section_hit(hit: Hit, q: dict[str, Any]) -> bool:
    p = hit.passage
    if p.story != q["story_id"]:
        return False
    for s0, s1 in q["evidence_spans"]:
        ov = _overlap(p.start, p.end, s0, s1)
        if ov * 2 >= (p.end - p.start) or ov * 2 >= (s1 - s0):
            return True
    return False


def contains_answer(hit: Hit, q: dict[str, Any]) -> bool:
    p = hit.passage
    return p.story == q["story_id"] and any(
        p.start <= a["start"] and a["end"] <= p.end for a in q["answer_spans"]
    )


def within_budget(hits: list[Hit]) -> list[Hit]:
    shown: list[Hit] = []
    used = 0
    for h in hits:
        used += len(h.passage.text)
        if used > BUDGET and shown:
            break
        shown.append(h)
    return shown


def score(questions: list[dict[str, Any]], results: list[list[Hit]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[tuple[dict[str, Any], list[Hit]]]] = defaultdict(list)
    for q, hits in zip(questions, results, strict=True):
        for g in ("all", q["explicit_or_implicit"], q["local_or_summary"]):
            groups[g].append((q, hits))
    table = {}
    for g, items in groups.items():
        ranks = [
            next((i + 1 for i, h in enumerate(hits[:5]) if is_section_hit(h, q)), 0) for q, hits in items
        ]
        located = [(q, hits) for q, hits in items if q["answer_spans"]]
        table[g] = {
            "n": len(items),
            "r@1": statistics.mean(r == 1 for r in ranks),
            "r@5": statistics.mean(r > 0 for r in ranks),
            "mrr@5": statistics.mean(1 / r if r else 0 for r in ranks),
            "ac@5": statistics.mean(any(contains_answer(h, q) for h in hits[:5]) for q, hits in located)
            if located
            else float("nan"),
            "ac@2k": statistics.mean(
                any(contains_answer(h, q) for h in within_budget(hits)) for q, hits in located
            )
            if located
            else float("nan"),
        }
    return table


def run(searcher: Searcher, questions: list[dict[str, Any]], pooled: bool) -> dict[str, dict[str, float]]:
    queries = [Query(question=q["question"], story=None if pooled else q["story_id"]) for q in questions]
    return score(questions, searcher.search_many(queries, k=10))


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'group':<10}{'n':>5}{'R@1':>8}{'R@5':>8}{'MRR@5':>8}{'AC@5':>8}{'AC@2k':>8}")
    for g in ("all", "explicit", "implicit", "local", "summary"):
        r = table[g]
        print(
            f"{g:<10}{r['n']:>5}{r['r@1']:>8.3f}{r['r@5']:>8.3f}{r['mrr@5']:>8.3f}"
            f"{r['ac@5']:>8.3f}{r['ac@2k']:>8.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    ap.add_argument("--target", type=int, default=ChunkParams().target_chars)
    ap.add_argument("--overlap", type=int, default=ChunkParams().overlap_sentences)
    ap.add_argument("--dense-weight", type=float, default=SearchParams().dense_weight)
    ap.add_argument("--sentence", type=float, default=SearchParams().sentence_weight)
    ap.add_argument("--sweep", action="store_true", help="grid over chunking and fusion settings")
    ap.add_argument("--no-rerank", action="store_true", help="first-stage order only (STORYBOT_RERANK=false)")
    ap.add_argument("--rerank-depth", type=int, default=SearchParams().rerank_depth)
    ap.add_argument("--first-stage-weight", type=float, default=SearchParams().first_stage_weight)
    ap.add_argument(
        "--encoder",
        choices=ENCODERS,
        help="embed passages and questions through this ONNX Runtime encoder (default: torch alone)",
    )
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX files")
    args = ap.parse_args()

    stories, questions = load_devset(args.devset)
    embedder = CachingEmbedder(
        SentenceTransformerEmbedder(threads=2)
        if args.encoder is None
        else SentenceTransformerEmbedder(threads=2, query_cache_dir=args.cache_dir, encoder=args.encoder)
    )
    print(f"encoder: {embedder.encoder} ({embedder.inner.path})")
    if args.sweep:
        sweep(args.devset, stories, questions, embedder)
        return
    chunk = ChunkParams(target_chars=args.target, overlap_sentences=args.overlap)
    params = SearchParams(
        dense_weight=args.dense_weight,
        sentence_weight=args.sentence,
        rerank_depth=args.rerank_depth,
        first_stage_weight=args.first_stage_weight,
    )
    reader = None if args.no_rerank else load_reader(threads=2)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lib, lengths = build(args.devset, stories, chunk, embedder, Path(tmp))
        searcher = Searcher(lib, embedder, params, reader=reader)
        print(f"devset: {len(stories)} stories, {len(questions)} questions; {chunk!r}; {params!r}")
        print(
            "reranker: "
            + ("off (first-stage order)" if reader is None else f"on, {params.rerank_depth} read")
        )
        print(
            f"passages: {len(lengths)}, mean {statistics.mean(lengths):.0f} chars, "
            f"median {statistics.median(lengths):.0f}, max {max(lengths)}; "
            f"built in {time.perf_counter() - t0:.1f}s"
        )
        print_table("per story (story filter)", run(searcher, questions, pooled=False))
        print_table("pooled (all stories, no filter)", run(searcher, questions, pooled=True))


def sweep(
    root: Path, stories: list[dict[str, Any]], questions: list[dict[str, Any]], embedder: CachingEmbedder
) -> None:
    print(
        f"{'target':>6}{'ovl':>4}{'mean':>6}{'w':>6}{'sent':>6}{'k1':>5}{'b':>6} | per-story R@1 R@5 MRR"
        " AC@5 AC@2k | pooled R@5 AC@5"
    )
    fusion = [
        *itertools.product((0.35, 0.45, 0.55), (0.3, 0.5, 0.7), (1.2,), (0.75,)),
        *itertools.product((0.45,), (0.5,), (0.9, 1.5), (0.5, 0.75, 0.9)),
    ]
    for target, overlap in itertools.product((500, 600, 700), (0,)):
        chunk = ChunkParams(target_chars=target, overlap_sentences=overlap)
        with tempfile.TemporaryDirectory() as tmp:
            lib, lengths = build(root, stories, chunk, embedder, Path(tmp))
            for w, sw, k1, b in fusion:
                params = SearchParams(dense_weight=w, sentence_weight=sw, k1=k1, b=b)
                searcher = Searcher(lib, embedder, params)
                s = run(searcher, questions, pooled=False)["all"]
                p = run(searcher, questions, pooled=True)["all"]
                print(
                    f"{target:>6}{overlap:>4}{statistics.mean(lengths):>6.0f}{w:>6}{sw:>6}{k1:>5}{b:>6} | "
                    f"{s['r@1']:.3f} {s['r@5']:.3f} {s['mrr@5']:.3f} {s['ac@5']:.3f} {s['ac@2k']:.3f}"
                    f" | {p['r@5']:.3f} {p['ac@5']:.3f}",
                    flush=True,
                )
            lib.close()


if __name__ == "__main__":
    main()
