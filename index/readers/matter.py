"""Recognise an EPUB's front and back matter (cover, title page, contents, notes…) so it stays
out of the story text: declared types first (epub:type, guide, landmarks), then the document's
title, then what its text looks like."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from bs4 import BeautifulSoup

from index.readers.blocks import Block, attr, inline_text, tags, words
from index.readers.package import resolve

# EPUB 3 structural semantics and EPUB 2 guide types that are not story text.
# fmt: off
MATTER_TYPES = frozenset({
    "cover", "titlepage", "title-page", "halftitlepage", "frontispiece", "copyright-page", "copyright",
    "toc", "landmarks", "page-list", "loi", "lot", "lov", "dedication", "epigraph", "imprint",
    "imprimatur", "colophon", "acknowledgments", "acknowledgements", "contributors", "other-credits",
    "credits", "errata", "index", "glossary", "bibliography", "endnotes", "rearnotes", "footnotes",
    "notes", "appendix", "seriespage", "revision-history", "frontmatter", "backmatter",
})
# Types that say "this is the story" even inside front or back matter.
STORY_TYPES = frozenset({
    "bodymatter", "text", "chapter", "part", "division", "volume", "subchapter", "prologue",
    "epilogue", "preface", "foreword", "introduction", "preamble", "conclusion", "afterword",
})
# TOC labels and headings that name front or back matter.
_TITLES = frozenset({
    "cover", "title page", "titlepage", "half title", "copyright", "copyright page", "contents",
    "table of contents", "dedication", "epigraph", "acknowledgments", "acknowledgements", "notes",
    "endnotes", "end notes", "footnotes", "index", "bibliography", "colophon", "imprint", "credits",
})
# fmt: on
_TITLE_PREFIXES = ("about the author", "also by ", "other books by ", "other works by ", "books by ")
# Labels of pages that are the author's words about the work rather than the work, when short: a
# long "Preface" or "Afterword" is read as the author's text (a novel's preface is part of it).
_SHORT_TITLES = frozenset(
    {
        "preface",
        "afterword",
        "foreword",
        "summary",
        "author's note",
        "author's notes",
        "a/n",
        "authors note",
        "authors notes",
        "work summary",
    }
)
SHORT_MATTER_MAX_WORDS = 300
# What AO3 writes around a work (its download furniture), whichever tool repackaged it.
_AO3_SIGNS = (
    "posted originally on the archive of our own",
    "drop by the archive and comment",
    "to let the creator know if you enjoyed their work",
)
TITLE_PAGE_MAX_WORDS = 60
TITLE_PAGE_MAX_LINES = 8
COPYRIGHT_MAX_WORDS = 400
_COPYRIGHT_SIGNS = ("©", "all rights reserved", "isbn")
TOC_MIN_LINKS = 3


@dataclass(frozen=True)
class Book:
    """What the heuristics compare a document with: the book's title and its documents."""

    title: str
    documents: frozenset[str]


def declared_types(soup: BeautifulSoup) -> set[str]:
    """The epub:type values on the body and on the elements that wrap its content."""
    found: set[str] = set()
    body = soup.body
    if body is None:
        return found
    for tag in [body, *tags(body.children)]:
        found.update(t.split(":")[-1].lower() for t in attr(tag, "epub:type").split())
    return found


def is_matter_type(types: set[str]) -> bool:
    """True when the declared types mark front or back matter and nothing marks story text."""
    return bool(types & MATTER_TYPES) and not (types & STORY_TYPES)


def is_matter_title(title: str) -> bool:
    """True for a TOC label or heading that names front or back matter ("Contents", "Notes")."""
    plain = " ".join(title.casefold().replace("’", "'").strip(" .:").split())
    return plain in _TITLES or plain.startswith(_TITLE_PREFIXES)


def is_short_matter(label: str, text: str, title: str) -> bool:
    """A short page labelled as the author's words about the work ("Summary", "Afterword"), or
    headed by the work's own title with no more than a summary's worth of text under it."""
    if words(text) > SHORT_MATTER_MAX_WORDS:
        return False
    plain = " ".join(label.casefold().replace("’", "'").strip(" .:").split())
    return plain in _SHORT_TITLES or (bool(plain) and plain == " ".join(title.casefold().split()))


def has_ao3_furniture(text: str) -> bool:
    """True for a page holding AO3's download furniture: its preface message or afterword plea."""
    lowered = " ".join(text.casefold().split())
    return any(sign in lowered for sign in _AO3_SIGNS)


def looks_like_matter(path: str, soup: BeautifulSoup, found: Sequence[Block], book: Book) -> bool:
    """Judge an undeclared document by its text: a title page, copyright page or contents list."""
    text = " ".join(b.text for b in found)
    count = words(text)
    lowered = text.casefold()
    if count <= COPYRIGHT_MAX_WORDS and any(sign in lowered for sign in _COPYRIGHT_SIGNS):
        return True
    if count <= TITLE_PAGE_MAX_WORDS and _is_title_page(found, book):
        return True
    return _is_contents(path, soup, count, book)


def _is_title_page(found: Sequence[Block], book: Book) -> bool:
    """A few short lines, one of them the book's title: no prose."""
    lines = [" ".join(b.text.casefold().split()) for b in found if b.kind in ("para", "heading")]
    title = " ".join(book.title.casefold().split())
    short = len(lines) <= TITLE_PAGE_MAX_LINES and all(words(line) <= 15 for line in lines)
    return bool(title) and title in lines and short


def _is_contents(path: str, soup: BeautifulSoup, count: int, book: Book) -> bool:
    """Mostly links to the book's other documents: an inline table of contents."""
    base = posixpath.dirname(path)
    links = [
        a for a in tags(soup.find_all("a")) if resolve(base, attr(a, "href"))[0] in book.documents - {path}
    ]
    linked = sum(words(inline_text(a)) for a in links)
    return len(links) >= TOC_MIN_LINKS and linked * 2 >= count


def first_heading(found: Sequence[Block]) -> str:
    """The text of the document's first heading, or ""."""
    return next((b.text for b in found if b.kind == "heading"), "")
