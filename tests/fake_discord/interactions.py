"""Builders for what users do: slash commands, autocomplete, button clicks, and channel messages.

Each builder registers what it made with the world (interaction tokens, user messages) so that later
REST calls about it behave as on Discord, and returns the gateway payload for ``FakeDiscord.dispatch``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from tests.fake_discord import payloads
from tests.fake_discord.payloads import DEFAULT_PERMISSIONS, JSON, STRING
from tests.fake_discord.world import InteractionState, World

Id = int | str


def _begin(
    world: World, kind: int, channel: JSON, user_id: Id, *, name: str, token: str | None
) -> InteractionState:
    """Register a new interaction by ``user_id`` in ``channel``."""
    token = token or "fake-token-" + secrets.token_urlsafe(24)
    user = payloads.user(user_id)
    state = InteractionState(
        world.snowflake(), token, kind, channel["id"], channel.get("guild_id"), user, name
    )
    world.interactions[token] = state
    return state


def _payload(world: World, state: InteractionState, channel: JSON, data: JSON, permissions: str) -> JSON:
    return payloads.interaction(
        interaction_id=state.id,
        kind=state.kind,
        data=data,
        application_id=world.application_id,
        token=state.token,
        channel=channel,
        member=payloads.member(state.user, permissions=permissions),
    )


def _command_data(
    world: World, name: str, options: list[JSON], guild_id: str, guild_command: bool | None
) -> JSON:
    """``data`` of a chat-input command; ``guild_id`` is set for a command registered in the guild."""
    in_guild = [c for c in world.commands.get(guild_id, []) if c["name"] == name]
    anywhere = [c for commands in world.commands.values() for c in commands if c["name"] == name]
    command_id = (in_guild or anywhere or [{"id": world.snowflake()}])[0]["id"]
    data: JSON = {"id": command_id, "name": name, "type": 1, "options": options}
    # discord.py looks a command up among the guild's commands only if data carries guild_id.
    if guild_command or (guild_command is None and in_guild):
        data["guild_id"] = guild_id
    return data


def slash(
    world: World,
    name: str,
    options: Sequence[JSON],
    *,
    user_id: Id,
    guild_id: Id | None,
    channel_id: Id | None,
    permissions: str,
    token: str | None,
    subcommand: str | None,
    attachments: Mapping[str, tuple[str, bytes]] | None,
    guild_command: bool | None,
) -> JSON:
    """An INTERACTION_CREATE for ``/name [subcommand] options...``; attachments are uploaded and resolved."""
    channel = world.channel_for(guild_id, channel_id)
    state = _begin(world, payloads.APPLICATION_COMMAND, channel, user_id, name=name, token=token)
    all_options = list(options)
    resolved: JSON = {}
    for option_name, (filename, content) in (attachments or {}).items():
        uploaded = world.upload(filename, content) | {"ephemeral": True}
        resolved[uploaded["id"]] = uploaded
        all_options.append(payloads.option(option_name, uploaded["id"], payloads.ATTACHMENT))
    nested = payloads.nest_options(subcommand, all_options)
    data = _command_data(world, name, nested, channel["guild_id"], guild_command)
    if resolved:
        data["resolved"] = {"attachments": resolved}
    return _payload(world, state, channel, data, permissions)


def autocomplete(
    world: World,
    name: str,
    focused: str,
    value: str | int | float,
    options: Sequence[JSON],
    *,
    focused_type: int,
    user_id: Id,
    guild_id: Id | None,
    channel_id: Id | None,
    permissions: str,
    subcommand: str | None,
    guild_command: bool | None,
) -> JSON:
    """An autocomplete INTERACTION_CREATE (type 4) while the user types ``value`` into ``focused``."""
    channel = world.channel_for(guild_id, channel_id)
    state = _begin(world, payloads.APPLICATION_COMMAND_AUTOCOMPLETE, channel, user_id, name=name, token=None)
    typed = payloads.option(focused, value, focused_type) | {"focused": True}
    all_options = [o for o in options if o.get("name") != focused] + [typed]
    nested = payloads.nest_options(subcommand, all_options)
    data = _command_data(world, name, nested, channel["guild_id"], guild_command)
    return _payload(world, state, channel, data, permissions)


def component(
    world: World,
    message_id: Id,
    custom_id: str,
    *,
    user_id: Id,
    component_type: int,
    values: Sequence[str] | None,
    permissions: str,
    token: str | None,
) -> JSON:
    """A component INTERACTION_CREATE (type 3): ``user_id`` used ``custom_id`` on a stored message."""
    message = world.messages.get(str(message_id))
    if message is None:
        raise KeyError(f"no stored message {message_id}; the bot must have sent it to this fake")
    channel = world.channel_for(message.get("guild_id"), message["channel_id"])
    state = _begin(world, payloads.MESSAGE_COMPONENT, channel, user_id, name=custom_id, token=token)
    state.original_id = state.clicked_id = message["id"]
    data: JSON = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    payload = _payload(world, state, channel, data, permissions)
    payload["message"] = world.render(message)
    return payload


def _mentions(world: World, mentions: Sequence[Id | JSON], *, in_guild: bool) -> list[JSON]:
    def as_user(m: Id | JSON) -> JSON:
        if isinstance(m, dict):
            return m
        return world.bot_user if str(m) == world.application_id else payloads.user(m)

    return [
        m if isinstance(m, dict) else payloads.mentioned_user(as_user(m), in_guild=in_guild) for m in mentions
    ]


def user_message(
    world: World,
    content: str,
    *,
    author_id: Id,
    channel_id: Id | None,
    guild_id: Id | None,
    mentions: Sequence[Id | JSON],
    message_reference: JSON | None,
    reply_to: Id | None,
) -> JSON:
    """A MESSAGE_CREATE for a user's message, stored so replies and fetches can find it."""
    channel = world.channel_for(guild_id, channel_id)
    guild = channel.get("guild_id")
    author = payloads.user(author_id)
    data = payloads.message(
        world.snowflake(), content, author=author, channel_id=channel["id"], guild_id=guild
    )
    if guild:
        data["member"] = {k: v for k, v in payloads.member(author).items() if k != "user"}
    data["mentions"] = _mentions(world, mentions, in_guild=bool(guild))
    if reply_to is not None:
        message_reference = world.reference_to(str(reply_to))
    if message_reference is not None:
        target = str(message_reference.get("message_id"))
        known = world.reference_to(target) if target in world.messages else {}
        data.update(message_reference=known | message_reference, type=payloads.REPLY)
    world.messages[data["id"]] = data
    return world.render(data)


