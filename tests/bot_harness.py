"""Run storybot's own bot, exactly as `storybot run` builds it, against the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import discord
import yarl
from pydantic import SecretStr

from bot.cli import run as cli_run
from bot.cli.wiring import services
from bot.client import Services, StoryBot, make_bot
from bot.lifecycle import serve
from bot.settings import Settings
from tests.fake_client import press
from tests.fake_discord import FakeDiscord, RecordedRequest, running_fake
from tests.fake_discord.payloads import JSON

READER = 300000000000000001
ADMIN = 300000000000000002
# Manage Server (1 << 5) on top of what @everyone has in the fake guild.
ADMIN_PERMISSIONS = str((1 << 5) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31))
START_TIMEOUT = 90.0  # the model loads in a worker thread before the bot connects
PROCESS_TOKEN = "MTIz.fake-secret-token.abc"
# The storybot connected to each fake, for what only the client knows (when its buttons are live).
_connected: weakref.WeakKeyDictionary[FakeDiscord, StoryBot] = weakref.WeakKeyDictionary()


def storybot_command(name: str = "storybot") -> list[str]:
    """This environment's `storybot` console script (``python -m bot`` where it is not installed)."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def process_env(
    fake: FakeDiscord, data_dir: Path, *, token: str = PROCESS_TOKEN, **settings: str
) -> dict[str, str]:
    """The environment a container gives `storybot`: a library, a token, the fake's endpoints."""
    env = os.environ | {
        "STORYBOT_DATA_DIR": str(data_dir),
        "STORYBOT_DISCORD_TOKEN": token,
        "STORYBOT_DISCORD_API_BASE": fake.base_url,
        "STORYBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
        "STORYBOT_HEARTBEAT_FILE": str(data_dir.parent / f"{data_dir.name}-heartbeat.json"),
        "HF_HUB_OFFLINE": "1",
    }
    return env | {f"STORYBOT_{name.upper()}": value for name, value in settings.items()}


def bot_settings(fake: FakeDiscord, data_dir: Path, **overrides: Any) -> Settings:
    """Settings pointing the bot at the fake, with a library in ``data_dir``."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "discord_token": SecretStr("fake-token"),
        "discord_api_base": fake.base_url,
        "discord_gateway_url": fake.gateway_url,
        "heartbeat_file": data_dir.parent / f"{data_dir.name}-heartbeat.json",
    }
    return Settings(**(values | overrides))


def copy_library(source: Path, tmp_path: Path) -> Path:
    """A private copy of a library, so a test's writes stay its own."""
    target = tmp_path / "data"
    shutil.copytree(source, target)
    return target


@contextlib.contextmanager
def _restored_endpoints() -> Iterator[None]:
    """Put discord.py's endpoints back after the bot pointed them at the fake."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, yarl.URL(gateway)


@contextlib.asynccontextmanager
async def running_storybot(fake: FakeDiscord, settings: Settings) -> AsyncIterator[asyncio.Task[bool]]:
    """Start the bot the way `storybot run` does; yield once it is connected and its commands synced."""
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""

    def connected(built: Services, settings: Settings) -> StoryBot:
        bot = _connected[fake] = make_bot(built, settings)
        return bot

    with _restored_endpoints(), mock.patch("bot.lifecycle.make_bot", connected):
        task = asyncio.create_task(serve(settings, lambda: services(settings), token))

        def ready() -> bool:
            if task.done():
                task.result()  # raise the bot's own error instead of timing out
            return fake.identify_count > 0 and bool(fake.commands)

        try:
            await fake.wait_until(ready, START_TIMEOUT)
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def run_with_bot(
    tmp_path: Path,
    library: Path,
    body: Callable[[FakeDiscord], Awaitable[None]],
    *,
    timeout: float = 120.0,
    **overrides: Any,
) -> None:
    """Run ``body`` against a fake Discord with storybot connected to it over a copy of ``library``."""

    async def main() -> None:
        async with FakeDiscord() as fake:
            settings = bot_settings(fake, copy_library(library, tmp_path), **overrides)
            async with running_storybot(fake, settings):
                await asyncio.wait_for(body(fake), timeout)

    asyncio.run(main())


async def press_button(fake: FakeDiscord, message: JSON, index: int, *, user_id: int) -> JSON:
    """Press the ``index``-th button of the bot's ``message`` once storybot listens to it."""
    custom_id = message["components"][0]["components"][index]["custom_id"]
    return await press(fake, _connected[fake], message["id"], custom_id, user_id=user_id)


# -- reading what the bot sent -----------------------------------------------------------------------
def sent_payloads(fake: FakeDiscord) -> list[tuple[RecordedRequest, dict[str, Any]]]:
    """Every request body the bot sent that carries message content (posts, edits, callbacks)."""
    found = []
    for r in fake.requests:
        body = r.json
        if r.method in ("POST", "PATCH") and isinstance(body, dict):
            message = body.get("data") if "type" in body and isinstance(body.get("data"), dict) else body
            if isinstance(message, dict) and ("content" in message or "embeds" in message):
                found.append((r, message))
    return found


def embed_text(message: dict[str, Any]) -> str:
    """All the text in a message's content and embeds, for matching."""
    parts = [str(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields") or []]
        parts.append(str((embed.get("footer") or {}).get("text") or ""))
    return "\n".join(parts)


def limit_violations(message: dict[str, Any]) -> list[str]:
    """What in a message body breaks Discord's size limits (an empty list when nothing does)."""
    bad = []
    if len(message.get("content") or "") > 2000:
        bad.append("content over 2000")
    embeds = message.get("embeds") or []
    if len(embeds) > 10:
        bad.append("more than 10 embeds")
    for e in embeds:
        fields = e.get("fields") or []
        sizes = {
            "title": (len(e.get("title") or ""), 256),
            "description": (len(e.get("description") or ""), 4096),
            "footer": (len((e.get("footer") or {}).get("text") or ""), 2048),
            "fields": (len(fields), 25),
        }
        sizes |= {f"field {i} name": (len(f.get("name") or ""), 256) for i, f in enumerate(fields)}
        sizes |= {f"field {i} value": (len(f.get("value") or ""), 1024) for i, f in enumerate(fields)}
        bad += [f"{part} {size} > {limit}" for part, (size, limit) in sizes.items() if size > limit]
        total = len(e.get("title") or "") + len(e.get("description") or "")
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
        total += len((e.get("footer") or {}).get("text") or "") + len(
            (e.get("author") or {}).get("name") or ""
        )
        if total > 6000:
            bad.append(f"embed total {total} > 6000")
    return bad


def pings_nobody(message: dict[str, Any]) -> bool:
    """Whether a message body's ``allowed_mentions`` lets it ping no one at all."""
    allowed = message.get("allowed_mentions")
    return (
        isinstance(allowed, dict)
        and allowed.get("parse") == []
        and not allowed.get("users")
        and not allowed.get("roles")
        and not allowed.get("replied_user")
    )


def ingest(data_dir: Path, story: Path, *args: str) -> Path:
    """Ingest a story with the real CLI (and the real model) into ``data_dir``."""
    assert cli_run(["--data-dir", str(data_dir), "ingest", str(story), *args]) == 0
    return data_dir


__all__ = [
    "ADMIN",
    "ADMIN_PERMISSIONS",
    "READER",
    "bot_settings",
    "copy_library",
    "embed_text",
    "ingest",
    "limit_violations",
    "pings_nobody",
    "press_button",
    "run_with_bot",
    "running_fake",
    "running_storybot",
    "sent_payloads",
]
