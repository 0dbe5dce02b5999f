"""The built image, run for real under Podman: `make image`, then `make container-test`.

Deselected from the plain `pytest` run (pyproject.toml's addopts): these need Podman and the image, and
fail, not skip, when either is missing, so that a run that selects them cannot pass without them.
The figures they measure (time to healthy, stop time) are printed with a ``figure:`` prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot_harness import PROCESS_TOKEN, READER, embed_text
from tests.container_files import COMPOSE_FILE, ENV_EXAMPLE, REPO
from tests.fake_discord import FakeDiscord, option

pytestmark = pytest.mark.container

IMAGE = os.environ.get("STORYBOT_TEST_IMAGE", "localhost/storybot:latest")
DEMO = REPO / "stories" / "demo.txt"
QUESTION = "Who tells Hux to go to bed?"
ANSWER = "Phasma tells him to go to bed"
UID = "10001"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
# compose's stop_grace_period: SIGKILL comes after this, so a clean stop must end well within it.
GRACE = 30
# Without systemd podman has no timer to run healthchecks with, and says "unable to get systemd
# connection to add healthchecks" on every `run` of an image that has one. This makes it skip the
# timer; the tests run `podman healthcheck run` themselves, as the timer would.
PODMAN_ENV = os.environ | {"DISABLE_HC_SYSTEMD": "true"}


def _podman_binary() -> str:
    found = shutil.which("podman")
    if found is None:
        pytest.fail("podman is not installed: scripts/podman-setup.sh (as root) installs it", pytrace=False)
    return found


def podman(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_podman_binary(), *args],
        env=PODMAN_ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {result.returncode}: {result.stderr}", pytrace=False)
    return result


async def podman_async(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """podman without blocking the event loop the fake Discord is served from."""
    process = await asyncio.create_subprocess_exec(
        _podman_binary(),
        *args,
        env=PODMAN_ENV,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return subprocess.CompletedProcess(list(args), process.returncode, out.decode(), err.decode())


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


class Podman:
    """Unique names for a test's containers and volumes, all removed afterwards."""

    def __init__(self) -> None:
        self.prefix = f"storybot-test-{uuid.uuid4().hex[:8]}"
        self.containers: list[str] = []
        self.volumes: list[str] = []

    def container(self, role: str) -> str:
        self.containers.append(f"{self.prefix}-{role}")
        return self.containers[-1]

    def volume(self, role: str = "data") -> str:
        name = f"{self.prefix}-{role}"
        podman("volume", "create", name)
        self.volumes.append(name)
        return name

    def cleanup(self) -> None:
        for name in self.containers:
            podman("rm", "--force", "--time", "0", name, check=False)
        for name in self.volumes:
            podman("volume", "rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def image() -> str:
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"no image {IMAGE}: `make image` builds it", pytrace=False)
    return IMAGE


@pytest.fixture
def pods() -> Iterator[Podman]:
    resources = Podman()
    yield resources
    resources.cleanup()


def _stories_mount() -> list[str]:
    return ["-v", f"{DEMO.parent}:/stories:ro"]


def _ask(image: str, volume: str) -> subprocess.CompletedProcess[str]:
    return podman(
        "run", "--rm", "--network=none", "-v", f"{volume}:/data", image, "ask", QUESTION, "--story", "demo"
    )


def _ingest(image: str, volume: str, *, name: str | None = None) -> subprocess.CompletedProcess[str]:
    named = ["--name", name] if name else ["--rm"]
    return podman(
        "run", *named, "--network=none", "-v", f"{volume}:/data", *_stories_mount(),
        image, "ingest", "/stories/demo.txt", "--story-id", "demo",
    )  # fmt: skip


@pytest.fixture(scope="session")
def demo_volume(image: str) -> Iterator[str]:
    """A named volume holding the demo story, ingested by the image itself."""
    resources = Podman()
    volume = resources.volume("demo")
    _ingest(image, volume)
    yield volume
    resources.cleanup()


# -- the CLI, offline, in a named volume ----------------------------------------------------------------


def test_ingest_then_ask_offline_and_the_library_outlives_the_container(image: str, pods: Podman) -> None:
    volume = pods.volume()
    ingester = pods.container("ingest")
    ingest = _ingest(image, volume, name=ingester)
    no_traceback(ingest.stdout, ingest.stderr)
    podman("rm", ingester)  # the container is gone; the library is in the volume
    answer = _ask(image, volume)
    assert ANSWER in answer.stdout
    assert "Chapter" in answer.stdout
    no_traceback(answer.stdout, answer.stderr)


def test_it_runs_as_uid_10001_and_owns_its_volume(image: str, demo_volume: str) -> None:
    user = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert user.split(":")[0] == UID
    ids = podman("run", "--rm", "--network=none", "--entrypoint", "id", image).stdout
    assert ids.startswith(f"uid={UID}(storybot) gid={UID}(storybot)")
    owners = podman(
        "run", "--rm", "--network=none", "-v", f"{demo_volume}:/data", "--entrypoint", "stat", image,
        "-c", "%u", "/data", "/data/library.sqlite",
    ).stdout.split()  # fmt: skip
    assert set(owners) == {UID}


