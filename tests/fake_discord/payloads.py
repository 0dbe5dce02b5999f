"""Pure builders for the JSON objects Discord (API v10) sends, shaped so discord.py 2.7 parses them."""

from __future__ import annotations

import itertools
import mimetypes
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1420070400000

# @everyone in every fake guild: view channel, send messages, embed links, attach files, read history,
# add reactions, use application commands.
DEFAULT_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6) | (1 << 31))

# Interaction types (Discord's InteractionType).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, APPLICATION_COMMAND_AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# Interaction callback types (Discord's InteractionResponseType).
PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE = 1, 2, 3, 4, 5, 6, 7, 8
MENTIONABLE, NUMBER, ATTACHMENT = 9, 10, 11
# Component types.
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
# Message types and flags.
DEFAULT_MESSAGE, REPLY, CHAT_INPUT_COMMAND = 0, 19, 20
MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING = 64, 128
# Channel types.
GUILD_TEXT, DM = 0, 1
# Gateway intents the fake looks at.
INTENT_GUILD_MESSAGES, INTENT_DIRECT_MESSAGES, INTENT_MESSAGE_CONTENT = 1 << 9, 1 << 12, 1 << 15

JOINED_AT = "2024-01-01T00:00:00+00:00"


def now_iso() -> str:
    """The current time as Discord formats timestamps."""
    return datetime.now(UTC).isoformat()


class Snowflakes:
    """A source of unique, time-ordered snowflake ids (as strings, like Discord sends them)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._counter) & 0x3FFFFF))


def user(user_id: int | str, username: str | None = None) -> JSON:
    """A (non-bot) user object."""
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


def bot_user(user_id: str, username: str) -> JSON:
    """The bot's own user object, as ``GET /users/@me`` and READY carry it."""
    return user(user_id, username) | {
        "bot": True,
        "flags": 0,
        "verified": True,
        "mfa_enabled": False,
        "locale": "en-US",
    }


