"""FairytaleQA-layout folders (../shared/trainset, ../shared/devset) and their labels."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"


@dataclass(frozen=True, slots=True)
class Question:
    """One question with its evidence sections and located answers (story offsets)."""

    qid: str
    story: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[tuple[int, int], ...]
    answer_spans: tuple[tuple[int, int], ...]
    explicit: bool

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Question:
        """Read one line of questions.jsonl."""
        return cls(
            qid=row["qid"],
            story=row["story_id"],
            question=row["question"],
            answers=(*row["answers"], *row["answers_alt"]),
            evidence=tuple((a, b) for a, b in row["evidence_spans"]),
            answer_spans=tuple((a["start"], a["end"]) for a in row["answer_spans"]),
            explicit=row["explicit_or_implicit"] == "explicit",
        )


def load(root: Path) -> tuple[list[dict[str, Any]], list[Question]]:
    """The stories.jsonl rows and the questions of one folder."""
    stories = [json.loads(line) for line in (root / "stories.jsonl").read_text().splitlines()]
    rows = [json.loads(line) for line in (root / "questions.jsonl").read_text().splitlines()]
    return stories, [Question.from_json(r) for r in rows]


def library_id(story_id: str) -> str:
    """The folder's story id as a library id (lower case: "Snow-man" → "snow-man")."""
    return re.sub(r"[^a-z0-9_-]", "-", story_id.lower())


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def is_section_hit(start: int, end: int, q: Question) -> bool:
    """bench/eval_devset.py's hit: mostly inside an evidence section, or holding half of one."""
    for s0, s1 in q.evidence:
        ov = _overlap(start, end, s0, s1)
        if ov * 2 >= (end - start) or ov * 2 >= (s1 - s0):
            return True
    return False


def label(start: int, end: int, q: Question) -> int | None:
    """1 for a passage that answers, 0 for one that does not, None when it is unclear.

    With a located answer only a passage holding it whole answers; one that touches the evidence
    without it is left out of training rather than taught either way.
    """
    touches = any(_overlap(start, end, s0, s1) for s0, s1 in q.evidence)
    if q.answer_spans:
        if any(start <= a and b <= end for a, b in q.answer_spans):
            return 1
        return None if touches else 0
    if is_section_hit(start, end, q):
        return 1
    return None if touches else 0
