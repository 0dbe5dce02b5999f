"""The fake gateway: zlib-stream websockets, a session per shard, identify/resume, heartbeats, dispatches."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fake_discord import payloads
from tests.fake_discord.payloads import JSON
from tests.fake_discord.rest import RecordedRequest, Route, json_response
from tests.fake_discord.world import World

# Discord strips these from other users' messages unless the bot holds the MESSAGE_CONTENT intent.
_CONTENT_FIELDS: JSON = {"content": "", "embeds": [], "attachments": [], "components": []}
# Events whose guild is the payload's own "id" rather than its "guild_id".
_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
INVALID_SHARD = 4010  # Discord's close code for an IDENTIFY whose "shard" is out of range or malformed
SESSION_START_TOTAL = 1000  # identifies a bot may make per day (Discord's default session_start_limit)

Shard = tuple[int, int]  # (shard id, shard count), IDENTIFY's "shard" field; [0, 1] when it is absent


def shard_of(guild_id: int | str, shard_count: int) -> int:
    """The shard that receives ``guild_id``'s events, by Discord's rule ``(guild_id >> 22) % shard_count``."""
    return (int(guild_id) >> 22) % shard_count


def _guild_of(event: str, data: Any) -> str | None:
    """The guild a dispatch belongs to, or None for direct messages and other guild-less events."""
    if not isinstance(data, dict):
        return None
    guild = data.get("guild_id") or (data.get("id") if event in _GUILD_EVENTS else None)
    return str(guild) if guild else None


def _shard_in(data: JSON) -> Shard | None:
    """IDENTIFY's shard as a valid (id, count), or None if Discord would refuse it."""
    value = data.get("shard", [0, 1])
    if not isinstance(value, list) or len(value) != 2:
        return None
    shard_id, count = value
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (shard_id, count)):
        return None
    return (shard_id, count) if 0 <= shard_id < count else None


class _Connection:
    """One websocket: its own zlib stream and send lock, and the session it identified or resumed."""

    def __init__(self, ws: web.WebSocketResponse, *, compress: bool) -> None:
        self.ws = ws
        self.session: _Session | None = None
        self._lock = asyncio.Lock()
        self._compressor: Any = zlib.compressobj() if compress else None

    async def send(self, payload: JSON) -> None:
        if self.ws.closed:
            raise ConnectionError("the client left the fake gateway")
        async with self._lock:
            text = json.dumps(payload)
            if self._compressor is not None:
                flushed = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(flushed)
            else:
                await self.ws.send_str(text)


@dataclass
class _Session:
    """One shard's stream of dispatches; it outlives its connection, so a new one may resume it."""

    id: str
    shard: Shard
    intents: int
    connection: _Connection | None = None
    # Set once READY and the GUILD_CREATEs (or RESUMED) went out: only then do other dispatches flow.
    ready: bool = False
    seq: int = 0

    @property
    def live(self) -> bool:
        return self.ready and self.connection is not None and not self.connection.ws.closed

    def receives(self, guild_id: str | None) -> bool:
        """Whether Discord sends this session the events of ``guild_id`` (None: DMs, which go to shard 0)."""
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    def detach(self) -> None:
        self.ready = False
        self.connection = None


