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

from index.rerank import MODEL_FILE, SPEC_FILE, TOKENIZER_FILE, ReaderSpec, sentence_scores
from training.reranker import load_trained
from training.settings import TrainSettings
from training.span_head import SpanHead

WEIGHTS = Path(__file__).resolve().parents[1] / "index" / "weights"

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
    from onnxruntime.quantization import QuantType, quantize_dynamic

    encoder, logit, tokenizer = load_trained(checkpoint)
    module = ReaderModule(encoder, logit, head).eval()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "reader.fp32.onnx"
        sample = tokenizer(
            ["a question"] * 2, ["a passage", "another passage"], return_tensors="pt", padding=True
        )
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["score", "tokens"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "score": {0: "batch"},
                    "tokens": axes,
                },
                opset_version=17,
                dynamo=False,
            )
        if cfg.keep_fp32:
            shutil.copy(fp32, out / "reader.fp32.onnx")
        quantize_dynamic(
            str(fp32), str(out / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=cfg.per_channel
        )
    tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    spec = ReaderSpec(
        max_length=cfg.max_length,
        layers=cfg.layers,
        probes=tuple(_reference(module, tokenizer, q, p, cfg.max_length) for q, p in PROBES),
    )
    (out / SPEC_FILE).write_text(json.dumps(spec.model_dump(), indent=1) + "\n")


def _reference(
    module: ReaderModule, tokenizer: object, question: str, passage: str, max_length: int
) -> dict[str, object]:
    """The torch model's passage score and sentence scores for one probe."""
    enc = tokenizer(
        question,
        passage,
        truncation="only_second",
        max_length=max_length,  # type: ignore[operator]
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        score, tokens = module(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
    passage_tokens = [s == 1 for s in enc.sequence_ids(0)]
    sentences = sentence_scores(passage, tokens[0].numpy(), offsets, passage_tokens)
    return {
        "question": question,
        "passage": passage,
        "score": float(score[0]),
        "sentences": [round(float(s), 4) for _, _, s in sentences],
    }
