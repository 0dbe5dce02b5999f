"""`storybot doctor`'s checks: each says ok, names a problem and how to fix it, or says why it was skipped.

No check ever shows a secret: of the Discord token only its length and the bot id its first part
encodes, of the LLM API key nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import aiohttp
from pydantic import SecretStr

from bot.llm import safe_url
from bot.prompts import PromptError, load_prompts, render_samples
from index.embedding import Embedder, SentenceTransformerEmbedder
from index.errors import StorybotError
from index.onnx_encoder import MANIFEST_NAME, compatible, settings_for
from index.rerank import Reader
from index.store import DB_NAME, Library

Status = Literal["ok", "problem", "skipped"]
# Long enough for a slow network, short enough that a dead endpoint does not stall the report.
TIMEOUT = 5.0
# Discord asks bots for a "DiscordBot (url, version)" user agent; others may be refused at its edge.
USER_AGENT = "DiscordBot (https://github.com/Rapptz/discord.py, storybot-doctor)"
TOKEN_FIX = (
    "copy the bot's token from the Developer Portal (your application → Bot → Reset Token) into "
    "STORYBOT_DISCORD_TOKEN, as it is: no quotes, no 'Bot ' in front"
)
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_MAX_DETAIL = 200


@dataclass(frozen=True)
class Finding:
    """One line of the report, with how to fix a problem and any harmless notes."""

    status: Status
    text: str
    fix: str = ""
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The finding as the report prints it."""
        indent = " " * 8
        out = [f"{self.status:<8}{self.text}"]
        out += [f"{indent}note: {note}" for note in self.notes]
        return out + ([f"{indent}fix: {self.fix}"] if self.fix else [])


def ok(text: str, notes: Iterable[str] = ()) -> Finding:
    """A check that passed."""
    return Finding("ok", text, notes=tuple(notes))


def problem(text: str, fix: str) -> Finding:
    """A check that failed, with what to do about it."""
    return Finding("problem", text, fix=fix)


def skipped(text: str) -> Finding:
    """A check not run, and why."""
    return Finding("skipped", text)


def summary(findings: Iterable[Finding]) -> str:
    """The report's last line."""
    statuses = [f.status for f in findings]
    problems, skips = statuses.count("problem"), statuses.count("skipped")
    if problems:
        return (
            f"doctor: {problems} problem{'s' if problems > 1 else ''}; fix, then run `storybot doctor` again"
        )
    return "doctor: all good" + (f" ({skips} skipped)" if skips else "")


