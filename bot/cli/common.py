"""Helpers every `storybot` command shares."""

from __future__ import annotations

import argparse
import json


def emit(obj: object) -> None:
    """Print one JSON line."""
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def positive(value: str) -> int:
    """argparse type: a whole number of 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def plural(n: int, word: str) -> str:
    """ "1 chapter", "2 chapters"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
