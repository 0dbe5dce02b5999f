"""Read an EPUB (2 or 3) into chapters: spine order, titles from the TOC or the first heading,
front and back matter left out. AO3 downloads go to the AO3 reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bs4 import BeautifulSoup

from index.errors import InputError
from index.models import StoryMeta
from index.readers.ao3 import ARCHIVE_NAME, is_ao3, read_ao3
from index.readers.archive import SafeZip
from index.readers.blocks import Block, blocks, paragraphs_text, parse_html, words
from index.readers.layout import Parsed, Section, join_headings, trim_breaks
from index.readers.markup import decode_markup
from index.readers.matter import (
    STORY_TYPES,
    Book,
    declared_types,
    first_heading,
    has_ao3_furniture,
    is_matter_title,
    is_matter_type,
    is_short_matter,
    looks_like_matter,
)
from index.readers.package import Package, TocEntry, check_not_encrypted, load_package
from index.readers.toc import Toc, load_toc

_DOCUMENT_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/html"})
MAX_HEADING_WORDS = 20  # a longer "heading" is a styled paragraph
MAX_LEAD_HEADINGS = 3
CONTINUATION_MAX_LEVEL = 3


@dataclass(frozen=True)
class Document:
    """One spine document, parsed."""

    path: str
    linear: bool
    soup: BeautifulSoup


@dataclass(frozen=True)
class _Laid:
    """A generic EPUB's chapters and the text of the pages left out of them."""

    sections: tuple[Section, ...]
    front: str
    back: str


@dataclass
class _Draft:
    """A chapter being gathered: its TOC title (if any) and its blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def read_epub(path: Path) -> Parsed:
    """Read the EPUB at ``path``; raise InputError if it is damaged, unsafe, protected or empty."""
    with SafeZip(path) as book:
        check_not_encrypted(book)
        package = load_package(book)
        toc = load_toc(book, package)
        docs, warnings = _documents(book, package)
    meta = package_meta(package)
    title = package.first("title")
    if _is_ao3_download(package, docs):
        parsed = read_ao3([d.soup for d in docs], path.name, meta, title)
        return replace(parsed, warnings=warnings + parsed.warnings)
    laid = _sections(docs, toc, package, title)
    if not laid.sections:
        raise InputError(f"{path.name} has no readable chapters")
    meta = meta.model_copy(update={"front_matter": laid.front, "back_matter": laid.back})
    return Parsed(title=title, sections=laid.sections, meta=meta, warnings=warnings)


def _is_ao3_download(package: Package, docs: Sequence[Document]) -> bool:
    """AO3's own download: its preface, or its publisher with its chapter layout.

    Other tools (FanFicFare) also name AO3 as publisher but lay chapters out their own way.
    """
    if any(is_ao3(d.soup) for d in docs):
        return True
    return package.first("publisher") == ARCHIVE_NAME and any(d.soup.find(id="chapters") for d in docs)


def package_meta(package: Package) -> StoryMeta:
    """The metadata an OPF states: creators, language, description, date, series."""
    description = package.first("description")
    summary = paragraphs_text(parse_html(description)) if description else ""
    series = package.metas.get("calibre:series") or package.metas.get("belongs-to-collection", "")
    index = package.metas.get("calibre:series_index", "")
    if series and index:
        number = index.removesuffix(".0")
        series = f"Part {number} of {series}"
    return StoryMeta(
        authors=tuple(dict.fromkeys(package.metadata.get("creator", []))),
        language=package.first("language"),
        summary=summary,
        published=package.first("date")[:10],
        series=series,
    )


def _documents(book: SafeZip, package: Package) -> tuple[list[Document], tuple[str, ...]]:
    types = {item.path: item.media_type for item in package.items.values()}
    docs: list[Document] = []
    warnings: list[str] = []
    for item in package.spine:
        # Some tools add parameters: "application/xhtml+xml; charset=utf-8".
        if types.get(item.path, "").split(";")[0].strip().lower() not in _DOCUMENT_TYPES:
            continue
        if not book.has(item.path):
            warnings.append(f"{book.name}: {item.path} is missing; the story may have gaps")
            continue
        data = book.read(item.path)
        try:
            decoded = decode_markup(data, item.path)
        except InputError:
            continue  # an empty or binary document holds no text to lose
        warnings.extend(f"{book.name}: {w}" for w in decoded.warnings)
        docs.append(Document(item.path, item.linear, parse_html(decoded.text)))
    return docs, tuple(warnings)


def _sections(docs: Sequence[Document], toc: Toc, package: Package, title: str) -> _Laid:
    """The story's chapters, and the text of the front and back matter left out of them."""
    book = Book(title, frozenset(d.path for d in docs))
    judged = []
    for doc in docs:
        entries = toc.for_path(doc.path)
        found = blocks(doc.soup.body or doc.soup, frozenset(e.fragment for e in entries if e.fragment))
        judged.append((found, entries, _judge(doc, found, entries, toc, package, book)))
    # A book that is nothing but a short page under its own title is that page, not matter.
    keep = ("story",) if any(kind == "story" for *_, kind in judged) else ("story", "soft")
    drafts: list[_Draft] = []
    front: list[str] = []
    back: list[str] = []
    for found, entries, kind in judged:
        if kind in keep:
            _add_document(drafts, found, entries, bool(toc.entries))
        else:
            (back if drafts else front).append(_plain(found))
    finished = [f for f in (_finish(d) for d in drafts) if f is not None]
    sections = tuple(
        Section(title=t or f"Chapter {n}", heading=h or t or f"Chapter {n}", paragraphs=p)
        for n, (t, h, p) in enumerate(finished, 1)
    )
    return _Laid(sections, _joined(front), _joined(back))


