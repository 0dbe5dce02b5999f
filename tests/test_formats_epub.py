"""Generic EPUBs: spine order, TOC titles, front and back matter left out, hostile files refused."""

from __future__ import annotations

import zipfile
from itertools import pairwise
from pathlib import Path

import pytest

from index.chunking import ChunkParams, chunk_story
from index.errors import InputError
from index.models import Story, StoryMeta
from index.readers import read_story, story_files
from tests.story_files import write_zip, xhtml
from tests.story_files.generic import (
    CHAPTER_TEXTS,
    COPYRIGHT_TEXT,
    FOOTNOTE_TEXT,
    GENERIC_AUTHOR,
    NOTE_TEXT,
    generic_epub3_files,
    write_generic_epub2,
    write_generic_epub3,
)
from tests.story_files.hostile import FONT_OBFUSCATION, lie_about_size, write_encrypted_epub, write_zip_bomb

MATTER = [COPYRIGHT_TEXT, NOTE_TEXT, FOOTNOTE_TEXT, "First edition", "Contents", "Title Page", GENERIC_AUTHOR]


def assert_passages_index_the_text(story: Story, absent: list[str]) -> None:
    passages = chunk_story(story, ChunkParams())
    assert passages
    for passage in passages:
        assert story.text[passage.start : passage.end] == passage.text
        assert not any(text in passage.text for text in absent)
    chapters = story.chapters
    assert chapters[0].start == 0
    assert chapters[-1].end == len(story.text)
    assert all(a.end == b.start for a, b in pairwise(chapters))


def test_epub3_chapters_follow_the_spine_with_nav_titles(tmp_path: Path) -> None:
    story = read_story(write_generic_epub3(tmp_path / "salt-road.epub"))
    assert story.title == "The Salt Road"
    assert [(c.number, c.title) for c in story.chapters] == [
        (1, "Chapter One: Arrival"),
        (2, "Chapter Two: The Storm"),
        (3, "Chapter Three"),
    ]
    assert story.text == (
        "Chapter One: Arrival\n\n"
        f"{CHAPTER_TEXTS[1]}\n\n"
        "Wen walked beside the lead mule and listened to the bells.\n\n"
        "Chapter Two: The Storm\n\n"
        f"{CHAPTER_TEXTS[2]}\n\n"
        "They searched for them until the rain stopped a league to the east.\n\n"
        "Chapter Three\n\n"
        f"{CHAPTER_TEXTS[3]}\n\n"
        "* * *\n\n"
        "The river was high and brown.\n"
    )
    assert story.meta == StoryMeta(
        authors=(GENERIC_AUTHOR,),
        language="en",
        summary="A merchant's daughter walks the salt road.",
        # The title page and copyright page, kept as metadata (the cover has no text).
        front_matter=f"The Salt Road\n\n{GENERIC_AUTHOR}\n\n{COPYRIGHT_TEXT}\n\nFirst edition.",
    )
    assert_passages_index_the_text(story, MATTER)


def test_epub2_guide_linear_no_part_pages_and_split_chapters(tmp_path: Path) -> None:
    story = read_story(write_generic_epub2(tmp_path / "salt-road.epub"))
    assert [c.title for c in story.chapters] == ["1. Arrival", "2. The Storm"]
    first = story.text[story.chapters[0].start : story.chapters[0].end]
    # The second file of chapter 1 is not in the NCX: it continues the chapter.
    assert first.startswith("1. Arrival\n\n" + CHAPTER_TEXTS[1])
    assert "Wen slept under the salt wagon" in first
    for absent in [COPYRIGHT_TEXT, "ISBN", "Part One", "About the Author", "lives by the sea"]:
        assert absent not in story.text
    assert_passages_index_the_text(story, [COPYRIGHT_TEXT])


def test_without_a_toc_titles_come_from_headings(tmp_path: Path) -> None:
    files = generic_epub3_files()
    del files["nav.xhtml"]
    story = read_story(write_generic_epub3(tmp_path / "no-toc.epub", files))
    assert [c.title for c in story.chapters] == [
        "Chapter One: Arrival",
        "Chapter Two: The Storm",
        "Chapter Three",
    ]
    for absent in [COPYRIGHT_TEXT, NOTE_TEXT, FOOTNOTE_TEXT, GENERIC_AUTHOR]:
        assert absent not in story.text


def test_toc_fragments_split_one_file_into_chapters(tmp_path: Path) -> None:
    body = (
        '<h2 id="one">Chapter 1</h2><p>The mules were loaded at dawn.</p>'
        '<h2 id="two">Chapter 2</h2><p>The river was crossed at noon.</p>'
    )
    nav = (
        '<nav epub:type="toc"><ol><li><a href="book.xhtml#one">One: Dawn</a></li>'
        '<li><a href="book.xhtml#two">Two: Noon</a></li></ol></nav>'
    )
    files = {"nav.xhtml": xhtml("nav", nav, epub3=True), "book.xhtml": xhtml("book", body, epub3=True)}
    story = read_story(write_generic_epub3(tmp_path / "one-file.epub", files))
    assert [c.title for c in story.chapters] == ["One: Dawn", "Two: Noon"]
    assert story.text == (
        "Chapter 1\n\nThe mules were loaded at dawn.\n\nChapter 2\n\nThe river was crossed at noon.\n"
    )


