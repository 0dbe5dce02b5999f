"""A small client for any OpenAI-compatible chat endpoint (Ollama, llama.cpp, vLLM, hosted APIs).

Every failure — refused connection, time-out, an HTTP error, an empty reply — becomes ``LLMError``
with a short message that never contains the API key, so callers can log it and fall back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# `openai` takes ~1 s to import: it is imported by ChatClient, so the default extractive path
# (and every CLI command) never pays for it.
if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger("storybot.llm")

# Longest piece of an endpoint's own error text kept in an LLMError message.
_DETAIL_CHARS = 160


class LLMError(Exception):
    """The LLM could not give an answer; the message is short and safe to log."""


class LLMSettings(BaseModel):
    """Where the chat endpoint is and how long and how much it may answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    model: str
    api_key: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0, description="seconds a whole answer may take")
    max_tokens: int = Field(default=350, ge=1)
    temperature: float = Field(default=0.2, ge=0, le=2)


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class ChatModel(Protocol):
    """What the composers need of a chat endpoint; ``ChatClient`` is the real one, tests use fakes."""

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply's text as it arrives; raise LLMError on any failure."""
        ...

    def complete(self, messages: Sequence[Message]) -> str:
        """Return the whole reply; raise LLMError on any failure."""
        ...


def _param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


# What the worker thread hands the caller: a piece of text, the failure, or None for the end.
_Event = str | LLMError | None


class ChatClient:
    """Streams chat replies from an OpenAI-compatible endpoint within a total time limit."""

    def __init__(self, settings: LLMSettings) -> None:
        import openai

        self.settings = settings
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._secret = key
        # Local servers ignore the key, but the client refuses to start without one.
        # Retries are off: a reader is waiting, and the composer has a fallback.
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=key or "not-needed",
            timeout=settings.timeout,
            max_retries=0,
        )

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply's text deltas; raise LLMError on failure or past ``settings.timeout``.

        The request runs on a daemon thread and the deltas come through a queue, so the time limit
        holds for the whole reply even when a server trickles tokens or stalls mid-stream: the
        HTTP client's own timeouts apply to each read, not to the total.
        """
        events: queue.Queue[_Event] = queue.Queue()
        cancel = threading.Event()
        started = time.monotonic()
        deadline = started + self.settings.timeout
        worker = threading.Thread(
            target=self._produce, args=(list(messages), events, cancel), name="llm-stream", daemon=True
        )
        worker.start()
        seen_text = False
        first: float | None = None
        try:
            while True:
                value = self._next(events, deadline)
                if isinstance(value, LLMError):
                    raise value
                if value is None:
                    break
                if value:
                    first = first if first is not None else time.monotonic() - started
                    seen_text = seen_text or bool(value.strip())
                    yield value
        finally:
            cancel.set()  # a consumer that stops early or a time-out ends the request too
        if not seen_text:
            raise LLMError("the LLM endpoint sent an empty reply")
        log.debug("LLM reply: first text after %.2f s, done after %.2f s", first, time.monotonic() - started)

    def complete(self, messages: Sequence[Message]) -> str:
        """Return the whole reply, stripped; raise LLMError on any failure."""
        return "".join(self.stream(messages)).strip()

    def _next(self, events: queue.Queue[_Event], deadline: float) -> _Event:
        remaining = deadline - time.monotonic()
        try:
            if remaining > 0:
                return events.get(timeout=remaining)
        except queue.Empty:
            pass
        raise LLMError(f"the LLM took longer than {self.settings.timeout:g} s")

    def _produce(self, messages: list[Message], events: queue.Queue[_Event], cancel: threading.Event) -> None:
        """Run one streaming request, putting text, the end, or an LLMError on ``events``."""
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.settings.model,
                messages=[_param(m) for m in messages],
                max_tokens=self.settings.max_tokens,
                temperature=self.settings.temperature,
                stream=True,
            )
            with response:
                for chunk in response:
                    if cancel.is_set():
                        return
                    for choice in chunk.choices:
                        if choice.delta.content:
                            events.put(choice.delta.content)
            events.put(None)
        except openai.OpenAIError as err:
            events.put(self._translate(err))
        except Exception as err:  # a worker thread must always report, or the caller waits in vain
            events.put(LLMError(f"the LLM request failed ({type(err).__name__})"))

    def _translate(self, err: openai.OpenAIError) -> LLMError:
        """A short LLMError for an openai exception, with the key and URL credentials removed."""
        import openai

        url = safe_url(self.settings.base_url)
        if isinstance(err, openai.APITimeoutError):
            return LLMError(f"the LLM endpoint at {url} did not answer within {self.settings.timeout:g} s")
        if isinstance(err, openai.APIConnectionError):
            return LLMError(f"cannot reach the LLM endpoint at {url}")
        detail = self._redact(getattr(err, "message", None) or str(err))
        if isinstance(err, openai.APIStatusError):
            return LLMError(f"the LLM endpoint answered HTTP {err.status_code}: {detail}")
        return LLMError(f"the LLM request failed: {detail}")

    def _redact(self, text: str) -> str:
        text = " ".join(text.split())
        if self._secret:
            text = text.replace(self._secret, "***")
        if len(text) > _DETAIL_CHARS:
            text = text[: _DETAIL_CHARS - 1] + "…"
        return text
