"""Channel routes: fetching channels, opening DMs, and the bot's channel messages (send, edit, delete)."""

from __future__ import annotations

import re

from aiohttp import web

from tests.fake_discord import payloads
from tests.fake_discord.gateway import Gateway
from tests.fake_discord.payloads import JSON
from tests.fake_discord.rest import RecordedRequest, Route, body_of, error_response, json_response, no_content
from tests.fake_discord.world import World


def unknown_channel() -> web.Response:
    return error_response(404, 10003, "Unknown Channel")


def unknown_message() -> web.Response:
    return error_response(404, 10008, "Unknown Message")


class ChannelRoutes:
    """Handlers for ``/channels/...`` and ``/users/@me/channels``."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

    def routes(self) -> list[Route]:
        message = r"/channels/(\d+)/messages/(\d+)"
        return [
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("POST", r"/users/@me/channels", self._open_dm),
            ("POST", r"/channels/(\d+)/messages", self._send),
            ("GET", message, self._get_message),
            ("PATCH", message, self._edit),
            ("DELETE", message, self._delete),
            ("PUT", message + r"/reactions/([^/]+)/@me", self._react),
            ("POST", r"/channels/(\d+)/typing", self._typing),
            ("POST", message + r"/threads", self._start_thread),
        ]

    def _message(self, match: re.Match[str]) -> JSON | None:
        message = self.world.messages.get(match.group(2))
        return message if message is not None and message["channel_id"] == match.group(1) else None

    async def _get_channel(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        channel = self.world.channels.get(match.group(1))
        return json_response(channel) if channel is not None else unknown_channel()

    async def _open_dm(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        recipient = body_of(record).get("recipient_id")
        if recipient is None:
            return error_response(400, 50035, "Invalid Form Body")
        return json_response(self.world.dm_channel(str(recipient)))

    async def _send(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        world, channel_id = self.world, match.group(1)
        if channel_id not in world.channels:
            return unknown_channel()
        body = body_of(record)
        reference = body.get("message_reference") or None
        target = world.messages.get(str(reference.get("message_id"))) if reference else None
        if reference and target is None:
            if reference.get("fail_if_not_exists", True):
                return error_response(400, 50035, "Invalid Form Body")  # REPLIES_UNKNOWN_MESSAGE
            reference = None
        message = world.create_bot_message(channel_id, body, record.files)
        if target is not None:
            message.update(type=payloads.REPLY, message_reference=world.reference_to(target["id"]))
            pings_author = (body.get("allowed_mentions") or {}).get("replied_user", True)
            if pings_author and target["author"]["id"] != world.application_id:
                in_guild = bool(message.get("guild_id"))
                message["mentions"] = [payloads.mentioned_user(target["author"], in_guild=in_guild)]
        await self.gateway.announce("MESSAGE_CREATE", message)
        return json_response(world.render(message))

    async def _start_thread(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        """Start a public thread from a message, as the bot; it is told with THREAD_CREATE, like Discord."""
        message = self._message(match)
        if message is None:
            return unknown_message()
        parent = self.world.channels[match.group(1)]
        name = str(body_of(record).get("name") or "thread")[:100]
        thread = payloads.thread_channel(message["id"], parent, name, owner_id=self.world.application_id)
        self.world.channels[thread["id"]] = thread
        message["thread"] = thread
        await self.gateway.dispatch_if_live("THREAD_CREATE", thread | {"newly_created": True})
        return json_response(thread)

    async def _get_message(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._message(match)
        return json_response(self.world.render(message)) if message is not None else unknown_message()

    async def _edit(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._message(match)
        if message is None:
            return unknown_message()
        if message["author"]["id"] != self.world.application_id:
            return error_response(403, 50005, "Cannot edit a message authored by another user")
        self.world.edit_message(message, body_of(record), record.files)
        await self.gateway.announce("MESSAGE_UPDATE", message)
        return json_response(self.world.render(message))

    async def _delete(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._message(match)
        if message is None:
            return unknown_message()
        del self.world.messages[message["id"]]
        await self.gateway.announce("MESSAGE_DELETE", message)
        return no_content()

    async def _react(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        return no_content() if self._message(match) is not None else unknown_message()

    async def _typing(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        return no_content()
