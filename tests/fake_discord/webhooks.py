"""Interaction routes: callbacks (types 4-9), followups, and the @original/followup message endpoints."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.fake_discord import payloads
from tests.fake_discord.channels import unknown_message
from tests.fake_discord.gateway import Gateway
from tests.fake_discord.payloads import JSON
from tests.fake_discord.rest import (
    RecordedRequest,
    Route,
    body_of,
    error_response,
    is_true,
    json_response,
    no_content,
)
from tests.fake_discord.world import InteractionState, World

# Which callback types Discord accepts for each interaction type.
_ALLOWED_CALLBACKS = {
    payloads.APPLICATION_COMMAND: {
        payloads.CHANNEL_MESSAGE,
        payloads.DEFERRED_CHANNEL_MESSAGE,
        payloads.MODAL,
    },
    payloads.MESSAGE_COMPONENT: {
        payloads.CHANNEL_MESSAGE,
        payloads.DEFERRED_CHANNEL_MESSAGE,
        payloads.DEFERRED_UPDATE,
        payloads.UPDATE_MESSAGE,
        payloads.MODAL,
    },
    payloads.APPLICATION_COMMAND_AUTOCOMPLETE: {payloads.AUTOCOMPLETE_RESULT},
}


def unknown_webhook() -> web.Response:
    return error_response(404, 10015, "Unknown Webhook")


class InteractionRoutes:
    """Handlers for ``/interactions/{id}/{token}/callback`` and ``/webhooks/{application}/{token}...``."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

    def routes(self) -> list[Route]:
        message = r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"
        return [
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
            ("GET", message, self._get),
            ("PATCH", message, self._edit),
            ("DELETE", message, self._delete),
        ]

    def _create(
        self,
        state: InteractionState,
        body: Mapping[str, Any],
        files: Sequence[tuple[str, bytes]],
        *,
        followup: bool,
        flags: int = 0,
    ) -> JSON:
        is_command = state.kind == payloads.APPLICATION_COMMAND and not followup
        message_type = payloads.CHAT_INPUT_COMMAND if is_command else payloads.DEFAULT_MESSAGE
        message = self.world.create_bot_message(
            state.channel_id, body, files, message_type=message_type, flags=flags
        )
        message["webhook_id"] = self.world.application_id
        message["application_id"] = self.world.application_id
        message["interaction_metadata"] = self.world.interaction_metadata(state, followup=followup)
        return message

    async def _callback(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        state = self.world.interaction(match.group(2))
        if state.acknowledged:
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        payload = body_of(record)
        kind = int(payload.get("type", 0))
        allowed = _ALLOWED_CALLBACKS.get(state.kind)
        if allowed is not None and kind not in allowed:
            return error_response(400, 50035, f"Invalid Form Body: callback type {kind} for interaction type")
        state.acknowledged, state.callback_type = True, kind
        message = await self._respond(state, kind, dict(payload.get("data") or {}), record.files)
        if not is_true(record.query.get("with_response")):
            return no_content()
        return json_response(self._callback_response(state, kind, message))

    async def _respond(
        self, state: InteractionState, kind: int, data: JSON, files: Sequence[tuple[str, bytes]]
    ) -> JSON | None:
        """Carry out a callback; return the message it created or updated."""
        if kind == payloads.CHANNEL_MESSAGE:
            message = self._create(state, data, files, followup=False)
        elif kind == payloads.DEFERRED_CHANNEL_MESSAGE:
            ephemeral = int(data.get("flags") or 0) & payloads.MESSAGE_FLAG_EPHEMERAL
            flags = payloads.MESSAGE_FLAG_LOADING | ephemeral
            message = self._create(state, {}, [], followup=False, flags=flags)
        elif kind == payloads.UPDATE_MESSAGE and state.original_id in self.world.messages:
            message = self.world.messages[state.original_id]
            self.world.edit_message(message, data, files)
            await self.gateway.announce("MESSAGE_UPDATE", message)
            return message
        else:  # DEFERRED_UPDATE, AUTOCOMPLETE_RESULT, MODAL: no message changes
            return None
        state.original_id = message["id"]
        await self.gateway.announce("MESSAGE_CREATE", message)
        return message

    def _callback_response(self, state: InteractionState, kind: int, message: JSON | None) -> JSON:
        """The ``with_response`` body: ``{"interaction": ..., "resource": ...}``."""
        interaction: JSON = {"id": state.id, "type": state.kind}
        resource: JSON = {"type": kind}
        target = message
        if target is None and kind == payloads.DEFERRED_UPDATE and state.original_id:
            target = self.world.messages.get(state.original_id)
        if target is not None:
            flags = int(target["flags"])
            interaction.update(
                response_message_id=target["id"],
                response_message_loading=bool(flags & payloads.MESSAGE_FLAG_LOADING),
                response_message_ephemeral=bool(flags & payloads.MESSAGE_FLAG_EPHEMERAL),
            )
        if message is not None:
            resource["message"] = self.world.render(message)
        return {"interaction": interaction, "resource": resource}

    def _state(self, match: re.Match[str]) -> InteractionState | None:
        if match.group(1) != self.world.application_id:
            return None
        return self.world.interaction(match.group(2))

    async def _followup(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        state = self._state(match)
        if state is None or not state.acknowledged:
            return unknown_webhook()  # Discord: the token only works once the interaction is answered
        body = body_of(record)
        original = self.world.messages.get(state.original_id or "")
        loading = original is not None and int(original["flags"]) & payloads.MESSAGE_FLAG_LOADING
        if original is not None and loading and state.callback_type == payloads.DEFERRED_CHANNEL_MESSAGE:
            # Discord fills the deferred "thinking" message with the first followup, which keeps the
            # deferral's visibility whatever flags the followup asks for.
            message = original
            self.world.edit_message(message, body, record.files)
            await self.gateway.announce("MESSAGE_UPDATE", message)
        else:
            message = self._create(state, body, record.files, followup=True)
            state.followup_ids.append(message["id"])
            await self.gateway.announce("MESSAGE_CREATE", message)
        if not is_true(record.query.get("wait")):
            return no_content()
        return json_response(self.world.render(message))

    def _target(self, match: re.Match[str]) -> JSON | None:
        state = self._state(match)
        if state is None:
            return None
        message_id = state.original_id if match.group(3) == "@original" else match.group(3)
        if message_id is None or (message_id != state.original_id and message_id not in state.followup_ids):
            return None
        return self.world.messages.get(message_id)

    async def _get(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._target(match)
        return json_response(self.world.render(message)) if message is not None else unknown_message()

    async def _edit(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._target(match)
        if message is None:
            return unknown_message()
        self.world.edit_message(message, body_of(record), record.files)
        await self.gateway.announce("MESSAGE_UPDATE", message)
        return json_response(self.world.render(message))

    async def _delete(self, record: RecordedRequest, match: re.Match[str]) -> web.Response:
        message = self._target(match)
        if message is None:
            return unknown_message()
        del self.world.messages[message["id"]]
        await self.gateway.announce("MESSAGE_DELETE", message)
        return no_content()
