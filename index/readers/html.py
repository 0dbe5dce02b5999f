"""Read an HTML story: an AO3 download, or any page whose chapters are h1/h2 headings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bs4 import Tag

from index.errors import InputError
from index.readers.ao3 import is_ao3, read_ao3
from index.readers.blocks import Block, blocks, inline_text, parse_html
from index.readers.chapters import FRONT_MATTER_MIN_WORDS, FRONT_MATTER_TITLE, detect_chapters
from index.readers.layout import Parsed, Section, join_headings, trim_breaks
from index.readers.markup import decode_markup

MB = 1024 * 1024
MAX_HTML_BYTES = 64 * MB  # a long novel is a few megabytes of HTML
CHAPTER_LEVEL = 2  # h1 and h2 start chapters; h3-h6 are read as text


def read_html(path: Path) -> Parsed:
    """Read the HTML file at ``path``; raise InputError if it has no text."""
    data = _read_bytes(path)
    decoded = decode_markup(data, path.name)
    soup = parse_html(decoded.text)
    if is_ao3(soup):
        return replace(read_ao3([soup], path.name), warnings=decoded.warnings)
    found = blocks(soup.body or soup)
    if not any(b.kind in ("para", "heading") for b in found):
        raise InputError(f"{path.name} has no text")
    title_tag = soup.find("title")
    page_title = inline_text(title_tag) if isinstance(title_tag, Tag) else ""
    found, h1_title = _drop_title_heading(found)
    sections = _by_headings(found) or _by_text(found)
    if not sections:
        raise InputError(f"{path.name} has no text")
    return Parsed(h1_title or page_title, sections, warnings=decoded.warnings)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_HTML_BYTES:
            limit = MAX_HTML_BYTES // MB
            raise InputError(f"{path.name} is {size / MB:.0f} MB; storybot reads HTML files up to {limit} MB")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror or exc}") from exc


def _drop_title_heading(found: list[Block]) -> tuple[list[Block], str]:
    """A lone h1 before any text names the story, not a chapter: take it out."""
    h1s = [i for i, b in enumerate(found) if b.kind == "heading" and b.level == 1]
    if len(h1s) != 1 or any(b.kind == "para" for b in found[: h1s[0]]):
        return found, ""
    if not any(b.kind == "para" for b in found[h1s[0] :]):
        return found, ""  # the heading is all the text there is
    i = h1s[0]
    return found[:i] + found[i + 1 :], found[i].text


def _by_headings(found: Sequence[Block]) -> tuple[Section, ...]:
    """Chapters that start at each h1/h2 (with any headings stacked right under it)."""
    starts = [i for i, b in enumerate(found) if _starts_chapter(found, i)]
    if not starts:
        return ()
    sections: list[Section] = []
    front = _texts(found[: starts[0]])
    if sum(len(p.split()) for p in front) >= FRONT_MATTER_MIN_WORDS:
        sections.append(Section(FRONT_MATTER_TITLE, FRONT_MATTER_TITLE, front))
    for start, end in zip(starts, [*starts[1:], len(found)], strict=True):
        lead = start
        while lead < end and found[lead].kind == "heading":
            lead += 1
        heading = join_headings([b.text for b in found[start:lead]])
        paragraphs = _texts(found[lead:end])
        if paragraphs:
            sections.append(Section(heading, heading, paragraphs))
    return tuple(sections)


def _starts_chapter(found: Sequence[Block], i: int) -> bool:
    block = found[i]
    if block.kind != "heading" or block.level > CHAPTER_LEVEL:
        return False
    return i == 0 or found[i - 1].kind != "heading"  # stacked headings open one chapter


def _by_text(found: Sequence[Block]) -> tuple[Section, ...]:
    """No h1/h2 chapters: find "Chapter 1"-style lines as a .txt file would."""
    text = "\n\n".join(_texts(found))
    sections: list[Section] = []
    for chapter in detect_chapters(text):
        body = trim_breaks(text[chapter.start : chapter.end].split("\n\n"))
        # An untitled single chapter opens with the story's title (filled in by the caller).
        sections.append(Section(chapter.title, chapter.title, body))
    return tuple(sections)


def _texts(found: Sequence[Block]) -> tuple[str, ...]:
    return trim_breaks([b.text for b in found if b.kind != "anchor"])
