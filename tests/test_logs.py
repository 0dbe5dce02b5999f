"""Log format and redaction: plain or JSON lines, and no secret in either, tracebacks included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.logs import REDACTED, configure_logging
from bot.settings import Settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEs.a-secret-token-value"
API_KEY = "sk-test-api-key-1234567890"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def _log_everything(capsys: pytest.CaptureFixture[str], **settings: object) -> str:
    configure_logging(
        Settings(discord_token=SecretStr(TOKEN), llm_api_key=SecretStr(API_KEY), **settings)  # type: ignore[arg-type]
    )
    log = logging.getLogger("storybot.test")
    log.info("connecting with %s", TOKEN)
    log.debug("hidden at INFO")
    try:
        raise RuntimeError(f"bad header Authorization: Bot {TOKEN} key={API_KEY}")
    except RuntimeError:
        log.exception("request failed")
    return capsys.readouterr().err


def test_plain_lines_by_default_with_the_secrets_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    err = _log_everything(capsys)
    assert TOKEN not in err
    assert API_KEY not in err
    assert f"INFO storybot.test: connecting with {REDACTED}" in err
    assert f"Authorization: Bot {REDACTED} key={REDACTED}" in err  # inside the traceback too
    assert "hidden at INFO" not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_json_lines_with_the_secrets_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    err = _log_everything(capsys, log_format="json", log_level="DEBUG")
    assert TOKEN not in err
    assert API_KEY not in err
    records = [json.loads(line) for line in err.splitlines()]
    assert [r["message"] for r in records] == [
        f"connecting with {REDACTED}",
        "hidden at INFO",
        "request failed",
    ]
    assert records[0]["level"] == "INFO"
    assert records[0]["logger"] == "storybot.test"
    assert "time" in records[0]
    assert REDACTED in records[2]["exc_info"]


def test_a_short_secret_is_not_used_to_redact_ordinary_words(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(discord_token=SecretStr("a")))
    logging.getLogger("storybot.test").info("a cat and a dog")
    assert "a cat and a dog" in capsys.readouterr().err
