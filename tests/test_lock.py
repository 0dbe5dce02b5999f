"""constraints.txt, the lock every install takes its versions from (`make lock` writes it)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.container_files import LOCK, REPO

MAKEFILE = REPO / "Makefile"
CI_RUN = REPO / ".ci" / "run"


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"not an exact pin: {line}"
            assert canonicalize_name(name) not in pins, f"pinned twice: {name}"
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = list(project["project"]["dependencies"])
    for extra in project["project"]["optional-dependencies"].values():
        wanted += extra
    wanted += project["build-system"]["requires"]
    return [Requirement(line) for line in wanted]


def test_every_declared_dependency_is_locked_at_a_version_it_accepts() -> None:
    locked = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in constraints.txt: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"constraints.txt has {name}=={locked[name]}, pyproject.toml asks {requirement}: run `make lock`"
        )


def test_torch_is_pinned_without_a_local_label_so_every_source_of_the_cpu_build_meets_it() -> None:
    torch = _locked()["torch"]
    assert torch == "2.13.0"
    assert Version("2.13.0+cpu").public == torch


def test_the_installed_environment_is_the_lock() -> None:
    differ = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        wanted = _locked().get(name)
        if wanted is not None and Version(dist.version).public != wanted:
            differ[name] = (dist.version, wanted)
    assert not differ, f"installed (version, locked): {differ}; `make test` reinstalls from the lock"


def test_every_install_in_the_makefile_and_ci_takes_the_lock() -> None:
    makefile = MAKEFILE.read_text(encoding="utf-8")
    pip = re.search(r"^PIP := (.*)$", makefile, flags=re.MULTILINE)
    assert pip is not None
    assert "--constraint $(LOCK)" in pip[1]
    assert "--build-constraint $(LOCK)" in pip[1]
    assert re.search(r"^LOCK := constraints\.txt$", makefile, flags=re.MULTILINE)
    for line in makefile.splitlines():
        if "pip install" in line and not line.startswith("PIP :="):
            assert "--constraint $(LOCK)" in line, f"an install without the lock: {line.strip()}"
    # The stamps depend on the lock: a new lock reinstalls.
    assert re.search(r"^\$\(STAMP\): .*\$\(LOCK\)", makefile, flags=re.MULTILINE)
    assert "pip install" not in CI_RUN.read_text(encoding="utf-8")
