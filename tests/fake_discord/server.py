"""``FakeDiscord``: the aiohttp server tying the world, REST routes and gateway together for tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import discord
import yarl
from aiohttp import web

from tests.fake_discord import payloads
from tests.fake_discord.channels import ChannelRoutes
from tests.fake_discord.gateway import Gateway
from tests.fake_discord.interactions import PayloadBuilders
from tests.fake_discord.payloads import JSON
from tests.fake_discord.rest import API_PREFIX, RecordedRequest, Rest
from tests.fake_discord.webhooks import InteractionRoutes
from tests.fake_discord.world import FakeGuild, World

Id = int | str


class FakeDiscord(PayloadBuilders):
    """An in-process Discord: REST under ``/api/v10``, a gateway websocket, and served attachments."""

    def __init__(
        self,
        *,
        guild_name: str = "Fake Guild",
        channel_name: str = "general",
        echo_bot_messages: bool = True,
        strict_message_content: bool = False,
        recommended_shards: int = 1,
        bind: str = "127.0.0.1",
        public_host: str = "127.0.0.1",
    ) -> None:
        # ``bind`` / ``public_host``: where it listens and the name its URLs give. The compose test's bot
        # runs on a container network, so the fake listens beyond loopback and is named as that
        # network sees the host.
        self._bind = bind
        self.public_host = public_host
        self.world = World(guild_name=guild_name, channel_name=channel_name)
        self.gateway = Gateway(
            self.world,
            echo_bot_messages=echo_bot_messages,
            strict_message_content=strict_message_content,
            recommended_shards=recommended_shards,
        )
        self.rest = Rest(self.world)
        self.rest.add_routes(self.gateway.routes())
        self.rest.add_routes(ChannelRoutes(self.world, self.gateway).routes())
        self.rest.add_routes(InteractionRoutes(self.world, self.gateway).routes())
        self.port = 0
        self._runner: web.AppRunner | None = None
        # Shared, never rebound: tests read these directly.
        self.requests: list[RecordedRequest] = self.rest.requests
        self.gateway_received: list[JSON] = self.gateway.received
        self.dispatched: list[tuple[str, Any]] = self.gateway.sent
        self.gateway_paths: list[str] = self.gateway.paths
        self.gateway_queries: list[dict[str, str]] = self.gateway.queries
        self.commands: dict[str | None, list[JSON]] = self.world.commands
        self.attachments: dict[str, bytes] = self.world.attachments
        self.messages: dict[str, JSON] = self.world.messages
        self.channels: dict[str, JSON] = self.world.channels
        self.application_id: str = self.world.application_id
        self.bot_user: JSON = self.world.bot_user
        self.owner_user: JSON = self.world.owner_user
        self.guild_id: str = self.world.default_guild_id
        self.channel_id: str = self.world.default_channel_id

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway-resume", self.gateway.handle)
        app.router.add_get("/attachments/{name}", self.rest.serve_attachment)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._bind, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.world.attachment_base = f"http://{self.public_host}:{self.port}/attachments"
        self.gateway.url = self.gateway_url
        self.gateway.resume_url = self.resume_gateway_url

    async def stop(self) -> None:
        await self.gateway.close_all()
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
        return f"http://{self.public_host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.public_host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.public_host}:{self.port}/gateway-resume"

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

    # ------------------------------------------------------------------ state read by tests

    @property
    def guild_name(self) -> str:
        return self.world.guilds[self.guild_id].name

    @property
    def channel_name(self) -> str:
        return str(self.world.channels[self.channel_id]["name"])

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def live_shards(self) -> list[tuple[int, int]]:
        """The (shard id, shard count) of every live gateway session; ``[(0, 1)]`` for one unsharded bot."""
        return self.gateway.live_shards

    @property
    def bot_messages(self) -> dict[str, JSON]:
        """Every message the bot created and has not deleted, by id, with its edits applied."""
        return self.world.bot_messages

    def guild_channels(self, guild_id: Id) -> list[str]:
        """The ids of ``guild_id``'s channels, the one it was created with first."""
        return list(self.world.guilds[str(guild_id)].channel_ids)

    def response_messages(self, interaction: JSON | str) -> list[JSON]:
        """The messages the bot's responses to ``interaction`` created, oldest first, as they stand now.

        That is the @original response (a filled-in deferral included) then the followups; a component
        interaction's clicked message is not among them, even when the response edited it.
        """
        return self.world.response_messages(_token(interaction))

    # ------------------------------------------------------------------ world changes

    async def add_guild(
        self, name: str, *, channel_name: str = "general", shard: tuple[int, int] | None = None
    ) -> str:
        """Add a guild with one text channel; a live session gets GUILD_CREATE, else READY includes it.

        ``shard`` = (shard id, shard count) picks an id whose events go to that shard.
        """
        if shard is None:
            guild_id = self.world.add_guild(name, channel_name)
        else:  # World.add_guild draws its own id, which lands on whichever shard the clock says
            guild_id = _on_shard(self.world.snowflake(), *shard)
            self.world.guilds[guild_id] = FakeGuild(guild_id, name)
            self.world.add_channel(guild_id, channel_name)
        # A join carries no "unavailable" key; discord.py reads ``unavailable: false`` as an outage ending.
        joined = {k: v for k, v in self.world.guild_payload(guild_id).items() if k != "unavailable"}
        await self.gateway.dispatch_if_live("GUILD_CREATE", joined)
        return guild_id

    async def add_channel(
        self, guild_id: Id, name: str, *, nsfw: bool = False, topic: str | None = None
    ) -> str:
        """Add a text channel to ``guild_id``; a live session gets CHANNEL_CREATE."""
        channel_id = self.world.add_channel(str(guild_id), name, nsfw=nsfw, topic=topic)
        await self.gateway.dispatch_if_live("CHANNEL_CREATE", self.world.channels[channel_id])
        return channel_id

    def add_attachment(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``/attachments/{name}``; returns its URL."""
        self.world.attachments[name] = data
        return self.world.attachment_url(name)

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
        self.rest.fail_next(method, path_regex, status, retry_after, is_global=is_global)

    # ------------------------------------------------------------------ gateway

    async def dispatch(self, event: str, data: Any, timeout: float = 5.0) -> None:
        """Push a dispatch (op 0), first waiting up to ``timeout`` for an identified or resumed session.

        With several shards it goes to the session of the shard holding ``data``'s guild (shard 0 if it
        has none, like a DM), and waits for that one.
        """
        await self.gateway.dispatch(event, data, timeout)

    async def drop_connection(self, code: int = 4000, *, shard_id: int | None = None) -> None:
        """Close the gateway sockets with ``code`` (4000: "unknown error", which discord.py resumes after):
        every one, or only those of shard ``shard_id``."""
        await self.gateway.drop_connection(code, shard_id=shard_id)

    # ------------------------------------------------------------------ waiting

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; rechecked on each REST call, gateway event, and every 50 ms."""
        await self.world.changes.wait_until(predicate, timeout)

    def find(
        self, method: str, path_regex: str, *, status: int | None = None, since: int = 0
    ) -> list[RecordedRequest]:
        """The recorded requests from ``requests[since:]`` matching ``method``, ``path_regex``, ``status``."""
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

    async def wait_for_callback(self, interaction: JSON | str, timeout: float = 5.0) -> RecordedRequest:
        """The bot's successful callback to ``interaction`` (a payload or its token); read ``.json``."""
        token = re.escape(_token(interaction))
        return await self.wait_for("POST", rf"/interactions/\d+/{token}/callback$", timeout, status=200)

    async def wait_for_response(self, interaction: JSON | str, timeout: float = 5.0) -> JSON:
        """The interaction's first response message once it is no longer "thinking" (loading)."""

        def visible() -> JSON | None:
            for message in self.response_messages(interaction):
                if not int(message["flags"]) & payloads.MESSAGE_FLAG_LOADING:
                    return message
            return None

        await self.wait_until(lambda: visible() is not None, timeout)
        message = visible()
        assert message is not None
        return message


def _on_shard(snowflake: str, shard_id: int, shard_count: int) -> str:
    """``snowflake`` with its timestamp moved forward (by under ``shard_count`` ms) onto ``shard_id``."""
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"no shard {shard_id} among {shard_count}")
    stamp = int(snowflake) >> 22
    stamp += (shard_id - stamp) % shard_count
    return str((stamp << 22) | (int(snowflake) & 0x3FFFFF))


def _token(interaction: JSON | str) -> str:
    return interaction if isinstance(interaction, str) else str(interaction["token"])


@contextlib.asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord (``options`` go to its constructor) with discord.py patched to use it."""
    async with FakeDiscord(**options) as fake:
        with fake.patched_discord():
            yield fake
