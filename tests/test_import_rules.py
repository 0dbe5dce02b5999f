"""Layering rules, checked on the source: index/ stays free of the bot and of network clients."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_INDEX = frozenset({"bot", "discord", "openai", "httpx", "aiohttp", "pydantic_settings"})


def module_name(path: Path) -> str:
    """Dotted module name of a file under ROOT ('bot/exts/ask.py' -> 'bot.exts.ask')."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of every module an import statement in ``source`` may bind.

    ``from a.b import c`` yields both 'a.b' and 'a.b.c' (c may be a submodule); relative imports
    are resolved against ``module``. Imports anywhere count, including inside functions and
    ``if TYPE_CHECKING`` blocks.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base:
                found.add(base)
            found.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return found


def top_levels(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def python_files(folder: str) -> list[Path]:
    base = ROOT / folder
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


# -- the checker itself -------------------------------------------------------------------------


def test_checker_sees_every_import_form() -> None:
    source = (
        "import os, discord.ext.commands as c\n"
        "from httpx import AsyncClient\n"
        "from . import sibling\n"
        "from ..store import Library\n"
        "def f():\n"
        "    import openai\n"
        "if TYPE_CHECKING:\n"
        "    from bot.exts import other\n"
    )
    names = imported_modules(source, "bot.exts.ask")
    assert {"os", "discord.ext.commands", "httpx", "openai", "bot.exts.other"} <= names
    assert {"bot.exts.sibling", "bot.store", "bot.store.Library"} <= names
    assert top_levels(names) >= {"os", "discord", "httpx", "openai", "bot"}


def test_checker_resolves_relative_imports_in_a_package() -> None:
    names = imported_modules("from .util import x\nfrom . import y\n", "bot.exts", is_package=True)
    assert {"bot.exts.util", "bot.exts.y"} <= names


# -- the rules ----------------------------------------------------------------------------------


def test_index_imports_no_bot_or_network_code() -> None:
    files = python_files("index")
    assert len(files) >= 10  # the scan really covers the package
    offenders = {
        str(path.relative_to(ROOT)): sorted(top_levels(imports_of(path)) & FORBIDDEN_IN_INDEX)
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def extension(name: str) -> str | None:
    """The extension a module belongs to: 'bot.exts.ask.views' -> 'ask'; None outside bot.exts."""
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["bot", "exts"] else None


def test_extension_of_module_names() -> None:
    assert extension("bot.exts.ask") == "ask"
    assert extension("bot.exts.ask.views") == "ask"
    assert extension("bot.exts") is None
    assert extension("bot.answering") is None


def test_bot_exts_do_not_import_each_other() -> None:
    files = [p for p in python_files("bot/exts") if p.name != "__init__.py" or p.parent != ROOT / "bot/exts"]
    offenders: dict[str, list[str]] = {}
    for path in files:
        own = extension(module_name(path))
        others = sorted(name for name in imports_of(path) if extension(name) not in (None, own))
        if others:
            offenders[str(path.relative_to(ROOT))] = others
    assert offenders == {}


@pytest.mark.parametrize("folder", ["index", "bot"])
def test_only_embedding_module_imports_sentence_transformers(folder: str) -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for path in python_files(folder)
        if "sentence_transformers" in top_levels(imports_of(path))
    )
    assert users == (["index/embedding.py"] if folder == "index" else [])


@pytest.mark.parametrize("folder", ["index", "bot"])
def test_nothing_the_bot_runs_imports_the_training_code(folder: str) -> None:
    # The bot loads only the exported file: training needs torch, datasets and accelerate.
    users = sorted(
        str(path.relative_to(ROOT))
        for path in python_files(folder)
        if top_levels(imports_of(path)) & {"training", "datasets", "accelerate"}
    )
    assert users == []


def test_the_reranker_runs_without_torch() -> None:
    # ONNX Runtime and tokenizers only: a query must not wait on torch's per-operator overhead.
    assert "torch" not in top_levels(imports_of(ROOT / "index" / "rerank.py"))
