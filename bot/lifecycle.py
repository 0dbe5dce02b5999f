"""The bot's life as a process: start with a heartbeat, answer, stop gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator

from bot.client import Services, StoryBot, make_bot, point_at
from bot.health import Heartbeat, remove_heartbeat, write_heartbeat
from bot.settings import Settings

log = logging.getLogger("storybot.bot")


@contextlib.contextmanager
def stop_signals(bot: StoryBot, grace: float) -> Iterator[list[asyncio.Task[bool]]]:
    """SIGTERM or SIGINT: shut down gracefully; the same signal again: exit at once.

    Yields the list that receives the shutdown task once a signal comes.
    """
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[bool]] = []

    def stop(signum: int) -> None:
        name = signal.Signals(signum).name
        if not stopping:
            log.info("%s: stopping; questions in flight get up to %.0f s", name, grace)
            stopping.append(loop.create_task(bot.shut_down(grace)))
            return
        log.warning("%s again: exiting now", name)
        logging.shutdown()
        # Every write is a SQLite transaction, so exiting mid-job loses that job, never the library.
        os._exit(128 + signum)

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            log.debug("no handler for %s here", signum)
    try:
        yield stopping
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def serve(settings: Settings, build: Callable[[], Services], token: str) -> bool:
    """Load the model and library in a worker thread, then connect and answer until stopped.

    Returns whether every question in flight finished (False: some were abandoned after the grace).
    """
    point_at(settings.discord_api_base, settings.discord_gateway_url)
    heartbeat = Heartbeat(pid=os.getpid(), state="starting", at=time.time(), every=settings.heartbeat_seconds)
    await asyncio.to_thread(write_heartbeat, settings.heartbeat_file, heartbeat)
    finished = True
    try:
        log.info("loading the model and the library from %s", settings.data_dir)
        services = await asyncio.to_thread(build)
        try:
            async with make_bot(services, settings) as bot:
                with stop_signals(bot, settings.shutdown_grace) as stopping:
                    await bot.start(token)
                    if stopping:
                        finished = await stopping[0]
        finally:
            await asyncio.to_thread(services.catalog.close)
            log.info("stopped; the library is closed")
    finally:
        remove_heartbeat(settings.heartbeat_file)
    return finished
