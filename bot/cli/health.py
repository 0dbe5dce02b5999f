"""`storybot health`: the container's healthcheck, read from the running bot's heartbeat file."""

from __future__ import annotations

import argparse

from bot.health import verdict
from bot.settings import Settings


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    healthy, reason = verdict(settings.heartbeat_file)
    print(f"{'healthy' if healthy else 'unhealthy'}: {reason}")
    return 0 if healthy else 1
