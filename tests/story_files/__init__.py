"""Builders for story files in real formats: AO3 downloads (HTML, calibre EPUB), generic EPUBs,
plain HTML and broken or hostile files. Each writes into a folder the test owns.

This package holds the EPUB packaging shared by the builders in ``ao3``, ``generic`` and ``hostile``.
"""

from __future__ import annotations

import zipfile
from html import escape
from pathlib import Path

XHTML_NS = "http://www.w3.org/1999/xhtml"
CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="{opf}" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def write_zip(path: Path, files: dict[str, str | bytes], opf: str | None = None) -> Path:
    """Write an EPUB-shaped zip: mimetype first and stored, then container.xml and ``files``."""
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        if opf is not None:
            book.writestr("META-INF/container.xml", CONTAINER.format(opf=opf), zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            book.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def xhtml(title: str, body: str, *, body_attrs: str = "", epub3: bool = False) -> str:
    """A calibre-like XHTML document."""
    ns = ' xmlns:epub="http://www.idpf.org/2007/ops"' if epub3 else ""
    return f"""<?xml version='1.0' encoding='utf-8'?>
<html xmlns="{XHTML_NS}"{ns}>
  <head>
    <title>{escape(title)}</title>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>
    <link href="stylesheet.css" rel="stylesheet" type="text/css"/>
  </head>
  <body{body_attrs}>
{body}
  </body>
</html>
"""


def ncx(title: str, points: list[tuple[str, str]]) -> str:
    """An EPUB 2 toc.ncx with one flat navPoint per (label, src)."""
    nav = "\n".join(
        f'    <navPoint id="np{i}" playOrder="{i}"><navLabel><text>{escape(label)}</text></navLabel>'
        f'<content src="{src}"/></navPoint>'
        for i, (label, src) in enumerate(points, 1)
    )
    return f"""<?xml version='1.0' encoding='utf-8'?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1" xml:lang="en">
  <head><meta content="urn:uuid:1" name="dtb:uid"/><meta content="1" name="dtb:depth"/></head>
  <docTitle><text>{escape(title)}</text></docTitle>
  <navMap>
{nav}
  </navMap>
</ncx>
"""
