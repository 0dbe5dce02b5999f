"""The quote model: which sentence of the chosen passage answers, read by a model fine-tuned for it.

The reader's own answer head is a linear probe on an encoder tuned for ranking (training/span_head.py).
This is a second MiniLM, every layer fine-tuned on the same located answers with the same target: a
logit per token, log-sum-exp per sentence, softmax over the passage's sentences. It reads only the
passage storybot quotes from, so it costs one more pass per question, not sixteen.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.reranker import base_checkpoint, length_grouped
from training.span_head import SpanExample, SpanHead, encode_examples

HEAD_FILE = "quote_head.pt"
_BATCH = 16
_NO = -1e4  # the log-space stand-in for an impossible choice (padding, an unread sentence)


class QuoteModule(nn.Module):
    """The exported graph: a MiniLM encoder and one answer logit per token (the answer head's kind)."""

    def __init__(self, encoder: Any, head: SpanHead):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        logits: torch.Tensor = self.head(states)
        return logits


def _tensors(
    tokenizer: Any, batch: list[SpanExample], max_length: int
) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """The batch's encoding, which tokens make each sentence (batch, sentences, tokens), and the gold ones."""
    enc, whiches = encode_examples(tokenizer, batch, max_length)
    count = max(len(e.sentences) for e in batch)
    member = torch.zeros(len(batch), count, enc["input_ids"].shape[1], dtype=torch.bool)
    gold = torch.zeros(len(batch), count, dtype=torch.bool)
    for j, (e, which) in enumerate(zip(batch, whiches, strict=True)):
        for t in np.flatnonzero(which >= 0):
            member[j, int(which[t]), int(t)] = True
        gold[j, list(e.gold)] = True
    return enc, member, gold


def sentence_loss(logits: torch.Tensor, member: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Minus the log of the probability the softmax over each passage's sentences puts on its gold
    ones; a sentence cut off by the length limit is no choice, a passage whose gold was cut is skipped."""
    per_sentence = torch.logsumexp(logits[:, None, :].masked_fill(~member, _NO), dim=-1)
    read = member.any(dim=-1)
    log_p = torch.log_softmax(per_sentence.masked_fill(~read, _NO), dim=-1)
    target = gold & read
    kept = target.any(dim=-1)
    return -torch.logsumexp(log_p.masked_fill(~target, _NO), dim=-1)[kept].mean()


def _schedule(step: int, steps: int) -> float:
    """Linear warm-up over the first 10 % of the steps, then linear decay to zero."""
    warm = max(1, steps // 10)
    return (step + 1) / warm if step < warm else max(0.0, (steps - step) / (steps - warm))


def train_quote(
    examples: list[SpanExample],
    out: Path,
    *,
    layers: int,
    max_length: int,
    epochs: float,
    learning_rate: float,
    seed: int,
) -> Path:
    """Fine-tune the packaged MiniLM's bottom ``layers`` with a token head; save both in ``out``."""
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = base_checkpoint(Path(tmp) / "base")
        tokenizer = AutoTokenizer.from_pretrained(str(base))
        encoder = AutoModel.from_pretrained(str(base), num_hidden_layers=layers, attn_implementation="eager")
    module = QuoteModule(encoder, SpanHead(encoder.config.hidden_size))
    lengths = [len(e.question) + len(e.passage) for e in examples]
    batches: list[list[int]] = []
    for epoch in range(math.ceil(epochs)):
        these = length_grouped(lengths, _BATCH, seed + epoch)
        batches += these[: int(len(these) * min(1.0, epochs - epoch))]
    optimiser = torch.optim.AdamW(module.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _schedule(s, len(batches)))
    module.train()
    started, recent = time.perf_counter(), []
    for step, batch in enumerate(batches):
        enc, member, gold = _tensors(tokenizer, [examples[i] for i in batch], max_length)
        loss = sentence_loss(
            module(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), member, gold
        )
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        recent.append(float(loss.detach()))
        if step % 100 == 0:
            took = time.perf_counter() - started
            print(
                f"  quote step {step}/{len(batches)}: loss {np.mean(recent[-100:]):.3f} ({took:.0f}s)",
                flush=True,
            )
    out.mkdir(parents=True, exist_ok=True)
    module.encoder.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    torch.save(module.head.linear.state_dict(), out / HEAD_FILE)
    (out / "quote_settings.json").write_text(json.dumps({"layers": layers, "max_length": max_length}))
    return out


def load_quote(checkpoint: Path) -> tuple[QuoteModule, Any]:
    """The module and tokenizer ``train_quote`` saved."""
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(str(checkpoint), attn_implementation="eager")
    head = SpanHead(encoder.config.hidden_size)
    head.linear.load_state_dict(torch.load(checkpoint / HEAD_FILE, weights_only=True))
    return QuoteModule(encoder, head).eval(), AutoTokenizer.from_pretrained(str(checkpoint))
