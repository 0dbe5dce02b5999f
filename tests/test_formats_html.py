"""Plain HTML stories: body text only, chapters from headings, encodings, refusals."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from index.chunking import ChunkParams, chunk_story
from index.errors import InputError
from index.readers import read_story
from tests.story_files.generic import plain_html

HIDDEN = ["STYLE TEXT", "SCRIPT TEXT", "NOSCRIPT TEXT", "TEMPLATE TEXT", "COMMENT TEXT", "Home", "color"]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def page(body: str, head: str = '<meta charset="utf-8">') -> str:
    return f"<!DOCTYPE html><html><head>{head}<title>Page</title></head><body>{body}</body></html>"


def test_body_text_without_scripts_styles_or_navigation(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "keeper.html", plain_html()))
    assert story.title == "The Keeper's Log"
    assert [(c.number, c.title) for c in story.chapters] == [(1, "Chapter 1: Fog"), (2, "Chapter 2: Wreck")]
    assert story.text == (
        "Chapter 1: Fog\n\n"
        "The fog came in so thick that Ada could not see the gallery rail from the lamp room.\n\n"
        "She rang the bell every two minutes until dawn.\n\n"
        "Chapter 2: Wreck\n\n"
        "A schooner struck the reef at first light.\n\n"
        "Ada rowed out with Tomas and brought back three sailors.\n"
    )
    passages = chunk_story(story, ChunkParams())
    for passage in passages:
        assert story.text[passage.start : passage.end] == passage.text
        assert not any(hidden in passage.text for hidden in HIDDEN)
    for chapter in story.chapters:
        assert story.text[chapter.start : chapter.end].startswith(chapter.title + "\n\n")


def test_stacked_headings_make_one_heading_line(tmp_path: Path) -> None:
    body = "<h1>Book</h1><h2>Chapter 1</h2><h3>The Fog</h3><p>Fog.</p><h2>Chapter 2</h2><p>Wreck.</p>"
    story = read_story(write(tmp_path, "stacked.html", page(body)))
    assert story.title == "Book"
    assert [c.title for c in story.chapters] == ["Chapter 1: The Fog", "Chapter 2"]
    assert story.text == "Chapter 1: The Fog\n\nFog.\n\nChapter 2\n\nWreck.\n"


def test_chapters_written_as_paragraphs_are_detected_like_text(tmp_path: Path) -> None:
    body = (
        "<p>Chapter 1</p><p>Fog rolled in.</p><p>Chapter 2</p><p>A ship struck.</p>"
        "<p>Chapter 3</p><p>Calm.</p>"
    )
    story = read_story(write(tmp_path, "paras.html", page(body)))
    assert [(c.number, c.title) for c in story.chapters] == [
        (1, "Chapter 1"),
        (2, "Chapter 2"),
        (3, "Chapter 3"),
    ]
    assert story.text == "Chapter 1\n\nFog rolled in.\n\nChapter 2\n\nA ship struck.\n\nChapter 3\n\nCalm.\n"


def test_page_without_headings_is_one_chapter_opened_by_the_title(tmp_path: Path) -> None:
    body = "<div>Ada kept the light<br/>through the long winter.<br/><br/>Spring came late.</div>"
    story = read_story(write(tmp_path, "winter.htm", page(body)), title="A Long Winter")
    assert story.chapters[0].title == ""
    assert (
        story.text == "A Long Winter\n\nAda kept the light\nthrough the long winter.\n\nSpring came late.\n"
    )


def test_declared_charset_is_honoured(tmp_path: Path) -> None:
    html = page("<p>Смотритель маяка.</p>", head='<meta charset="windows-1251">')
    story = read_story(write(tmp_path, "ru.html", html.encode("cp1251")))
    assert "Смотритель маяка." in story.text
    assert story.warnings == ()


def test_latin1_declaration_reads_as_windows_1252(tmp_path: Path) -> None:
    html = page(
        "<p>\x93Caf\xe9,\x94 she said.</p>",
        head='<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">',
    )
    story = read_story(write(tmp_path, "old.html", html.encode("latin-1")))
    assert "“Café,” she said." in story.text


def test_utf16_with_bom(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + page("<p>Café lights.</p>").encode("utf-16-le")
    assert "Café lights." in read_story(write(tmp_path, "wide.html", data)).text


def test_undeclared_windows_1252_is_read_with_a_warning(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "legacy.html", b"<p>caf\xe9 \x93quoted\x94</p>"))
    assert "café “quoted”" in story.text
    assert story.warnings == ("legacy.html is not valid UTF-8; read as Windows-1252",)


def test_wrong_declared_charset_falls_back_with_a_warning(tmp_path: Path) -> None:
    html = page("<p>Привет</p>", head='<meta charset="shift_jis">').encode("utf-8")
    story = read_story(write(tmp_path, "mislabelled.html", html))
    assert "Привет" in story.text
    assert story.warnings == ("mislabelled.html is not valid shift_jis as it declares; read as UTF-8",)


def test_html_without_text_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "blank.html", page("<script>alert(1)</script><style>p{}</style><p>&nbsp;</p>"))
    with pytest.raises(InputError, match=r"^blank\.html has no text$"):
        read_story(path)


def test_empty_html_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^empty\.html is empty$"):
        read_story(write(tmp_path, "empty.html", b"  \n"))


def test_binary_named_html_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^image\.html is not a text file$"):
        read_story(write(tmp_path, "image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))


def test_unknown_suffix_lists_what_storybot_reads(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"^unsupported format '\.pdf': storybot reads \.txt, \.md, \.html and \.epub$"
    ):
        read_story(write(tmp_path, "book.pdf", b"%PDF-1.7"))


def test_deeply_nested_markup_does_not_exhaust_the_stack(tmp_path: Path) -> None:
    html = "<div>" * 20_000 + "<p>Deep down the keeper slept.</p>" + "</div>" * 20_000
    story = read_story(write(tmp_path, "deep.html", html), title="Deep")
    assert story.text == "Deep\n\nDeep down the keeper slept.\n"
