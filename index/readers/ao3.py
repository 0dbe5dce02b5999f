"""Read AO3 downloads (HTML, or the EPUB calibre makes from it): chapter bodies become story text,
summaries and notes become StoryMeta, never story text (see shared/formats/ao3.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

from index.errors import InputError
from index.models import ChapterNotes, StoryMeta
from index.readers.ao3_meta import WORK_LINK, labelled, read_meta, work_title
from index.readers.blocks import attr, blocks, inline_text, tags
from index.readers.layout import Parsed, Section, trim_breaks

ARCHIVE_NAME = "Archive of Our Own"
_HEADING = re.compile(r"Chapter\s+(\d+)(?::\s*(.*))?", re.IGNORECASE | re.DOTALL)
_CHAPTER_END_NOTES = re.compile(r"endnotes\d+")


@dataclass
class _Chapter:
    """One chapter being collected: its AO3 heading, notes and body paragraphs."""

    heading: str = ""
    summary: str = ""
    notes: str = ""
    end_notes: str = ""
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class _Parts:
    """Where a download's preface, chapters and afterword are, over one or more documents."""

    preface: list[Tag] = field(default_factory=list)
    chapters: list[Tag] = field(default_factory=list)
    afterword: list[Tag] = field(default_factory=list)


def is_ao3(doc: BeautifulSoup) -> bool:
    """Return True for an AO3 download: a ``#preface`` whose message links the archive or a work."""
    preface = doc.find(id="preface")
    if not isinstance(preface, Tag):
        return False
    return any(
        inline_text(a) == ARCHIVE_NAME or WORK_LINK.search(attr(a, "href"))
        for a in tags(preface.find_all("a"))
    )


def read_ao3(
    docs: Sequence[BeautifulSoup], name: str, fallback: StoryMeta | None = None, fallback_title: str = ""
) -> Parsed:
    """Read an AO3 download given as its documents in reading order (one for HTML, many for EPUB)."""
    parts = _locate(docs)
    chapters, stray = _authors_chapters(_collect_chapters(parts.chapters))
    if not any(c.paragraphs for c in chapters):
        raise InputError(f"{name} has no readable chapters")
    meta = read_meta(parts.preface, parts.afterword)
    warnings = _count_warnings(name, meta.chapters_posted, len(chapters))
    notes = tuple(
        ChapterNotes(number=n, summary=c.summary, notes=c.notes, end_notes=c.end_notes)
        for n, c in enumerate(chapters, 1)
        if c.summary or c.notes or c.end_notes
    )
    posted = meta.chapters_posted
    update = {"chapter_notes": notes, "chapters_posted": posted or len(chapters), "front_matter": stray}
    meta = meta.model_copy(update=update)
    if fallback is not None:
        meta = _merge(fallback, meta)
    title = work_title(parts.preface) or fallback_title
    sections = tuple(_section(c, n) for n, c in enumerate(chapters, 1))
    return Parsed(title=title, sections=sections, meta=meta, warnings=warnings)


def _authors_chapters(found: list[_Chapter]) -> tuple[list[_Chapter], str]:
    """The author's chapters, and the text of any headless block among them.

    In a multi-chapter download every chapter opens with its "Chapter N" heading group, so a block
    without one (a title or summary page a repackaging tool moved among the chapters) is not a
    chapter; in a single-chapter work the one headless body is the chapter.
    """
    if not any(c.heading for c in found):
        return found, ""
    kept = [c for c in found if c.heading]
    stray = "\n\n".join(p for c in found if not c.heading for p in c.paragraphs)
    return kept, stray


def _count_warnings(name: str, declared: int | None, found: int) -> tuple[str, ...]:
    """Say so when the chapters found differ from the count the work's stats declare."""
    if declared is None or declared == found:
        return ()
    return (f"{name}: the work declares {declared} chapters (its Chapters: line) but {found} were found",)


