"""Parse an EPUB's package: container.xml, the OPF (metadata, manifest, spine, guide) and the NCX.

The XML comes from untrusted files, so it is parsed with defusedxml (no entity expansion, no
external references). Elements are matched by local name: real EPUBs are loose with namespaces.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from index.errors import InputError
from index.readers.archive import SafeZip

CONTAINER = "META-INF/container.xml"
ENCRYPTION = "META-INF/encryption.xml"
# Font obfuscation (IDPF, Adobe) "encrypts" embedded fonts only; it is not DRM.
_FONT_OBFUSCATION = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})


@dataclass(frozen=True)
class Item:
    """A manifest entry: a file of the book."""

    path: str
    media_type: str
    properties: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SpineItem:
    """A document in reading order; ``linear`` is False for auxiliary content (linear="no")."""

    path: str
    linear: bool


@dataclass(frozen=True)
class TocEntry:
    """A table-of-contents entry pointing at a document, or at a fragment inside it."""

    path: str
    fragment: str
    title: str


@dataclass(frozen=True)
class Package:
    """What the OPF says about the book."""

    path: str
    metadata: dict[str, list[str]] = field(default_factory=dict)
    metas: dict[str, str] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    spine: tuple[SpineItem, ...] = ()
    guide: dict[str, str] = field(default_factory=dict)
    ncx: str = ""

    def first(self, name: str) -> str:
        """The first value of a Dublin Core element (``title``, ``creator``…), or ""."""
        values = self.metadata.get(name, [])
        return values[0] if values else ""


def local(tag: str) -> str:
    """An element or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def resolve(base: str, href: str) -> tuple[str, str]:
    """Resolve ``href`` against the folder ``base`` into a zip member path and a fragment."""
    target, _, fragment = href.partition("#")
    if not target:
        return "", fragment
    return posixpath.normpath(posixpath.join(base, unquote(target))), fragment


def parse_xml(data: bytes, what: str, name: str) -> Element:
    """Parse untrusted XML; raise InputError naming ``what`` if it is malformed or hostile."""
    try:
        root: Element = SafeET.fromstring(data)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise InputError(f"{name} is not a valid EPUB: {what} cannot be read") from exc
    return root


def check_not_encrypted(book: SafeZip) -> None:
    """Refuse DRM: an encryption.xml that encrypts anything other than fonts."""
    if not book.has(ENCRYPTION):
        return
    root = parse_xml(book.read(ENCRYPTION), ENCRYPTION, book.name)
    for data in (e for e in root.iter() if local(e.tag) == "EncryptedData"):
        methods = [e.get("Algorithm", "") for e in data.iter() if local(e.tag) == "EncryptionMethod"]
        if not methods or any(m not in _FONT_OBFUSCATION for m in methods):
            raise InputError(f"{book.name} is DRM-protected; storybot reads only DRM-free EPUBs")


def load_package(book: SafeZip) -> Package:
    """Find and parse the OPF named by META-INF/container.xml."""
    if not book.has(CONTAINER):
        raise InputError(f"{book.name} is not a valid EPUB: {CONTAINER} is missing")
    container = parse_xml(book.read(CONTAINER), CONTAINER, book.name)
    paths = [e.get("full-path", "") for e in container.iter() if local(e.tag) == "rootfile"]
    opf = next((p for p in paths if p), "")
    if not opf:
        raise InputError(f"{book.name} is not a valid EPUB: {CONTAINER} names no package file")
    return parse_opf(parse_xml(book.read(opf), opf, book.name), opf)


def parse_opf(root: Element, opf: str) -> Package:
    """Read metadata, manifest, spine and guide from a parsed OPF at zip path ``opf``."""
    base = posixpath.dirname(opf)
    sections = {local(child.tag): child for child in root}
    items = _manifest(sections.get("manifest"), base)
    spine = sections.get("spine")
    metadata, metas = _metadata(sections.get("metadata"))
    ncx_id = spine.get("toc", "") if spine is not None else ""
    ncx = items[ncx_id].path if ncx_id in items else ""
    if not ncx:
        ncx = next((i.path for i in items.values() if i.media_type == "application/x-dtbncx+xml"), "")
    return Package(
        path=opf,
        metadata=metadata,
        metas=metas,
        items=items,
        spine=_spine(spine, items),
        guide=_guide(sections.get("guide"), base),
        ncx=ncx,
    )


def _metadata(section: Element | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    metadata: dict[str, list[str]] = {}
    metas: dict[str, str] = {}
    for e in [] if section is None else section.iter():
        name = local(e.tag)
        text = " ".join("".join(e.itertext()).split())
        if name == "meta":
            # EPUB 2 <meta name content>, EPUB 3 <meta property>text</meta>.
            key = e.get("name") or e.get("property") or ""
            if key and not e.get("refines"):
                metas.setdefault(key, e.get("content") or text)
        elif text and e is not section:
            metadata.setdefault(name, []).append(text)
    return metadata, metas


def _manifest(section: Element | None, base: str) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for e in [] if section is None else section:
        if local(e.tag) != "item" or not e.get("id") or not e.get("href"):
            continue
        path, _ = resolve(base, e.get("href", ""))
        props = frozenset(e.get("properties", "").split())
        items[e.get("id", "")] = Item(path, e.get("media-type", ""), props)
    return items


def _spine(section: Element | None, items: dict[str, Item]) -> tuple[SpineItem, ...]:
    spine: list[SpineItem] = []
    for e in [] if section is None else section:
        item = items.get(e.get("idref", ""))
        if local(e.tag) == "itemref" and item is not None:
            spine.append(SpineItem(item.path, e.get("linear", "yes").strip().lower() != "no"))
    return tuple(spine)


def _guide(section: Element | None, base: str) -> dict[str, str]:
    """Map a document to its EPUB 2 guide type ("cover", "toc", "text"…); the first type wins."""
    guide: dict[str, str] = {}
    for e in [] if section is None else section:
        path, _ = resolve(base, e.get("href", ""))
        if local(e.tag) == "reference" and path:
            guide.setdefault(path, e.get("type", "").strip().lower())
    return guide


def parse_ncx(root: Element, ncx: str) -> list[TocEntry]:
    """Read an EPUB 2 NCX navMap into entries in document order (nested points included)."""
    base = posixpath.dirname(ncx)
    entries: list[TocEntry] = []
    for point in (e for e in root.iter() if local(e.tag) == "navPoint"):
        label = next((c for c in point if local(c.tag) == "navLabel"), None)
        content = next((c for c in point if local(c.tag) == "content"), None)
        if content is None:
            continue
        title = "" if label is None else " ".join("".join(label.itertext()).split())
        path, fragment = resolve(base, content.get("src", ""))
        if path:
            entries.append(TocEntry(path, fragment, title))
    return entries
