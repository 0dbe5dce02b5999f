"""AO3 downloads as AO3's templates render them (HTML) and as calibre packs them (EPUB)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from tests.story_files import XHTML_NS, ncx, write_zip, xhtml

AO3 = "https://archiveofourown.org"


@dataclass(frozen=True)
class Ao3Chapter:
    """One AO3 chapter: title ("" for untitled), its notes and its body paragraphs."""

    title: str
    paragraphs: tuple[str, ...]
    summary: str = ""
    notes: str = ""
    end_notes: str = ""


SAMPLE_CHAPTERS: tuple[Ao3Chapter, ...] = (
    Ao3Chapter(
        "Prologue",
        (
            "Ada Marsh climbed the hundred steps of the Gull Point lighthouse every evening at dusk.",
            "She trimmed the wick, polished the great lens, and wrote the weather in the log book.",
        ),
        summary="Chapter summary: Ada arrives at the point.",
        notes="Chapter note: this prologue is short.",
        end_notes="Chapter end note: more soon!",
    ),
    Ao3Chapter(
        "",
        (
            "The morning after the gale, Tomas found a brass compass buried under the wet sand.",
            "Its needle spun twice<br />and then pointed steadily at the lighthouse.",
            "&nbsp;",
            "Keeper Finch said the compass had belonged to the drowned captain of the Albatross.",
        ),
        notes="Chapter note: the compass matters later.",
    ),
    Ao3Chapter(
        "The Storm",
        (
            "By nightfall the storm had torn the shutters from the keeper's cottage.",
            "Ada kept the lamp burning until the fishing boats were safely home.",
        ),
        summary="Chapter summary: a storm hits Gull Point.",
        end_notes="Chapter end note: the storm was inspired by a real one.",
    ),
)


@dataclass(frozen=True)
class Ao3Work:
    """What an AO3 download shows: the preface's tags and stats, notes and chapters."""

    title: str = "The Lantern at Gull Point"
    authors: tuple[str, ...] = ("saltwick",)
    rating: str = "Teen And Up Audiences"
    warnings: tuple[str, ...] = ("No Archive Warnings Apply",)
    categories: tuple[str, ...] = ("F/M", "Gen")
    fandoms: tuple[str, ...] = ("Lighthouse Keepers (TV)",)
    relationships: tuple[str, ...] = ("Ada Marsh/Tomas Reyes", "Ada Marsh & Keeper Finch")
    characters: tuple[str, ...] = ("Ada Marsh", "Tomas Reyes", "Keeper Finch")
    tags: tuple[str, ...] = ("Slow Burn", "Storms", "Found Family")
    language: str = "English"
    series: tuple[str, int] | None = ("The Gull Point Cycle", 2)
    published: str = "2023-01-05"
    updated: tuple[str, str] | None = ("Updated", "2023-03-01")
    words: str = "7,526"
    chapters_stat: str = "3/?"
    work_id: int = 4242
    summary: str = "Ada keeps the light. Work summary: the sea keeps secrets."
    notes: str = "Work note: thanks to my beta reader Juniper."
    end_notes: str = "Work end note: comments feed the author."
    chapters: tuple[Ao3Chapter, ...] = field(default_factory=lambda: SAMPLE_CHAPTERS)


ONESHOT = Ao3Work(
    title="Salt and Lamplight",
    rating="Not Rated",
    warnings=("Creator Chose Not To Use Archive Warnings",),
    categories=("Gen",),
    relationships=(),
    characters=("Ada Marsh",),
    series=None,
    updated=None,
    chapters_stat="1/1",
    notes="",
    end_notes="",
    chapters=(
        Ao3Chapter(
            "",
            (
                "Ada watched the supply boat round the headland with a crate of lamp oil.",
                "The oil smelled of whale and winter, and she stacked it by the door.",
            ),
        ),
    ),
)


def note_texts(work: Ao3Work) -> list[str]:
    """Every summary and note of a work: none may appear in story text."""
    texts = [work.summary, work.notes, work.end_notes]
    for chapter in work.chapters:
        texts += [chapter.summary, chapter.notes, chapter.end_notes]
    return [t for t in texts if t]


# -- HTML --------------------------------------------------------------------------------
def _links(names: tuple[str, ...]) -> str:
    return ", ".join(f'<a href="{AO3}/tags/{escape(n)}/works">{escape(n)}</a>' for n in names)


