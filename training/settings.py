"""Every choice `make train-reader` makes, in one place so the model card can record it."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TrainSettings(BaseSettings):
    """Hyper-parameters; chosen with the devset (bench/eval_devset.py), never the held-out set.

    Each may be overridden for an experiment by an environment variable, e.g. TRAIN_EPOCHS=2; the
    shipped model is trained with these defaults.
    """

    model_config = SettingsConfigDict(frozen=True, env_prefix="TRAIN_")

    seed: int = 12
    mine_depth: int = 30  # first-stage hits kept per question
    pair_depth: int = 20  # of which these supply positives and hard negatives
    negatives: int = 3
    layers: int = 4
    max_length: int = 256
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    span_epochs: int = 4
    # The quote model (training/quote.py): every layer fine-tuned, so all six of them.
    quote_layers: int = 6
    quote_epochs: float = 2.0
    quote_learning_rate: float = 5e-5
    per_channel: bool = True  # int8 weights per output channel rather than per tensor
    keep_fp32: bool = False  # also leave the unquantized export in the output folder (for comparisons)
