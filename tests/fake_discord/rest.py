"""The fake REST API: recording, injected failures, routing, and the login and command routes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fake_discord import payloads
from tests.fake_discord.payloads import JSON
from tests.fake_discord.world import World

API_PREFIX = "/api/v10"


@dataclass
class RecordedRequest:
    """One REST call the fake received (``path`` is the full path, e.g. ``/api/v10/users/@me``)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    response: Any = None
    # When the request arrived (time.monotonic), for latency figures.
    at: float = field(default_factory=time.monotonic)


Handler = Callable[[RecordedRequest, re.Match[str]], Awaitable[web.Response]]
Route = tuple[str, str, Handler]  # method, regex matched against the path after /api/v10, handler


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    is_global: bool


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply with Content-Type exactly ``application/json`` (``web.json_response`` adds a charset)."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error_response(status: int, code: int, message: str) -> web.Response:
    """A Discord-style error body."""
    return json_response({"message": message, "code": code}, status=status)


def no_content() -> web.Response:
    """An empty 204 reply."""
    return web.Response(status=204)


def body_of(record: RecordedRequest) -> JSON:
    """The JSON object a request sent (``payload_json`` for multipart), or ``{}``."""
    return dict(record.json) if isinstance(record.json, dict) else {}


def is_true(value: str | None) -> bool:
    """Whether a query flag such as ``wait`` or ``with_response`` is on."""
    return value in ("1", "true", "True")


def rate_limited(failure: _Failure) -> web.Response:
    """A 429 discord.py retries: it needs a ``Via`` header and a JSON ``retry_after``."""
    body = {
        "message": "You are being rate limited.",
        "retry_after": failure.retry_after,
        "global": failure.is_global,
    }
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(max(1, round(failure.retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + failure.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
        "X-RateLimit-Scope": "global" if failure.is_global else "user",
    }
    if failure.is_global:
        headers["X-RateLimit-Global"] = "true"
    return json_response(body, status=429, headers=headers)


async def read_body(request: web.Request, record: RecordedRequest) -> None:
    """Fill ``record.json`` and ``record.files`` from a JSON, multipart or other body."""
    if not request.can_read_body:
        return
    content_type = request.content_type
    if content_type == "application/json":
        record.json = await request.json()
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            if part.name == "payload_json":
                record.json = json.loads(data)
            else:
                record.files.append((part.filename or part.name or "", bytes(data)))
    else:
        record.json = (await request.read()).decode(errors="replace") or None


class Rest:
    """Records every call, injects queued failures, and routes the rest to handlers."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.add_routes(
            [
                ("GET", r"/users/@me", self._get_me),
                ("GET", r"/(?:oauth2/)?applications/@me", self._get_application),
                ("GET", r"/applications/(\d+)/commands", self._get_commands),
                ("GET", r"/applications/(\d+)/guilds/(\d+)/commands", self._get_commands),
                ("PUT", r"/applications/(\d+)/commands", self._put_commands),
                ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ]
        )

    def add_routes(self, routes: Iterable[Route]) -> None:
        self._routes += [(method, re.compile(f"^{regex}$"), handler) for method, regex, handler in routes]

    def fail_next(
        self, method: str, path_regex: str, status: int, retry_after: float, *, is_global: bool
    ) -> None:
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, retry_after, is_global)
        )

    async def handle(self, request: web.Request) -> web.Response:
        """The catch-all aiohttp handler."""
        record = RecordedRequest(request.method, request.path, dict(request.query), None)
        record.headers = dict(request.headers)
        await read_body(request, record)
        try:
            response = await self._route(record)
        except Exception as exc:  # a bug in the fake: answer 500 (discord.py retries) and keep the record
            response = error_response(500, 0, f"fake discord error: {exc!r}")
        record.status = response.status
        if isinstance(response.body, bytes) and response.content_type == "application/json":
            record.response = json.loads(response.body)
        self.requests.append(record)
        self.world.changes.notify()
        return response

    async def serve_attachment(self, request: web.Request) -> web.Response:
        """``GET /attachments/{name}``: the bytes of an upload, as Discord's CDN serves them."""
        name = request.match_info["name"]
        # Downloads are recorded like REST calls, so a test can tell whether a file was fetched.
        record = RecordedRequest(request.method, request.path, dict(request.query), None)
        self.requests.append(record)
        if name not in self.world.attachments:
            record.status = 404
            return error_response(404, 0, "404: Not Found")
        record.status = 200
        self.world.changes.notify()
        content_type = payloads.content_type_for(name).split(";")[0]
        return web.Response(body=self.world.attachments[name], content_type=content_type)

    async def _route(self, record: RecordedRequest) -> web.Response:
        for failure in self._failures:
            if failure.method == record.method and failure.pattern.search(record.path):
                self._failures.remove(failure)
                if failure.status == 429:
                    return rate_limited(failure)
                return error_response(failure.status, 0, f"{failure.status}: injected failure")
        if record.path.startswith(API_PREFIX):
            sub = record.path[len(API_PREFIX) :]
            for method, pattern, handler in self._routes:
                match = pattern.match(sub)
                if method == record.method and match:
                    return await handler(record, match)
        return error_response(404, 0, "404: Not Found")

    async def _get_me(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        return json_response(self.world.bot_user)

    async def _get_application(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        world = self.world
        return json_response(
            payloads.application(
                world.application_id,
                bot=world.bot_user,
                owner=world.owner_user,
                guild_count=len(world.guilds),
            )
        )

    @staticmethod
    def _command_guild(match: re.Match[str]) -> str | None:
        return match.group(2) if match.lastindex and match.lastindex >= 2 else None

    async def _get_commands(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        return json_response(self.world.commands.get(self._command_guild(match), []))

    async def _put_commands(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        world, guild = self.world, self._command_guild(match)
        previous = {c["name"]: c["id"] for c in world.commands.get(guild, [])}
        registered = [
            payloads.registered_command(
                command,
                command_id=previous.get(command["name"]) or world.snowflake(),
                application_id=world.application_id,
                version=world.snowflake(),
                guild_id=guild,
            )
            for command in record.json or []
        ]
        world.commands[guild] = registered
        return json_response(registered)
