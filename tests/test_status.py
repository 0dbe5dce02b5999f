"""Streaming into a Discord reply: edits are throttled, and the worker's result comes back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from bot.status import with_stream


def test_streamed_text_is_shown_at_most_once_per_interval() -> None:
    shown: list[tuple[float, str]] = []

    def job(on_text: Callable[[str], None]) -> str:
        text = ""
        for word in ("once", "upon", "a", "time", "there", "was", "a", "lighthouse") * 4:
            text += word + " "
            on_text(text)
            time.sleep(0.04)
        return text.strip()

    async def show(text: str) -> None:
        shown.append((time.monotonic(), text))

    result = asyncio.run(with_stream(job, show, every=0.3))
    assert result.endswith("lighthouse")
    assert 2 <= len(shown) <= 5  # ~1.3 s of streaming, one edit per 0.3 s at most
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shown)]
    assert all(gap >= 0.25 for gap in gaps)
    assert all(len(b[1]) > len(a[1]) for a, b in itertools.pairwise(shown))
