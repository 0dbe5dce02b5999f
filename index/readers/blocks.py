"""Turn a parsed HTML element into paragraphs of plain text, in document order.

The walk is iterative so that deeply nested (or hostile) markup cannot exhaust Python's stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement, PreformattedString

BlockKind = Literal["para", "heading", "break", "anchor"]
SCENE_BREAK = "* * *"  # what index.chunking reads as a scene break

# Elements whose content is never story text: code, styling, embedded objects, form controls.
# fmt: off
DROPPED = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object",
    "embed", "svg", "math", "canvas", "button", "select", "textarea", "input", "nav", "audio", "video",
    "map", "rp",
})
# Elements that end a paragraph where they start and where they end.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header",
    "hgroup", "html", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
})
# fmt: on
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Block:
    """A paragraph, a heading (``level`` 1-6), a scene break, or an anchor (an element id)."""

    kind: BlockKind
    text: str = ""
    level: int = 0


def attr(tag: Tag, name: str) -> str:
    """Return an attribute as one string ("" if absent); multi-valued ones are space-joined."""
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def words(text: str) -> int:
    """Count whitespace-separated words."""
    return len(text.split())


def inline_text(tag: Tag) -> str:
    """Return a tag's visible text on one line, whitespace collapsed."""
    return " ".join(" ".join(para.text.split()) for para in blocks(tag) if para.text)


def paragraphs_text(tag: Tag) -> str:
    """Return a tag's paragraphs as plain text separated by blank lines."""
    return "\n\n".join(b.text for b in blocks(tag) if b.kind in ("para", "heading"))


def blocks(root: Tag, anchors: frozenset[str] = frozenset()) -> list[Block]:
    """Return the blocks under ``root``; an anchor block marks each element whose id is in ``anchors``."""
    builder = _Builder(anchors)
    builder.walk(root)
    return builder.out


class _Builder:
    """Collects inline text between block boundaries and emits Blocks."""

    def __init__(self, anchors: frozenset[str]) -> None:
        self.anchors = anchors
        self.out: list[Block] = []
        self._pieces: list[str] = []
        self._level = 0
        self._pre = 0

    def walk(self, root: Tag) -> None:
        # Stack entries: an element to enter, or a (tag, None) marker to leave it.
        stack: list[PageElement | tuple[Tag, None]] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, tuple):
                self._leave(item[0])
            elif isinstance(item, NavigableString):
                self._text(item)
            elif isinstance(item, Tag) and self._enter(item):
                stack.append((item, None))
                stack.extend(reversed(item.contents))
        self._flush()

    def _text(self, node: NavigableString) -> None:
        # Comments, CDATA markers, doctypes and processing instructions are not text.
        if isinstance(node, PreformattedString):
            return
        text = str(node)
        self._pieces.append(text if self._pre else _SPACES.sub(" ", text))

    def _enter(self, tag: Tag) -> bool:
        """Handle the start of ``tag``; return True to walk its children."""
        name = tag.name.lower()
        if name in DROPPED or _is_note(tag):
            return False
        if self.anchors and attr(tag, "id") in self.anchors:
            self._flush()
            self.out.append(Block("anchor", attr(tag, "id")))
        if name == "br":
            self._pieces.append("\n")
            return False
        if name == "hr":
            self._flush()
            self.out.append(Block("break", SCENE_BREAK))
            return False
        if name in _HEADINGS or name in _BLOCKS:
            self._flush()
            self._level = _HEADINGS.get(name, self._level)
            self._pre += name == "pre"
        return True

    def _leave(self, tag: Tag) -> None:
        name = tag.name.lower()
        if name in _HEADINGS or name in _BLOCKS:
            self._flush()
            if name in _HEADINGS:
                self._level = 0
            self._pre -= name == "pre"

    def _flush(self) -> None:
        """Emit the collected text: a blank line (two <br>) splits it into paragraphs."""
        joined = "".join(self._pieces)
        self._pieces = []
        for para in _split_paragraphs(joined):
            if self._level:
                # A heading is one line: "Chapter 2<br/>The Storm" reads "Chapter 2 The Storm".
                self.out.append(Block("heading", " ".join(para.split("\n")), self._level))
            else:
                self.out.append(Block("para", para))


def _split_paragraphs(joined: str) -> Iterator[str]:
    lines: list[str] = []
    for raw in [*joined.split("\n"), ""]:
        line = " ".join(raw.split())
        if line:
            lines.append(line)
        elif lines:
            yield "\n".join(lines)
            lines = []


def _is_note(tag: Tag) -> bool:
    """A footnote or note reference inside a chapter (EPUB 3 ``epub:type``): notes are not story text."""
    kinds = attr(tag, "epub:type").split()
    return any(
        k in ("footnote", "endnote", "rearnote", "note", "noteref", "footnotes", "endnotes") for k in kinds
    )


def parse_html(text: str) -> BeautifulSoup:
    """Parse HTML or XHTML leniently.

    The stdlib "html.parser" backend of beautifulsoup4 needs no compiled code, copes with broken
    markup, and is fast enough at story scale (a 2 MB download parses in about a second).
    """
    return BeautifulSoup(text, "html.parser")


def tags(elements: Iterable[PageElement]) -> list[Tag]:
    """Keep only the element nodes of ``elements``."""
    return [e for e in elements if isinstance(e, Tag)]
