"""`storybot doctor`: a healthy setup passes; a broken one names each problem and how to fix it."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.cli import run
from bot.cli.doctor import lenient_settings
from bot.doctor import (
    Finding,
    check_discord,
    check_heartbeat,
    check_library,
    check_llm,
    check_prompts,
    check_token,
    check_writable_dir,
    summary,
)
from bot.prompts import REPO_PROMPTS, load_prompts, render_samples
from index.chunking import ChunkParams
from index.store import DB_NAME, Library
from tests.bot_harness import storybot_command
from tests.fake_discord import FakeDiscord
from tests.fakes import HashEmbedder, put, story_from_text
from tests.llm_server import LLMServer, free_port

API_KEY = "sk-doctor-test-key-never-shown"


def shaped_token(bot_id: int | str) -> str:
    """A token of Discord's shape: base64url(bot id), a timestamp part and an HMAC part."""
    first = base64.urlsafe_b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{first}.GzYxWv.{'s3cr3t-HMAC_part' * 2}abcdef"


def text_of(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in f.lines())


def problems_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("problem ")]


# -- the token ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("", "STORYBOT_DISCORD_TOKEN is not set"),
        ("   ", "STORYBOT_DISCORD_TOKEN is not set"),
        (f"Bot {shaped_token(123)}", "starts with 'Bot '"),
        (f'"{shaped_token(123)}"', "in quotes"),
        (f"'Bot {shaped_token(123)}'", "in quotes and starts with 'Bot '"),
        (shaped_token(123).replace(".", ". ", 1), "spaces or line breaks"),
        ("1234567890123456789", "19-digit number: an application or client id"),
        ("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE", "OAuth2 client secret"),
        ("9f" * 32, "public key"),
        ("just-some-text", "has no dots"),
        ("MTIz.abc", "this has 2"),
        ("YWJj.abc.def", "does not decode to a bot id"),
        ("MTIz.a+b.c/d", "characters a bot token never has"),
    ],
)
def test_each_token_mistake_is_named_without_showing_the_token(value: str, named: str) -> None:
    finding, token = check_token(SecretStr(value))
    assert finding.status == "problem"
    assert token is None
    assert named in finding.text
    assert "Developer Portal" in finding.fix
    if len(value.strip()) > 3:
        assert value.strip() not in text_of([finding])


def test_a_well_shaped_token_gives_its_bot_id_and_length_only() -> None:
    token = shaped_token(1234567890123456789)
    finding, usable = check_token(SecretStr(f"  {token}\n"))
    assert finding.status == "ok"
    assert usable == token
    assert "bot id 1234567890123456789" in finding.text
    assert f"{len(token)} characters" in finding.text
    assert "ignored" in finding.notes[0]
    assert token not in text_of([finding])


def test_discord_accepts_rejects_or_cannot_be_reached() -> None:
    async def main() -> tuple[Finding, Finding, Finding]:
        async with FakeDiscord() as fake:
            token = shaped_token(fake.application_id)
            accepted = await asyncio.to_thread(check_discord, fake.base_url, token)
            fake.fail_next("GET", r"/users/@me$", 401)
            rejected = await asyncio.to_thread(check_discord, fake.base_url, token)
            login = next(r for r in fake.requests if r.path.endswith("/users/@me"))
            assert login.headers["Authorization"] == f"Bot {token}"
        gone = await asyncio.to_thread(check_discord, f"http://127.0.0.1:{free_port()}/api/v10", token)
        return accepted, rejected, gone

    accepted, rejected, gone = asyncio.run(main())
    assert accepted.status == "ok"
    assert "the bot is storybot" in accepted.text
    assert rejected.status == "problem"
    assert "rejected the token" in rejected.text
    assert "Reset Token" in rejected.fix
    assert gone.status == "problem"
    assert "cannot reach" in gone.text
    assert "connection refused" in gone.text


