"""Read an HTML story: an AO3 download, or any page whose chapters are h1/h2 headings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bs4 import Tag

from index.errors import InputError
from index.models import StoryMeta
from index.readers.ao3 import is_ao3, read_ao3
from index.readers.blocks import Block, blocks, inline_text, parse_html
from index.readers.chapters import FRONT_MATTER_MIN_WORDS, FRONT_MATTER_TITLE, detect_chapters
from index.readers.layout import Parsed, Section, join_headings, trim_breaks
from index.readers.markup import decode_markup
from index.readers.matter import TOC_MIN_LINKS, has_ao3_furniture, is_matter_title, is_short_matter

MB = 1024 * 1024
MAX_HTML_BYTES = 64 * MB  # a long novel is a few megabytes of HTML
CHAPTER_LEVEL = 2  # h1 and h2 start chapters; h3-h6 are read as text


def read_html(path: Path) -> Parsed:
    """Read the HTML file at ``path``; raise InputError if it has no text."""
    data = _read_bytes(path)
    decoded = decode_markup(data, path.name)
    soup = parse_html(decoded.text)
    if is_ao3(soup):
        parsed = read_ao3([soup], path.name)
        return replace(parsed, warnings=decoded.warnings + parsed.warnings)
    found = blocks(soup.body or soup)
    if not any(b.kind in ("para", "heading") for b in found):
        raise InputError(f"{path.name} has no text")
    title_tag = soup.find("title")
    page_title = inline_text(title_tag) if isinstance(title_tag, Tag) else ""
    found, h1_title = _drop_title_heading(found)
    title = h1_title or page_title
    laid = _by_headings(found, title)
    sections = laid.sections or _by_text(found)
    if not sections:
        raise InputError(f"{path.name} has no text")
    meta = StoryMeta(front_matter=laid.front, back_matter=laid.back)
    return Parsed(title, sections, meta=meta, warnings=decoded.warnings)


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


@dataclass(frozen=True)
class _Laid:
    """Chapters found at headings, and the text of the front and back matter left out of them."""

    sections: tuple[Section, ...] = ()
    front: str = ""
    back: str = ""


def _by_headings(found: Sequence[Block], title: str) -> _Laid:
    """Chapters that start at each h1/h2 (with any headings stacked right under it); sections
    that are front or back matter (contents, a summary under the work's title, an afterword)
    go to the metadata instead."""
    starts = [i for i, b in enumerate(found) if _starts_chapter(found, i)]
    if not starts:
        return _Laid()
    sections: list[Section] = []
    front = _texts(found[: starts[0]])
    matter: list[tuple[bool, str]] = []  # (after a chapter, text)
    if sum(len(p.split()) for p in front) >= FRONT_MATTER_MIN_WORDS and not has_ao3_furniture(
        " ".join(front)
    ):
        sections.append(Section(FRONT_MATTER_TITLE, FRONT_MATTER_TITLE, front))
    elif front:
        matter.append((False, "\n\n".join(front)))
    ends = [*starts[1:], len(found)]
    headings = [join_headings(_lead(found, s, e)) for s, e in zip(starts, ends, strict=True)]
    every: list[Section] = []
    for number, (start, end) in enumerate(zip(starts, ends, strict=True)):
        lead = start + len(_lead(found, start, end))
        heading, paragraphs = headings[number], _texts(found[lead:end])
        if not paragraphs:
            continue
        every.append(Section(heading, heading, paragraphs))
        if _is_matter(heading, paragraphs, title, headings[number + 1 :]):
            matter.append((bool(sections), "\n\n".join([heading, *paragraphs])))
        else:
            sections.append(every[-1])
    if not sections:  # nothing but a short page under the work's title: that page is the story
        return _Laid(tuple(every))
    return _Laid(
        tuple(sections),
        "\n\n".join(t for after, t in matter if not after),
        "\n\n".join(t for after, t in matter if after),
    )


def _lead(found: Sequence[Block], start: int, end: int) -> list[str]:
    """The stacked headings that open a chapter."""
    lead = start
    while lead < end and found[lead].kind == "heading":
        lead += 1
    return [b.text for b in found[start:lead]]


def _is_matter(heading: str, paragraphs: Sequence[str], title: str, later: Sequence[str]) -> bool:
    """Contents, notes, a short summary or afterword, AO3 furniture, or a list of later headings."""
    text = " ".join(paragraphs)
    if is_matter_title(heading) or has_ao3_furniture(text) or is_short_matter(heading, text, title):
        return True
    # A table of contents under any heading: short lines naming the chapters that follow.
    named = sum(" ".join(p.split()).casefold() in {h.casefold() for h in later} for p in paragraphs)
    return len(paragraphs) >= TOC_MIN_LINKS and named * 2 >= len(paragraphs)


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
