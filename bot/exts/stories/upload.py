"""Receiving a story file from Discord: size cap, download, a private temp file, progress edits."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord

from bot.client import StoryBot
from bot.status import with_status
from index.errors import InputError
from index.ingest import IngestSummary

log = logging.getLogger("storybot.stories")

MB = 1024 * 1024

Ingest = Callable[[Path, Callable[[int, int], None]], IngestSummary]


def check_size(name: str, size: int, cap: int) -> None:
    """Refuse a file over the configured cap, before and after downloading it."""
    if size > cap:
        raise InputError(
            f"{name} is {size / MB:.1f} MB; the largest story file accepted is {cap / MB:.0f} MB"
        )


def safe_name(filename: str) -> str:
    """The attachment's own name (its suffix picks the reader), with no path in it."""
    name = Path(filename.replace("\\", "/")).name.strip().lstrip(".")
    return name[-120:] or "story.txt"


@contextlib.asynccontextmanager
async def downloaded(file: discord.Attachment, cap: int) -> AsyncIterator[Path]:
    """Download an attachment (within ``cap`` bytes) to a private temporary file; removed afterwards."""
    check_size(file.filename, file.size, cap)
    data = await file.read()
    check_size(file.filename, len(data), cap)
    with tempfile.TemporaryDirectory(prefix="storybot-upload-") as tmp:
        path = Path(tmp, safe_name(file.filename))
        path.write_bytes(data)
        yield path


async def ingest_with_progress(
    interaction: discord.Interaction[StoryBot], ingest: Ingest, path: Path, shown_name: str
) -> IngestSummary:
    """Run ``ingest`` in a worker thread, editing the reply with its progress until it is done."""

    def status(done: int, total: int) -> str:
        if not total:
            return f"Reading {shown_name}…"
        return f"Indexing {shown_name}: {done:,} of {total:,} passages embedded…"

    return await with_status(interaction, lambda report: ingest(path, report), status)