def _locate(docs: Sequence[BeautifulSoup]) -> _Parts:
    """Find the preface, chapter containers and afterword; calibre splits them over files."""
    parts = _Parts()
    for doc in docs:
        preface, afterword = doc.find(id="preface"), doc.find(id="afterword")
        containers = tags(doc.find_all(id="chapters"))
        if isinstance(preface, Tag):
            parts.preface.append(preface)
        parts.chapters.extend(containers)
        if isinstance(afterword, Tag):
            parts.afterword.append(afterword)
        if isinstance(preface, Tag) or isinstance(afterword, Tag) or containers:
            continue
        # A file whose wrapper lost its id: AO3's own labels say which part it is; otherwise,
        # before any chapter it continues the preface, after one it holds more chapter text.
        root = doc.body or doc
        if _is_preface_part(root):
            parts.preface.append(root)
        elif _is_afterword_part(root):
            parts.afterword.append(root)
        else:
            (parts.chapters if parts.chapters else parts.preface).append(root)
    return parts


def _is_preface_part(root: Tag) -> bool:
    """The preface's labels: the byline, "Summary" or "Notes" over a blockquote, the tag list."""
    if root.find(class_="byline") is not None:
        return True
    if any(inline_text(dt).rstrip(":").casefold() in ("rating", "stats") for dt in tags(root.find_all("dt"))):
        return True
    return any(labelled([root], label) for label in ("Summary", "Notes"))


def _is_afterword_part(root: Tag) -> bool:
    """The afterword's "End Notes" label or its closing plea for comments."""
    text = inline_text(root).casefold()
    return bool(labelled([root], "End Notes")) or "drop by the archive and comment" in text


def _collect_chapters(containers: Sequence[Tag]) -> list[_Chapter]:
    """Walk the chapter containers' children: heading group, body, chapter end notes, repeated.

    After a heading group the next element is always the body, even if the author's text opens
    with its own "Chapter 1" heading; a single-chapter work has a body and nothing else.
    """
    chapters: list[_Chapter] = []
    expect_body = False
    for container in containers:
        for child in _children(container):
            if _CHAPTER_END_NOTES.fullmatch(attr(child, "id")) and chapters:
                chapters[-1].end_notes = labelled([child], "Chapter End Notes")
            elif not expect_body and _chapter_heading(child) is not None:
                chapters.append(_heading_group(child))
                expect_body = True
            else:
                if not chapters:
                    chapters.append(_Chapter())
                chapters[-1].paragraphs.extend(_body(child))
                expect_body = False
    return chapters


def _children(container: Tag) -> list[Tag]:
    """The container's element children, looking through wrappers that hold only one element."""
    children = tags(container.children)
    while len(children) == 1 and children[0].name.lower() == "div" and not attr(children[0], "id"):
        if _chapter_heading(children[0]) is not None:
            break
        inner = tags(children[0].children)
        if not inner:
            break
        children = inner
    return children


def _chapter_heading(tag: Tag) -> Tag | None:
    """The ``h2`` "Chapter N[: Title]" opening a heading group, if ``tag`` is one."""
    first = next(iter(tags(tag.children)), None)
    if first is None or first.name.lower() != "h2" or not _HEADING.fullmatch(inline_text(first)):
        return None
    return first


def _heading_group(group: Tag) -> _Chapter:
    heading = _chapter_heading(group)
    return _Chapter(
        heading=inline_text(heading) if heading is not None else "",
        summary=labelled([group], "Chapter Summary"),
        notes=labelled([group], "Chapter Notes"),
    )


def _body(tag: Tag) -> list[str]:
    return [b.text for b in blocks(tag) if b.kind != "anchor"]


def _section(chapter: _Chapter, number: int) -> Section:
    paragraphs = trim_breaks(chapter.paragraphs)
    if not chapter.heading:
        # A single-chapter work has no chapter heading: the work's title opens the text.
        return Section(title="", heading="", paragraphs=paragraphs)
    found = _HEADING.fullmatch(chapter.heading)
    title = found.group(2).strip() if found and found.group(2) and found.group(2).strip() else ""
    return Section(title=title or f"Chapter {number}", heading=chapter.heading, paragraphs=paragraphs)


def _merge(fallback: StoryMeta, found: StoryMeta) -> StoryMeta:
    """Fields the download's preface states win; the package metadata fills the gaps."""
    update: dict[str, object] = {}
    for name in StoryMeta.model_fields:
        value = getattr(found, name)
        if value not in ("", (), None) and not (name == "rating" and value == "unrated"):
            update[name] = value
    return fallback.model_copy(update=update)
