"""Log set-up for every command: plain lines or JSON objects, with the secrets taken out of both."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from bot.settings import Settings

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message")
REDACTED = "[redacted]"


class _Redacting(logging.Formatter):
    """Takes the secrets out of the finished line, so tracebacks and third-party messages are covered."""

    secrets: tuple[str, ...] = ()

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class PlainFormatter(_Redacting):
    """``2026-11-24 10:00:00,000 INFO storybot.bot: connected …``."""


class JsonLineFormatter(_Redacting, JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, and the traceback if any."""


def _secret_forms(values: Iterable[SecretStr | None]) -> tuple[str, ...]:
    forms: set[str] = set()
    for value in values:
        raw = value.get_secret_value().strip() if value is not None else ""
        if len(raw) >= 8:  # a short value would redact ordinary words
            forms.update({raw, json.dumps(raw)[1:-1]})  # as written, and as JSON escapes it
    return tuple(sorted(forms, key=len, reverse=True))


def configure_logging(settings: Settings) -> None:
    """Send every logger to stderr in the configured format, at the configured level."""
    formatter: _Redacting
    if settings.log_format == "json":
        formatter = JsonLineFormatter(
            " ".join(f"%({field})s" for field in JSON_FIELDS),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    else:
        formatter = PlainFormatter(PLAIN_FORMAT)
    formatter.secrets = _secret_forms((settings.discord_token, settings.llm_api_key))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)  # library warnings become log lines in the same format
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself at import
