"""The quote model's training target (training/quote.py): a softmax over each passage's sentences."""

from __future__ import annotations

import math

import pytest
import torch

from training.quote import sentence_loss


def _member(sentences: list[list[int]], tokens: int) -> torch.Tensor:
    """(1, sentences, tokens): which tokens make each sentence."""
    member = torch.zeros(1, len(sentences), tokens, dtype=torch.bool)
    for i, ts in enumerate(sentences):
        member[0, i, ts] = True
    return member


def test_the_loss_is_lower_when_the_gold_sentence_tokens_score_higher() -> None:
    member = _member([[1, 2], [3, 4]], 6)
    gold = torch.tensor([[False, True]])
    right = torch.tensor([[0.0, 0.0, 0.0, 3.0, 1.0, 0.0]])
    wrong = torch.tensor([[0.0, 3.0, 1.0, 0.0, 0.0, 0.0]])
    assert sentence_loss(right, member, gold) < sentence_loss(wrong, member, gold)
    # Equal logits everywhere: each sentence holds two tokens, so the gold one has half the mass.
    flat = torch.zeros(1, 6)
    assert float(sentence_loss(flat, member, gold)) == pytest.approx(math.log(2), abs=1e-5)


def test_padding_and_question_tokens_are_never_a_choice() -> None:
    member = _member([[1], [2]], 5)
    gold = torch.tensor([[True, False]])
    base = sentence_loss(torch.tensor([[0.0, 0.0, 0.0, 0.0, 0.0]]), member, gold)
    # Tokens 0, 3 and 4 belong to no sentence: their logits change nothing.
    louder = sentence_loss(torch.tensor([[9.0, 0.0, 0.0, 9.0, 9.0]]), member, gold)
    assert float(base) == pytest.approx(float(louder))


def test_a_passage_whose_gold_sentence_was_cut_off_is_left_out() -> None:
    # Two passages; the second's gold sentence (index 1) has no tokens: the length limit cut it.
    member = torch.cat([_member([[1], [2]], 4), _member([[1, 2], []], 4)])
    gold = torch.tensor([[True, False], [False, True]])
    logits = torch.tensor([[0.0, 2.0, 0.0, 0.0], [0.0, 5.0, 5.0, 0.0]])
    both = sentence_loss(logits, member, gold)
    first = sentence_loss(logits[:1], member[:1], gold[:1])
    assert torch.isfinite(both)
    assert float(both) == pytest.approx(float(first))
