"""One work with every kind of front and back matter, as a repackaged EPUB and as one HTML page:
a preface with AO3's furniture, a page headed by the work's title with its summary, a table of
contents, three chapters and an afterword. The chapters are the same in both files."""

from __future__ import annotations

from html import escape
from pathlib import Path

from tests.story_files import ncx, write_zip, xhtml

TITLE = "Salt and Lamplight"
AUTHOR = "saltwick"
SUMMARY = "Ada keeps the light on Gull Point while the winter storms come in, and a stranger washes ashore."
CHAPTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Chapter 1: The Keeper",
        (
            "Ada Marsh climbed the hundred steps of the lighthouse every evening at dusk.",
            "Keeper Finch had taught her to trim the wick before the sun went down.",
            "“You will keep it burning,” said Finch, and Ada promised she would.",
        ),
    ),
    (
        "Chapter 2: The Stranger",
        (
            "The morning after the gale, Tomas Reyes washed up on the shingle below the light.",
            "Ada dragged him above the tide line and ran for Finch.",
            "“He is alive,” said Ada. Tomas opened his eyes and asked for water.",
        ),
    ),
    (
        "Chapter 3: The Storm",
        (
            "By nightfall the storm had torn the shutters from the keeper's cottage.",
            "Tomas held the ladder while Ada relit the lamp, and Finch watched the sea.",
            "“We did it,” said Tomas when the fishing boats were safely home.",
        ),
    ),
)
AFTERWORD = "Thank you for reading! The sequel is already half written."
PREFACE_MESSAGE = "Posted originally on the Archive of Our Own at https://archiveofourown.org/works/4242."
MATTER_TEXTS = (SUMMARY, AFTERWORD, "Posted originally", "Table of Contents")


def _paragraphs(paragraphs: tuple[str, ...]) -> str:
    return "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _contents() -> str:
    items = "\n".join(
        f'<li><a href="ch{n}.xhtml">{escape(t)}</a></li>' for n, (t, _) in enumerate(CHAPTERS, 1)
    )
    return f"<h1>Table of Contents</h1>\n<ul>\n{items}\n</ul>"


def write_matter_epub(path: Path) -> Path:
    """An EPUB 2 whose spine runs preface → title-and-summary page → contents → chapters → afterword."""
    docs = {
        "preface.xhtml": (
            f"<h2>Preface</h2>\n<p>{PREFACE_MESSAGE}</p>\n<dl><dt>Rating:</dt><dd>General</dd></dl>"
        ),
        "summary.xhtml": (
            f"<h1>{TITLE}</h1>\n<p>by {AUTHOR}</p>\n<p>Summary</p>\n<blockquote><p>{SUMMARY}</p></blockquote>"
        ),
        "contents.xhtml": _contents(),
    }
    for n, (title, paragraphs) in enumerate(CHAPTERS, 1):
        docs[f"ch{n}.xhtml"] = f"<h2>{escape(title)}</h2>\n{_paragraphs(paragraphs)}"
    docs["afterword.xhtml"] = f"<h2>Afterword</h2>\n<p>{AFTERWORD}</p>"
    ids = {name: f"d{i}" for i, name in enumerate(docs)}
    manifest = "\n".join(
        f'    <item id="{ids[n]}" href="{n}" media-type="application/xhtml+xml"/>' for n in docs
    )
    spine = "\n".join(f'    <itemref idref="{ids[n]}"/>' for n in docs)
    opf = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
    <dc:title>{TITLE}</dc:title><dc:creator opf:role="aut">{AUTHOR}</dc:creator>
    <dc:identifier id="id">x</dc:identifier><dc:language>en</dc:language>
  </metadata>
  <manifest>
{manifest}
    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
  </manifest>
  <spine toc="ncx">
{spine}
  </spine>
</package>
"""
    labels = [("Preface", "preface.xhtml"), (TITLE, "summary.xhtml"), ("Contents", "contents.xhtml")]
    labels += [(t, f"ch{n}.xhtml") for n, (t, _) in enumerate(CHAPTERS, 1)]
    labels.append(("Afterword", "afterword.xhtml"))
    members: dict[str, str | bytes] = {n: xhtml(TITLE, body) for n, body in docs.items()}
    members["toc.ncx"] = ncx(TITLE, labels)
    members["content.opf"] = opf
    return write_zip(path, members, opf="content.opf")


def write_matter_html(path: Path) -> Path:
    """The same work as one HTML page: title, byline, summary, contents, chapters, afterword."""
    chapters = "\n".join(f"<h2>{escape(t)}</h2>\n{_paragraphs(p)}" for t, p in CHAPTERS)
    items = "\n".join(f'<li><a href="#c{n}">{escape(t)}</a></li>' for n, (t, _) in enumerate(CHAPTERS, 1))
    path.write_text(
        f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{TITLE}</title></head>
<body>
<h1>{TITLE}</h1>
<p>by {AUTHOR}</p>
<h2>Summary</h2>
<p>{SUMMARY}</p>
<h2>Table of Contents</h2>
<ul>
{items}
</ul>
{chapters}
<h2>Afterword</h2>
<p>{AFTERWORD}</p>
</body></html>
""",
        encoding="utf-8",
    )
    return path
