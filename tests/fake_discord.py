"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py client in tests.

Usage::

    async with FakeDiscord() as fake, fake.patched_discord():
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        await client.login("fake-token")
        ...
        await fake.dispatch("INTERACTION_CREATE", fake.slash_interaction("ping", [], user_id=..., ...))
        callback = await fake.wait_for("POST", r"/interactions/\\d+/[^/]+/callback$")

Facts about discord.py 2.7 that this fake depends on (see discord/http.py, gateway.py, webhook/async_.py):

* REST URLs are ``Route.BASE + path``; ``Route.BASE`` is read when a ``Route`` is built, so patching the class
  attribute redirects both the bot HTTP client and the webhook adapter used by interaction followups.
* A plain ``Client`` connects straight to ``DiscordWebSocket.DEFAULT_GATEWAY`` (no ``GET /gateway/bot``)
  with ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if ``zstandard`` is importable). Every
  frame we send is therefore compressed with one zlib stream per connection, ending in a ``Z_SYNC_FLUSH``.
* After READY it resumes at READY's ``resume_gateway_url``; an INVALID_SESSION (op 9, ``d: false``) makes it
  identify again at ``DEFAULT_GATEWAY``.
* Replies are parsed as JSON only if ``Content-Type`` is exactly ``application/json`` (no charset).
* A 429 is retried only if the response carries a ``Via`` header and a JSON body with ``retry_after``;
  otherwise discord.py treats it as a Cloudflare ban and raises ``HTTPException``.
* Login calls ``GET /users/@me`` and ``GET /oauth2/applications/@me``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
import yarl
from aiohttp import BodyPartReader, web

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1420070400000
API_PREFIX = "/api/v10"

# @everyone in the fake guild: view channel, send messages, embed links, attach files, read history,
# add reactions, use application commands.
DEFAULT_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31))

# Interaction callback types (Discord's InteractionResponseType).
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING = 64, 128


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


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


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    is_global: bool


@dataclass
class _InteractionState:
    id: str
    token: str
    channel_id: str
    guild_id: str | None
    acknowledged: bool = False
    original: JSON | None = None
    followups: dict[str, JSON] = field(default_factory=dict)


