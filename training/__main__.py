"""`python -m training` (make train-reader): mine, train, read, export; prints each step's time."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from index.rerank import load_reader
from training.card import devset_figures, write_card
from training.data import SHARED, load
from training.export import WEIGHTS, export_quote, export_reader
from training.mine import cached
from training.pairs import reranker_pairs
from training.quote import train_quote
from training.reranker import train_reranker
from training.settings import TrainSettings
from training.span_head import load_head, save_head, span_examples, train_span_head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trainset", type=Path, default=SHARED / "trainset")
    ap.add_argument(
        "--work",
        type=Path,
        default=Path(__file__).resolve().parent / ".work",
        help="mined candidates and the torch checkpoint (not committed)",
    )
    ap.add_argument("--out", type=Path, default=WEIGHTS, help="where the ONNX file and its card go")
    ap.add_argument("--limit", type=int, default=0, help="train on this many questions only (a smoke run)")
    ap.add_argument(
        "--export-only", action="store_true", help="export the last trained models in --work again"
    )
    ap.add_argument(
        "--quote-only",
        action="store_true",
        help="retrain and export the quote model only, keeping the reader (index/weights/quote.onnx)",
    )
    args = ap.parse_args()
    cfg = TrainSettings()
    started = time.perf_counter()

    steps: list[tuple[str, float]] = []

    def step(name: str, since: float, short: str) -> float:
        now = time.perf_counter()
        print(f"[{now - started:7.1f}s] {name} in {now - since:.1f}s", flush=True)
        steps.append((short, now - since))
        return now

    t = time.perf_counter()
    _, questions = load(args.trainset)
    if args.limit:
        questions = questions[: args.limit]
    candidates = cached(args.trainset, args.work, depth=cfg.mine_depth)
    t = step(f"first-stage candidates for {len(questions)} questions", t, "mining")
    pairs = reranker_pairs(
        questions, candidates, depth=cfg.pair_depth, negatives=cfg.negatives, seed=cfg.seed
    )
    print(f"  {len(pairs)} pairs, {sum(p.label for p in pairs)} answering", flush=True)
    checkpoint = args.work / "reranker"
    examples = span_examples(questions, candidates, cfg.pair_depth)
    if not (args.quote_only or args.export_only):
        checkpoint = train_reranker(
            pairs,
            checkpoint,
            layers=cfg.layers,
            max_length=cfg.max_length,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            seed=cfg.seed,
        )
        t = step("reranker trained", t, "reranker")
        head = train_span_head(
            str(checkpoint), examples, max_length=cfg.max_length, epochs=cfg.span_epochs, seed=cfg.seed
        )
        save_head(head, checkpoint)
        t = step(f"span head trained on {len(examples)} located answers", t, "answer head")
    if not args.export_only:
        train_quote(
            examples,
            args.work / "quote",
            layers=cfg.quote_layers,
            max_length=cfg.max_length,
            epochs=cfg.quote_epochs,
            learning_rate=cfg.quote_learning_rate,
            seed=cfg.seed,
        )
        t = step(f"quote model trained on the same {len(examples)} located answers", t, "quote model")
    if not args.quote_only:
        export_reader(checkpoint, load_head(checkpoint), args.out, cfg)
    export_quote(args.work / "quote", args.out, cfg)
    t = step(f"exported to {args.out}", t, "export")
    disagreement = load_reader(args.out).disagreement()
    figures = devset_figures(args.out)
    for name, f in figures.items():
        print(f"  devset {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in f.items() if k != "n"), flush=True)
    t = step("devset figures measured", t, "devset figures")
    command = "python -m training" + "".join(
        f" --{flag.replace('_', '-')}" for flag in ("quote_only", "export_only") if getattr(args, flag)
    )
    write_card(args.out, cfg, figures, steps, len(pairs), len(examples), disagreement, command)
    print(f"{command}: {time.perf_counter() - started:.0f}s in all on this machine", flush=True)


if __name__ == "__main__":
    main()
