"""Long jobs (uploads, recaps) run in a worker thread while the reply shows how far they got."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.formatting import send_kwargs
from index.errors import StorybotError

log = logging.getLogger("storybot.bot")

T = TypeVar("T")
Report = Callable[[int, int], None]

# Seconds between edits of one reply: well inside a webhook's 5 edits per 5 seconds.
EDIT_EVERY = 2.0
# How soon a stream notices that the bot gave up on it at shutdown.
ABANDON_POLL = 0.5


class Abandoned(StorybotError):
    """The bot stopped before a long job finished; the job changed nothing."""

    def __init__(self) -> None:
        super().__init__("storybot restarted before this finished, and nothing was changed; try again.")


def _check(abandon: threading.Event | None) -> None:
    if abandon is not None and abandon.is_set():
        raise Abandoned


class _Counter:
    """(done, total) written by the worker thread, read by the event loop."""

    def __init__(self, abandon: threading.Event | None) -> None:
        self.state: tuple[int, int] = (0, 0)
        self.abandon = abandon

    def update(self, done: int, total: int) -> None:
        _check(self.abandon)  # unwinds the job before its one commit: the library stays as it was
        self.state = (done, total)  # one assignment: atomic under the GIL


async def with_status(
    interaction: discord.Interaction[Any], job: Callable[[Report], T], status: Callable[[int, int], str]
) -> T:
    """Run ``job(report)`` in a worker thread; edit the reply with ``status(done, total)`` meanwhile."""
    abandon = getattr(interaction.client, "abandon", None)
    counter = _Counter(abandon if isinstance(abandon, threading.Event) else None)
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
    abandon: threading.Event | None = None,
) -> T:
    """Run ``job(on_text)`` in a worker thread; ``show`` its newest text at most once per ``every`` s.

    Once ``abandon`` is set, stop waiting and raise Abandoned (the thread's result is dropped).
    """
    latest = _Latest()
    work = asyncio.create_task(asyncio.to_thread(job, latest.update))
    shown = ""
    while not work.done():
        await asyncio.wait({work}, timeout=min(every, ABANDON_POLL) if abandon else every)
        _check(abandon)
        if latest.text and latest.text != shown and not work.done():
            try:
                await show(latest.text)
                shown = latest.text
            except discord.HTTPException:
                log.debug("stream edit failed", exc_info=True)
    return await work
