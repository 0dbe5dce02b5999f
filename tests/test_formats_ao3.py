"""AO3 downloads (HTML and calibre EPUB): metadata from the preface, chapter text only."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from index.chunking import ChunkParams, chunk_story
from index.models import ChapterNotes, Story, StoryMeta
from index.readers import read_story
from tests.story_files.ao3 import (
    ONESHOT,
    Ao3Work,
    ao3_html,
    note_texts,
    write_ao3_epub,
    write_ao3_html,
)

SAMPLE_META = StoryMeta(
    authors=("saltwick",),
    fandoms=("Lighthouse Keepers (TV)",),
    rating_label="Teen And Up Audiences",
    rating="teen",
    warnings=("No Archive Warnings Apply",),
    categories=("F/M", "Gen"),
    relationships=("Ada Marsh/Tomas Reyes", "Ada Marsh & Keeper Finch"),
    characters=("Ada Marsh", "Tomas Reyes", "Keeper Finch"),
    tags=("Slow Burn", "Storms", "Found Family"),
    language="English",
    series="Part 2 of The Gull Point Cycle",
    summary="Ada keeps the light. Work summary: the sea keeps secrets.",
    notes="Work note: thanks to my beta reader Juniper.",
    end_notes="Work end note: comments feed the author.",
    url="https://archiveofourown.org/works/4242",
    published="2023-01-05",
    updated="2023-03-01",
    chapters_posted=3,
    chapters_planned=None,
    chapter_notes=(
        ChapterNotes(
            number=1,
            summary="Chapter summary: Ada arrives at the point.",
            notes="Chapter note: this prologue is short.",
            end_notes="Chapter end note: more soon!",
        ),
        ChapterNotes(number=2, notes="Chapter note: the compass matters later."),
        ChapterNotes(
            number=3,
            summary="Chapter summary: a storm hits Gull Point.",
            end_notes="Chapter end note: the storm was inspired by a real one.",
        ),
    ),
)
# Text from the download's furniture: labels, links and messages that are not the story.
FURNITURE = ["Preface", "Afterword", "Posted originally", "See the end", "Summary", "Notes", "comment"]


def read_sample(tmp_path: Path, kind: str, work: Ao3Work | None = None) -> Story:
    if kind == "html":
        return read_story(write_ao3_html(tmp_path / "work.html", work))
    return read_story(write_ao3_epub(tmp_path / "work.epub", work))


def assert_clean(story: Story, work: Ao3Work) -> None:
    """No note or download furniture in the text or any passage; passages index the text."""
    passages = chunk_story(story, ChunkParams())
    assert passages
    for passage in passages:
        assert story.text[passage.start : passage.end] == passage.text
    for text in [*note_texts(work), *FURNITURE]:
        assert text not in story.text
        assert not any(text in p.text for p in passages)


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_metadata_comes_from_the_preface(tmp_path: Path, kind: str) -> None:
    story = read_sample(tmp_path, kind)
    assert story.meta == SAMPLE_META
    assert story.title == "The Lantern at Gull Point"
    assert story.warnings == ()


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_chapters_are_numbered_in_order_with_their_titles(tmp_path: Path, kind: str) -> None:
    story = read_sample(tmp_path, kind)
    assert [(c.number, c.title) for c in story.chapters] == [
        (1, "Prologue"),
        (2, "Chapter 2"),
        (3, "The Storm"),
    ]
    headings = ["Chapter 1: Prologue", "Chapter 2", "Chapter 3: The Storm"]
    for chapter, heading in zip(story.chapters, headings, strict=True):
        assert story.text[chapter.start : chapter.end].startswith(heading + "\n\n")
    assert story.chapters[0].start == 0
    assert all(a.end == b.start for a, b in pairwise(story.chapters))
    assert story.chapters[-1].end == len(story.text)


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_story_text_is_the_chapter_bodies_only(tmp_path: Path, kind: str) -> None:
    story = read_sample(tmp_path, kind)
    assert story.text == (
        "Chapter 1: Prologue\n\n"
        "Ada Marsh climbed the hundred steps of the Gull Point lighthouse every evening at dusk.\n\n"
        "She trimmed the wick, polished the great lens, and wrote the weather in the log book.\n\n"
        "Chapter 2\n\n"
        "The morning after the gale, Tomas found a brass compass buried under the wet sand.\n\n"
        "Its needle spun twice\nand then pointed steadily at the lighthouse.\n\n"
        "Keeper Finch said the compass had belonged to the drowned captain of the Albatross.\n\n"
        "Chapter 3: The Storm\n\n"
        "By nightfall the storm had torn the shutters from the keeper's cottage.\n\n"
        "Ada kept the lamp burning until the fishing boats were safely home.\n"
    )
    assert_clean(story, Ao3Work())


def test_epub_and_html_downloads_read_the_same(tmp_path: Path) -> None:
    html = read_sample(tmp_path, "html")
    epub = read_sample(tmp_path, "epub")
    assert (epub.text, epub.chapters, epub.meta) == (html.text, html.chapters, html.meta)


def test_epub_preface_split_without_its_id_is_still_read(tmp_path: Path) -> None:
    story = read_story(write_ao3_epub(tmp_path / "work.epub", preface_ids=False))
    assert story.meta == SAMPLE_META
    assert_clean(story, Ao3Work())


@pytest.mark.parametrize("kind", ["html", "epub"])
def test_single_chapter_work_opens_with_the_work_title(tmp_path: Path, kind: str) -> None:
    story = read_sample(tmp_path, kind, ONESHOT)
    assert story.title == "Salt and Lamplight"
    assert [(c.number, c.title) for c in story.chapters] == [(1, "")]
    assert story.text == (
        "Salt and Lamplight\n\n"
        "Ada watched the supply boat round the headland with a crate of lamp oil.\n\n"
        "The oil smelled of whale and winter, and she stacked it by the door.\n"
    )
    meta = story.meta
    assert (meta.rating_label, meta.rating) == ("Not Rated", "unrated")
    assert (meta.chapters_posted, meta.chapters_planned) == (1, 1)
    assert (meta.series, meta.updated, meta.relationships, meta.chapter_notes) == ("", "", (), ())
    assert_clean(story, ONESHOT)


@pytest.mark.parametrize(
    ("label", "rating"),
    [
        ("General Audiences", "general"),
        ("Teen And Up Audiences", "teen"),
        ("Mature", "mature"),
        ("Explicit", "explicit"),
        ("Not Rated", "unrated"),
        ("", "unrated"),
    ],
)
def test_rating_is_normalised(tmp_path: Path, label: str, rating: str) -> None:
    story = read_sample(tmp_path, "html", replace(ONESHOT, rating=label))
    assert (story.meta.rating_label, story.meta.rating) == (label, rating)


def test_completed_work_has_its_completion_date_and_total(tmp_path: Path) -> None:
    work = replace(Ao3Work(), updated=("Completed", "2023-04-02"), chapters_stat="3/3")
    meta = read_sample(tmp_path, "html", work).meta
    assert (meta.updated, meta.chapters_posted, meta.chapters_planned) == ("2023-04-02", 3, 3)


def test_single_labels_and_many_authors(tmp_path: Path) -> None:
    work = replace(Ao3Work(), authors=("saltwick", "gannet"), categories=("Gen",), relationships=("A/B",))
    meta = read_sample(tmp_path, "html", work).meta
    assert (meta.authors, meta.categories, meta.relationships) == (("saltwick", "gannet"), ("Gen",), ("A/B",))


def test_ao3_is_recognised_by_content_not_file_name(tmp_path: Path) -> None:
    path = tmp_path / "download (1).htm"
    path.write_text(ao3_html(Ao3Work()), encoding="utf-8")
    assert read_story(path).meta == SAMPLE_META


def test_body_opening_with_its_own_chapter_heading_stays_text(tmp_path: Path) -> None:
    # The author repeats the heading inside the chapter text: after a heading group comes a body.
    html = ao3_html(Ao3Work()).replace(
        '<div class="userstuff">\n<p>', '<div class="userstuff">\n<h2>Chapter 1: Prologue</h2>\n<p>', 1
    )
    path = tmp_path / "work.html"
    path.write_text(html, encoding="utf-8")
    story = read_story(path)
    assert [c.title for c in story.chapters] == ["Prologue", "Chapter 2", "The Storm"]
    chapter = story.chapters[0]
    assert story.text[chapter.start : chapter.end].startswith(
        "Chapter 1: Prologue\n\nChapter 1: Prologue\n\nAda Marsh climbed"
    )


def test_ingest_and_search_an_ao3_epub_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import run

    path = write_ao3_epub(tmp_path / "gull-point.epub")
    data = tmp_path / "data"
    assert run(["--data-dir", str(data), "ingest", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (summary["id"], summary["chapters"]) == ("gull-point", 3)
    question = "Where did Tomas find the brass compass?"
    assert run(["--data-dir", str(data), "search", question, "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits[0]["chapter"] == 2
    assert hits[0]["chapter_title"] == "Chapter 2"
    assert "buried under the wet sand" in hits[0]["text"]
    assert not any(note in h["text"] for h in hits for note in note_texts(Ao3Work()))
