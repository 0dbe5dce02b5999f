"""Readers' progress follows chapter identity when a story is replaced: a new version that drops a
spurious chapter (a title page read as chapter 1) keeps every reader at the chapter they reached."""

from __future__ import annotations

from pathlib import Path

from bot.answering import Answerer
from bot.catalog import Catalog
from bot.cli import run
from bot.progress import ReadingProgress
from index.chunking import ChunkParams
from index.ingest import ingest_story
from index.models import Chapter, Story
from index.readers import read_story
from index.readers.layout import Section, lay_out
from index.renumber import ChapterKey, chapter_keys, renumbering
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.fakes import HashEmbedder
from tests.story_files.matter import CHAPTERS, TITLE, write_matter_epub

GUILD = 7
TITLE_PAGE, FIRST, THIRD, FINISHED, UNTOUCHED = 101, 102, 103, 104, 105


def as_ingested_before(story: Story) -> Story:
    """The same work as the old reader made it: the title-and-summary page as chapter 1."""
    sections = [Section(TITLE, TITLE, ("by saltwick",))]
    for chapter in story.chapters:
        text = story.text[chapter.start : chapter.end].strip()
        heading, *paragraphs = text.split("\n\n")
        sections.append(Section(chapter.title, heading, tuple(paragraphs)))
    text, chapters = lay_out(sections, untitled=TITLE)
    return story.model_copy(update={"text": text, "chapters": chapters})


def test_renumbering_matches_chapters_by_text_then_title() -> None:
    old = [
        ChapterKey(1, "title page", "t"),
        ChapterKey(2, "a", "x"),
        ChapterKey(3, "b", "y"),
        ChapterKey(4, "c", "z"),
    ]
    new = [ChapterKey(1, "a", "x"), ChapterKey(2, "b", "y2"), ChapterKey(3, "c", "z")]
    # Chapter 3 was revised (new text, same title); the title page is gone.
    assert renumbering(old, new) == {2: 1, 3: 2, 4: 3}
    assert renumbering(new, new) == {}


def test_chapter_keys_ignore_the_heading_line_and_its_number() -> None:
    text = "Chapter 2: Rain\n\nIt rained.\n\nChapter 1: Rain\n\nIt rained.\n"
    chapters = [
        Chapter(number=1, title="Chapter 2: Rain", start=0, end=29),
        Chapter(number=2, title="Chapter 1: Rain", start=29, end=58),
    ]
    first, second = chapter_keys(text, chapters)
    assert (first.title, first.body) == (second.title, second.body)


def seed(root: Path) -> tuple[Library, ReadingProgress, Story]:
    new = read_story(write_matter_epub(root / "work.epub"), story_id="work")
    old = as_ingested_before(new)
    embedder = HashEmbedder()
    library = Library.create_or_open(root / "data", embedder.model_id, embedder.dimension, ChunkParams())
    ingest_story(library, embedder, old, replace=False, guild=GUILD)
    progress = ReadingProgress(root / "data" / DB_NAME)
    progress.set(GUILD, TITLE_PAGE, "work", 1)
    progress.set(GUILD, FIRST, "work", 2)  # old chapter 2 = the author's chapter 1
    progress.set(GUILD, THIRD, "work", 4)
    progress.set(GUILD, FINISHED, "work", None)
    return library, progress, new


def expect_kept(progress: ReadingProgress) -> None:
    assert progress.of(GUILD, TITLE_PAGE) == {"work": 1}
    assert progress.of(GUILD, FIRST) == {"work": 1}
    assert progress.of(GUILD, THIRD) == {"work": 3}
    assert progress.of(GUILD, FINISHED) == {"work": None}


def test_update_from_discord_keeps_progress_by_chapter(tmp_path: Path) -> None:
    library, progress, _ = seed(tmp_path)
    assert library.chapter_spans("work")[0].title == TITLE
    embedder = HashEmbedder()
    catalog = Catalog(library, Answerer(Searcher(library, embedder), embedder), progress)
    summary = catalog.update(tmp_path / "work.epub", guild=GUILD, story_id="work")
    assert summary.chapters == len(CHAPTERS)
    assert summary.renumbered == {2: 1, 3: 2, 4: 3}
    expect_kept(progress)
    progress.close()
    library.close()


def test_cli_replace_keeps_progress_by_chapter(tmp_path: Path) -> None:
    """The real CLI and model: `storybot ingest --replace` moves progress with the chapters."""
    # The library must be built with the real model for the CLI to open it: seed it through the CLI.
    data = tmp_path / "data"
    write_matter_epub(tmp_path / "work.epub")
    old_file = tmp_path / "old.txt"
    old = [f"Chapter 1: {TITLE}\n\nby saltwick, a tale of the sea."]
    for n, (title, paragraphs) in enumerate(CHAPTERS, 2):
        old.append("\n\n".join([f"Chapter {n}: {title.split(': ', 1)[1]}", *paragraphs]))
    old_file.write_text("\n\n".join(old) + "\n", encoding="utf-8")
    assert run(["--data-dir", str(data), "ingest", str(old_file), "--story-id", "work"]) == 0
    library = Library.open(data)
    assert len(library.chapter_spans("work")) == len(CHAPTERS) + 1
    library.close()
    progress = ReadingProgress(data / DB_NAME)
    progress.set(GUILD, TITLE_PAGE, "work", 1)
    progress.set(GUILD, FIRST, "work", 2)
    progress.set(GUILD, THIRD, "work", 4)
    progress.set(GUILD, FINISHED, "work", None)
    progress.set(GUILD + 1, UNTOUCHED, "other", 2)
    progress.close()
    assert (
        run(
            [
                "--data-dir",
                str(data),
                "ingest",
                str(tmp_path / "work.epub"),
                "--story-id",
                "work",
                "--replace",
            ]
        )
        == 0
    )
    progress = ReadingProgress(data / DB_NAME)
    expect_kept(progress)
    assert progress.of(GUILD + 1, UNTOUCHED) == {"other": 2}
    progress.close()