def member(user: JSON, *, roles: Sequence[str] = (), permissions: str | None = None) -> JSON:
    """A guild member object wrapping ``user`` (``permissions`` only appears in interactions)."""
    data: JSON = {
        "user": user,
        "nick": None,
        "avatar": None,
        "banner": None,
        "roles": list(roles),
        "joined_at": JOINED_AT,
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


def mentioned_user(user: JSON, *, in_guild: bool) -> JSON:
    """An entry of a message's ``mentions``: the user plus a partial member in guilds."""
    if not in_guild:
        return dict(user)
    return user | {"member": {"roles": [], "joined_at": JOINED_AT, "flags": 0, "deaf": False, "mute": False}}


def text_channel(
    channel_id: str,
    guild_id: str,
    name: str,
    *,
    nsfw: bool = False,
    topic: str | None = None,
    position: int = 0,
) -> JSON:
    """A guild text channel object."""
    return {
        "id": channel_id,
        "type": GUILD_TEXT,
        "guild_id": guild_id,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "nsfw": nsfw,
        "topic": topic,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }


def dm_channel(channel_id: str, recipient: JSON) -> JSON:
    """A DM channel object, as ``POST /users/@me/channels`` returns it."""
    return {"id": channel_id, "type": DM, "recipients": [recipient], "last_message_id": None, "flags": 0}


def everyone_role(guild_id: str) -> JSON:
    """The @everyone role (its id is the guild's id)."""
    return {
        "id": guild_id,
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


_GUILD_DEFAULTS: JSON = {
    "icon": None,
    "splash": None,
    "discovery_splash": None,
    "banner": None,
    "description": None,
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
    "emojis": [],
    "stickers": [],
    "joined_at": JOINED_AT,
    "large": False,
    "unavailable": False,
    "lazy": True,
    "voice_states": [],
    "threads": [],
    "presences": [],
    "stage_instances": [],
    "guild_scheduled_events": [],
    "soundboard_sounds": [],
}


def guild(
    guild_id: str, name: str, *, owner_id: str, channels: Sequence[JSON], members: Sequence[JSON]
) -> JSON:
    """A full GUILD_CREATE payload."""
    return _GUILD_DEFAULTS | {
        "id": guild_id,
        "name": name,
        "owner_id": owner_id,
        "roles": [everyone_role(guild_id)],
        "member_count": len(members) + 1,
        "members": list(members),
        "channels": list(channels),
    }


def message(
    message_id: str,
    content: str,
    *,
    author: JSON,
    channel_id: str,
    guild_id: str | None = None,
    body: Mapping[str, Any] | None = None,
    message_type: int = DEFAULT_MESSAGE,
    flags: int = 0,
) -> JSON:
    """A complete message object; ``body`` is what the sender posted (embeds, components, flags, tts)."""
    body = body or {}
    data: JSON = {
        "id": message_id,
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


def content_type_for(filename: str) -> str:
    """The content type Discord reports for an upload named ``filename``."""
    guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def attachment(attachment_id: str, filename: str, size: int, url: str) -> JSON:
    """An attachment object whose ``url`` and ``proxy_url`` both serve the bytes."""
    return {
        "id": attachment_id,
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type_for(filename),
    }


def option(name: str, value: str | int | float | bool, option_type: int | None = None) -> JSON:
    """A filled-in command option; the type follows the value (str, int, float, bool) unless given."""
    if option_type is None:
        if isinstance(value, bool):
            option_type = BOOLEAN
        elif isinstance(value, int):
            option_type = INTEGER
        elif isinstance(value, float):
            option_type = NUMBER
        else:
            option_type = STRING
    return {"type": option_type, "name": name, "value": value}


def nest_options(subcommand: str | None, options: Sequence[JSON]) -> list[JSON]:
    """Wrap ``options`` in their subcommand (``"add"``) or group and subcommand (``"story add"``)."""
    if not subcommand:
        return list(options)
    names = subcommand.split()
    if len(names) > 2:
        raise ValueError(f"a subcommand path has at most two names (group, subcommand): {subcommand!r}")
    nested: list[JSON] = [{"type": SUB_COMMAND, "name": names[-1], "options": list(options)}]
    if len(names) == 2:
        nested = [{"type": SUB_COMMAND_GROUP, "name": names[0], "options": nested}]
    return nested


def registered_command(
    command: Mapping[str, Any], *, command_id: str, application_id: str, version: str, guild_id: str | None
) -> JSON:
    """A command as ``PUT .../commands`` returns it, from the body discord.py sent."""
    data: JSON = {
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
    data.update(id=command_id, application_id=application_id, version=version)
    if guild_id is not None:
        data["guild_id"] = guild_id
    return data


def application(application_id: str, *, bot: JSON, owner: JSON, guild_count: int) -> JSON:
    """The reply to ``GET /oauth2/applications/@me``."""
    return {
        "id": application_id,
        "name": bot["username"],
        "description": "",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner,
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "bot": bot,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "approximate_guild_count": guild_count,
    }


def ready(
    *, bot: JSON, application_id: str, guild_ids: Sequence[str], session_id: str, resume_url: str
) -> JSON:
    """The READY dispatch; every guild is unavailable until its GUILD_CREATE."""
    return {
        "v": 10,
        "user": bot,
        "guilds": [{"id": g, "unavailable": True} for g in guild_ids],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_url,
        "application": {"id": application_id, "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
        "auth": {},
        "_trace": ["fake-discord"],
    }


def interaction(
    *,
    interaction_id: str,
    kind: int,
    data: JSON,
    application_id: str,
    token: str,
    channel: JSON,
    member: JSON,
) -> JSON:
    """An INTERACTION_CREATE payload in the guild text channel ``channel``."""
    guild_id = channel["guild_id"]
    return {
        "id": interaction_id,
        "application_id": application_id,
        "type": kind,
        "data": data,
        "guild_id": guild_id,
        "guild": {"id": guild_id, "locale": "en-US", "features": []},
        "channel_id": channel["id"],
        "channel": channel,
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": DEFAULT_PERMISSIONS,
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
    }


def thread_channel(thread_id: str, parent: JSON, name: str, *, owner_id: str) -> JSON:
    """A public thread (type 11) started from message ``thread_id`` in ``parent``."""
    return {
        "id": thread_id,
        "type": 11,
        "guild_id": parent["guild_id"],
        "parent_id": parent["id"],
        "owner_id": owner_id,
        "name": name,
        "nsfw": parent.get("nsfw", False),
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": now_iso(),
            "locked": False,
            "create_timestamp": now_iso(),
        },
    }
