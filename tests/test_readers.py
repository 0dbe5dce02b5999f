"""Tests for reading story files: decoding, errors, ids, titles and folder listing."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.errors import InputError
from index.readers import (
    SUPPORTED_SUFFIXES,
    default_story_id,
    read_story,
    story_files,
    validate_story_id,
)

BODY = "The lighthouse keeper counted the ships every night.\n"


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".markdown", ".text", ".html", ".htm", ".epub")


def test_utf8_lf_text_is_kept_exactly(tmp_path: Path) -> None:
    text = "\n\n  Chapter 1\n\n  “Café,” she said.  \n\tIndented line.\n\n\n"
    story = read_story(write(tmp_path, "exact.txt", text))
    assert story.text == text
    assert story.warnings == ()
    chapter = story.chapters[0]
    assert story.text[chapter.start : chapter.end] == "“Café,” she said.  \n\tIndented line."


def test_bom_is_stripped(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "bom.txt", codecs.BOM_UTF8 + "Café there.\n".encode()))
    assert story.text == "Café there.\n"
    assert story.warnings == ()


def test_crlf_and_lone_cr_become_lf(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "eol.txt", b"one\r\ntwo\rthree\r\n\r\nfour"))
    assert story.text == "one\ntwo\nthree\n\nfour"


def test_cp1252_is_decoded_with_a_warning(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "old.txt", b"caf\xe9 \x93quoted\x94 \x85\n"))
    assert story.text == "café “quoted” …\n"
    assert story.warnings == ("old.txt is not valid UTF-8; read as Windows-1252",)


def test_bytes_cp1252_leaves_undefined_are_read_as_latin1(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "odd.txt", b"a\x81b\x9dc \xe9"))
    assert story.text == "a\x81b\x9dc é"


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + "Chapter 1\r\n\r\nHello.\r\n".encode("utf-16-le")
    story = read_story(write(tmp_path, "wide.txt", data))
    assert story.text == "Chapter 1\n\nHello.\n"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", codecs.BOM_UTF8 + b"\n", b"\xa0\xa0"])
def test_empty_or_blank_file_is_rejected(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"^blank\.txt is empty$"):
        read_story(write(tmp_path, "blank.txt", data))


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04\x00\x00binary", b"text\x00more text", bytes(range(1, 9)) * 50 + b"some text"],
)
def test_binary_file_is_rejected(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match=r"^data\.txt is not a text file$"):
        read_story(write(tmp_path, "data.txt", data))


def test_a_few_control_characters_are_tolerated(tmp_path: Path) -> None:
    text = "Form feed\fand a bell\x07 in a long enough line of ordinary text.\n"
    assert read_story(write(tmp_path, "ctl.txt", text)).text == text


def test_unsupported_suffix_is_rejected(tmp_path: Path) -> None:
    expected = r"^unsupported format '\.pdf': storybot reads \.txt, \.md, \.html and \.epub$"
    with pytest.raises(InputError, match=expected):
        read_story(write(tmp_path, "book.pdf", BODY))


def test_file_without_suffix_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported format"):
        read_story(write(tmp_path, "README", BODY))


def test_suffix_case_is_ignored(tmp_path: Path) -> None:
    assert read_story(write(tmp_path, "LOUD.TXT", BODY)).text == BODY


def test_missing_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError, match=r"^no such file: .*nope\.txt$"):
        read_story(missing)


def test_folder_passed_to_read_story_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "shelf.txt"
    folder.mkdir()
    with pytest.raises(InputError, match="folder"):
        read_story(folder)


def test_story_files_for_a_file_is_that_file(tmp_path: Path) -> None:
    path = write(tmp_path, "one.txt", BODY)
    assert story_files(path) == [path]


def test_story_files_lists_supported_files_recursively_sorted(tmp_path: Path) -> None:
    for name in ["b.md", "a.txt", "sub/c.text", "sub/deeper/d.markdown", "notes.pdf", "E.TXT"]:
        write(tmp_path, name, BODY)
    write(tmp_path, ".hidden.txt", BODY)
    write(tmp_path, ".git/ignored.txt", BODY)
    found = [p.relative_to(tmp_path).as_posix() for p in story_files(tmp_path)]
    assert found == ["E.TXT", "a.txt", "b.md", "sub/c.text", "sub/deeper/d.markdown"]


def test_story_files_in_a_folder_without_stories(tmp_path: Path) -> None:
    write(tmp_path, "cover.png", b"\x89PNG")
    with pytest.raises(InputError, match=r"^no stories \(\.txt, \.md, \.html, \.epub\) in "):
        story_files(tmp_path)


def test_story_files_for_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^no such file or folder: .*ghost$"):
        story_files(tmp_path / "ghost")


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("Pride and Prejudice", "pride-and-prejudice"),
        ("War & Peace!!", "war-peace"),
        ("Café Noir", "cafe-noir"),
        ("My_Story-2", "my_story-2"),
        ("--odd--name--", "odd-name"),
        ("_draft", "draft"),
        ("日本語", "story"),
        ("x" * 150, "x" * 100),
        ("a" * 99 + " b", "a" * 99),
    ],
)
def test_default_story_id(stem: str, expected: str) -> None:
    assert default_story_id(Path(f"/shelf/{stem}.txt")) == expected


@given(st.text(max_size=80))
def test_default_story_id_is_always_valid(stem: str) -> None:
    path = Path("shelf") / (stem.replace("/", "").replace("\x00", "") + ".txt")
    assert validate_story_id(default_story_id(path)) == default_story_id(path)


@pytest.mark.parametrize("story_id", ["a", "dracula", "war-and-peace", "book_2", "9lives", "a" * 100])
def test_valid_story_ids(story_id: str) -> None:
    assert validate_story_id(story_id) == story_id


@pytest.mark.parametrize("story_id", ["", "-dash", "_under", "Upper", "has space", "a" * 101, "id\n", "é"])
def test_invalid_story_ids(story_id: str) -> None:
    with pytest.raises(InputError, match="a-z, 0-9"):
        validate_story_id(story_id)


def test_read_story_uses_given_id_and_title(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "x.txt", BODY), story_id="lighthouse", title="  The  Lighthouse ")
    assert (story.id, story.title, story.source) == ("lighthouse", "The Lighthouse", "x.txt")


def test_read_story_rejects_an_invalid_given_id(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_story(write(tmp_path, "x.txt", BODY), story_id="Bad Id")


def test_default_id_and_title_come_from_the_file_name(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "the-old_man and iPhone.txt", BODY))
    assert story.id == "the-old_man-and-iphone"
    assert story.title == "The Old Man And IPhone"
    assert story.source == "the-old_man and iPhone.txt"


def test_markdown_title_comes_from_a_single_leading_h1(tmp_path: Path) -> None:
    text = "# The Long Night\n\n## Chapter 1\n\nDark.\n\n## Chapter 2\n\nDarker.\n"
    story = read_story(write(tmp_path, "night.md", text))
    assert story.title == "The Long Night"
    assert [c.title for c in story.chapters] == ["Chapter 1", "Chapter 2"]


def test_markdown_without_h1_falls_back_to_the_stem(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "night-watch.markdown", "## One\n\nDark.\n\n## Two\n\nDarker.\n"))
    assert story.title == "Night Watch"
    assert [c.title for c in story.chapters] == ["One", "Two"]


def test_hash_lines_are_plain_text_in_txt_files(tmp_path: Path) -> None:
    story = read_story(write(tmp_path, "plain.txt", "# One\n\nDark.\n\n## Two\n\nDarker.\n"))
    assert story.title == "Plain"
    assert [c.title for c in story.chapters] == [""]


def test_chapters_index_into_the_story_text(tmp_path: Path) -> None:
    text = "Chapter 1\r\n\r\nFirst body.\r\n\r\nChapter 2\r\n\r\nSecond body.\r\n"
    story = read_story(write(tmp_path, "two.txt", text))
    assert [story.text[c.start : c.end] for c in story.chapters] == ["First body.", "Second body."]
