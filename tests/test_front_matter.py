"""Chapters are the author's in every format: front and back matter (title page, summary page,
contents, preface, afterword) stay out of the chapters and go to the metadata; AO3's declared count
is checked; the same work read from HTML and from EPUB has the same chapters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from index.models import Story
from index.readers import read_story
from tests.story_files.ao3 import Ao3Work, write_ao3_epub, write_ao3_html
from tests.story_files.matter import (
    AFTERWORD,
    CHAPTERS,
    MATTER_TEXTS,
    SUMMARY,
    write_matter_epub,
    write_matter_html,
)


def chapters_of(story: Story) -> list[tuple[int, str, str]]:
    return [(c.number, c.title, story.text[c.start : c.end]) for c in story.chapters]


def read_matter(tmp_path: Path, kind: str) -> Story:
    if kind == "epub":
        return read_story(write_matter_epub(tmp_path / "work.epub"))
    return read_story(write_matter_html(tmp_path / "work.html"))


@pytest.mark.parametrize("kind", ["epub", "html"])
def test_front_and_back_matter_are_not_chapters(tmp_path: Path, kind: str) -> None:
    story = read_matter(tmp_path, kind)
    assert [c.title for c in story.chapters] == [t for t, _ in CHAPTERS]
    for text in MATTER_TEXTS:
        assert text not in story.text
    # What the left-out pages held is kept, as metadata.
    assert SUMMARY in story.meta.front_matter
    assert AFTERWORD in story.meta.back_matter


def test_matter_html_and_epub_give_the_same_chapters(tmp_path: Path) -> None:
    assert chapters_of(read_matter(tmp_path, "epub")) == chapters_of(read_matter(tmp_path, "html"))


@pytest.mark.parametrize(
    ("preface_ids", "afterword_id", "title_page_in_chapters"),
    [
        (True, True, False),
        (False, True, False),
        (True, False, False),
        (True, True, True),
        (False, False, False),
    ],
    ids=["calibre", "preface-without-id", "afterword-without-id", "title-page-among-chapters", "no-ids"],
)
def test_ao3_epub_has_the_html_chapters(
    tmp_path: Path, preface_ids: bool, afterword_id: bool, title_page_in_chapters: bool
) -> None:
    html = read_story(write_ao3_html(tmp_path / "work.html"))
    path = tmp_path / "work.epub"
    epub = read_story(
        write_ao3_epub(
            path,
            preface_ids=preface_ids,
            afterword_id=afterword_id,
            title_page_in_chapters=title_page_in_chapters,
        )
    )
    assert len(html.chapters) == 3
    assert chapters_of(epub) == chapters_of(html)
    work = Ao3Work()
    for text in (work.summary, work.end_notes, "Posted originally", "drop by the Archive"):
        assert text not in epub.text
    assert not any("declares" in w for w in epub.warnings)


def test_ao3_title_page_among_chapters_is_kept_as_metadata(tmp_path: Path) -> None:
    epub = read_story(write_ao3_epub(tmp_path / "work.epub", title_page_in_chapters=True))
    assert Ao3Work().summary in epub.meta.front_matter
    assert epub.meta.summary == Ao3Work().summary  # from the package, since the preface lost it


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_ao3_declared_chapter_count_is_checked(tmp_path: Path, kind: str) -> None:
    work = replace(Ao3Work(), chapters_stat="4/?")
    path = tmp_path / f"work.{kind}"
    story = read_story(write_ao3_html(path, work) if kind == "html" else write_ao3_epub(path, work))
    assert len(story.chapters) == 3
    assert any("declares 4 chapters" in w and "3 were found" in w for w in story.warnings)