def test_a_fresh_container_ingests_with_the_int8_encoder_the_build_made(image: str, demo_volume: str) -> None:
    def run(*args: str) -> str:
        return podman("run", "--rm", "--network=none", "--entrypoint", *args).stdout

    shipped = run("ls", image, "/opt/storybot/cache").split()
    assert [f for f in shipped if f.startswith("passage-encoder-int8-")], shipped
    manifest = json.loads(run("cat", "-v", f"{demo_volume}:/data", image, "/data/manifest.json"))
    assert manifest["encoder"] == "onnx-int8"
    # No token or library in this container, so doctor reports problems and exits non-zero.
    doctor = podman("run", "--rm", "--network=none", image, "doctor", check=False).stdout
    assert "encoder: onnx-int8: passages: ONNX Runtime int8" in doctor


@pytest.mark.parametrize("mount", ["not-its-own", "read-only"])
@pytest.mark.parametrize("command", ["ingest", "run"])
def test_a_data_dir_it_cannot_write_is_one_clear_line(
    image: str, tmp_path: Path, mount: str, command: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()  # root's, mode 755: uid 10001 may read it but not write it
    spec = f"{data}:/data" + (":ro" if mount == "read-only" else "")
    args = ["ingest", "/stories/demo.txt"] if command == "ingest" else ["run"]
    result = podman(
        "run", "--rm", "--network=none", "-v", spec, *_stories_mount(),
        "-e", f"STORYBOT_DISCORD_TOKEN={PROCESS_TOKEN}", image, *args, check=False, timeout=180,
    )  # fmt: skip
    assert result.returncode != 0
    no_traceback(result.stdout, result.stderr)
    # `run` logs its start first (STORYBOT_LOG_FORMAT lines); what is not a log line is the one line.
    lines = [line for line in result.stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert lines == [result.stderr.strip().splitlines()[-1]], result.stderr
    assert lines[0].startswith("storybot: ")
    assert "/data" in lines[0]
    assert "not writable" in lines[0]


# -- the bot, against the fake Discord on the host's loopback ---------------------------------------------


def test_the_bot_answers_turns_healthy_and_stops_cleanly_on_sigterm(
    image: str, demo_volume: str, pods: Podman
) -> None:
    bot = pods.container("bot")

    async def main() -> None:
        async with FakeDiscord() as fake:
            started = time.monotonic()
            run = await podman_async(
                "run", "-d", "--name", bot, "--network=host", "-v", f"{demo_volume}:/data",
                "-e", f"STORYBOT_DISCORD_TOKEN={PROCESS_TOKEN}",
                "-e", f"STORYBOT_DISCORD_API_BASE={fake.base_url}",
                "-e", f"STORYBOT_DISCORD_GATEWAY_URL={fake.gateway_url}",
                image,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
            assert "systemd" not in run.stderr  # the healthcheck warning (PODMAN_ENV)

            # Before the bot is connected, its healthcheck fails. On a loaded machine the check itself
            # can start after the bot has connected, so it is held to that only while the fake
            # Discord has still seen no IDENTIFY once the check is over.
            first = await podman_async("healthcheck", "run", bot)
            if fake.identify_count == 0:
                assert first.returncode == 1, first
                assert "unhealthy" in first.stdout + first.stderr

            await fake.wait_until(lambda: fake.identify_count == 1 and bool(fake.commands), timeout=180)
            while (check := await podman_async("healthcheck", "run", bot)).returncode != 0:
                assert time.monotonic() - started < 180, check
                await asyncio.sleep(0.5)
            print(f"\nfigure: time to healthy {time.monotonic() - started:.1f} s (from `podman run -d`)")
            status = await podman_async("inspect", "--format", "{{.State.Health.Status}}", bot)
            assert status.stdout.strip() == "healthy"

            payload = fake.slash_interaction("ask", [option("question", QUESTION)], user_id=READER)
            await fake.dispatch("INTERACTION_CREATE", payload)
            await fake.wait_for_callback(payload, timeout=20)  # acknowledged
            answer = await fake.wait_for_response(payload, timeout=30)
            assert ANSWER in embed_text(answer)

            stopping = time.monotonic()
            stop = await podman_async("stop", "--time", str(GRACE), bot, timeout=GRACE + 30)
            took = time.monotonic() - stopping
            print(f"figure: `podman stop` took {took:.1f} s (grace {GRACE} s)")
            assert stop.returncode == 0, stop.stderr
            assert took < GRACE - 5  # it exited by itself: SIGKILL never came

    asyncio.run(main())
    state = podman("inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", bot).stdout.split()
    assert state == ["0", "false"]
    logs = podman("logs", bot)
    no_traceback(logs.stdout, logs.stderr)
    assert "fake-secret-token" not in logs.stdout + logs.stderr
    # The library it had open is intact: a new container answers from it.
    assert ANSWER in _ask(image, demo_volume).stdout


# -- docker-compose.yml, through podman's Docker-compatible API ------------------------------------------


def _docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed: apt-get install -y docker-compose", pytrace=False)
    return found


def _host_address() -> str:
    """This machine's address on its default route, which a container on a bridge network can reach."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        address: str = probe.getsockname()[0]
    return address


@pytest.fixture
def docker_api(tmp_path: Path) -> Iterator[str]:
    """`podman system service` on a socket of its own: what DOCKER_HOST points docker-compose at."""
    sock = tmp_path / "podman.sock"
    service = subprocess.Popen(
        [_podman_binary(), "system", "service", "--time=0", f"unix://{sock}"],
        env=PODMAN_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert service.poll() is None, "podman system service exited"
            assert time.monotonic() < deadline, "podman system service did not open its socket"
            time.sleep(0.1)
        yield f"unix://{sock}"
    finally:
        service.terminate()
        service.wait(timeout=30)


async def _compose(project: Path, name: str, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    process = await asyncio.create_subprocess_exec(
        _docker_compose(), "--project-directory", str(project), "-p", name, *args,
        cwd=project, env=env | {"DOCKER_HOST": host},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode is not None
    return subprocess.CompletedProcess(list(args), process.returncode, out.decode(), err.decode())


def test_compose_up_ps_run_and_down_through_podmans_docker_api(
    image: str, tmp_path: Path, docker_api: str, pods: Podman
) -> None:
    project = tmp_path / "project"
    (project / "stories").mkdir(parents=True)
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yml")
    shutil.copy(DEMO, project / "stories" / "demo.txt")
    name = pods.prefix
    # compose makes every volume the file names, the llm profile's included.
    pods.volumes += [f"{name}_storybot-data", f"{name}_ollama-models"]
    # docker-compose.yml's image is storybot:latest, as `docker compose build` names it.
    podman("tag", image, "docker.io/library/storybot:latest")
    host = _host_address()

    async def main() -> None:
        # The bot is on the project's own network: the fake listens beyond loopback, by this address.
        async with FakeDiscord(bind=host, public_host=host) as fake:
            (project / ".env").write_text(
                ENV_EXAMPLE.read_text(encoding="utf-8")
                + f"\nSTORYBOT_DISCORD_TOKEN={PROCESS_TOKEN}\n"
                + f"STORYBOT_DISCORD_API_BASE={fake.base_url}\n"
                + f"STORYBOT_DISCORD_GATEWAY_URL={fake.gateway_url}\n",
                encoding="utf-8",
            )
            try:
                up = await _compose(project, name, docker_api, "up", "-d")
                assert up.returncode == 0, up.stderr
                await fake.wait_until(lambda: fake.identify_count == 1 and bool(fake.commands), timeout=180)
                container = f"{name}_bot_1"
                # No systemd timer here runs the healthcheck (see PODMAN_ENV): run it as one would.
                deadline = time.monotonic() + 120
                while (await podman_async("healthcheck", "run", container)).returncode != 0:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.5)
                ps = await _compose(project, name, docker_api, "ps")
                assert ps.returncode == 0, ps.stderr
                assert "(healthy)" in ps.stdout, ps.stdout

                # Beside the running bot. Not with `run`: Debian's docker-compose 1.29 links a one-off
                # container to the service's running ones, and podman 4.3's API refuses links ("bad
                # parameter: link is not supported"); Docker's compose v2 links nothing.
                beside = await _compose(
                    project, name, docker_api, "exec", "-T", "bot", "storybot", "ingest",
                    "/stories/demo.txt", "--story-id", "demo",
                )  # fmt: skip
                assert beside.returncode == 0, beside.stderr
                no_traceback(beside.stdout, beside.stderr)
                assert (await podman_async("healthcheck", "run", container)).returncode == 0

                stop = await _compose(project, name, docker_api, "stop")
                assert stop.returncode == 0, stop.stderr
                one_off = await _compose(
                    project, name, docker_api, "run", "--rm", "-T", "bot", "ingest", "/stories/demo.txt",
                    "--story-id", "again",
                )  # fmt: skip
                assert one_off.returncode == 0, one_off.stderr
                no_traceback(one_off.stdout, one_off.stderr)
            finally:
                down = await _compose(project, name, docker_api, "down")
            assert down.returncode == 0, down.stderr

    asyncio.run(main())
    assert podman("volume", "exists", f"{name}_storybot-data", check=False).returncode == 0
    # Both stories are in the volume `down` kept.
    for story in ("demo", "again"):
        answer = podman(
            "run", "--rm", "--network=none", "-v", f"{name}_storybot-data:/data", image,
            "ask", QUESTION, "--story", story,
        )  # fmt: skip
        assert ANSWER in answer.stdout
