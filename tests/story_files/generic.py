"""A generic EPUB 3 and EPUB 2 novel, with front and back matter, and a hand-made HTML story."""

from __future__ import annotations

from pathlib import Path

from tests.story_files import ncx, write_zip, xhtml

GENERIC_TITLE = "The Salt Road"
GENERIC_AUTHOR = "Mira Calder"
NOTE_TEXT = "Endnote: the salt road was a real trade route in the Middle Ages."
FOOTNOTE_TEXT = "Footnote: a league is about three miles."
COPYRIGHT_TEXT = "Copyright © 2021 Mira Calder. All rights reserved."
CHAPTER_TEXTS = {
    1: "The caravan left Hallstatt before dawn, its mules loaded with blocks of grey salt.",
    2: "On the third night a storm split the old pine above the camp and the mules bolted.",
    3: "Wen counted the coins twice before she paid the ferryman at the river crossing.",
}
_OPF3 = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="bookid">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="bookid">urn:uuid:7d3e2b1a-0000-4000-8000-000000000001</dc:identifier>
    <dc:title>{title}</dc:title>
    <dc:creator>{author}</dc:creator>
    <dc:language>en</dc:language>
    <dc:description>A merchant's daughter walks the salt road.</dc:description>
    <meta property="dcterms:modified">2021-04-01T00:00:00Z</meta>
  </metadata>
  <manifest>
{manifest}
  </manifest>
  <spine>
{spine}
  </spine>
</package>
"""


def _sec(kind: str, inner: str) -> str:
    return f'<section epub:type="{kind}">\n{inner}\n</section>'


def generic_epub3_files() -> dict[str, str]:
    """The documents of an EPUB 3 novel: nav, cover, title page, copyright, three chapters, notes."""
    ch1 = (
        "<h1>Chapter One</h1>\n<h2>Arrival</h2>\n"
        f'<p>{CHAPTER_TEXTS[1]}<a epub:type="noteref" href="notes.xhtml#n1">1</a></p>\n'
        "<p>Wen walked beside the lead mule and   listened to the bells.</p>"
    )
    ch2 = (
        f'<h1 id="c2">Chapter Two: The Storm</h1>\n<p>{CHAPTER_TEXTS[2]}</p>\n'
        f'<aside epub:type="footnote" id="fn1"><p>{FOOTNOTE_TEXT}</p></aside>\n'
        "<p>They searched for them until the rain stopped a league to the east.</p>"
    )
    ch3 = f"<h1>Chapter Three</h1>\n<p>{CHAPTER_TEXTS[3]}</p>\n<hr/>\n<p>The river was high and brown.</p>"
    nav = """<nav epub:type="toc" id="toc"><h1>Contents</h1><ol>
  <li><a href="titlepage.xhtml">Title Page</a></li>
  <li><a href="copyright.xhtml">Copyright</a></li>
  <li><a href="ch1.xhtml">Chapter One: Arrival</a></li>
  <li><a href="ch2.xhtml#c2">Chapter Two: The Storm</a></li>
  <li><a href="ch3.xhtml">Chapter Three</a></li>
  <li><a href="notes.xhtml">Notes</a></li>
</ol></nav>
<nav epub:type="landmarks"><ol>
  <li><a epub:type="cover" href="cover.xhtml">Cover</a></li>
  <li><a epub:type="bodymatter" href="ch1.xhtml">Start</a></li>
