r"""A fake Discord (REST + gateway) on 127.0.0.1 for driving the real discord.py client in tests.

Usage::

    async with running_fake() as fake:  # or: async with FakeDiscord() as fake, fake.patched_discord():
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        await client.login("fake-token")
        ...  # connect, wait_until_ready
        payload = fake.slash_interaction("ping", [], user_id=...)
        await fake.dispatch("INTERACTION_CREATE", payload)
        callback = await fake.wait_for_callback(payload)
        reply = await fake.wait_for_response(payload)  # the visible message, after any "thinking"

A bot under test that reads its URLs from settings sets ``discord.http.Route.BASE = fake.base_url`` and
``DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)`` instead of ``patched_discord()``.

What the fake keeps: guilds (``add_guild``) and their text channels (``add_channel``), every message the
bot created (``bot_messages``: interaction responses, followups, channel messages, with edits applied)
and every user message built by ``message_create``/``mention_message`` (``messages``), the interactions
it built (so callbacks, followups and ``@original`` edits act on the right message), uploads
(``attachments``) and synced commands (``commands``). The bot's own messages are echoed over the gateway
(MESSAGE_CREATE/UPDATE/DELETE) unless ephemeral, as Discord does.

Shards: the gateway keeps one session per shard, so several clients (or an ``AutoShardedClient``) may be
connected at once. IDENTIFY's ``shard`` = ``[id, count]`` (absent: ``[0, 1]``) picks the session; a new
IDENTIFY of the same shard replaces that shard's session, and an invalid one is closed with 4010. READY
lists, and GUILD_CREATE sends, only the guilds with ``shard_of(guild_id, count) == id``; later guild events
go to the live sessions of the guild's shard, guild-less ones (DMs) to shard 0; ``dispatch`` waits for such
a session. ``add_guild(..., shard=(id, count))`` picks a guild id on a shard, ``live_shards`` lists the
live sessions, ``drop_connection(shard_id=...)`` drops one shard, and ``GET /gateway/bot`` recommends
``FakeDiscord(recommended_shards=...)`` shards.

Facts about discord.py 2.7 that this fake depends on (see discord/http.py, gateway.py, webhook/async_.py):

* REST URLs are ``Route.BASE + path``; ``Route.BASE`` is read when a ``Route`` is built, so patching the class
  attribute redirects both the bot HTTP client and the webhook adapter used by interaction followups.
* A plain ``Client`` connects straight to ``DiscordWebSocket.DEFAULT_GATEWAY`` (no ``GET /gateway/bot``)
  with ``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` if ``zstandard`` is importable). Every
  frame we send is therefore compressed with one zlib stream per connection, ending in a ``Z_SYNC_FLUSH``.
* An ``AutoShardedClient`` asks ``GET /gateway/bot`` (for ``shards`` and ``url``) only without a
  ``shard_count``; it opens one socket per shard, sends ``"shard": [id, count]`` in IDENTIFY, needs
  ``shard`` in READY, and waits 5 s (``before_identify_hook``) before identifying each shard after its first.
  Close code 4010 is final: it closes the client and ``connect()`` raises ``ConnectionClosed``.
* After READY it resumes at READY's ``resume_gateway_url``; an INVALID_SESSION (op 9, ``d: false``) makes it
  identify again at ``DEFAULT_GATEWAY``.
* Replies are parsed as JSON only if ``Content-Type`` is exactly ``application/json`` (no charset).
* A 429 is retried only if the response carries a ``Via`` header and a JSON body with ``retry_after``;
  otherwise discord.py treats it as a Cloudflare ban and raises ``HTTPException``.
* Login calls ``GET /users/@me`` and ``GET /oauth2/applications/@me``.
* Every interaction callback is sent with ``?with_response=1`` and must answer
  ``{"interaction": ..., "resource": ...}``; views sent in a response are keyed by its
  ``response_message_id``, and a click is routed by ``(component_type, message id, custom_id)``.
* INTERACTION_CREATE needs ``attachment_size_limit``; member objects need ``flags``.
* ``CommandTree`` looks a command up among guild commands only when ``data.guild_id`` is present.
* ``Attachment.read()`` GETs ``attachment.url`` through the bot's own aiohttp session, so any URL works.
* ``Interaction.channel`` comes from the guild cache when the guild is cached, else from the payload.
"""

from tests.fake_discord.gateway import shard_of
from tests.fake_discord.payloads import (
    APPLICATION_COMMAND,
    APPLICATION_COMMAND_AUTOCOMPLETE,
    ATTACHMENT,
    AUTOCOMPLETE_RESULT,
    BOOLEAN,
    BUTTON,
    CHANNEL_MESSAGE,
    DEFAULT_PERMISSIONS,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    DISCORD_EPOCH_MS,
    INTEGER,
    JSON,
    MESSAGE_COMPONENT,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    MODAL,
    MODAL_SUBMIT,
    NUMBER,
    PONG,
    STRING,
    STRING_SELECT,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    UPDATE_MESSAGE,
    now_iso,
    option,
)
from tests.fake_discord.rest import API_PREFIX, RecordedRequest, error_response, json_response
from tests.fake_discord.server import FakeDiscord, running_fake

__all__ = [
    "API_PREFIX",
    "APPLICATION_COMMAND",
    "APPLICATION_COMMAND_AUTOCOMPLETE",
    "ATTACHMENT",
    "AUTOCOMPLETE_RESULT",
    "BOOLEAN",
    "BUTTON",
    "CHANNEL_MESSAGE",
    "DEFAULT_PERMISSIONS",
    "DEFERRED_CHANNEL_MESSAGE",
    "DEFERRED_UPDATE",
    "DISCORD_EPOCH_MS",
    "INTEGER",
    "JSON",
    "MESSAGE_COMPONENT",
    "MESSAGE_FLAG_EPHEMERAL",
    "MESSAGE_FLAG_LOADING",
    "MODAL",
    "MODAL_SUBMIT",
    "NUMBER",
    "PONG",
    "STRING",
    "STRING_SELECT",
    "SUB_COMMAND",
    "SUB_COMMAND_GROUP",
    "UPDATE_MESSAGE",
    "FakeDiscord",
    "RecordedRequest",
    "error_response",
    "json_response",
    "now_iso",
    "option",
    "running_fake",
    "shard_of",
]
