"""Read story files (.txt, .md, .html, .epub; AO3 downloads included) into Story objects."""

from __future__ import annotations

import os
from pathlib import Path

from index.errors import InputError
from index.models import Story
from index.readers.chapters import detect_chapters, markdown_title
from index.readers.epub import read_epub
from index.readers.html import read_html
from index.readers.ids import default_story_id, validate_story_id
from index.readers.layout import Parsed, lay_out
from index.readers.text import read_text

__all__ = [
    "SUPPORTED_SUFFIXES",
    "default_story_id",
    "detect_chapters",
    "read_story",
    "story_files",
    "validate_story_id",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".text", ".html", ".htm", ".epub")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_HTML_SUFFIXES = (".html", ".htm")
_READS = ".txt, .md, .html and .epub"


def read_story(path: Path, story_id: str | None = None, title: str | None = None) -> Story:
    """Read one story file into a Story; raise InputError if it cannot be used."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    _check_suffix(path)
    suffix = path.suffix.lower()
    if suffix in _HTML_SUFFIXES or suffix == ".epub":
        parsed = read_html(path) if suffix in _HTML_SUFFIXES else read_epub(path)
        return _structured(path, parsed, story_id, title)
    decoded = read_text(path)
    markdown = path.suffix.lower() in _MARKDOWN_SUFFIXES
    sid = validate_story_id(story_id) if story_id is not None else default_story_id(path)
    if title is None or not title.strip():
        title = (markdown_title(decoded.text) if markdown else None) or _title_from_stem(path)
    return Story(
        id=sid,
        title=" ".join(title.split()),
        text=decoded.text,
        chapters=detect_chapters(decoded.text, markdown=markdown),
        source=path.name,
        warnings=decoded.warnings,
    )


def story_files(path: Path) -> list[Path]:
    """Return ``[path]`` for a file, or the supported story files under a folder, sorted."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for folder, dirs, files in os.walk(path):
        # Hidden folders (.git, .venv) hold tooling, never stories.
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            Path(folder, name)
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
        )
    if not found:
        raise InputError(f"no stories (.txt, .md, .html, .epub) in {path}")
    return sorted(found, key=lambda p: p.relative_to(path).parts)


def _check_suffix(path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{path.suffix}'" if path.suffix else "(none)"
        raise InputError(f"unsupported format {shown}: storybot reads {_READS}")


def _structured(path: Path, parsed: Parsed, story_id: str | None, title: str | None) -> Story:
    """A Story from what the HTML or EPUB reader found."""
    sid = validate_story_id(story_id) if story_id is not None else default_story_id(path)
    if title is None or not title.strip():
        title = parsed.title if parsed.title.strip() else _title_from_stem(path)
    title = " ".join(title.split())
    text, chapters = lay_out(parsed.sections, untitled=title)
    return Story(
        id=sid,
        title=title,
        text=text,
        chapters=chapters,
        source=path.name,
        warnings=parsed.warnings,
        meta=parsed.meta,
    )


def _title_from_stem(path: Path) -> str:
    words = path.stem.replace("-", " ").replace("_", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or path.stem
