"""Ingest throughput, raw encode ceiling, query latency and peak memory on the novel corpus.

    python bench/speed.py [--corpus ../shared/corpus] [--questions ../shared/devset/questions.jsonl]
        [--encoder int8|fp32|torch]   (default: STORYBOT_ENCODER's default; torch = before issue 15)

1. Reads and chunks the novels, then times the raw ``SentenceTransformer.encode`` on those passages
   (the ceiling) and the full ``storybot ingest`` pipeline on the same stories, in one process.
2. In a fresh process (one torch thread, as the bot serves), loads the library and times single
   questions end to end (embed + retrieve): no filter, one story, one story up to a chapter.
Peak RSS is reported for both processes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.chunking import ChunkParams, chunk_story
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_all
from index.onnx_encoder import ENCODERS, Encoder
from index.readers import read_story
from index.search import Searcher
from index.store import Library

SHARED = Path(__file__).resolve().parents[2] / "shared"


def peak_rss_mib() -> float:
    # VmHWM is this process's own high-water mark; ru_maxrss carries a parent's peak over a fork.
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ingest_bench(
    corpus: Path, data_dir: Path, threads: int, encoder: Encoder, cache_dir: Path, raw: bool = True
) -> None:
    t0 = time.perf_counter()
    stories = [read_story(p) for p in sorted(corpus.glob("*.txt"))]
    passages = [p for s in stories for p in chunk_story(s, ChunkParams())]
    read_chunk = time.perf_counter() - t0
    words = sum(len(s.text.split()) for s in stories)
    chars = sum(len(p.text) for p in passages)
    print(
        f"corpus: {len(stories)} stories, {words:,} words, {len(passages):,} passages "
        f"(mean {chars / len(passages):.0f} chars); read+chunk {read_chunk:.1f}s"
    )

    embedder = SentenceTransformerEmbedder(
        threads=threads, query_cache_dir=None if encoder == "torch" else cache_dir, encoder=encoder
    )
    print(f"encoder: {embedder.encoder} ({embedder.path})")
    texts = [p.text for p in passages]
    if raw:
        t0 = time.perf_counter()
        embedder.embed(texts)
        took = time.perf_counter() - t0
        print(
            f"raw encode:  {took:7.1f}s  {len(texts) / took:6.1f} passages/s  "
            f"(batch {embedder.batch_size}, {threads} threads)"
        )

    library = Library.create_or_open(
        data_dir, embedder.model_id, embedder.dimension, ChunkParams(), embedder.encoder
    )
    t0 = time.perf_counter()
    ingest_all(library, embedder, [read_story(p) for p in sorted(corpus.glob("*.txt"))], replace=False)
    full = time.perf_counter() - t0
    library.close()
    print(
        f"ingest:      {full:7.1f}s  {len(texts) / full:6.1f} passages/s  "
        f"(read, chunk, embed, store; {words / full:,.0f} words/s)"
    )
    if raw:
        print(f"ingest / raw encode throughput: {took / full:.3f}")
    print(f"peak RSS (ingest process): {peak_rss_mib():.0f} MiB")


def latency_bench(data_dir: Path, questions_file: Path, count: int, cache_dir: Path | None) -> None:
    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines()][:count]
    stored = Library.open(data_dir)
    # Questions go through the encoder that made the library (the bot's wiring does the same).
    encoder: Encoder = "int8" if stored.manifest.encoder == "onnx-int8" else "fp32"
    stored.close()
    embedder = SentenceTransformerEmbedder(threads=1, query_cache_dir=cache_dir, encoder=encoder)
    print(f"question encoder: {embedder.path if embedder.fast_queries else 'torch'}")
    t0 = time.perf_counter()
    library = Library.open(data_dir, embedder.model_id, embedder.encoder if cache_dir else None)
    searcher = Searcher(library, embedder)
    print(
        f"library load (FAISS + lexical index): {time.perf_counter() - t0:.2f}s, "
        f"{library.dense.ntotal:,} passages"
    )
    biggest = max(library.stories(), key=lambda s: s.passages)
    middle = max(1, library.story(biggest.id).chapters // 2)
    modes = {
        "no filter": {},
        f"story={biggest.id}": {"story": biggest.id},
        f"story={biggest.id} until chapter {middle}": {"story": biggest.id, "until_chapter": middle},
    }
    searcher.search("warm up", k=5)
    for name, kwargs in modes.items():
        times = []
        for q in questions:
            t0 = time.perf_counter()
            searcher.search(q, k=5, **kwargs)  # type: ignore[arg-type]
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[int(0.95 * len(times)) - 1]
        print(
            f"query latency, {name}: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
            f"({len(times)} questions, k=5, 1 torch thread)"
        )
    encode = []
    for q in questions[:200]:
        t0 = time.perf_counter()
        embedder.embed_query(q)
        encode.append((time.perf_counter() - t0) * 1000)
    print(f"  of which question encoding: p50 {statistics.median(encode):.1f} ms")
    print(f"peak RSS (serving process): {peak_rss_mib():.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--questions", type=Path, default=SHARED / "devset" / "questions.jsonl")
    ap.add_argument("--count", type=int, default=600, help="questions for the latency run")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for ingest")
    ap.add_argument("--data-dir", type=Path, help="keep the library here (default: a temp dir)")
    ap.add_argument("--latency-only", action="store_true", help="time queries against --data-dir")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("~/.cache/storybot").expanduser(),
        help="where the ONNX export of the question encoder is kept",
    )
    ap.add_argument("--torch-queries", action="store_true", help="embed questions with torch, not ONNX")
    ap.add_argument("--encoder", choices=ENCODERS, default="int8", help="what embeds the passages")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw encode (ingest and queries only)")
    ap.add_argument("--busy", type=int, default=0, help="busy-loop processes to run during the latency test")
    args = ap.parse_args()
    if args.latency_only:
        latency_bench(
            args.data_dir, args.questions, args.count, None if args.torch_queries else args.cache_dir
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "library"
        ingest_bench(args.corpus, data_dir, args.threads, args.encoder, args.cache_dir, not args.no_raw)
        print(flush=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--latency-only",
                "--data-dir",
                str(data_dir),
                "--questions",
                str(args.questions),
                "--count",
                str(args.count),
                "--cache-dir",
                str(args.cache_dir),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