_Handler = Callable[[web.Request, RecordedRequest, re.Match[str]], Awaitable[web.Response]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply with Content-Type exactly ``application/json`` (``web.json_response`` adds a charset)."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error_response(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


class FakeDiscord:
    """An in-process Discord: REST under ``/api/v10``, a gateway websocket, and static attachments."""

    def __init__(self, *, guild_name: str = "Fake Guild", channel_name: str = "general") -> None:
        self._counter = itertools.count(1)
        self.application_id: str = self.snowflake()
        self.bot_user: JSON = {
            "id": self.application_id,
            "username": "storybot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
        }
        self.owner_user: JSON = self.user(self.snowflake(), "owner")
        self.guild_id: str = self.snowflake()
        self.channel_id: str = self.snowflake()
        self.guild_name = guild_name
        self.channel_name = channel_name

        self.requests: list[RecordedRequest] = []
        self.gateway_received: list[JSON] = []
        self.gateway_paths: list[str] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.identify_count = 0
        self.resume_count = 0
        self.commands: dict[str | None, list[JSON]] = {}  # guild id (None: global) -> registered commands
        self.attachments: dict[str, bytes] = {}

        self._failures: list[_Failure] = []
        self._interactions: dict[str, _InteractionState] = {}
        self._ws: web.WebSocketResponse | None = None
        self._ws_lock = asyncio.Lock()
        self._compressor: Any = None
        self._session_live = asyncio.Event()
        self._session_id: str | None = None
        self._seq = 0
        self._changed = asyncio.Event()
        self._websockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], _Handler]] = [
            ("GET", re.compile(r"^/users/@me$"), self._get_me),
            ("GET", re.compile(r"^/(?:oauth2/)?applications/@me$"), self._get_application),
            ("GET", re.compile(r"^/applications/(\d+)/commands$"), self._get_commands),
            ("GET", re.compile(r"^/applications/(\d+)/guilds/(\d+)/commands$"), self._get_commands),
            ("PUT", re.compile(r"^/applications/(\d+)/commands$"), self._put_commands),
            ("PUT", re.compile(r"^/applications/(\d+)/guilds/(\d+)/commands$"), self._put_commands),
            ("POST", re.compile(r"^/interactions/(\d+)/([^/]+)/callback$"), self._interaction_callback),
            ("POST", re.compile(r"^/webhooks/(\d+)/([^/]+)$"), self._followup),
            (
                "GET",
                re.compile(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"),
                self._get_webhook_message,
            ),
            (
                "PATCH",
                re.compile(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"),
                self._edit_webhook_message,
            ),
            (
                "DELETE",
                re.compile(r"^/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)$"),
                self._delete_webhook_message,
            ),
            ("POST", re.compile(r"^/channels/(\d+)/messages$"), self._channel_message),
            ("POST", re.compile(r"^/channels/(\d+)/typing$"), self._typing),
        ]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway-resume", self._gateway)
        app.router.add_get("/attachments/{name}", self._attachment)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for ws in list(self._websockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    @contextlib.contextmanager
    def patched_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake; restore them afterwards."""
        old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.base_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ test helpers

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))

    def add_attachment(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``/attachments/{name}``; returns its URL."""
        self.attachments[name] = data
        return f"http://127.0.0.1:{self.port}/attachments/{name}"

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        retry_after: float = 0.2,
        *,
        is_global: bool = False,
    ) -> None:
        """Make the next request matching ``method`` and ``path_regex`` (``re.search``) fail."""
        self._failures.append(
            _Failure(method.upper(), re.compile(path_regex), status, retry_after, is_global)
        )

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; it is rechecked on every REST call and gateway event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def find(
        self, method: str, path_regex: str, *, status: int | None = None, since: int = 0
    ) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [
            r
            for r in self.requests[since:]
            if r.method == method.upper()
            and pattern.search(r.path)
            and (status is None or r.status == status)
        ]

    async def wait_for(
        self, method: str, path_regex: str, timeout: float = 5.0, *, status: int | None = None, since: int = 0
    ) -> RecordedRequest:
        """The first request from ``requests[since:]`` matching ``method``, ``path_regex`` and ``status``."""
        try:
            await self.wait_until(
                lambda: bool(self.find(method, path_regex, status=status, since=since)), timeout
            )
        except TimeoutError:
            seen = [(r.method, r.path, r.status) for r in self.requests]
            raise TimeoutError(
                f"no {method} {path_regex} (status {status}) within {timeout}s; saw {seen}"
            ) from None
        return self.find(method, path_regex, status=status, since=since)[0]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ payload builders

    def user(self, user_id: int | str, username: str | None = None) -> JSON:
        return {
            "id": str(user_id),
            "username": username or f"user{user_id}",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": False,
            "system": False,
            "public_flags": 0,
        }

    def member(self, user: JSON, *, roles: Sequence[str] = (), permissions: str | None = None) -> JSON:
        data: JSON = {
            "user": user,
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": list(roles),
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = permissions
        return data

    def channel_payload(self) -> JSON:
        return {
            "id": self.channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": self.channel_name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }

    def guild_payload(self) -> JSON:
        """A GUILD_CREATE payload for the one guild the bot is in."""
        everyone = {
            "id": self.guild_id,
            "name": "@everyone",
            "permissions": DEFAULT_PERMISSIONS,
            "position": 0,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        return {
            "id": self.guild_id,
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner_user["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "application_id": None,
            "features": [],
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": 2,
            "voice_states": [],
            "members": [self.member(self.bot_user)],
            "channels": [self.channel_payload()],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def slash_interaction(
        self,
        name: str,
        options: Sequence[JSON] = (),
        *,
        user_id: int | str,
        guild_id: int | str | None = None,
        channel_id: int | str | None = None,
        permissions: str = "0",
        token: str | None = None,
    ) -> JSON:
        """An INTERACTION_CREATE payload for ``/name`` (type 2, chat input) in a guild text channel."""
        guild = str(guild_id or self.guild_id)
        channel = str(channel_id or self.channel_id)
        token = token or "fake-token-" + secrets.token_urlsafe(24)
        interaction_id = self.snowflake()
        command_id = next(
            (c["id"] for cmds in self.commands.values() for c in cmds if c["name"] == name), self.snowflake()
        )
        self._interactions[token] = _InteractionState(interaction_id, token, channel, guild)
        channel_data = self.channel_payload() | {"id": channel, "guild_id": guild}
        return {
            "id": interaction_id,
            "application_id": self.application_id,
            "type": 2,
            "data": {"id": command_id, "name": name, "type": 1, "options": list(options)},
            "guild_id": guild,
            "guild": {"id": guild, "locale": "en-US", "features": []},
            "channel_id": channel,
            "channel": channel_data,
            "member": self.member(self.user(user_id), permissions=permissions),
            "token": token,
            "version": 1,
            "app_permissions": DEFAULT_PERMISSIONS,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    def message(
        self,
        content: str,
        *,
        author: JSON,
        channel_id: str,
        guild_id: str | None = None,
        body: JSON | None = None,
        message_type: int = 0,
        flags: int = 0,
    ) -> JSON:
        """A complete message object as Discord returns it."""
        body = body or {}
        data: JSON = {
            "id": self.snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags | int(body.get("flags") or 0),
        }
        if guild_id is not None:
            data["guild_id"] = guild_id
        return data

    def message_create(
        self,
        content: str,
        *,
        author_id: int | str,
        channel_id: int | str | None = None,
        guild_id: int | str | None = None,
        mentions: Sequence[int | str | JSON] = (),
        message_reference: JSON | None = None,
    ) -> JSON:
        """A MESSAGE_CREATE payload for a user's message in a guild channel."""
        guild = str(guild_id or self.guild_id)
        author = self.user(author_id)
        data = self.message(
            content, author=author, channel_id=str(channel_id or self.channel_id), guild_id=guild
        )
        data["member"] = {k: v for k, v in self.member(author).items() if k != "user"}
        data["mentions"] = [
            m
            if isinstance(m, dict)
            else self.user(m) | {"member": {"roles": [], "joined_at": now_iso(), "flags": 0}}
            for m in mentions
        ]
        if message_reference is not None:
            data["message_reference"] = message_reference
            data["type"] = 19
        return data

    # ------------------------------------------------------------------ gateway

    async def _send(self, payload: JSON) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("no client connected to the fake gateway")
        async with self._ws_lock:
            text = json.dumps(payload)
            if self._compressor is not None:
                await ws.send_bytes(
                    self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                )
            else:
                await ws.send_str(text)

    async def _send_dispatch(self, event: str, data: Any) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data})

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Push a dispatch (op 0), first waiting up to ``timeout`` for an identified or resumed session."""
        await asyncio.wait_for(self._session_live.wait(), timeout)
        await self._send_dispatch(event, data)

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket with ``code`` (4000: "unknown error", which discord.py resumes after)."""
        ws = self._ws
        self._session_live.clear()
        if ws is not None:
            await ws.close(code=code)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text=f"unsupported compress={compress}")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._websockets.add(ws)
        self.gateway_paths.append(request.path)
        self.gateway_queries.append(dict(request.query))
        if self._ws is not None and not self._ws.closed:
            await self._ws.close(code=4000)
        self._ws = ws
        self._session_live.clear()
        self._compressor = zlib.compressobj() if compress == "zlib-stream" else None
        self._notify()
        try:
            await self._send({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not web.WSMsgType.TEXT:
                    continue
                payload: JSON = json.loads(msg.data)
                self.gateway_received.append(payload)
                await self._on_gateway_message(payload)
                self._notify()
        finally:
            self._websockets.discard(ws)
            if self._ws is ws:
                self._session_live.clear()
            self._notify()
        return ws

    async def _on_gateway_message(self, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await self._send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            self.identify_count += 1
            self._session_id = secrets.token_hex(16)
            self._seq = 0
            ready = {
                "v": 10,
                "user": self.bot_user,
                "guilds": [{"id": self.guild_id, "unavailable": True}],
                "session_id": self._session_id,
                "session_type": "normal",
                "resume_gateway_url": self.resume_gateway_url,
                "application": {"id": self.application_id, "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "auth": {},
                "_trace": ["fake-discord"],
            }
            await self._send_dispatch("READY", ready)
            await self._send_dispatch("GUILD_CREATE", self.guild_payload())
            self._session_live.set()
        elif op == 6:
            assert isinstance(data, dict)
            if data.get("session_id") != self._session_id or self._session_id is None:
                await self._send({"op": 9, "d": False, "s": None, "t": None})
                return
            self.resume_count += 1
            await self._send_dispatch("RESUMED", {"_trace": ["fake-discord"]})
            self._session_live.set()

    # ------------------------------------------------------------------ REST

    async def _attachment(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.attachments:
            return error_response(404, 0, "404: Not Found")
        return web.Response(body=self.attachments[name], content_type="application/octet-stream")

    async def _read_body(self, request: web.Request, record: RecordedRequest) -> None:
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

    async def _rest(self, request: web.Request) -> web.Response:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            json=None,
            headers=dict(request.headers),
        )
        await self._read_body(request, record)
        try:
            response = await self._route(request, record)
        except Exception as exc:  # a bug in the fake: answer 500 (discord.py retries) and keep the record
            response = error_response(500, 0, f"fake discord error: {exc!r}")
        record.status = response.status
        if isinstance(response.body, bytes) and response.content_type == "application/json":
            record.response = json.loads(response.body)
        self.requests.append(record)
        self._notify()
        return response

    async def _route(self, request: web.Request, record: RecordedRequest) -> web.Response:
        for failure in self._failures:
            if failure.method == record.method and failure.pattern.search(record.path):
                self._failures.remove(failure)
                return self._failure_response(failure)
        if record.path.startswith(API_PREFIX):
            sub = record.path[len(API_PREFIX) :]
            for method, pattern, handler in self._routes:
                match = pattern.match(sub)
                if method == record.method and match:
                    return await handler(request, record, match)
        return error_response(404, 0, "404: Not Found")

    def _failure_response(self, failure: _Failure) -> web.Response:
        if failure.status != 429:
            return error_response(failure.status, 0, f"{failure.status}: injected failure")
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

    async def _get_me(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        return json_response(self.bot_user)

    async def _get_application(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        return json_response(
            {
                "id": self.application_id,
                "name": self.bot_user["username"],
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner_user,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot_user,
                "tags": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": 1,
            }
        )

    def _command_guild(self, match: re.Match[str]) -> str | None:
        return match.group(2) if match.lastindex and match.lastindex >= 2 else None

    async def _get_commands(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        return json_response(self.commands.get(self._command_guild(match), []))

    async def _put_commands(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        guild = self._command_guild(match)
        previous = {c["name"]: c["id"] for c in self.commands.get(guild, [])}
        registered = []
        for command in record.json or []:
            data = {
                "type": 1,
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                "description": "",
            }
            data.update(command)
            data.update(
                id=previous.get(command["name"]) or self.snowflake(),
                application_id=self.application_id,
                version=self.snowflake(),
            )
            if guild is not None:
                data["guild_id"] = guild
            registered.append(data)
        self.commands[guild] = registered
        return json_response(registered)

    def _interaction(self, token: str) -> _InteractionState:
        state = self._interactions.get(token)
        if state is None:  # a payload not built by slash_interaction: assume the default channel
            state = self._interactions[token] = _InteractionState("0", token, self.channel_id, self.guild_id)
        return state

    def _bot_message(
        self, state: _InteractionState, body: JSON, *, message_type: int, flags: int = 0
    ) -> JSON:
        data = self.message(
            str(body.get("content") or ""),
            author=self.bot_user,
            channel_id=state.channel_id,
            guild_id=state.guild_id,
            body=body,
            message_type=message_type,
            flags=flags,
        )
        data["webhook_id"] = self.application_id
        data["application_id"] = self.application_id
        for filename, content in self._record_files_as_attachments(body):
            data["attachments"].append(self._attachment_object(filename, content))
        return data

    def _record_files_as_attachments(self, body: JSON) -> list[tuple[str, bytes]]:
        return list(body.pop("__files__", []))

    def _attachment_object(self, filename: str, content: bytes) -> JSON:
        attachment_id = self.snowflake()
        url = self.add_attachment(f"{attachment_id}-{filename}", content)
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": "application/octet-stream",
        }

    def _body(self, record: RecordedRequest) -> JSON:
        body = dict(record.json) if isinstance(record.json, dict) else {}
        body["__files__"] = record.files
        return body

    async def _interaction_callback(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        state = self._interaction(match.group(2))
        if state.acknowledged:
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        state.acknowledged = True
        payload = record.json if isinstance(record.json, dict) else {}
        kind = int(payload.get("type", 0))
        data = dict(payload.get("data") or {})
        data["__files__"] = record.files
        message: JSON | None = None
        if kind == CHANNEL_MESSAGE:
            message = self._bot_message(state, data, message_type=20)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
            message = self._bot_message(state, {"content": ""}, message_type=20, flags=flags)
        elif kind == UPDATE_MESSAGE:
            message = self._bot_message(state, data, message_type=0)
        if message is not None and kind != UPDATE_MESSAGE:
            state.original = message
        if record.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        interaction: JSON = {"id": state.id, "type": 2}
        resource: JSON = {"type": kind}
        if message is not None:
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=kind == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=bool(message["flags"] & MESSAGE_FLAG_EPHEMERAL),
            )
            resource["message"] = message
        return json_response({"interaction": interaction, "resource": resource})

    async def _followup(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        state = self._interaction(match.group(2))
        message = self._bot_message(state, self._body(record), message_type=0)
        state.followups[message["id"]] = message
        if record.query.get("wait") not in ("1", "true", "True"):
            return web.Response(status=204)
        return json_response(message)

    def _webhook_message(self, state: _InteractionState, message_id: str) -> JSON | None:
        return state.original if message_id == "@original" else state.followups.get(message_id)

    async def _get_webhook_message(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        message = self._webhook_message(self._interaction(match.group(2)), match.group(3))
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(message)

    async def _edit_webhook_message(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        state = self._interaction(match.group(2))
        message = self._webhook_message(state, match.group(3))
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        body = self._body(record)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        message["flags"] = int(message["flags"]) & ~MESSAGE_FLAG_LOADING
        message["edited_timestamp"] = now_iso()
        for filename, content in self._record_files_as_attachments(body):
            message["attachments"].append(self._attachment_object(filename, content))
        return json_response(message)

    async def _delete_webhook_message(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        state = self._interaction(match.group(2))
        if match.group(3) == "@original":
            state.original = None
        else:
            state.followups.pop(match.group(3), None)
        return web.Response(status=204)

    async def _channel_message(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        channel_id = match.group(1)
        guild_id = self.guild_id if channel_id == self.channel_id else None
        body = self._body(record)
        message = self.message(
            str(body.get("content") or ""),
            author=self.bot_user,
            channel_id=channel_id,
            guild_id=guild_id,
            body=body,
        )
        for filename, content in self._record_files_as_attachments(body):
            message["attachments"].append(self._attachment_object(filename, content))
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
            message["type"] = 19
        return json_response(message)

    async def _typing(
        self, request: web.Request, record: RecordedRequest, match: re.Match[str]
    ) -> web.Response:
        return web.Response(status=204)


@contextlib.asynccontextmanager
async def running_fake() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py patched to use it."""
    async with FakeDiscord() as fake:
        with fake.patched_discord():
            yield fake