def _plain(found: Sequence[Block]) -> str:
    return "\n\n".join(b.text for b in found if b.kind in ("para", "heading"))


def _joined(pages: Sequence[str]) -> str:
    return "\n\n".join(p for p in pages if p)


def _judge(
    doc: Document, found: Sequence[Block], entries: Sequence[TocEntry], toc: Toc, package: Package, book: Book
) -> str:
    """ "matter" for front and back matter (declared, named so, or looking like it); "soft" for a
    short page under the work's title or a "Summary"-like label; "story" otherwise."""
    if not doc.linear or doc.path == toc.nav:
        return "matter"
    types = declared_types(doc.soup) | {package.guide.get(doc.path, ""), toc.landmarks.get(doc.path, "")}
    types.discard("")
    if is_matter_type(types):
        return "matter"
    text = _plain(found)
    if has_ao3_furniture(text):
        return "matter"
    if types & STORY_TYPES:
        return "story"
    label = entries[0].title if entries else first_heading(found)
    if is_matter_title(label) or looks_like_matter(doc.path, doc.soup, found, book):
        return "matter"
    heading = first_heading(found)
    if is_short_matter(label, text, book.title) or is_short_matter(heading, text, book.title):
        return "soft"
    return "story"


def _add_document(
    drafts: list[_Draft], found: Sequence[Block], entries: Sequence[TocEntry], has_toc: bool
) -> None:
    """Append a document's blocks: a new chapter where the TOC (or a heading) starts one."""
    titles: dict[str, str] = {}
    for entry in entries:
        titles.setdefault(entry.fragment, entry.title)
    # A document the TOC does not list continues the chapter before it (calibre splits long
    # chapters), unless it opens with a heading of its own.
    if "" in titles or not has_toc or not drafts or _opens_with_heading(found):
        drafts.append(_Draft(titles.get("", "")))
    for block in found:
        if block.kind != "anchor":
            drafts[-1].blocks.append(block)
        elif block.text in titles:
            if any(b.kind != "anchor" for b in drafts[-1].blocks):
                drafts.append(_Draft(titles[block.text]))
            else:
                drafts[-1].title = drafts[-1].title or titles[block.text]


def _opens_with_heading(found: Sequence[Block]) -> bool:
    first = next((b for b in found if b.kind != "anchor"), None)
    return first is not None and first.kind == "heading" and first.level <= CONTINUATION_MAX_LEVEL


def _finish(draft: _Draft) -> tuple[str, str, tuple[str, ...]] | None:
    """(title, heading line, paragraphs) of a draft; None if it has no text beyond headings."""
    rest = [b for b in draft.blocks if b.kind != "anchor"]
    lead: list[str] = []
    while rest and rest[0].kind == "heading" and len(lead) < MAX_LEAD_HEADINGS:
        if words(rest[0].text) > MAX_HEADING_WORDS:
            break
        lead.append(rest.pop(0).text)
    paragraphs = trim_breaks([b.text for b in rest])
    if not paragraphs:
        return None
    heading = join_headings(lead)
    return draft.title or heading, heading or draft.title, paragraphs
