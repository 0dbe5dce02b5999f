"""Updating a work in progress: re-ingest a 100-chapter story whose last chapter is new.

    python bench/incremental.py [--corpus ../shared/corpus] [--story moby-dick] [--chapters 100]

1. Writes the novel's first 99 chapters to a .txt file and ingests it into a new library (full).
2. Rewrites the file with chapter 100 added and re-ingests it with replace, as `storybot ingest
   --replace` and `/story update` do (incremental); then goes back to 99 chapters and repeats, so
   the incremental figure is a median of ``--rounds``.
3. Embeds chapter 100's passages alone: the floor an incremental update cannot beat.
The model runs on torch with ``--threads`` intra-op threads (2 by default, as bulk ingest may).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.chunking import ChunkParams, chunk_story
from index.embedding import SentenceTransformerEmbedder
from index.ingest import IngestSummary, ingest_story
from index.models import Story
from index.readers import read_story
from index.store import Library, content_hash

SHARED = Path(__file__).resolve().parents[2] / "shared"
Timed = tuple[float, IngestSummary]  # seconds, and what the ingest reported


def first_chapters(novel: Story, chapters: int, path: Path) -> Story:
    """Write the novel up to the end of chapter ``chapters`` to ``path`` and read it back."""
    path.write_text(novel.text[: novel.chapters[chapters - 1].end] + "\n", encoding="utf-8")
    story = read_story(path, story_id="wip")
    expected = [content_hash(novel.text[c.start : c.end]) for c in novel.chapters[:chapters]]
    if [content_hash(story.text[c.start : c.end]) for c in story.chapters] != expected:
        raise SystemExit(f"{path.name}: the cut text does not read back as the first {chapters} chapters")
    return story


def timed_ingest(library: Library, embedder: SentenceTransformerEmbedder, path: Path) -> Timed:
    """Read and ingest (replacing) the story file, as the CLI does; return (seconds, summary)."""
    t0 = time.perf_counter()
    summary = ingest_story(library, embedder, read_story(path, story_id="wip"), replace=True)
    return time.perf_counter() - t0, summary


def updates(
    library: Library, embedder: SentenceTransformerEmbedder, novel: Story, n: int, path: Path, rounds: int
) -> tuple[list[Timed], Timed]:
    """Add chapter ``n`` and take it away again, ``rounds`` times; return the adds and the last removal."""
    added = []
    for _ in range(rounds):
        first_chapters(novel, n, path)
        added.append(timed_ingest(library, embedder, path))
        first_chapters(novel, n - 1, path)
        removed = timed_ingest(library, embedder, path)
    return added, removed


def embed_alone(embedder: SentenceTransformerEmbedder, texts: list[str], rounds: int) -> float:
    """Median seconds to embed ``texts`` in one call."""
    seconds = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        embedder.embed(texts)
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds)


def report(n: int, full: Timed, added: list[Timed], removed: Timed, alone: tuple[float, int]) -> None:
    """Print the figures the README quotes."""
    (full_s, first), (back, undo), (one, count) = full, removed, alone
    incremental, update = statistics.median(t for t, _ in added), added[0][1]
    print(f"full ingest ({n - 1} chapters): {full_s:8.2f} s, {first.embedded:,} passages embedded")
    print(
        f"incremental (+chapter {n}):  {incremental:8.2f} s, {update.embedded:,} embedded, "
        f"{update.reused:,} reused (median of {', '.join(f'{t:.2f}' for t, _ in added)} s)"
    )
    print(f"chapter {n} removed again:   {back:8.2f} s, {undo.embedded} embedded, {undo.reused:,} reused")
    print(f"chapter {n}'s passages embedded alone: {one:.2f} s ({count} passages, median)")
    print(
        f"incremental / full: time {incremental / full_s:.3f}, passages embedded "
        f"{update.embedded / first.embedded:.3f}; beyond embedding the new chapter {incremental - one:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--story", default="moby-dick", help="file name in the corpus, without .txt")
    parser.add_argument("--chapters", type=int, default=100, help="chapters in the updated story")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    novel, n = read_story(args.corpus / f"{args.story}.txt"), args.chapters
    if args.rounds < 1:
        raise SystemExit("--rounds must be 1 or more")
    if not 2 <= n <= len(novel.chapters):
        raise SystemExit(f"{args.story} has {len(novel.chapters)} chapters; --chapters must be 2 to that")
    embedder = SentenceTransformerEmbedder(threads=args.threads)
    embedder.embed(["A first batch pays torch's one-off start-up costs."] * 8)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wip.txt"
        longer = first_chapters(novel, n, path)
        last = [p.text for p in chunk_story(longer, ChunkParams()) if p.chapter == n]
        print(
            f"story: {args.story}, first {n} of {len(novel.chapters)} chapters; chapter {n} "
            f"'{longer.chapters[-1].title}' has {len(last)} passages; torch threads {args.threads}"
        )
        library = Library.create_or_open(
            Path(tmp) / "lib", embedder.model_id, embedder.dimension, ChunkParams()
        )
        first_chapters(novel, n - 1, path)
        full = timed_ingest(library, embedder, path)
        added, removed = updates(library, embedder, novel, n, path, args.rounds)
        library.close()
    one = embed_alone(embedder, last, args.rounds)

    report(n, full, added, removed, (one, len(last)))


if __name__ == "__main__":
    main()