def _detail(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


# -- the Discord token ----------------------------------------------------------------------------
def check_token(secret: SecretStr | None) -> tuple[Finding, str | None]:
    """Whether the token is set and shaped like a bot token; the token as the bot sends it, if so."""
    raw = secret.get_secret_value() if secret else ""
    token = raw.strip()  # as discord.py does at login
    if not token:
        return problem("token: STORYBOT_DISCORD_TOKEN is not set", fix=TOKEN_FIX), None
    mistake = _paste_mistake(token) or _shape_mistake(token)
    if mistake:
        return problem(f"token: {mistake}", fix=TOKEN_FIX), None
    notes = ["the spaces or line breaks around it are ignored"] if raw != token else []
    bot_id = _bot_id(token.split(".")[0])
    return ok(f"token: shaped like a bot token ({len(token)} characters, bot id {bot_id})", notes), token


def _paste_mistake(token: str) -> str | None:
    quoted = token[0] in "\"'" or token[-1] in "\"'"
    prefixed = token.strip("\"'").lower().startswith("bot ")
    if quoted or prefixed:
        found = [what for what, yes in (("is in quotes", quoted), ("starts with 'Bot '", prefixed)) if yes]
        return "the value " + " and ".join(found)
    if any(c.isspace() for c in token):
        return "it contains spaces or line breaks"
    return None


def _shape_mistake(token: str) -> str | None:
    parts = token.split(".")
    if len(parts) == 1:
        if token.isdigit():
            return f"it is a {len(token)}-digit number: an application or client id, not the bot token"
        if len(token) == 64 and all(c in "0123456789abcdef" for c in token.lower()):
            return "it looks like the application's public key, not the bot token"
        if len(token) == 32 and _SEGMENT.fullmatch(token):
            return "it looks like an OAuth2 client secret (32 characters, no dots), not the bot token"
        return "a bot token has three parts separated by dots; this has no dots"
    if len(parts) != 3:
        return f"a bot token has three parts separated by dots; this has {len(parts)}"
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        return "it holds characters a bot token never has (only letters, digits, '-', '_' and two dots)"
    if _bot_id(parts[0]) is None:
        return "its first part does not decode to a bot id: it may be cut short or from another app"
    return None


def _bot_id(segment: str) -> int | None:
    """The bot's user id that a token's first part encodes (base64url, unpadded), if it does."""
    try:
        text = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


# -- HTTP -----------------------------------------------------------------------------------------
class Reply(NamedTuple):
    """An HTTP status and the body's JSON (None when it has none)."""

    status: int
    body: object


class Unreachable(Exception):
    """No HTTP answer at all; the message says why and holds no secret."""


def http_get(url: str, headers: Mapping[str, str], *, timeout: float, trust_env: bool = False) -> Reply:
    """GET ``url`` within ``timeout`` seconds; Unreachable if nothing answers."""

    async def get() -> Reply:
        limit = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=limit, trust_env=trust_env) as session,
            session.get(url, headers=dict(headers), allow_redirects=False) as response,
        ):
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return Reply(response.status, body)

    try:
        return asyncio.run(get())
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout:g} s") from None
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, ConnectionRefusedError):
            raise Unreachable("connection refused (nothing listens there)") from None
        raise Unreachable(exc.os_error.strerror or _detail(exc.os_error)) from None
    except aiohttp.InvalidURL:
        raise Unreachable("not a valid http(s) URL") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise Unreachable(f"the request failed ({type(exc).__name__})") from None


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def check_discord(api_base: str, token: str, timeout: float = TIMEOUT) -> Finding:
    """Whether Discord accepts the token: the login call the bot makes first."""
    if not _is_http(api_base):
        fix = "unset it for Discord's own, https://discord.com/api/v10"
        return problem("Discord: STORYBOT_DISCORD_API_BASE is not an http(s) URL", fix=fix)
    headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
    try:
        reply = http_get(f"{api_base.rstrip('/')}/users/@me", headers, timeout=timeout)
    except Unreachable as exc:
        return problem(
            f"Discord: cannot reach {api_base}: {exc}",
            fix="the bot needs outbound HTTPS to discord.com: check DNS, the firewall and any proxy",
        )
    if reply.status == 401:
        return problem(
            "Discord: rejected the token (HTTP 401)",
            fix="reset it in the Developer Portal (your application → Bot → Reset Token) and set the new one",
        )
    if reply.status != 200 or not isinstance(reply.body, dict):
        return problem(
            f"Discord: answered HTTP {reply.status} to the login check",
            fix="try again in a few minutes (HTTP 429: Discord is rate-limiting this address)",
        )
    user = reply.body
    return ok(f"Discord: accepts the token; the bot is {user.get('username')} (id {user.get('id')})")


# -- files ----------------------------------------------------------------------------------------
def check_writable_dir(what: str, folder: Path, fix: str) -> Finding:
    """Whether ``folder`` takes a new file, or could be created where it does not exist yet."""
    existing = folder
    while not (existing.exists() or existing.is_symlink()) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        if existing == folder:
            return problem(f"{what}: {folder} is a file, not a directory", fix=fix)
        return problem(f"{what}: {folder} cannot be created: {existing} is a file", fix=fix)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return problem(f"{what}: {existing} is not writable ({exc.strerror or exc})", fix=fix)
    if existing != folder:
        return ok(f"{what}: {folder} does not exist yet; the bot can create it in {existing}")
    return ok(f"{what}: {folder} is writable")


def check_heartbeat(path: Path) -> Finding:
    """Whether the bot can replace its heartbeat file, which `storybot health` reads."""
    fix = "set STORYBOT_HEARTBEAT_FILE to a file in a writable directory, e.g. /tmp/storybot-heartbeat.json"
    if path.is_dir():
        return problem(f"heartbeat file: {path} is a directory", fix=fix)
    return check_writable_dir("heartbeat dir", path.parent, fix)