</ol></nav>"""
    docs = {
        "nav.xhtml": nav,
        "cover.xhtml": '<div><img src="cover.jpg" alt="The Salt Road"/></div>',
        "titlepage.xhtml": f"<h1>{GENERIC_TITLE}</h1>\n<p>{GENERIC_AUTHOR}</p>",
        "copyright.xhtml": _sec("copyright-page", f"<p>{COPYRIGHT_TEXT}</p><p>First edition.</p>"),
        "ch1.xhtml": _sec("chapter", ch1),
        "ch2.xhtml": ch2,
        "ch3.xhtml": ch3,
        "notes.xhtml": _sec("endnotes", f'<h1>Notes</h1>\n<p id="n1">{NOTE_TEXT}</p>'),
    }
    return {name: xhtml(name, body, epub3=True) for name, body in docs.items()}


def write_generic_epub3(
    path: Path, files: dict[str, str] | None = None, extra: dict[str, str | bytes] | None = None
) -> Path:
    """Write an EPUB 3 under OEBPS/ with a nav document; ``extra`` adds raw zip members."""
    files = files or generic_epub3_files()
    items = [
        f'    <item id="{n.split(".")[0]}" href="{n}" media-type="application/xhtml+xml"'
        + (' properties="nav"' if n == "nav.xhtml" else "")
        + "/>"
        for n in files
    ]
    items.append(
        '    <item id="cover-image" href="cover.jpg" media-type="image/jpeg" properties="cover-image"/>'
    )
    spine = "\n".join(f'    <itemref idref="{n.split(".")[0]}"/>' for n in files)
    opf = _OPF3.format(title=GENERIC_TITLE, author=GENERIC_AUTHOR, manifest="\n".join(items), spine=spine)
    members: dict[str, str | bytes] = {f"OEBPS/{n}": d for n, d in files.items()}
    members["OEBPS/cover.jpg"] = b"\xff\xd8\xff\xe0not really a jpeg"
    members["OEBPS/content.opf"] = opf
    members.update(extra or {})
    return write_zip(path, members, opf="OEBPS/content.opf")


_OPF2 = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:title>{title}</dc:title><dc:creator opf:role="aut">{author}</dc:creator>
    <dc:identifier id="id">x</dc:identifier><dc:language>en</dc:language>
  </metadata>
  <manifest>
{manifest}
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
  </manifest>
  <spine toc="ncx">
{spine}
  </spine>
  <guide><reference type="cover" title="Cover" href="Text/cover.xhtml"/>
  <reference type="text" title="Start" href="Text/ch1.xhtml"/></guide>
</package>
"""


def write_generic_epub2(path: Path) -> Path:
    """An EPUB 2 with a guide, a title-only part page, a chapter split over two files (the second
    not in the NCX), an undeclared copyright page, a linear="no" afterword and no nav."""
    docs = {
        "Text/cover.xhtml": '<div><img src="../cover.jpg" alt="cover"/></div>',
        "Text/rights.xhtml": f"<p>{COPYRIGHT_TEXT}</p><p>ISBN 978-0-00-000000-0</p>",
        "Text/part1.xhtml": "<h1>Part One</h1>",
        "Text/ch1.xhtml": f"<h2>1. Arrival</h2><p>{CHAPTER_TEXTS[1]}</p>",
        "Text/ch1b.xhtml": "<p>Wen slept under the salt wagon that night, wrapped in her father's coat.</p>",
        "Text/ch2.xhtml": f"<h2>2. The Storm</h2><p>{CHAPTER_TEXTS[2]}</p>",
        "Text/about.xhtml": "<h2>About the Author</h2><p>Mira Calder lives by the sea.</p>",
    }
    linear_no = {"Text/about.xhtml"}
    ids = {name: f"d{i}" for i, name in enumerate(docs)}
    manifest = "\n".join(
        f'    <item id="{ids[n]}" href="{n}" media-type="application/xhtml+xml"/>' for n in docs
    )
    spine = "\n".join(
        f'    <itemref idref="{ids[n]}"' + (' linear="no"' if n in linear_no else "") + "/>" for n in docs
    )
    opf = _OPF2.format(title=GENERIC_TITLE, author=GENERIC_AUTHOR, manifest=manifest, spine=spine)
    points = [
        ("Part One", "Text/part1.xhtml"),
        ("1. Arrival", "Text/ch1.xhtml"),
        ("2. The Storm", "Text/ch2.xhtml"),
    ]
    members: dict[str, str | bytes] = {f"OPS/{n}": xhtml(n, b) for n, b in docs.items()}
    members["OPS/toc.ncx"] = ncx(GENERIC_TITLE, points)
    members["OPS/content.opf"] = opf
    return write_zip(path, members, opf="OPS/content.opf")


def plain_html(title: str = "The Keeper's Log") -> str:
    """A hand-made HTML story with chapters as h2 and things that are not story text."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} | My Site</title>
<style>body {{ color: red; }} .secret::after {{ content: "STYLE TEXT"; }}</style>
<script>var secret = "SCRIPT TEXT"; document.write("<p>SCRIPT TEXT</p>");</script>
</head>
<body>
<nav><a href="/">Home</a> <a href="/stories">Stories</a></nav>
<h1>{title}</h1>
<noscript>NOSCRIPT TEXT: please enable JavaScript.</noscript>
<template><p>TEMPLATE TEXT</p></template>
<!-- COMMENT TEXT -->
<h2>Chapter 1: Fog</h2>
<p>The fog came in   so thick that Ada could not see the
   gallery rail from the lamp room.</p>
<p>She rang the bell every <em>two</em> minutes until dawn.</p>
<h2>Chapter 2: Wreck</h2>
<p>A schooner struck the reef at first light.</p>
<script>console.log("SCRIPT TEXT");</script>
<p>Ada rowed out with Tomas and brought back three sailors.</p>
</body></html>
"""
