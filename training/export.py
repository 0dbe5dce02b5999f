"""The trained reader → one int8 ONNX file with its tokenizer and reference scores, in index/weights/."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from index.rerank import (
    MODEL_FILE,
    QUOTE_FILE,
    QUOTE_SPEC_FILE,
    SPEC_FILE,
    TOKENIZER_FILE,
    ReaderSpec,
    sentence_scores,
)
from training.quote import load_quote
from training.reranker import load_trained
from training.settings import TrainSettings
from training.span_head import SpanHead

WEIGHTS = Path(__file__).resolve().parents[1] / "index" / "weights"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")

# Reference pairs: the torch model's scores for them are stored beside the ONNX file, and every
# load checks the int8 model still agrees (tests/test_rerank.py, and `storybot doctor`).
PROBES = (
    (
        "Who tells Hux to go to bed?",
        "The next day, he yells at one of his underlings and Phasma tells him to go to bed. He yells at "
        "her too and storms off the bridge. When he's alone, he considers going to bed.",
    ),
    (
        "Who tells Hux to go to bed?",
        "Three days later, Ben's discharged from medical. Three days later, he comes to Hux's room.",
    ),
    (
        "Why did the princess leave the castle?",
        "The king had forbidden her to see the shepherd. So one night, when the whole castle slept, the "
        "princess crept down the stairs. She wanted to find him before the wedding was announced.",
    ),
    (
        "Why did the princess leave the castle?",
        'The miller\'s son was poor, and he had nothing but a cat. "What shall I do?" he said. "I '
        'shall starve."',
    ),
    (
        "What did the fox steal?",
        "In the morning the farmer found the gate open. The fox had taken the fattest goose from the "
        "yard and run off into the wood with it.",
    ),
)


class ReaderModule(nn.Module):
    """The exported graph: a passage score per pair (mean-pooled tokens, one logit) and an answer
    logit per token."""

    def __init__(self, encoder: Any, logit: nn.Linear, head: SpanHead):
        super().__init__()
        self.encoder = encoder
        self.logit = logit
        self.head = head

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        weights = mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.logit(pooled)[:, 0], self.head(states)


def export_reader(checkpoint: Path, head: SpanHead, out: Path, cfg: TrainSettings) -> None:
    """Write reader.onnx (int8), tokenizer.json and reader.json (settings, reference scores)."""
    encoder, logit, tokenizer = load_trained(checkpoint)
    module = ReaderModule(encoder, logit, head).eval()
    _write_int8(module, tokenizer, ["score", "tokens"], out / MODEL_FILE, cfg)
    tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    spec = ReaderSpec(
        max_length=cfg.max_length,
        layers=cfg.layers,
        probes=tuple(_reference(module, tokenizer, q, p, cfg.max_length) for q, p in PROBES),
    )
    (out / SPEC_FILE).write_text(json.dumps(spec.model_dump(), indent=1) + "\n")


def export_quote(checkpoint: Path, out: Path, cfg: TrainSettings) -> None:
    """Write quote.onnx (int8) and quote.json; it shares the reader's tokenizer.json (same vocabulary)."""
    module, tokenizer = load_quote(checkpoint)
    _write_int8(module, tokenizer, ["tokens"], out / QUOTE_FILE, cfg)
    spec = ReaderSpec(
        max_length=cfg.max_length,
        layers=cfg.quote_layers,
        probes=tuple(_reference(module, tokenizer, q, p, cfg.max_length) for q, p in PROBES),
    )
    (out / QUOTE_SPEC_FILE).write_text(json.dumps(spec.model_dump(), indent=1) + "\n")


def _write_int8(
    module: nn.Module, tokenizer: Any, outputs: list[str], path: Path, cfg: TrainSettings
) -> None:
    """Export ``module`` to ONNX (opset 17, batch and length dynamic) and quantize it to int8 at ``path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / path.with_suffix(".fp32.onnx").name
        sample = tokenizer(
            ["a question"] * 2, ["a passage", "another passage"], return_tensors="pt", padding=True
        )
        axes = {0: "batch", 1: "tokens"}
        dynamic = dict.fromkeys(_INPUTS, axes) | {"score": {0: "batch"}, "tokens": axes}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(fp32),
                input_names=list(_INPUTS),
                output_names=outputs,
                dynamic_axes={k: v for k, v in dynamic.items() if k in _INPUTS or k in outputs},
                opset_version=17,
                dynamo=False,
            )
        if cfg.keep_fp32:
            shutil.copy(fp32, path.parent / fp32.name)
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=cfg.per_channel)


def _reference(
    module: nn.Module, tokenizer: object, question: str, passage: str, max_length: int
) -> dict[str, object]:
    """The torch model's passage score (the reader's; the quote model has none) and sentence scores
    for one probe."""
    enc = tokenizer(
        question,
        passage,
        truncation="only_second",
        max_length=max_length,  # type: ignore[operator]
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        got = module(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    score, tokens = got if isinstance(got, tuple) else (None, got)
    offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
    passage_tokens = [s == 1 for s in enc.sequence_ids(0)]
    sentences = sentence_scores(passage, tokens[0].numpy(), offsets, passage_tokens)
    return {
        "question": question,
        "passage": passage,
        **({} if score is None else {"score": float(score[0])}),
        "sentences": [round(float(s), 4) for _, _, s in sentences],
    }
