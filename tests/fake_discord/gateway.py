"""The fake gateway: one zlib-stream websocket at a time, identify/resume, heartbeats and dispatches."""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from typing import Any

from aiohttp import web

from tests.fake_discord import payloads
from tests.fake_discord.payloads import JSON
from tests.fake_discord.world import World

# Discord strips these from other users' messages unless the bot holds the MESSAGE_CONTENT intent.
_CONTENT_FIELDS: JSON = {"content": "", "embeds": [], "attachments": [], "components": []}


class Gateway:
    """Serves ``/gateway`` (identify) and ``/gateway-resume`` (resume) for one client at a time."""

    def __init__(
        self,
        world: World,
        *,
        resume_url: str = "",
        strict_message_content: bool = False,
        echo_bot_messages: bool = True,
    ) -> None:
        self.world = world
        self.echo_bot_messages = echo_bot_messages
        self.resume_url = resume_url
        self.strict_message_content = strict_message_content
        self.received: list[JSON] = []
        self.sent: list[tuple[str, Any]] = []  # every dispatch sent: (event name, data)
        self.paths: list[str] = []
        self.queries: list[dict[str, str]] = []
        self.identify_count = 0
        self.resume_count = 0
        self.intents: int | None = None
        self._ws: web.WebSocketResponse | None = None
        self._ws_lock = asyncio.Lock()
        self._compressor: Any = None
        self._session_live = asyncio.Event()
        self._session_id: str | None = None
        self._seq = 0
        self._websockets: set[web.WebSocketResponse] = set()

    @property
    def live(self) -> bool:
        """Whether a client has identified or resumed and is still connected."""
        return self._session_live.is_set()

    async def close_all(self) -> None:
        for ws in list(self._websockets):
            await ws.close(code=1001)

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Push a dispatch (op 0), first waiting up to ``timeout`` for an identified or resumed session."""
        await asyncio.wait_for(self._session_live.wait(), timeout)
        await self._send_dispatch(event, self._as_seen(event, data))

    async def dispatch_if_live(self, event: str, data: Any) -> bool:
        """Push a dispatch now if a session is live (as Discord would); report whether it was sent."""
        if not self.live:
            return False
        try:
            await self._send_dispatch(event, self._as_seen(event, data))
        except (ConnectionError, RuntimeError):  # the client went away meanwhile: the event is lost
            return False
        return True

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the gateway socket with ``code`` (4000: "unknown error", which discord.py resumes after)."""
        ws = self._ws
        self._session_live.clear()
        if ws is not None:
            await ws.close(code=code)

    async def announce(self, event: str, message: JSON) -> None:
        """Tell the bot about its own message as Discord does (MESSAGE_CREATE, _UPDATE or _DELETE)."""
        if not self.echo_bot_messages or not self.wants_messages(message):
            return
        data: JSON
        if event == "MESSAGE_DELETE":
            data = {k: message[k] for k in ("id", "channel_id", "guild_id") if k in message}
        else:
            data = self.world.render(message)
            if data.get("guild_id"):
                data["member"] = {k: v for k, v in payloads.member(data["author"]).items() if k != "user"}
        await self.dispatch_if_live(event, data)

    def wants_messages(self, message: JSON) -> bool:
        """Whether Discord would send the bot MESSAGE_* events for ``message`` (intents, ephemerality)."""
        if int(message.get("flags") or 0) & payloads.MESSAGE_FLAG_EPHEMERAL:
            return False
        needed = (
            payloads.INTENT_GUILD_MESSAGES if message.get("guild_id") else payloads.INTENT_DIRECT_MESSAGES
        )
        return self.intents is None or bool(self.intents & needed)

    def _as_seen(self, event: str, data: Any) -> Any:
        """``data`` as a bot without the MESSAGE_CONTENT intent receives it, if that is being enforced."""
        if not (self.strict_message_content and event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")):
            return data
        if self.intents is not None and self.intents & payloads.INTENT_MESSAGE_CONTENT:
            return data
        bot_id = self.world.application_id
        mentioned = any(m.get("id") == bot_id for m in data.get("mentions", []))
        if data.get("author", {}).get("id") == bot_id or mentioned or not data.get("guild_id"):
            return data
        return data | _CONTENT_FIELDS

    async def _send(self, payload: JSON) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("no client connected to the fake gateway")
        async with self._ws_lock:
            text = json.dumps(payload)
            if self._compressor is not None:
                flushed = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                await ws.send_bytes(flushed)
            else:
                await ws.send_str(text)

    async def _send_dispatch(self, event: str, data: Any) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data})
        self.sent.append((event, data))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The websocket handler for both gateway paths."""
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text=f"unsupported compress={compress}")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._websockets.add(ws)
        self.paths.append(request.path)
        self.queries.append(dict(request.query))
        if self._ws is not None and not self._ws.closed:
            await self._ws.close(code=4000)
        self._ws = ws
        self._session_live.clear()
        self._compressor = zlib.compressobj() if compress == "zlib-stream" else None
        self.world.changes.notify()
        try:
            await self._serve(ws)
        finally:
            self._websockets.discard(ws)
            if self._ws is ws:
                self._session_live.clear()
            self.world.changes.notify()
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        await self._send({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None})
        async for msg in ws:
            if msg.type is not web.WSMsgType.TEXT:
                continue
            payload: JSON = json.loads(msg.data)
            self.received.append(payload)
            await self._on_message(payload)
            self.world.changes.notify()

    async def _on_message(self, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await self._send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2 and isinstance(data, dict):
            await self._identify(data)
        elif op == 6 and isinstance(data, dict):
            if data.get("session_id") != self._session_id or self._session_id is None:
                await self._send({"op": 9, "d": False, "s": None, "t": None})
                return
            self.resume_count += 1
            await self._send_dispatch("RESUMED", {"_trace": ["fake-discord"]})
            self._session_live.set()

    async def _identify(self, data: JSON) -> None:
        self.identify_count += 1
        self.intents = int(data.get("intents") or 0)
        self._session_id = secrets.token_hex(16)
        self._seq = 0
        world = self.world
        ready = payloads.ready(
            bot=world.bot_user,
            application_id=world.application_id,
            guild_ids=list(world.guilds),
            session_id=self._session_id,
            resume_url=self.resume_url,
        )
        await self._send_dispatch("READY", ready)
        for guild_id in list(world.guilds):
            await self._send_dispatch("GUILD_CREATE", world.guild_payload(guild_id))
        self._session_live.set()