def _dl(work: Ao3Work) -> str:
    rows: list[tuple[str, str]] = []
    for singular, plural, names in [
        ("Rating", "Ratings", (work.rating,) if work.rating else ()),
        ("Archive Warning", "Archive Warnings", work.warnings),
        ("Category", "Categories", work.categories),
        ("Fandom", "Fandoms", work.fandoms),
        ("Relationship", "Relationships", work.relationships),
        ("Character", "Characters", work.characters),
        ("Additional Tags", "Additional Tags", work.tags),
    ]:
        if names:
            rows.append((singular if len(names) == 1 else plural, _links(names)))
    rows.append(("Language", escape(work.language)))
    if work.series:
        name, part = work.series
        rows.append(("Series", f'Part {part} of\n<a href="{AO3}/series/77">{escape(name)}</a>'))
    rows.append(("Collections", f'<a href="{AO3}/collections/tides">Tides Fest 2023</a>'))
    stats = f"\n        Published: {work.published}\n"
    if work.updated:
        stats += f"        {work.updated[0]}: {work.updated[1]}\n"
    stats += f"        Words: {work.words}\n        Chapters: {work.chapters_stat}\n      "
    rows.append(("Stats", stats))
    body = "\n".join(f"      <dt>{label}:</dt>\n      <dd>{value}</dd>" for label, value in rows)
    return f'<dl class="tags">\n{body}\n    </dl>'


def _quote(text: str) -> str:
    return f'<blockquote class="userstuff"><p>{escape(text)}</p></blockquote>'


def _message(work: Ao3Work) -> str:
    url = f"{AO3}/works/{work.work_id}"
    return (
        f'<p class="message">\n    <b>{escape(work.title)}</b><br/>\n    Posted originally on the '
        f'<a href="{AO3}/">Archive of Our Own</a> at <a href="{url}">{url}</a>.\n  </p>'
    )


def _title_block(work: Ao3Work) -> str:
    byline = ", ".join(f'<a rel="author" href="{AO3}/users/{a}/pseuds/{a}">{a}</a>' for a in work.authors)
    parts = [f"<h1>{escape(work.title)}</h1>", f'<div class="byline">by {byline}</div>']
    if work.summary:
        parts += ["<p>Summary</p>", _quote(work.summary)]
    if work.notes or work.end_notes:
        parts.append("<p>Notes</p>")
        if work.notes:
            parts.append(_quote(work.notes))
        if work.end_notes:
            link = '<a href="#endnotes">notes</a>'
            parts.append(f'<div class="endnote-link">See the end of the work for more {link}</div>')
    return "\n    ".join(parts)


def _body(paragraphs: tuple[str, ...], css: str = "userstuff") -> str:
    # Paragraphs are AO3-sanitised HTML already (they may hold <br /> and &nbsp;).
    inner = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<!--chapter content-->\n<div class="{css}">\n{inner}\n</div>\n<!--/chapter content-->'


def _chapter_meta(chapter: Ao3Chapter, number: int, css: str = "meta group") -> str:
    heading = f"Chapter {number}" + (f": {escape(chapter.title)}" if chapter.title else "")
    parts = [f'<h2 class="heading">{heading}</h2>']
    if chapter.summary:
        parts += ["<p>Chapter Summary</p>", _quote(chapter.summary)]
    if chapter.notes or chapter.end_notes:
        parts.append("<p>Chapter Notes</p>")
        if chapter.notes:
            parts.append(_quote(chapter.notes))
        if chapter.end_notes:
            parts.append(
                f'<div class="endnote-link">See the end of the chapter for '
                f'<a href="#endnotes{number}">more notes</a></div>'
            )
    return f'<div class="{css}">\n  ' + "\n  ".join(parts) + "\n</div>"


def _chapter(work: Ao3Work, number: int, meta_css: str = "meta group", body_css: str = "userstuff") -> str:
    chapter = work.chapters[number - 1]
    if len(work.chapters) == 1:
        return _body(chapter.paragraphs, body_css)
    html = _chapter_meta(chapter, number, meta_css) + "\n" + _body(chapter.paragraphs, body_css)
    if chapter.end_notes:
        html += (
            f'\n<div class="{meta_css.split()[0]}" id="endnotes{number}">\n  <p>Chapter End Notes</p>\n  '
            f"{_quote(chapter.end_notes)}\n</div>"
        )
    return html


def _afterword(work: Ao3Work, meta_css: str = "meta") -> str:
    end = ""
    if work.end_notes:
        notes = f'<div id="endnotes">\n<p>End Notes</p>\n{_quote(work.end_notes)}\n</div>'
        end = f'<div class="{meta_css}">\n{notes}\n</div>'
    return (
        f'<div id="afterword">\n<h2 class="toc-heading">Afterword</h2>\n{end}\n'
        f'<p class="message">Please <a href="{AO3}/works/{work.work_id}/comments/new">drop by the '
        "Archive and comment</a> to let the creator know if you enjoyed their work!</p>\n</div>"
    )


def ao3_html(work: Ao3Work) -> str:
    """An AO3 HTML download of ``work``, as AO3's download templates render it."""
    chapters = "\n".join(_chapter(work, n) for n in range(1, len(work.chapters) + 1))
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="{XHTML_NS}" xml:lang="en" lang="en">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>
<title>{escape(work.title)} - {escape(work.authors[0])} - {escape(work.fandoms[0])}</title>
<style type="text/css">
#chapters {{ font-family: "Nimbus Roman No9 L", "Times New Roman", serif; padding: 1em; }}
.toc-heading {{ display: none; }}
</style>
</head>
<body>
<div id="preface">
  <h2 class="toc-heading">Preface</h2>
  {_message(work)}
  <div class="meta">
    {_dl(work)}
    {_title_block(work)}
  </div>