# -- the model and the library --------------------------------------------------------------------
def check_model(
    name: str, load: Callable[[], SentenceTransformerEmbedder]
) -> tuple[Finding, SentenceTransformerEmbedder | None]:
    """Load the embedding model as the bot does and embed one sentence with it."""
    fix = (
        "set STORYBOT_EMBEDDING_MODEL to a sentence-transformers model folder (the bot never downloads one), "
        "or unset it for the bundled default"
    )
    if name.startswith(("/", ".", "~")) and not Path(name).expanduser().exists():
        return problem(f"model: no model folder at {name}", fix=fix), None
    started = time.perf_counter()
    try:
        model = load()
        vector = model.embed_query("Who carried the lantern to the village?")
        if vector.shape != (1, model.dimension):
            raise ValueError(f"it made a vector of shape {vector.shape}")
    except StorybotError as exc:  # already says "cannot load embedding model …"
        return problem(f"model: {_detail(exc)}", fix=fix), None
    except Exception as exc:  # whatever the model library raises, the report goes on
        return problem(f"model: cannot load '{name}': {_detail(exc)}", fix=fix), None
    notes = [] if model.fast_queries else ["questions go through torch: the ONNX export could not be made"]
    took = time.perf_counter() - started
    text = f"model: {model.model_id} loads and embeds ({model.dimension} dimensions, {took:.1f} s)"
    return ok(text, notes), model


def check_encoder(wanted: str, model: SentenceTransformerEmbedder | None) -> Finding:
    """Which runtime embeds passages and questions; an ONNX encoder that could not be made is a note."""
    if model is None:
        return skipped("encoder: checked once the model loads")
    notes = []
    if model.encoder != MANIFEST_NAME.get(wanted, wanted):  # type: ignore[call-overload]
        notes.append(f"the {wanted} ONNX encoder could not be made (the log says why): torch's vectors")
    return ok(f"encoder: {model.encoder}: {model.path}", notes)


def check_reranker(enabled: bool, load: Callable[[], Reader | None]) -> Finding:
    """Load the trained reranker as the bot does; its load checks it against its reference scores."""
    if not enabled:
        return skipped("reranker: off (STORYBOT_RERANK=false): passages come in first-stage order")
    started = time.perf_counter()
    try:
        reader = load()
    except StorybotError as exc:  # "cannot load the reranker …" or "… disagrees with …"
        return problem(
            f"reranker: {_detail(exc)}",
            fix="reinstall storybot (the model ships in index/weights/), or set STORYBOT_RERANK=false",
        )
    layers = reader.spec.layers if reader is not None else 0
    quote = ", with its quote model" if reader is not None and reader.quotes else ""
    took = time.perf_counter() - started
    return ok(
        f"reranker: loads and agrees with its reference scores ({layers} layers, int8{quote}, {took:.1f} s)"
    )


def check_library(data_dir: Path, model: Embedder | None, encoder: str | None = None) -> list[Finding]:
    """Whether the library opens, matches the model and ``encoder``, and its rows match its manifest."""
    if not data_dir.is_dir():
        return [skipped("library: no data dir to look in")]
    if not (data_dir / DB_NAME).is_file():
        return [ok("library: no library yet: ingest a story with `storybot ingest` (or /story add)")]
    try:
        library = Library.open(data_dir)
    except StorybotError as exc:
        fix = "do as it says, or re-index into a new data dir: storybot ingest STORIES --data-dir NEW_DIR"
        return [problem(f"library: {exc}", fix=fix)]
    except Exception as exc:  # e.g. a stored vector of the wrong size fails rebuilding the FAISS cache
        fix = "re-index the stories into a new data dir: storybot ingest STORIES --data-dir NEW_DIR"
        return [problem(f"library: cannot open it: {_detail(exc)}", fix=fix)]
    try:
        manifest = library.manifest
        verification = library.verify(model.dimension if model else None)
    finally:
        library.close()
    findings = []
    if model is not None and manifest.model != model.model_id:
        fix = (
            f"set STORYBOT_EMBEDDING_MODEL={manifest.model}, or re-index into a new data dir: "
            "storybot ingest STORIES --data-dir NEW_DIR"
        )
        findings.append(problem(f"library: built with '{manifest.model}', not '{model.model_id}'", fix=fix))
    if encoder is not None and not compatible(manifest.encoder, encoder):
        fix = (
            f"set STORYBOT_ENCODER={settings_for(manifest.encoder)}, or re-index into "
            "a new data dir: storybot ingest STORIES --data-dir NEW_DIR"
        )
        findings.append(
            problem(f"library: its vectors were made by '{manifest.encoder}', not '{encoder}'", fix)
        )
    for text in verification.problems:
        fix = (
            "re-ingest that story: storybot ingest FILE --story-id ID --replace (or remove it)"
            if text.startswith("story '")
            else "re-index the stories into a new data dir: storybot ingest STORIES --data-dir NEW_DIR"
        )
        findings.append(problem(f"library: {text}", fix=fix))
    if findings:
        return findings
    passages = sum(entry.passages for entry in manifest.stories.values())
    count = len(manifest.stories)
    text = f"library: {count} stor{'y' if count == 1 else 'ies'}, {passages} passages, consistent"
    return [ok(text, verification.notes)]


