"""How far each ONNX encoder's passage vectors are from torch's, on the devset's passages.

    python bench/encoder_quality.py [--devset ../shared/devset] [--cache-dir ~/.cache/storybot]

Every devset story is chunked with the default settings and its passages embedded per story, as
ingest embeds them (a story of up to 32 passages in one padded batch on one thread, a longer one by
the bulk encoder), once by torch and once by each ONNX encoder. Prints the cosine of each passage's
vector to torch's (min, mean, 1st percentile) and how often the nearest neighbour among a story's
passages changes. The retrieval figures per encoder come from eval_devset.py and answer_sentence.py
with ``--encoder``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_devset import load_devset
from index.chunking import ChunkParams, chunk_story
from index.embedding import SentenceTransformerEmbedder, Vectors
from index.readers import read_story


def per_story(embedder: SentenceTransformerEmbedder, stories: list[list[str]]) -> list[Vectors]:
    return [embedder.embed(texts) for texts in stories]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared/devset")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/storybot", help="ONNX files")
    args = ap.parse_args()
    meta, _ = load_devset(args.devset)
    stories = [
        [
            p.text
            for p in chunk_story(read_story(args.devset / s["path"], story_id=s["story_id"]), ChunkParams())
        ]
        for s in meta
    ]
    print(f"devset: {len(stories)} stories, {sum(map(len, stories))} passages")
    reference = per_story(SentenceTransformerEmbedder(threads=2), stories)
    for encoder in ("fp32", "int8"):
        model = SentenceTransformerEmbedder(threads=2, query_cache_dir=args.cache_dir, encoder=encoder)
        got = per_story(model, stories)
        cosine = np.concatenate([np.sum(a * b, axis=1) for a, b in zip(got, reference, strict=True)])
        moved = 0
        for a, b in zip(got, reference, strict=True):
            # Within a story: does each passage keep its nearest other passage?
            sa, sb = a @ a.T, b @ b.T
            np.fill_diagonal(sa, -2)
            np.fill_diagonal(sb, -2)
            moved += int(np.sum(sa.argmax(axis=1) != sb.argmax(axis=1)))
        print(
            f"{model.encoder:<10} cosine to torch: min {cosine.min():.4f}, mean {cosine.mean():.4f}, "
            f"1st percentile {np.percentile(cosine, 1):.4f}; nearest passage changed for {moved} of "
            f"{len(cosine)}"
        )


if __name__ == "__main__":
    main()
