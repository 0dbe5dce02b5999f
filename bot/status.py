"""Long jobs (uploads, recaps) run in a worker thread while the reply shows how far they got."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.formatting import send_kwargs

log = logging.getLogger("storybot.bot")

T = TypeVar("T")
Report = Callable[[int, int], None]

# Seconds between edits of one reply: well inside a webhook's 5 edits per 5 seconds.
EDIT_EVERY = 2.0


class _Counter:
    """(done, total) written by the worker thread, read by the event loop."""

    def __init__(self) -> None:
        self.state: tuple[int, int] = (0, 0)

    def update(self, done: int, total: int) -> None:
        self.state = (done, total)  # one assignment: atomic under the GIL


async def with_status(
    interaction: discord.Interaction[Any], job: Callable[[Report], T], status: Callable[[int, int], str]
) -> T:
    """Run ``job(report)`` in a worker thread; edit the reply with ``status(done, total)`` meanwhile."""
    counter = _Counter()
    work = asyncio.create_task(asyncio.to_thread(job, counter.update))
    shown = ""
    while not work.done():
        text = status(*counter.state)
        if text and text != shown:
            try:
                await interaction.edit_original_response(content=text, **send_kwargs())
                shown = text
            except discord.HTTPException:
                log.debug("status edit failed", exc_info=True)
        await asyncio.wait({work}, timeout=EDIT_EVERY)
    return await work


class _Latest:
    """The newest text a worker thread produced, read by the event loop."""

    def __init__(self) -> None:
        self.text = ""

    def update(self, text: str) -> None:
        self.text = text  # one assignment: atomic under the GIL


async def with_stream(
    job: Callable[[Callable[[str], None]], T],
    show: Callable[[str], Awaitable[None]],
    every: float = EDIT_EVERY,
) -> T:
    """Run ``job(on_text)`` in a worker thread; ``show`` its newest text at most once per ``every`` s."""
    latest = _Latest()
    work = asyncio.create_task(asyncio.to_thread(job, latest.update))
    shown = ""
    while not work.done():
        await asyncio.wait({work}, timeout=every)
        if latest.text and latest.text != shown and not work.done():
            try:
                await show(latest.text)
                shown = latest.text
            except discord.HTTPException:
                log.debug("stream edit failed", exc_info=True)
    return await work