# -- prompts and the LLM --------------------------------------------------------------------------
def check_prompts(folder: Path | None) -> Finding:
    """Whether every prompt template loads and renders with what the composers give it."""
    try:
        prompts = load_prompts(folder)
        render_samples(prompts)
    except (PromptError, OSError, UnicodeDecodeError) as exc:
        fix = (
            "mend the template (prompts/README.md lists each one's variables), or unset STORYBOT_PROMPTS_DIR"
        )
        return problem(f"prompts: {_detail(exc)}", fix=fix)
    return ok(f"prompts: {len(prompts.names)} templates in {prompts.source} render")


def check_llm(
    base_url: str | None, model: str, api_key: SecretStr | None, timeout: float = TIMEOUT
) -> list[Finding]:
    """Whether the optional LLM endpoint answers and serves the configured model."""
    if not base_url:
        return [skipped("LLM: STORYBOT_LLM_BASE_URL is not set; answers quote the story")]
    url_fix = "set STORYBOT_LLM_BASE_URL to the OpenAI-compatible base URL, e.g. http://ollama:11434/v1"
    if not _is_http(base_url):
        return [problem("LLM endpoint: STORYBOT_LLM_BASE_URL is not an http(s) URL", fix=url_fix)]
    where = safe_url(base_url)
    key = api_key.get_secret_value() if api_key else ""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # With a key the bot sends it, not the URL's user:password (aiohttp refuses to send both).
    url = where if key else base_url
    try:
        # trust_env: the openai client the bot uses honours HTTPS_PROXY and friends too.
        reply = http_get(f"{url.rstrip('/')}/models", headers, timeout=timeout, trust_env=True)
    except Unreachable as exc:
        return [problem(f"LLM endpoint: cannot reach {where}: {exc}", fix=f"start the server, or {url_fix}")]
    if reply.status in (401, 403):
        return [
            problem(
                f"LLM endpoint: {where} refused the API key (HTTP {reply.status})",
                fix="set STORYBOT_LLM_API_KEY",
            )
        ]
    if reply.status != 200:
        return [problem(f"LLM endpoint: {where}/models answered HTTP {reply.status}", fix=url_fix)]
    return [ok(f"LLM endpoint: {where} answers"), _llm_model(model, _model_ids(reply.body))]


def _model_ids(body: object) -> list[str] | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]


def _llm_model(model: str, served: list[str] | None) -> Finding:
    choices = f": one of {', '.join(served[:5])}" if served else ""
    if not model:
        return problem(
            "LLM model: STORYBOT_LLM_MODEL is not set", fix=f"set it to a model the endpoint serves{choices}"
        )
    if served is None:
        return ok(f"LLM model: {model} (the endpoint does not list its models, so unchecked)")
    if model in served or f"{model}:latest" in served:  # Ollama serves "llama3.2" as "llama3.2:latest"
        return ok(f"LLM model: the endpoint serves {model}")
    fix = f"set STORYBOT_LLM_MODEL to a model it serves{choices}, or add it (Ollama: ollama pull {model})"
    return problem(f"LLM model: the endpoint does not serve '{model}'", fix=fix)