class Gateway:
    """Serves ``/gateway`` (identify) and ``/gateway-resume`` (resume): one live session per shard.

    A session is keyed by its IDENTIFY's ``shard`` ([0, 1] when absent); a new IDENTIFY of the same shard
    replaces that shard's session (closing its socket with 4000), while sessions of other shards stay.
    Guild events go to every live session whose shard holds the guild, guild-less ones to shard 0.
    """

    def __init__(
        self,
        world: World,
        *,
        url: str = "",
        resume_url: str = "",
        strict_message_content: bool = False,
        echo_bot_messages: bool = True,
        recommended_shards: int = 1,
    ) -> None:
        self.world = world
        self.echo_bot_messages = echo_bot_messages
        self.url = url
        self.resume_url = resume_url
        self.strict_message_content = strict_message_content
        self.recommended_shards = recommended_shards
        self.received: list[JSON] = []
        self.sent: list[tuple[str, Any]] = []  # every dispatch sent, once per session it went to
        self.paths: list[str] = []
        self.queries: list[dict[str, str]] = []
        self.identify_count = 0  # sessions started (identifies refused for an invalid shard not counted)
        self.resume_count = 0
        self.intents: int | None = None  # the latest IDENTIFY's
        self._sessions: dict[Shard, _Session] = {}
        self._connections: set[_Connection] = set()

    @property
    def live(self) -> bool:
        """Whether some session has identified or resumed and is still connected."""
        return any(s.live for s in self._sessions.values())

    @property
    def live_shards(self) -> list[Shard]:
        """The (shard id, shard count) of every live session, sorted."""
        return sorted(s.shard for s in self._sessions.values() if s.live)

    async def close_all(self) -> None:
        for connection in list(self._connections):
            await connection.ws.close(code=1001)

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Push a dispatch (op 0) to the sessions of ``data``'s shard, first waiting up to ``timeout``
        for one of them to be identified or resumed."""
        try:
            await self.world.changes.wait_until(lambda: bool(self._receivers(event, data)), timeout)
        except TimeoutError:
            guild = _guild_of(event, data)
            raise TimeoutError(
                f"no live gateway session receives guild {guild} ({event}) within {timeout}s;"
                f" live shards: {self.live_shards}"
            ) from None
        for session in self._receivers(event, data):
            await self._send_dispatch(session, event, self._as_seen(session, event, data))

    async def dispatch_if_live(self, event: str, data: Any) -> bool:
        """Push a dispatch now to the live sessions of ``data``'s shard (as Discord would, losing it if
        there are none); report whether any session got it."""
        return await self._deliver(event, data, self._receivers(event, data))

    async def drop_connection(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close gateway sockets with ``code`` (4000: "unknown error", which discord.py resumes after):
        those of shard ``shard_id``'s sessions, or every socket when it is None."""
        for connection in list(self._connections):
            session = connection.session
            if shard_id is not None and (session is None or session.shard[0] != shard_id):
                continue
            if session is not None and session.connection is connection:
                session.detach()  # at once, so no dispatch is sent to a socket being closed
            await connection.ws.close(code=code)

    async def announce(self, event: str, message: JSON) -> None:
        """Tell the bot about its own message as Discord does (MESSAGE_CREATE, _UPDATE or _DELETE)."""
        if not self.echo_bot_messages:
            return
        data: JSON
        if event == "MESSAGE_DELETE":
            data = {k: message[k] for k in ("id", "channel_id", "guild_id") if k in message}
        else:
            data = self.world.render(message)
            if data.get("guild_id"):
                data["member"] = {k: v for k, v in payloads.member(data["author"]).items() if k != "user"}
        receivers = [s for s in self._receivers(event, data) if _wants_messages(message, s.intents)]
        await self._deliver(event, data, receivers)

    def _receivers(self, event: str, data: Any) -> list[_Session]:
        guild = _guild_of(event, data)
        return [s for s in self._sessions.values() if s.live and s.receives(guild)]

    async def _deliver(self, event: str, data: Any, sessions: Iterable[_Session]) -> bool:
        delivered = False
        for session in sessions:
            try:
                await self._send_dispatch(session, event, self._as_seen(session, event, data))
            except (ConnectionError, RuntimeError):  # the client went away meanwhile: the event is lost
                continue
            delivered = True
        return delivered

    def _as_seen(self, session: _Session, event: str, data: Any) -> Any:
        """``data`` as a bot without the MESSAGE_CONTENT intent receives it, if that is being enforced."""
        if not (self.strict_message_content and event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")):
            return data
        if session.intents & payloads.INTENT_MESSAGE_CONTENT:
            return data
        bot_id = self.world.application_id
        mentioned = any(m.get("id") == bot_id for m in data.get("mentions", []))
        if data.get("author", {}).get("id") == bot_id or mentioned or not data.get("guild_id"):
            return data
        return data | _CONTENT_FIELDS

    async def _send_dispatch(self, session: _Session, event: str, data: Any) -> None:
        connection = session.connection
        if connection is None:
            raise ConnectionError(f"shard {session.shard} has no connection to the fake gateway")
        session.seq += 1
        await connection.send({"op": 0, "t": event, "s": session.seq, "d": data})
        self.sent.append((event, data))

    # ------------------------------------------------------------------ the websocket

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket handler for both gateway paths."""
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text=f"unsupported compress={compress}")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = _Connection(ws, compress=compress == "zlib-stream")
        self._connections.add(connection)
        self.paths.append(request.path)
        self.queries.append(dict(request.query))
        self.world.changes.notify()
        try:
            await self._serve(connection)
        finally:
            self._connections.discard(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.detach()
            self.world.changes.notify()
        return ws

    async def _serve(self, connection: _Connection) -> None:
        await connection.send({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
        async for msg in connection.ws:
            if msg.type is not web.WSMsgType.TEXT:
                continue
            payload: JSON = json.loads(msg.data)
            self.received.append(payload)
            await self._on_message(connection, payload)
            self.world.changes.notify()

    async def _on_message(self, connection: _Connection, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2 and isinstance(data, dict):
            await self._identify(connection, data)
        elif op == 6 and isinstance(data, dict):
            await self._resume(connection, data)

    async def _take_over(self, session: _Session | None, connection: _Connection) -> None:
        """Move ``session`` off its old socket (closed with 4000, which discord.py resumes after)."""
        if session is None:
            return
        old = session.connection
        session.detach()
        if old is not None and old is not connection and not old.ws.closed:
            await old.ws.close(code=4000)

    async def _identify(self, connection: _Connection, data: JSON) -> None:
        shard = _shard_in(data)
        if shard is None:
            await connection.ws.close(code=INVALID_SHARD, message=b"Invalid shard")
            return
        self.identify_count += 1
        self.intents = int(data.get("intents") or 0)
        await self._take_over(self._sessions.get(shard), connection)
        session = _Session(secrets.token_hex(16), shard, self.intents, connection)
        self._sessions[shard] = session
        connection.session = session
        world = self.world
        guild_ids = [g for g in world.guilds if session.receives(g)]
        ready = payloads.ready(
            bot=world.bot_user,
            application_id=world.application_id,
            guild_ids=guild_ids,
            session_id=session.id,
            resume_url=self.resume_url,
        )
        if "shard" in data:  # Discord echoes the shard in READY only when IDENTIFY named one
            ready["shard"] = list(shard)
        await self._send_dispatch(session, "READY", ready)
        for guild_id in guild_ids:
            await self._send_dispatch(session, "GUILD_CREATE", world.guild_payload(guild_id))
        session.ready = True

    async def _resume(self, connection: _Connection, data: JSON) -> None:
        session_id = data.get("session_id")
        session = next((s for s in self._sessions.values() if s.id == session_id), None)
        if session is None:  # unknown, or replaced by a newer IDENTIFY of its shard
            await connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        await self._take_over(session, connection)
        session.connection = connection
        connection.session = session
        self.resume_count += 1
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-discord"]})
        session.ready = True

    # ------------------------------------------------------------------ REST: where to connect

    def routes(self) -> list[Route]:
        """``GET /gateway`` and ``GET /gateway/bot``, which AutoShardedClient asks without a shard count."""
        return [("GET", r"/gateway", self._get_gateway), ("GET", r"/gateway/bot", self._get_gateway_bot)]

    async def _get_gateway(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        return json_response({"url": self.url})

    async def _get_gateway_bot(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        limit = {
            "total": SESSION_START_TOTAL,
            "remaining": max(0, SESSION_START_TOTAL - self.identify_count),
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        }
        return json_response(
            {"url": self.url, "shards": self.recommended_shards, "session_start_limit": limit}
        )


def _wants_messages(message: JSON, intents: int) -> bool:
    """Whether Discord would send MESSAGE_* events for ``message`` to a session with ``intents``."""
    if int(message.get("flags") or 0) & payloads.MESSAGE_FLAG_EPHEMERAL:
        return False
    needed = payloads.INTENT_GUILD_MESSAGES if message.get("guild_id") else payloads.INTENT_DIRECT_MESSAGES
    return bool(intents & needed)
