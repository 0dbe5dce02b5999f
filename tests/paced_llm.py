"""An OpenAI-compatible chat endpoint whose replies the test paces: it streams only once released."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from tests.llm_server import free_port


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "paced", "object": "chat.completion.chunk", "created": 0, "model": "paced"}
    return f"data: {json.dumps(body | {'choices': [choice]})}\n\n".encode()


class PacedLLM:
    """Holds every chat request until ``release`` is set, then streams ``reply`` word by word."""

    def __init__(self, reply: str, *, word_delay: float = 0.1) -> None:
        self.reply = reply
        self.word_delay = word_delay
        self.received = asyncio.Event()
        self.release = asyncio.Event()
        self.requests = 0
        self.port = free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        await request.json()
        self.requests += 1
        self.received.set()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await self.release.wait()
        for i, word in enumerate(self.reply.split(" ")):
            await response.write(_chunk(word if i == 0 else f" {word}"))
            await asyncio.sleep(self.word_delay)
        await response.write(_chunk(None, "stop"))
        await response.write(b"data: [DONE]\n\n")
        return response

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "paced", "object": "model"}]})


@asynccontextmanager
async def paced_llm(reply: str) -> AsyncIterator[PacedLLM]:
    """A PacedLLM served on 127.0.0.1 for the duration of the block."""
    llm = PacedLLM(reply)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", llm._chat)
    app.router.add_get("/v1/models", llm._models)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", llm.port).start()
    try:
        yield llm
    finally:
        llm.release.set()  # let held requests end so the runner can stop
        await runner.cleanup()