class PayloadBuilders:
    """``FakeDiscord``'s builders of gateway payloads (and of plain objects for hand-made ones)."""

    world: World
    application_id: str
    guild_id: str
    channel_id: str

    def snowflake(self) -> str:
        """A fresh snowflake id."""
        return self.world.snowflake()

    def user(self, user_id: Id, username: str | None = None) -> JSON:
        """A (non-bot) user object."""
        return payloads.user(user_id, username)

    def member(self, user: JSON, *, roles: Sequence[str] = (), permissions: str | None = None) -> JSON:
        """A guild member object wrapping ``user``."""
        return payloads.member(user, roles=roles, permissions=permissions)

    def channel_payload(self, channel_id: Id | None = None) -> JSON:
        """A copy of a channel the fake knows (default: the default channel)."""
        return dict(self.world.channels[str(channel_id or self.channel_id)])

    def guild_payload(self, guild_id: Id | None = None) -> JSON:
        """A GUILD_CREATE payload for ``guild_id`` (default: the default guild)."""
        return self.world.guild_payload(str(guild_id or self.guild_id))

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
        """A complete message object as Discord returns it (not stored)."""
        return payloads.message(
            self.snowflake(),
            content,
            author=author,
            channel_id=channel_id,
            guild_id=guild_id,
            body=body,
            message_type=message_type,
            flags=flags,
        )

    def slash_interaction(
        self,
        name: str,
        options: Sequence[JSON] = (),
        *,
        user_id: Id,
        guild_id: Id | None = None,
        channel_id: Id | None = None,
        permissions: str = DEFAULT_PERMISSIONS,
        token: str | None = None,
        subcommand: str | None = None,
        attachments: Mapping[str, tuple[str, bytes]] | None = None,
        guild_command: bool | None = None,
    ) -> JSON:
        """An INTERACTION_CREATE for ``/name [subcommand]`` with ``options`` in a guild text channel.

        ``subcommand`` is ``"add"`` or ``"group add"``; ``options`` go inside it. ``attachments`` maps an
        ATTACHMENT option's name to ``(filename, bytes)``: the bytes are served by the fake and described
        in ``data.resolved.attachments``. ``guild_command`` sets ``data.guild_id`` (default: whether the
        command was synced to that guild).
        """
        return slash(
            self.world,
            name,
            options,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            token=token,
            subcommand=subcommand,
            attachments=attachments,
            guild_command=guild_command,
        )

    def autocomplete_interaction(
        self,
        name: str,
        focused: str,
        value: str | int | float = "",
        options: Sequence[JSON] = (),
        *,
        user_id: Id,
        focused_type: int = STRING,
        guild_id: Id | None = None,
        channel_id: Id | None = None,
        permissions: str = DEFAULT_PERMISSIONS,
        subcommand: str | None = None,
        guild_command: bool | None = None,
    ) -> JSON:
        """An autocomplete INTERACTION_CREATE (type 4): the user has typed ``value`` into ``focused``."""
        return autocomplete(
            self.world,
            name,
            focused,
            value,
            options,
            focused_type=focused_type,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            subcommand=subcommand,
            guild_command=guild_command,
        )

    def component_interaction(
        self,
        message_id: Id,
        custom_id: str,
        *,
        user_id: Id,
        component_type: int = payloads.BUTTON,
        values: Sequence[str] | None = None,
        permissions: str = DEFAULT_PERMISSIONS,
        token: str | None = None,
    ) -> JSON:
        """A component INTERACTION_CREATE (type 3) on a message the bot sent (a key of ``bot_messages``)."""
        return component(
            self.world,
            message_id,
            custom_id,
            user_id=user_id,
            component_type=component_type,
            values=values,
            permissions=permissions,
            token=token,
        )

    def message_create(
        self,
        content: str,
        *,
        author_id: Id,
        channel_id: Id | None = None,
        guild_id: Id | None = None,
        mentions: Sequence[Id | JSON] = (),
        message_reference: JSON | None = None,
        reply_to: Id | None = None,
    ) -> JSON:
        """A MESSAGE_CREATE payload for a user's message (stored, so the bot can fetch or reply to it).

        ``reply_to`` (a stored message id) or ``message_reference`` make it a reply; a reply to a stored
        message carries it as ``referenced_message``, as Discord does.
        """
        return user_message(
            self.world,
            content,
            author_id=author_id,
            channel_id=channel_id,
            guild_id=guild_id,
            mentions=mentions,
            message_reference=message_reference,
            reply_to=reply_to,
        )

    def mention_message(
        self,
        text: str,
        *,
        author_id: Id,
        channel_id: Id | None = None,
        guild_id: Id | None = None,
        reply_to: Id | None = None,
    ) -> JSON:
        """A MESSAGE_CREATE for ``<@bot> text``, with the bot in ``mentions``."""
        return self.message_create(
            f"<@{self.application_id}> {text}",
            author_id=author_id,
            channel_id=channel_id,
            guild_id=guild_id,
            mentions=[self.application_id],
            reply_to=reply_to,
        )
