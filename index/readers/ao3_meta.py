"""Read an AO3 download's preface and afterword into StoryMeta, keyed on ids and label text.

AO3's labels are fixed English text ("Rating:", "Fandoms:", "Summary"), while calibre renames the
classes in EPUB downloads, so labels and ids are the only stable keys (see shared/formats/ao3.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from bs4 import Tag

from index.models import Rating, StoryMeta
from index.readers.blocks import attr, inline_text, paragraphs_text, tags

# dt label (lower case, no colon) → StoryMeta field; AO3 makes labels plural when tags are many.
_LABELS = {
    "rating": "rating_label",
    "ratings": "rating_label",
    "archive warning": "warnings",
    "archive warnings": "warnings",
    "category": "categories",
    "categories": "categories",
    "fandom": "fandoms",
    "fandoms": "fandoms",
    "relationship": "relationships",
    "relationships": "relationships",
    "character": "characters",
    "characters": "characters",
    "additional tag": "tags",
    "additional tags": "tags",
    "language": "language",
    "series": "series",
    "stats": "stats",
}
_RATINGS: dict[str, Rating] = {
    "general audiences": "general",
    "teen and up audiences": "teen",
    "mature": "mature",
    "explicit": "explicit",
    "not rated": "unrated",
}
_STAT = re.compile(r"(Published|Updated|Completed|Chapters):\s*(\S+)")
_CHAPTERS = re.compile(r"(\d+)/(\d+|\?)")
WORK_LINK = re.compile(r"/works/\d+")


def read_meta(preface: Sequence[Tag], afterword: Sequence[Tag]) -> StoryMeta:
    """Build StoryMeta from the preface roots (one per file) and the afterword roots."""
    fields: dict[str, object] = {}
    dl = _first(preface, "dl")
    if dl is not None:
        fields.update(_tag_fields(dl))
    fields["authors"] = _authors(preface)
    fields["summary"] = labelled(preface, "Summary")
    fields["notes"] = labelled(preface, "Notes")
    end_roots = [root.find(id="endnotes") or root for root in afterword]
    fields["end_notes"] = labelled([r for r in end_roots if isinstance(r, Tag)], "End Notes")
    fields["url"] = work_url(preface)
    return StoryMeta.model_validate(fields)


def work_title(preface: Sequence[Tag]) -> str:
    """Return the work's title: the preface's h1."""
    h1 = _first(preface, "h1")
    return "" if h1 is None else inline_text(h1)


def work_url(preface: Sequence[Tag]) -> str:
    """Return the work's URL from the "Posted originally on the Archive of Our Own at …" message."""
    for link in _all(preface, "a"):
        href = attr(link, "href")
        if WORK_LINK.search(href):
            return href
    return ""


def labelled(roots: Sequence[Tag], label: str) -> str:
    """Return the text of the blockquote right after a bare ``<p>`` reading ``label``, or ""."""
    wanted = label.casefold()
    for p in _all(roots, "p"):
        if inline_text(p).casefold() != wanted:
            continue
        following = p.find_next_sibling()
        if isinstance(following, Tag) and following.name.lower() == "blockquote":
            return paragraphs_text(following)
        return ""
    return ""


def _tag_fields(dl: Tag) -> dict[str, object]:
    fields: dict[str, object] = {}
    for dt in tags(dl.find_all("dt")):
        key = _LABELS.get(inline_text(dt).rstrip(":").strip().casefold())
        dd = dt.find_next_sibling()
        if key is None or not isinstance(dd, Tag) or dd.name.lower() != "dd":
            continue
        if key == "stats":
            fields.update(_stats(inline_text(dd)))
        elif key in ("language", "series"):
            fields[key] = inline_text(dd)
        else:
            fields[key] = _tag_list(dd)
    labels = fields.pop("rating_label", ())
    if isinstance(labels, tuple) and labels:
        fields["rating_label"] = ", ".join(labels)
        fields["rating"] = _RATINGS.get(labels[0].casefold(), "unrated")
    return fields


def _tag_list(dd: Tag) -> tuple[str, ...]:
    """The tags of one ``dd``: the text of each link (AO3 tags cannot hold commas)."""
    links = [inline_text(a) for a in tags(dd.find_all("a"))]
    found = links or inline_text(dd).split(",")
    return tuple(dict.fromkeys(t.strip() for t in found if t.strip()))


def _stats(text: str) -> dict[str, object]:
    fields: dict[str, object] = {}
    for label, value in _STAT.findall(text):
        if label == "Published":
            fields["published"] = value
        elif label in ("Updated", "Completed"):
            fields["updated"] = value
        elif (found := _CHAPTERS.fullmatch(value)) is not None:
            fields["chapters_posted"] = int(found.group(1))
            planned = found.group(2)
            fields["chapters_planned"] = None if planned == "?" else int(planned)
    return fields


def _authors(preface: Sequence[Tag]) -> tuple[str, ...]:
    names = [inline_text(a) for a in _all(preface, "a") if "author" in attr(a, "rel").split()]
    if not names:
        # An anonymous or orphaned work names its creator without a link: "by Anonymous".
        for root in preface:
            byline = root.find(class_="byline")
            if isinstance(byline, Tag):
                names = [inline_text(byline).removeprefix("by ").strip()]
                break
    return tuple(dict.fromkeys(n for n in names if n))


def _all(roots: Sequence[Tag], name: str) -> Iterator[Tag]:
    """Every ``name`` element under the roots, outside user-written blockquotes."""
    for root in roots:
        for tag in tags(root.find_all(name)):
            if tag.find_parent("blockquote") is None:
                yield tag


def _first(roots: Sequence[Tag], name: str) -> Tag | None:
    return next(_all(roots, name), None)
