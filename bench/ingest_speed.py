"""Ingest of one novel: storybot's encoders against the usual recipe, interleaved, each run its own process.

    python bench/ingest_speed.py [--novel ../shared/corpus/moby-dick.txt] [--rounds 3]
        [--contenders recipe,int8,fp32,torch]
    python bench/ingest_speed.py --novel ../shared/corpus --rounds 1 --contenders torch,int8  # all five

The recipe is what a LangChain tutorial does with the same model: 1,000-character chunks every 800
characters, then ``SentenceTransformer.encode(chunks, batch_size=32)``. storybot's contenders are
`storybot ingest` as the CLI runs it (read, chunk, embed, store, X-Ray) with STORYBOT_ENCODER set to
each value, into a new library. Every round runs each contender once in a fresh process, in an order
that rotates, so load from other work on the machine falls on all of them alike. Timed: the work
after the model is loaded (the load is printed apart), and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.speed import peak_rss_mib

SHARED = Path(__file__).resolve().parents[2] / "shared"
RECIPE_SIZE, RECIPE_STEP = 1000, 800


def recipe(novel: Path) -> dict[str, Any]:
    """The usual recipe, timed from reading the file to the last vector."""
    from sentence_transformers import SentenceTransformer

    from index.embedding import resolve_model

    t0 = time.perf_counter()
    model = SentenceTransformer(resolve_model("default")[1], device="cpu")
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    files = sorted(novel.glob("*.txt")) if novel.is_dir() else [novel]
    texts = [f.read_text(encoding="utf-8") for f in files]
    chunks = [text[i : i + RECIPE_SIZE] for text in texts for i in range(0, len(text), RECIPE_STEP)]
    model.encode(chunks, batch_size=32)
    return {"seconds": time.perf_counter() - t0, "load": loaded, "passages": len(chunks)}


def storybot(novel: Path, encoder: str, cache_dir: Path, keep: Path | None) -> dict[str, Any]:
    """`storybot ingest NOVEL` into a new library (kept in ``keep``), as bot/cli/library.py runs it."""
    from bot.cli.wiring import embedder
    from bot.settings import Settings
    from index.chunking import ChunkParams
    from index.ingest import ingest_all, load_stories
    from index.store import Library

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=keep or Path(tmp), cache_dir=cache_dir, encoder=encoder)
        t0 = time.perf_counter()
        model = embedder(settings, threads=settings.ingest_threads or os.cpu_count() or 1)
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        stories = load_stories([novel])
        library = Library.create_or_open(
            settings.data_dir, model.model_id, model.dimension, ChunkParams(), model.encoder
        )
        summaries = ingest_all(library, model, stories, replace=False)
        library.close()
        seconds = time.perf_counter() - t0
    passages = sum(s.passages for s in summaries)
    return {"seconds": seconds, "load": loaded, "passages": passages, "encoder": model.encoder}


def child(name: str, novel: Path, cache_dir: Path, keep: Path | None) -> None:
    if name.startswith("build-"):
        from index.embedding import SentenceTransformerEmbedder

        SentenceTransformerEmbedder(query_cache_dir=cache_dir, encoder=name.removeprefix("build-"))  # type: ignore[arg-type]
        return
    result = recipe(novel) if name == "recipe" else storybot(novel, name, cache_dir, keep)
    print(json.dumps(result | {"peak_rss_mib": peak_rss_mib()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--novel", type=Path, default=SHARED / "corpus" / "moby-dick.txt")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--contenders", default="recipe,int8,fp32,torch")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX files")
    ap.add_argument("--keep-dir", type=Path, help="keep each contender's last library in KEEP_DIR/NAME")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--keep", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.novel, args.cache_dir, args.keep)
        return
    names = args.contenders.split(",")
    # The ONNX files are made once before timing, as the image's build makes them.
    for name in names:
        if name != "recipe":
            build = [
                "--child",
                f"build-{name}",
                "--novel",
                str(args.novel),
                "--cache-dir",
                str(args.cache_dir),
            ]
            subprocess.run([sys.executable, __file__, *build], check=True, capture_output=True)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    print(f"{args.novel.name}, {args.rounds} rounds, nice {os.nice(0)}, {os.cpu_count()} cores")
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            keep = []
            if args.keep_dir and name != "recipe" and r == args.rounds - 1:
                keep = ["--keep", str(args.keep_dir / name)]
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, "--novel", str(args.novel),
                 "--cache-dir", str(args.cache_dir), *keep],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            runs[name].append(json.loads(out.splitlines()[-1]))
            last = runs[name][-1]
            took = f"{last['seconds']:7.1f} s (load {last['load']:.1f} s)"
            print(f"  round {r + 1} {name:<7} {took}", flush=True)
    base = statistics.median(x["seconds"] for x in runs["recipe"]) if "recipe" in runs else None
    head = f"{'median s':>10}{'passages':>10}{'passages/s':>12}{'peak RSS':>10}{'vs recipe':>11}"
    print(f"\n{'contender':<10}{head}")
    for name, got in runs.items():
        seconds = statistics.median(x["seconds"] for x in got)
        passages = got[0]["passages"]
        rss = max(x["peak_rss_mib"] for x in got)
        ratio = f"{base / seconds:.2f}x" if base else "-"
        print(f"{name:<10}{seconds:>10.1f}{passages:>10,}{passages / seconds:>12.1f}{rss:>9.0f}M{ratio:>11}")


if __name__ == "__main__":
    main()
