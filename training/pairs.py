"""Training pairs for the reranker: (question, passage, answers?) from the first stage's candidates."""

from __future__ import annotations

import random
from dataclasses import dataclass

from training.data import Question, label
from training.mine import Candidate


@dataclass(frozen=True, slots=True)
class Pair:
    """One (question, passage) example with its label."""

    question: str
    passage: str
    label: int


def reranker_pairs(
    questions: list[Question],
    candidates: dict[str, list[Candidate]],
    *,
    depth: int,
    negatives: int,
    seed: int,
    foreign: bool = True,
) -> list[Pair]:
    """Every answering passage in a question's first ``depth`` hits, and its hardest non-answering ones.

    The hardest are the first stage's best-ranked passages that do not answer: the mistakes the
    reranker is there to undo. One more negative comes from further down, so a plainly unrelated
    passage is seen too. Questions with no answering candidate teach nothing here and are left out.
    """
    rng = random.Random(seed)
    pairs: list[Pair] = []
    others = _passages_by_story(questions, candidates)
    stories = sorted(others)
    for q in questions:
        hits = candidates[q.qid][:depth]
        labels = [label(c.start, c.end, q) for c in hits]
        positives = [c for c, y in zip(hits, labels, strict=True) if y == 1]
        if not positives:
            continue
        wrong = [c for c, y in zip(hits, labels, strict=True) if y == 0]
        chosen = wrong[: negatives - 1] + rng.sample(
            wrong[negatives - 1 :], min(1, len(wrong[negatives - 1 :]))
        )
        pairs += [Pair(q.question, c.text, 1) for c in positives]
        pairs += [Pair(q.question, c.text, 0) for c in chosen]
        if foreign:
            # A passage of another story: the easy case first (it gets learning going from the
            # bi-encoder's start) and the one that teaches a question about another story to score low.
            story = rng.choice([s for s in stories if s != q.story])
            pairs.append(Pair(q.question, rng.choice(others[story]), 0))
    rng.shuffle(pairs)
    return pairs


def _passages_by_story(
    questions: list[Question], candidates: dict[str, list[Candidate]]
) -> dict[str, list[str]]:
    """Every candidate passage text, by story."""
    out: dict[str, set[str]] = {}
    for q in questions:
        out.setdefault(q.story, set()).update(c.text for c in candidates[q.qid])
    return {story: sorted(texts) for story, texts in out.items()}