def test_ao3_publisher_without_ao3_layout_is_read_as_a_generic_epub(tmp_path: Path) -> None:
    # FanFicFare names AO3 as the publisher of the EPUBs it builds from AO3 pages.
    built = write_generic_epub3(tmp_path / "built.epub")
    with zipfile.ZipFile(built) as book:
        opf = book.read("OEBPS/content.opf").decode()
    opf = opf.replace("<dc:language>", "<dc:publisher>Archive of Our Own</dc:publisher><dc:language>")
    story = read_story(write_generic_epub3(tmp_path / "fff.epub", extra={"OEBPS/content.opf": opf}))
    assert [c.title for c in story.chapters] == [
        "Chapter One: Arrival",
        "Chapter Two: The Storm",
        "Chapter Three",
    ]


def test_font_obfuscation_is_not_drm(tmp_path: Path) -> None:
    story = read_story(write_encrypted_epub(tmp_path / "fonts.epub", FONT_OBFUSCATION, "OEBPS/font.otf"))
    assert len(story.chapters) == 3


def test_missing_spine_document_is_a_warning(tmp_path: Path) -> None:
    path = write_generic_epub3(tmp_path / "gap.epub")
    with zipfile.ZipFile(path) as book:
        members = {i.filename: book.read(i) for i in book.infolist() if i.filename != "OEBPS/ch3.xhtml"}
    del members["mimetype"], members["META-INF/container.xml"]
    story = read_story(write_zip(tmp_path / "gap.epub", dict(members), opf="OEBPS/content.opf"))
    assert len(story.chapters) == 2
    assert story.warnings == ("gap.epub: OEBPS/ch3.xhtml is missing; the story may have gaps",)


def test_folder_scan_finds_epub_and_html(tmp_path: Path) -> None:
    write_generic_epub3(tmp_path / "a.epub")
    (tmp_path / "b.html").write_text("<p>x</p>", encoding="utf-8")
    (tmp_path / "c.htm").write_text("<p>x</p>", encoding="utf-8")
    (tmp_path / "d.xhtml").write_text("<p>x</p>", encoding="utf-8")  # unpacked EPUB parts are not stories
    assert [p.name for p in story_files(tmp_path)] == ["a.epub", "b.html", "c.htm"]


# -- refused files ---------------------------------------------------------------------------
def refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        read_story(path)
    return str(caught.value)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    path.write_bytes(b"<html>this was saved with the wrong name</html>")
    assert refused(path) == "book.epub is not a valid EPUB: the file is damaged or not a zip archive"


def test_truncated_epub(tmp_path: Path) -> None:
    data = write_generic_epub3(tmp_path / "full.epub").read_bytes()
    path = tmp_path / "cut.epub"
    path.write_bytes(data[: len(data) // 2])
    assert refused(path) == "cut.epub is not a valid EPUB: the file is damaged or not a zip archive"


def test_zip_bomb_is_refused_from_its_compression_ratio(tmp_path: Path) -> None:
    path = write_zip_bomb(tmp_path / "bomb.epub")
    assert path.stat().st_size < 100_000
    assert (
        refused(path)
        == "bomb.epub is refused as unsafe: OEBPS/ch3.xhtml is compressed more than 100:1 (a zip bomb?)"
    )


def test_header_claiming_too_much_is_refused(tmp_path: Path) -> None:
    path = lie_about_size(write_generic_epub3(tmp_path / "huge.epub"), "OEBPS/ch1.xhtml", 300 * 1024 * 1024)
    assert refused(path) == "huge.epub is refused as unsafe: it unpacks to more than 200 MB"


def test_member_claiming_more_than_the_member_limit_is_refused(tmp_path: Path) -> None:
    path = lie_about_size(write_generic_epub3(tmp_path / "big.epub"), "OEBPS/ch1.xhtml", 40 * 1024 * 1024)
    assert refused(path) == "big.epub is refused as unsafe: OEBPS/ch1.xhtml unpacks to more than 32 MB"


def test_header_claiming_too_little_is_read_no_further(tmp_path: Path) -> None:
    # A member that holds far more than its header says: reading stops at the stated size.
    files = generic_epub3_files()
    files["ch3.xhtml"] = xhtml("ch3", "<p>" + "Wen walked on. " * 20_000 + "</p>")
    path = lie_about_size(write_generic_epub3(tmp_path / "liar.epub", files), "OEBPS/ch3.xhtml", 1000)
    assert refused(path) == "liar.epub is not a valid EPUB: the file is damaged or not a zip archive"


def test_drm_is_refused(tmp_path: Path) -> None:
    path = write_encrypted_epub(tmp_path / "shop.epub")
    assert refused(path) == "shop.epub is DRM-protected; storybot reads only DRM-free EPUBs"


def test_epub_without_chapters(tmp_path: Path) -> None:
    files = {k: v for k, v in generic_epub3_files().items() if not k.startswith("ch")}
    path = write_generic_epub3(tmp_path / "front.epub", files)
    assert refused(path) == "front.epub has no readable chapters"


def test_epub_without_container(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "bare.epub", {"ch1.xhtml": xhtml("c", "<p>x</p>")})
    assert refused(path) == "bare.epub is not a valid EPUB: META-INF/container.xml is missing"


def test_entity_expansion_in_the_package_is_refused(tmp_path: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<package xmlns="http://www.idpf.org/2007/opf"><metadata>&b;</metadata></package>'
    )
    path = write_zip(tmp_path / "laughs.epub", {"content.opf": laughs}, opf="content.opf")
    assert refused(path) == "laughs.epub is not a valid EPUB: content.opf cannot be read"
