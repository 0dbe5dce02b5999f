"""What the fake Discord knows: guilds, channels, messages, interactions, uploads and commands."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fake_discord import payloads
from tests.fake_discord.payloads import JSON

POLL_INTERVAL = 0.05  # predicates may read client-side state, which changes without telling the fake


class Changes:
    """Lets a test wait for a condition that REST calls, gateway traffic or the client may make true."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, POLL_INTERVAL))


@dataclass
class FakeGuild:
    """A guild the bot is in; ``channel_ids[0]`` is the text channel it was created with."""

    id: str
    name: str
    channel_ids: list[str] = field(default_factory=list)


@dataclass
class InteractionState:
    """What the fake remembers about one interaction it handed out (keyed by token)."""

    id: str
    token: str
    kind: int
    channel_id: str
    guild_id: str | None
    user: JSON
    name: str = ""
    acknowledged: bool = False
    callback_type: int | None = None
    original_id: str | None = None  # what @original names: the response, or for a component the message
    clicked_id: str | None = None  # for a component interaction, the message whose component was used
    followup_ids: list[str] = field(default_factory=list)


class World:
    """Discord's side of the conversation, free of any networking."""

    def __init__(self, *, guild_name: str, channel_name: str) -> None:
        self.snowflake = payloads.Snowflakes()
        self.attachment_base = ""  # "http://127.0.0.1:{port}/attachments", set when the server starts
        self.application_id = self.snowflake()
        self.bot_user = payloads.bot_user(self.application_id, "storybot")
        self.owner_user = payloads.user(self.snowflake(), "owner")
        self.guilds: dict[str, FakeGuild] = {}
        self.channels: dict[str, JSON] = {}
        self.messages: dict[str, JSON] = {}
        self.interactions: dict[str, InteractionState] = {}
        self.attachments: dict[str, bytes] = {}
        self.commands: dict[str | None, list[JSON]] = {}  # guild id (None: global) -> registered commands
        self.changes = Changes()
        self.default_guild_id = self.add_guild(guild_name, channel_name)
        self.default_channel_id = self.guilds[self.default_guild_id].channel_ids[0]

    # ------------------------------------------------------------------ guilds and channels

    def add_guild(self, name: str, channel_name: str = "general") -> str:
        guild_id = self.snowflake()
        self.guilds[guild_id] = FakeGuild(guild_id, name)
        self.add_channel(guild_id, channel_name)
        return guild_id

    def add_channel(self, guild_id: str, name: str, *, nsfw: bool = False, topic: str | None = None) -> str:
        guild = self.guilds[guild_id]
        channel_id = self.snowflake()
        position = len(guild.channel_ids)
        self.channels[channel_id] = payloads.text_channel(
            channel_id, guild_id, name, nsfw=nsfw, topic=topic, position=position
        )
        guild.channel_ids.append(channel_id)
        return channel_id

    def dm_channel(self, recipient_id: str) -> JSON:
        for channel in self.channels.values():
            if channel["type"] == payloads.DM and channel["recipients"][0]["id"] == recipient_id:
                return channel
        channel = payloads.dm_channel(self.snowflake(), payloads.user(recipient_id))
        self.channels[channel["id"]] = channel
        return channel

    def guild_payload(self, guild_id: str) -> JSON:
        guild = self.guilds[guild_id]
        return payloads.guild(
            guild_id,
            guild.name,
            owner_id=self.owner_user["id"],
            channels=[self.channels[c] for c in guild.channel_ids],
            members=[payloads.member(self.bot_user)],
        )

    def channel_for(self, guild_id: int | str | None, channel_id: int | str | None) -> JSON:
        """The payload of ``channel_id`` (else ``guild_id``'s first channel, else the default channel)."""
        if channel_id is not None and str(channel_id) in self.channels:
            return self.channels[str(channel_id)]
        guild = self.guilds.get(str(guild_id)) if guild_id is not None else None
        if channel_id is None:
            return self.channels[guild.channel_ids[0] if guild else self.default_channel_id]
        # An id the fake never made: the default channel's shape under the caller's ids.
        default = self.channels[self.default_channel_id]
        return default | {"id": str(channel_id), "guild_id": str(guild_id or self.default_guild_id)}

    def guild_of(self, channel_id: str) -> str | None:
        channel = self.channels.get(channel_id)
        return channel.get("guild_id") if channel is not None else None

    # ------------------------------------------------------------------ uploads

    def attachment_url(self, name: str) -> str:
        return f"{self.attachment_base}/{urllib.parse.quote(name)}"

    def upload(self, filename: str, data: bytes) -> JSON:
        """Store ``data`` under a fresh attachment id and return its attachment object."""
        attachment_id = self.snowflake()
        name = f"{attachment_id}-{filename}"
        self.attachments[name] = data
        return payloads.attachment(attachment_id, filename, len(data), self.attachment_url(name))

    # ------------------------------------------------------------------ messages

    @property
    def bot_messages(self) -> dict[str, JSON]:
        return {k: m for k, m in self.messages.items() if m["author"]["id"] == self.application_id}

    def render(self, message: JSON) -> JSON:
        """``message`` as Discord returns it: a reply carries the message it refers to."""
        reference = message.get("message_reference")
        if not reference or message["type"] != payloads.REPLY:
            return dict(message)
        referenced = self.messages.get(str(reference.get("message_id")))
        if referenced is None:  # never known to the fake: leave it unresolved (discord.py: resolved is None)
            return dict(message)
        return message | {"referenced_message": dict(referenced)}

    def reference_to(self, message_id: str) -> JSON:
        """A ``message_reference`` (type 0, a reply) to the stored message ``message_id``."""
        target = self.messages[message_id]
        reference = {"type": 0, "message_id": message_id, "channel_id": target["channel_id"]}
        if target.get("guild_id"):
            reference["guild_id"] = target["guild_id"]
        return reference

    def create_bot_message(
        self,
        channel_id: str,
        body: Mapping[str, Any],
        files: Sequence[tuple[str, bytes]],
        *,
        message_type: int = payloads.DEFAULT_MESSAGE,
        flags: int = 0,
    ) -> JSON:
        """Store a message the bot sent (``body`` as posted) and return it."""
        message = payloads.message(
            self.snowflake(),
            str(body.get("content") or ""),
            author=self.bot_user,
            channel_id=channel_id,
            guild_id=self.guild_of(channel_id),
            body=body,
            message_type=message_type,
            flags=flags,
        )
        message["attachments"] = [self.upload(name, data) for name, data in files]
        self.messages[message["id"]] = message
        return message

    def edit_message(
        self, message: JSON, body: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
    ) -> None:
        """Apply an edit (``PATCH`` body or an UPDATE_MESSAGE callback's data) in place."""
        for key, empty in (("content", ""), ("embeds", []), ("components", [])):
            if key in body:
                message[key] = body[key] if body[key] is not None else empty
        if "attachments" in body:  # the attachments to keep, by id; new uploads are appended below
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in kept]
        message["attachments"] += [self.upload(name, data) for name, data in files]
        message["flags"] = int(message["flags"]) & ~payloads.MESSAGE_FLAG_LOADING
        message["edited_timestamp"] = payloads.now_iso()

    # ------------------------------------------------------------------ interactions

    def interaction(self, token: str) -> InteractionState:
        state = self.interactions.get(token)
        if state is None:  # a payload not built by the fake: of unknown type, in the default channel
            user = payloads.user(0, "unknown")
            state = InteractionState("0", token, 0, self.default_channel_id, self.default_guild_id, user)
            self.interactions[token] = state
        return state

    def interaction_metadata(self, state: InteractionState, *, followup: bool) -> JSON:
        """The ``interaction_metadata`` Discord attaches to a response or followup message."""
        data: JSON = {
            "id": state.id,
            "type": state.kind,
            "user": state.user,
            "authorizing_integration_owners": {"0": state.guild_id} if state.guild_id else {},
        }
        if state.kind == payloads.APPLICATION_COMMAND:
            data["name"] = state.name
        if state.clicked_id:
            data["interacted_message_id"] = state.clicked_id
        if followup and state.original_id:
            data["original_response_message_id"] = state.original_id
        return data

    def response_messages(self, token: str) -> list[JSON]:
        state = self.interactions.get(token)
        if state is None:  # a hand-made payload the bot has not answered yet
            return []
        created = state.original_id is not None and state.original_id != state.clicked_id
        ids = [state.original_id] if created and state.original_id else []
        ids += state.followup_ids
        return [self.render(self.messages[i]) for i in ids if i in self.messages]