</div>
<div id="chapters" class="userstuff">
{chapters}
</div>
{_afterword(work)}
</body>
</html>
"""


def write_ao3_html(path: Path, work: Ao3Work | None = None) -> Path:
    """Write an AO3 HTML download (the three-chapter sample by default)."""
    path.write_text(ao3_html(work or Ao3Work()), encoding="utf-8")
    return path


# -- EPUB (calibre) ----------------------------------------------------------------------
def write_ao3_epub(
    path: Path,
    work: Ao3Work | None = None,
    *,
    preface_ids: bool = True,
    afterword_id: bool = True,
    title_page_in_chapters: bool = False,
) -> Path:
    """Write an AO3 EPUB download as calibre builds it: EPUB 2, files at the zip root, classes
    renamed, ``div#chapters`` repeated per chapter file, the preface over two files.

    The options make the shapes repackaged downloads take: the preface's second file or the
    afterword without their ids, or the title-and-summary page inside a ``div#chapters`` wrapper.
    """
    work = work or Ao3Work()
    stem = "".join(c for c in work.title if c.isalnum())
    name = f"{stem}_split_{{:03d}}.xhtml"
    second = ' id="preface"' if preface_ids else ""
    docs = [
        f'<div class="calibre1" id="preface">\n<h2 class="toc-heading">Preface</h2>\n{_message(work)}\n'
        f'<div class="calibre2">\n{_dl(work)}\n</div>\n</div>',
        f'<div class="calibre1"{second}>\n<div class="calibre2">\n{_title_block(work)}\n</div>\n</div>',
    ]
    if title_page_in_chapters:
        inner = f'<div class="calibre2">\n{_title_block(work)}\n</div>'
        docs[1] = f'<div class="userstuff1" id="chapters">\n{inner}\n</div>'

    for n in range(1, len(work.chapters) + 1):
        # calibre writes XML: no HTML named entities such as &nbsp;.
        body = _chapter(work, n, "calibre3", "userstuff2").replace("&nbsp;", "&#160;")
        docs.append(f'<div class="userstuff1" id="chapters">\n{body}\n</div>')
    afterword = _afterword(work, "calibre2")
    docs.append(afterword if afterword_id else afterword.replace(' id="afterword"', "", 1))
    files: dict[str, str | bytes] = {
        name.format(i): xhtml(work.title, d, body_attrs=' class="calibre"') for i, d in enumerate(docs)
    }
    labels = [("Preface", name.format(0))]
    labels += [(c.title or f"Chapter {n}", name.format(n + 1)) for n, c in enumerate(work.chapters, 1)]
    labels.append(("Afterword", name.format(len(docs) - 1)))
    files["toc.ncx"] = ncx(work.title, labels)
    files["stylesheet.css"] = ".userstuff2 { margin: 0 }\n"
    files["content.opf"] = _ao3_opf(work, list(files))
    return write_zip(path, files, opf="content.opf")


def _ao3_opf(work: Ao3Work, names: list[str]) -> str:
    docs = [n for n in names if n.endswith(".xhtml")]
    manifest = "\n".join(
        f'    <item href="{n}" id="id{i}" media-type="application/xhtml+xml"/>' for i, n in enumerate(docs)
    )
    spine = "\n".join(f'    <itemref idref="id{i}"/>' for i in range(len(docs)))
    subjects = "\n".join(f"    <dc:subject>{escape(t)}</dc:subject>" for t in (*work.tags, *work.fandoms))
    creators = "\n".join(f'    <dc:creator opf:role="aut">{escape(a)}</dc:creator>' for a in work.authors)
    series = ""
    if work.series:
        series = (
            f'    <meta name="calibre:series" content="{escape(work.series[0])}"/>\n'
            f'    <meta name="calibre:series_index" content="{work.series[1]}"/>'
        )
    return f"""<?xml version='1.0' encoding='utf-8'?>
<package xmlns="http://www.idpf.org/2007/opf" unique-identifier="uuid_id" version="2.0">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf"
            xmlns:calibre="http://calibre.kovidgoyal.net/2009/metadata">
    <dc:title>{escape(work.title)}</dc:title>
{creators}
    <dc:description>{escape("<p>" + escape(work.summary) + "</p>")}</dc:description>
    <dc:publisher>Archive of Our Own</dc:publisher>
    <dc:identifier id="uuid_id" opf:scheme="uuid">0f5c6a52-1111-4c1e-9a55-000000004242</dc:identifier>
    <dc:date>{work.published}T00:00:00+00:00</dc:date>
    <dc:language>en</dc:language>
{subjects}
{series}
  </metadata>
  <manifest>
{manifest}
    <item href="stylesheet.css" id="css" media-type="text/css"/>
    <item href="toc.ncx" id="ncx" media-type="application/x-dtbncx+xml"/>
  </manifest>
  <spine toc="ncx">
{spine}
  </spine>
</package>
"""
