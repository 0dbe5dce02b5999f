"""An EPUB's table of contents and landmarks: the EPUB 3 nav document, else the EPUB 2 NCX."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from bs4 import Tag

from index.errors import InputError
from index.readers.archive import SafeZip
from index.readers.blocks import attr, inline_text, parse_html, tags
from index.readers.markup import decode_markup
from index.readers.package import Package, TocEntry, parse_ncx, parse_xml, resolve


@dataclass(frozen=True)
class Toc:
    """TOC entries in reading order and the landmark type of each document that has one."""

    entries: tuple[TocEntry, ...] = ()
    landmarks: dict[str, str] = field(default_factory=dict)
    nav: str = ""  # the nav document's path: it is navigation, never story text

    def for_path(self, path: str) -> list[TocEntry]:
        """The entries pointing into document ``path``, in order."""
        return [e for e in self.entries if e.path == path]


def load_toc(book: SafeZip, package: Package) -> Toc:
    """Read the nav document if there is one with a TOC, else the NCX; a broken one is ignored."""
    nav = next((i.path for i in package.items.values() if "nav" in i.properties), "")
    entries: list[TocEntry] = []
    landmarks: dict[str, str] = {}
    if nav and book.has(nav):
        try:
            entries, landmarks = _read_nav(book, nav)
        except InputError:
            entries, landmarks = [], {}  # unreadable navigation: fall back to the NCX
    if not entries and package.ncx and book.has(package.ncx):
        try:
            entries = parse_ncx(parse_xml(book.read(package.ncx), package.ncx, book.name), package.ncx)
        except InputError:
            # A damaged NCX costs only titles: chapters still come from the spine and headings.
            entries = []
    return Toc(tuple(e for e in entries if e.title), landmarks, nav)


def _read_nav(book: SafeZip, nav: str) -> tuple[list[TocEntry], dict[str, str]]:
    soup = parse_html(decode_markup(book.read(nav), nav).text)
    base = posixpath.dirname(nav)
    entries: list[TocEntry] = []
    landmarks: dict[str, str] = {}
    for element in tags(soup.find_all("nav")):
        kinds = attr(element, "epub:type").split()
        if "toc" in kinds and not entries:
            entries = [e for a in _links(element) if (e := _entry(a, base)) is not None]
        elif "landmarks" in kinds:
            for a in _links(element):
                path, _ = resolve(base, attr(a, "href"))
                if path:
                    landmarks.setdefault(path, attr(a, "epub:type").strip().lower())
    return entries, landmarks


def _links(nav: Tag) -> list[Tag]:
    return [a for a in tags(nav.find_all("a")) if attr(a, "href")]


def _entry(link: Tag, base: str) -> TocEntry | None:
    path, fragment = resolve(base, attr(link, "href"))
    return TocEntry(path, fragment, inline_text(link)) if path else None