# -- settings -------------------------------------------------------------------------------------
def test_each_invalid_setting_is_named_and_the_rest_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBOT_QUERY_THREADS", "0")
    monkeypatch.setenv("STORYBOT_COOLDOWN_SECONDS", "soon")
    monkeypatch.setenv("STORYBOT_SHARD_IDS", "0,1")  # needs STORYBOT_SHARD_COUNT: a check across fields
    monkeypatch.setenv("STORYBOT_LLM_MODEL", "llama3.2")
    settings, problems = lenient_settings()
    named = [line.split(":")[0] for line in problems]
    assert named == [
        "STORYBOT_QUERY_THREADS",
        "STORYBOT_COOLDOWN_SECONDS",
        "STORYBOT_SHARD_IDS needs STORYBOT_SHARD_COUNT",
    ]
    assert (settings.query_threads, settings.cooldown_seconds, settings.shard_ids) == (1, 30.0, None)
    assert settings.llm_model == "llama3.2"  # valid settings are still read from the environment


def test_other_commands_still_refuse_invalid_settings_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORYBOT_QUERY_THREADS", "0")
    assert run(["list"]) == 1
    err = capsys.readouterr().err
    assert "STORYBOT_QUERY_THREADS" in err
    assert len(err.strip().splitlines()) == 1


