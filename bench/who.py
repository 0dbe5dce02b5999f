"""The X-Ray's cost: ingest time it adds, and /who latency on the five corpus novels (~1.16 M words).

    python bench/who.py [--corpus ../shared/corpus] [--queries 200] [--fake-embedder] [--top STORY]

1. Ingests every novel into one new library with the real model (``--fake-embedder``: a hashing
   embedder, for the latency figures only), timing each ingest, and times the X-Ray's share of it:
   reading every chapter's names (``names_rows``), which ingest does before its one transaction.
2. /who as the bot answers it, over that library with a fresh XRay: for random (story, reader's
   chapter) pairs, the people list, one person's profile and the chart's PNG; p50/p95 per kind,
   the first call per story (which loads the story's records) reported apart.
3. The top 10 people of one novel (--top), for the README's table against its real cast.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.chart import chart_png
from index.cast import XRay
from index.chunking import ChunkParams
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.ingest import ingest_story
from index.models import Story
from index.readers import read_story
from index.store import Library
from index.xray_rows import names_rows

SHARED = Path(__file__).resolve().parents[2] / "shared"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[..., object], *args: object) -> float:
    """Milliseconds one call of ``fn(*args)`` takes."""
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000


def build(root: Path, stories: list[Story], embedder: Embedder) -> Library:
    """Ingest every story, printing each ingest's time and the X-Ray's share of it."""
    library = Library.create_or_open(root, embedder.model_id, embedder.dimension, ChunkParams())
    # The ingest's time includes reading the names; "adds" is that time over the rest of the ingest.
    print(f"{'story':<32}{'words':>9}{'chapters':>9}{'ingest s':>10}{'names s':>9}{'adds':>8}")
    totals = [0.0, 0.0]
    for story in stories:
        names = min(timed(names_rows, story) for _ in range(3)) / 1000
        summary = ingest_story(library, embedder, story, replace=False)
        totals[0] += summary.seconds
        totals[1] += names
        words = len(story.text.split())
        share = names / max(summary.seconds - names, 1e-9)
        print(
            f"{story.id:<32}{words:>9}{len(story.chapters):>9}{summary.seconds:>10.1f}{names:>9.2f}{share:>8.1%}"
        )
    print(
        f"{'all':<32}{'':>18}{totals[0]:>10.1f}{totals[1]:>9.2f}{totals[1] / (totals[0] - totals[1]):>8.1%}"
    )
    return library


def latencies(library: Library, stories: list[Story], queries: int, seed: int) -> None:
    """p50/p95 of the people list, a profile and the chart, as /who runs them."""
    xray = XRay(library)
    first = {s.id: timed(xray.cast, s.id) for s in stories}
    rng = random.Random(seed)
    times: dict[str, list[float]] = {"people list": [], "one person": [], "chart PNG": []}
    for _ in range(queries):
        story = rng.choice(stories)
        until = rng.randint(1, len(story.chapters))
        times["people list"].append(timed(xray.cast, story.id, until))
        cast = xray.cast(story.id, until)
        if not cast.people:
            continue
        name = rng.choice(cast.people[:10]).name
        times["one person"].append(timed(xray.profile, story.id, name, until))
        series = xray.mentions(story.id, [name], until)
        times["chart PNG"].append(timed(chart_png, series, "Mentions per chapter"))
    print(
        f"first /who per story (loads its records): {', '.join(f'{k} {v:.0f} ms' for k, v in first.items())}"
    )
    for kind, values in times.items():
        print(
            f"{kind:<12} n={len(values):<4} p50 {percentile(values, 0.5):7.1f} ms"
            f"   p95 {percentile(values, 0.95):7.1f} ms   max {max(values):7.1f} ms"
        )
    whole = [
        a + b + c
        for a, b, c in zip(times["people list"], times["one person"], times["chart PNG"], strict=False)
    ]
    print(f"{'all three':<12} p95 {percentile(whole, 0.95):7.1f} ms   mean {statistics.mean(whole):.1f} ms")


def top_people(library: Library, story_id: str, n: int = 10) -> None:
    cast = XRay(library).cast(story_id)
    print(f"top {n} people of {story_id} (whole story):")
    for i, person in enumerate(cast.people[:n], 1):
        print(f"  {i:>2}. {person.name}: {person.mentions} mentions, from chapter {person.first_chapter}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the ingest")
    parser.add_argument("--fake-embedder", action="store_true", help="skip the model: latency figures only")
    parser.add_argument("--top", default="pride-and-prejudice")
    args = parser.parse_args()
    stories = [read_story(p) for p in sorted(args.corpus.glob("*.txt"))]
    if args.fake_embedder:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from tests.fakes import HashEmbedder

        embedder: Embedder = HashEmbedder()
    else:
        embedder = SentenceTransformerEmbedder(threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        library = build(Path(tmp) / "data", stories, embedder)
        latencies(library, stories, args.queries, args.seed)
        top_people(library, args.top)
        library.close()


if __name__ == "__main__":
    main()
