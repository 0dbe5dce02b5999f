"""The answer-span head: one logit per token on top of the trained reranker, read per sentence.

The reranker's encoder is frozen: the head learns, from the located answers of the training set,
which of a passage's sentences holds the answer, with the same single forward pass that ranks the
passage. A sentence's score is the log-sum-exp of its tokens' logits (a smooth maximum), trained
with a softmax over the passage's sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from index.chunking import text_sentences
from index.rerank import Ints, token_sentences
from training.data import Question
from training.mine import Candidate

HEAD_FILE = "span_head.pt"


@dataclass(frozen=True, slots=True)
class SpanExample:
    """A question with one passage that holds its located answer, and which sentences hold it."""

    question: str
    passage: str
    sentences: tuple[tuple[int, int], ...]  # passage-relative
    gold: tuple[int, ...]  # indices into sentences


def span_examples(
    questions: list[Question], candidates: dict[str, list[Candidate]], depth: int
) -> list[SpanExample]:
    """Every (question, candidate) where the candidate holds a located answer whole."""
    examples = []
    for q in questions:
        for c in candidates[q.qid][:depth]:
            inside = [(a - c.start, b - c.start) for a, b in q.answer_spans if c.start <= a and b <= c.end]
            if not inside:
                continue
            spans = text_sentences(c.text) or [(0, len(c.text))]
            gold = tuple(i for i, (s0, s1) in enumerate(spans) if any(s0 < b and a < s1 for a, b in inside))
            if gold and len(spans) > 1:
                examples.append(SpanExample(q.question, c.text, tuple(spans), gold))
    return examples


class SpanHead(nn.Module):
    """A linear logit per token."""

    def __init__(self, hidden: int):
        super().__init__()
        self.linear = nn.Linear(hidden, 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, hidden) → (batch, tokens)."""
        logits: torch.Tensor = self.linear(states)
        return logits[..., 0]


def sentence_scores(token_logits: torch.Tensor, which: torch.Tensor, count: int) -> torch.Tensor:
    """Log-sum-exp of token logits per sentence; ``which`` maps tokens to sentences (-1: none)."""
    scores = torch.full((count,), -1e4)
    for s in range(count):
        mine = token_logits[which == s]
        if len(mine):
            scores[s] = torch.logsumexp(mine, dim=0)
    return scores


@dataclass(frozen=True, slots=True)
class _Features:
    states: torch.Tensor  # (passage tokens, hidden), float16
    which: torch.Tensor  # (passage tokens,) sentence index
    count: int
    gold: tuple[int, ...]


def encode_examples(tokenizer: Any, batch: list[SpanExample], max_length: int) -> tuple[Any, list[Ints]]:
    """The batch's (question, passage) encoding, and per example each token's sentence (-1: none)."""
    enc = tokenizer(
        [e.question for e in batch],
        [e.passage for e in batch],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    whiches = []
    for j, e in enumerate(batch):
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"][j].tolist()]
        whiches.append(token_sentences(e.passage, offsets, [s == 1 for s in enc.sequence_ids(j)])[1])
    return enc, whiches


def _features(model_dir: str, examples: list[SpanExample], max_length: int) -> list[_Features]:
    """The frozen encoder's last hidden states of every example's passage tokens."""
    from training.reranker import load_trained

    encoder, _, tokenizer = load_trained(Path(model_dir))
    out: list[_Features] = []
    for i in range(0, len(examples), 32):
        batch = examples[i : i + 32]
        enc, whiches = encode_examples(tokenizer, batch, max_length)
        with torch.no_grad():
            states = encoder(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                token_type_ids=enc["token_type_ids"],
            ).last_hidden_state
        for j, (e, which) in enumerate(zip(batch, whiches, strict=True)):
            keep = torch.from_numpy(which >= 0)
            states_kept = states[j][keep].half()
            out.append(_Features(states_kept, torch.from_numpy(which)[keep], len(e.sentences), e.gold))
    return out


def train_span_head(
    model_dir: str, examples: list[SpanExample], *, max_length: int, epochs: int, seed: int
) -> SpanHead:
    """Fit the head on frozen features: softmax over a passage's sentences, the gold ones as target."""
    torch.manual_seed(seed)
    features = _features(model_dir, examples, max_length)
    head = SpanHead(features[0].states.shape[1])
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.01)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        shuffled = order.permutation(len(features))
        for start in range(0, len(features), 16):
            batch = [features[i] for i in shuffled[start : start + 16]]
            losses = []
            for f in batch:
                scores = sentence_scores(head(f.states.float()[None])[0], f.which, f.count)
                log_p = torch.log_softmax(scores, dim=0)
                losses.append(-torch.logsumexp(log_p[list(f.gold)], dim=0))
            optimiser.zero_grad()
            torch.stack(losses).mean().backward()  # type: ignore[no-untyped-call]
            optimiser.step()
    return head.eval()


def save_head(head: SpanHead, checkpoint: Path) -> None:
    """Keep the head beside the reranker's checkpoint, so the export can be re-run alone."""
    torch.save(head.state_dict(), checkpoint / HEAD_FILE)


def load_head(checkpoint: Path) -> SpanHead:
    """The head ``save_head`` kept."""
    state = torch.load(checkpoint / HEAD_FILE, weights_only=True)
    head = SpanHead(int(state["linear.weight"].shape[1]))
    head.load_state_dict(state)
    return head.eval()