# -- files ----------------------------------------------------------------------------------------
def test_data_dirs_that_are_or_sit_under_a_file_are_problems(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    is_file = check_writable_dir("data dir", blocker, "fix it")
    under_file = check_writable_dir("data dir", blocker / "data", "fix it")
    assert is_file.status == under_file.status == "problem"
    assert "is a file, not a directory" in is_file.text
    assert f"cannot be created: {blocker} is a file" in under_file.text
    assert under_file.fix == "fix it"
    heartbeat = check_heartbeat(blocker / "heartbeat.json")
    assert heartbeat.status == "problem"
    assert "STORYBOT_HEARTBEAT_FILE" in heartbeat.fix


def test_a_data_dir_to_be_created_is_fine_and_is_not_created(tmp_path: Path) -> None:
    found = check_writable_dir("data dir", tmp_path / "new" / "data", "fix it")
    assert found.status == "ok"
    assert "does not exist yet" in found.text
    assert not (tmp_path / "new").exists()
    assert check_writable_dir("data dir", tmp_path, "fix it").text == f"data dir: {tmp_path} is writable"
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


# -- the library ----------------------------------------------------------------------------------
def hash_library(tmp_path: Path, embedder: HashEmbedder) -> Path:
    root = tmp_path / "lib"
    library = Library.create_or_open(
        root, embedder.model_id, embedder.dimension, ChunkParams(target_chars=120)
    )
    for story_id in ("alpha", "beta"):
        text = "\n\n".join(f"Chapter {c}\n\nIn chapter {c} {story_id} walked to the river." for c in (1, 2))
        put(library, embedder, story_from_text(tmp_path, text, story_id))
    library.close()
    return root


def sql(root: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(root / DB_NAME)
    with conn:
        conn.execute(statement, args)
    conn.close()


def test_a_consistent_library_verifies_and_notes_a_missing_cache(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    root = hash_library(tmp_path, embedder)
    library = Library.open(root)
    try:
        assert library.verify(embedder.dimension) == ([], [])
        for cache in root.glob("vectors.*.faiss"):
            cache.unlink()
        problems, notes = library.verify(embedder.dimension)
        assert problems == []
        assert "no FAISS cache" in notes[0]
        assert "rebuilds it from SQLite" in notes[0]
        assert library.verify(embedder.dimension + 1).problems == [
            f"its vectors have {embedder.dimension} dimensions, the model's have {embedder.dimension + 1}"
        ]
    finally:
        library.close()


def test_verify_names_each_story_whose_rows_disagree_with_the_manifest(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    root = hash_library(tmp_path, embedder)
    sql(root, "DELETE FROM passages WHERE rowid = (SELECT max(rowid) FROM passages WHERE story='alpha')")
    sql(root, "DELETE FROM chapters WHERE story='beta' AND number=2")
    library = Library.open(root)
    try:
        before = library.generation
        problems, notes = library.verify(embedder.dimension)
        assert library.generation == before
    finally:
        library.close()
    assert problems == [
        "story 'alpha': the manifest records 2 passages, SQLite holds 1",
        "story 'beta': the manifest records 2 chapters, SQLite holds 1",
    ]
    assert notes == []  # opening it rebuilt the FAISS cache for the rows that are left
    findings = check_library(root, embedder)
    assert [f.status for f in findings] == ["problem"] * 2
    assert all("--replace" in f.fix for f in findings)


def test_verify_names_vectors_of_the_wrong_size(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    root = hash_library(tmp_path, embedder)
    sql(root, "UPDATE passages SET vector = zeroblob(8) WHERE story='beta'")
    (found,) = check_library(root, embedder)
    assert found.text == f"library: story 'beta': 2 vectors are not {embedder.dimension} float32 values"


def test_a_library_of_another_model_says_how_to_reindex(tmp_path: Path) -> None:
    root = hash_library(tmp_path, HashEmbedder())
    (found,) = check_library(root, HashEmbedder(model_id="another-model"))
    assert found.status == "problem"
    assert "built with 'fake-hash', not 'another-model'" in found.text
    assert "STORYBOT_EMBEDDING_MODEL=fake-hash" in found.fix


def test_no_library_yet_is_fine(tmp_path: Path) -> None:
    (found,) = check_library(tmp_path, None)
    assert found.status == "ok"
    assert "no library yet: ingest a story with `storybot ingest`" in found.text


def test_a_file_that_is_not_a_library_is_named(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not SQLite at all" * 100)
    (found,) = check_library(tmp_path, None)
    assert found.status == "problem"
    assert "not a storybot library" in found.text


# -- prompts and the LLM --------------------------------------------------------------------------
def test_the_bundled_prompts_render_and_a_typo_in_a_custom_folder_is_named(tmp_path: Path) -> None:
    assert len(render_samples(load_prompts())) == 3
    assert check_prompts(None).status == "ok"
    for template in REPO_PROMPTS.glob("*.txt"):
        shutil.copy(template, tmp_path)
    answer = tmp_path / "answer.user.txt"
    answer.write_text(answer.read_text(encoding="utf-8").replace("$question", "$questoin"), encoding="utf-8")
    found = check_prompts(tmp_path)
    assert found.status == "problem"
    assert found.text == (
        "prompts: the answer prompts use $questoin; storybot gives them only $passages, $history, $question"
    )
    missing = check_prompts(tmp_path / "absent")
    assert "no prompts folder" in missing.text
    assert "STORYBOT_PROMPTS_DIR" in missing.fix


@asynccontextmanager
async def openai_like(models: list[str], *, key: str = "") -> AsyncIterator[str]:
    """A tiny OpenAI-compatible `GET /v1/models` on 127.0.0.1; yields its base URL."""

    async def list_models(request: web.Request) -> web.Response:
        if key and request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"error": "bad key"}, status=401)
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})

    app = web.Application()
    app.router.add_get("/v1/models", list_models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


def test_the_llm_endpoint_its_key_and_its_model() -> None:
    def check(base: str, model: str, key: str | None = None) -> Callable[[], list[Finding]]:
        return lambda: check_llm(base, model, SecretStr(key) if key else None)

    async def main() -> dict[str, list[Finding]]:
        async with openai_like(["llama3.2:latest", "qwen2.5:0.5b"], key=API_KEY) as base:
            return {
                name: await asyncio.to_thread(thunk)
                for name, thunk in {
                    "served": check(base, "llama3.2", API_KEY),
                    "absent": check(base, "mistral", API_KEY),
                    "unset": check(base, "", API_KEY),
                    "no key": check(base, "llama3.2"),
                    "wrong path": check(base.removesuffix("/v1"), "llama3.2", API_KEY),
                }.items()
            }

    found = asyncio.run(main())
    assert [f.status for f in found["served"]] == ["ok", "ok"]
    assert found["served"][1].text == "LLM model: the endpoint serves llama3.2"
    assert found["absent"][1].status == "problem"
    assert "does not serve 'mistral'" in found["absent"][1].text
    assert "llama3.2:latest, qwen2.5:0.5b" in found["absent"][1].fix
    assert "STORYBOT_LLM_MODEL is not set" in found["unset"][1].text
    assert "refused the API key (HTTP 401)" in found["no key"][0].text
    assert "HTTP 404" in found["wrong path"][0].text
    assert "/v1" in found["wrong path"][0].fix
    assert API_KEY not in text_of([f for fs in found.values() for f in fs])
    (off,) = check_llm(None, "", None)
    assert off.status == "skipped"


@pytest.mark.llm
def test_a_real_llama_cpp_server_and_its_model_pass(llm_server: LLMServer) -> None:
    served, model = check_llm(llm_server.base_url, llm_server.model, None)
    assert (served.status, model.status) == ("ok", "ok"), model.text
    assert model.text == f"LLM model: the endpoint serves {llm_server.model}"


# -- the whole report -----------------------------------------------------------------------------
def test_summary_counts_problems_and_skips() -> None:
    assert summary([Finding("ok", "a"), Finding("skipped", "b")]) == "doctor: all good (1 skipped)"
    assert summary([Finding("problem", "a", "x"), Finding("problem", "b", "y")]).startswith(
        "doctor: 2 problems"
    )


def test_doctor_as_a_process_passes_a_healthy_setup_then_names_each_problem_of_a_broken_one(
    tmp_path: Path, demo_library: Path
) -> None:
    healthy_data = tmp_path / "healthy"
    shutil.copytree(demo_library, healthy_data)
    broken_data = tmp_path / "broken"
    shutil.copytree(demo_library, broken_data)
    sql(
        broken_data, "DELETE FROM passages WHERE rowid IN (SELECT rowid FROM passages ORDER BY rowid LIMIT 3)"
    )
    prompts = tmp_path / "prompts"
    shutil.copytree(REPO_PROMPTS, prompts)
    (prompts / "summary.system.txt").unlink()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")

    async def doctor(env: dict[str, str]) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            *storybot_command(),
            "doctor",
            env=os.environ | env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 180)
        assert process.returncode is not None
        return process.returncode, out.decode()

    async def main() -> tuple[tuple[int, str], tuple[int, str], str]:
        async with FakeDiscord() as fake:
            token = shaped_token(fake.application_id)
            common = {"STORYBOT_DISCORD_TOKEN": token, "STORYBOT_DISCORD_API_BASE": fake.base_url}
            healthy = await doctor(
                common
                | {
                    "STORYBOT_DATA_DIR": str(healthy_data),
                    "STORYBOT_HEARTBEAT_FILE": str(tmp_path / "run" / "heartbeat.json"),
                }
            )
            fake.fail_next("GET", r"/users/@me$", 401)
            broken = await doctor(
                common
                | {
                    "STORYBOT_DATA_DIR": str(broken_data),
                    "STORYBOT_QUERY_THREADS": "0",
                    "STORYBOT_HEARTBEAT_FILE": str(blocker / "heartbeat.json"),
                    "STORYBOT_PROMPTS_DIR": str(prompts),
                    "STORYBOT_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
                    "STORYBOT_LLM_MODEL": "llama3.2",
                    "STORYBOT_LLM_API_KEY": API_KEY,
                }
            )
        return healthy, broken, token

    (code, out), (broken_code, broken_out), token = asyncio.run(main())
    assert code == 0, out
    assert problems_in(out) == []
    assert "ok      Discord: accepts the token; the bot is storybot" in out
    assert "ok      library: 1 story" in out
    assert "skipped LLM: STORYBOT_LLM_BASE_URL is not set" in out
    assert out.rstrip().endswith("doctor: all good (1 skipped)")

    assert broken_code == 1, broken_out
    problems = problems_in(broken_out)
    expected = [
        "problem settings: STORYBOT_QUERY_THREADS",
        "problem Discord: rejected the token",
        f"problem heartbeat dir: {blocker} is a file",
        "problem library: story 'demo': the manifest records",
        "problem prompts: missing prompt template(s)",
        "problem LLM endpoint: cannot reach",
    ]
    assert len(problems) == len(expected), broken_out
    for line, start in zip(problems, expected, strict=True):
        assert line.startswith(start), broken_out
    assert broken_out.count("fix: ") == len(expected)
    assert "doctor: 6 problems" in broken_out
    for secret in (token, API_KEY):
        assert secret not in out + broken_out


def test_doctor_names_a_missing_token_a_data_dir_that_is_a_file_and_a_model_that_will_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("STORYBOT_EMBEDDING_MODEL", str(tmp_path / "no-such-model"))
    monkeypatch.setenv("STORYBOT_HEARTBEAT_FILE", str(tmp_path / "heartbeat.json"))
    assert run(["doctor", "--data-dir", str(blocker)]) == 1
    out = capsys.readouterr().out
    assert problems_in(out) == [
        "problem token: STORYBOT_DISCORD_TOKEN is not set",
        f"problem data dir: {blocker} is a file, not a directory",
        f"problem model: no model folder at {tmp_path / 'no-such-model'}",
    ]
    assert "skipped Discord" in out
    assert "skipped library: no data dir to look in" in out
