"""Tests for chapter detection on normalised text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.readers import detect_chapters
from index.readers.chapters import markdown_title
from index.readers.headings import classify, parse_number

PROSE = "The wind moved over the moor and the house stood silent in the dark. "


def prose(words: int) -> str:
    """Return roughly ``words`` words of filler prose as one paragraph."""
    base = PROSE.split()
    return " ".join(base[i % len(base)] for i in range(words)) + "."


def titles(text: str, markdown: bool = False) -> list[str]:
    return [c.title for c in detect_chapters(text, markdown)]


def bodies(text: str, markdown: bool = False) -> list[str]:
    return [text[c.start : c.end] for c in detect_chapters(text, markdown)]


def book(*headings: str) -> str:
    """Return a text with each heading followed by a short distinct body."""
    return "".join(f"{h}\n\nBody of part {i}, with a few words.\n\n" for i, h in enumerate(headings))


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("Chapter 12", "Chapter 12"),
        ("CHAPTER XII.", "CHAPTER XII"),
        ("Chapter 3: The Fall", "Chapter 3: The Fall"),
        ("Chapter Twelve", "Chapter Twelve"),
        ("Chapter Twenty-One", "Chapter Twenty-One"),
        ("Chapter the Third", None),
        ("Chapter Third", "Chapter Third"),
        ("Chap. 4 - Title", "Chap. 4 - Title"),
        ("CHAPTER 1. Loomings.", "CHAPTER 1. Loomings"),
        ("chapter   7  —  Night", "chapter 7 — Night"),
        ("Prologue", "Prologue"),
        ("Epilogue.", "Epilogue"),
        ("Interlude: The Sea", "Interlude: The Sea"),
        ("Preface", "Preface"),
        ("Foreword - A Note", "Foreword - A Note"),
        ("AFTERWORD", "AFTERWORD"),
        ("FIRST EPILOGUE: 1813 - 20", "FIRST EPILOGUE: 1813 - 20"),
        ("Second Epilogue", "Second Epilogue"),
        ("Book One: 1805", "Book One: 1805"),
        ("BOOK II", "BOOK II"),
        ("Part II", "Part II"),
        ("Part 2: The Return", "Part 2: The Return"),
        ("Volume 3", "Volume 3"),
        ("    CHAPTER IV    ", "CHAPTER IV"),
    ],
)
def test_heading_forms(heading: str, title: str | None) -> None:
    text = f"{heading}\n\nThe body of the chapter.\n"
    expected = [title] if title is not None else [""]
    assert titles(text) == expected
    if title is not None:
        assert bodies(text) == ["The body of the chapter."]


@pytest.mark.parametrize(
    "line",
    [
        "In 1805 the army crossed",
        "Part one of the plan was simple.",
        "Chapter one was boring.",
        "Chapter 1, he said, was the best.",
        "Chapter and verse",
        "I.",
        "A line that mentions Chapter 3 in the middle",
        "Chapter 3 " + "x" * 100,
    ],
)
def test_prose_lines_are_not_headings(line: str) -> None:
    assert titles(f"{line}\n\nMore text.\n") == [""]


def test_numbers_in_words_roman_and_digits() -> None:
    assert [parse_number(t) for t in ["12", "XII", "xiv", "twenty-one", "Forty", "first", "ninth"]] == [
        12,
        12,
        14,
        21,
        40,
        1,
        9,
    ]
    assert parse_number("IIII") is None
    assert parse_number("lots") is None


def test_heading_with_text_on_the_next_line() -> None:
    text = "Chapter 3: The Fall\nIt was dark when they came.\nNobody saw.\n"
    assert titles(text) == ["Chapter 3: The Fall"]
    assert bodies(text) == ["It was dark when they came.\nNobody saw."]


def test_heading_line_inside_a_paragraph_is_text() -> None:
    text = "They read aloud.\nChapter 2\nwas next.\n"
    assert titles(text) == [""]


def test_sentence_starting_like_a_heading_is_text() -> None:
    text = "Part II: the quiet years, as\nthey were called, were long.\n\nChapter 1\n\nBody.\n"
    assert titles(text) == ["Chapter 1"]


def test_run_in_section_headings_are_prose() -> None:
    text = (
        "CHAPTER 32. Cetology.\n\nAn introduction.\n\n"
        "BOOK I. (_Folio_), CHAPTER I. (_Sperm Whale_).—This whale, among the\n"
        "English of old vaguely known as the Trumpa whale.\n\n"
        "BOOK II. (_Octavo_), CHAPTER II. (_Black Fish_).—I give the popular\n"
        "fishermen's names for all these fish.\n"
    )
    assert titles(text) == ["CHAPTER 32. Cetology"]


def test_wrapped_long_title_is_joined() -> None:
    text = (
        "CHAPTER 56. Of the Less Erroneous Pictures of Whales, and the True\n"
        "Pictures of Whaling Scenes.\n\nIn bringing forward the pictures.\n"
    )
    assert titles(text) == [
        "CHAPTER 56. Of the Less Erroneous Pictures of Whales, and the True Pictures of Whaling Scenes"
    ]
    assert bodies(text) == ["In bringing forward the pictures."]


def test_chapters_inside_books_are_prefixed() -> None:
    text = (
        "BOOK ONE: 1805\n\nCHAPTER I\n\nOne.\n\nCHAPTER II\n\nTwo.\n\nBOOK TWO: 1806\n\nCHAPTER I\n\nThree.\n"
    )
    assert titles(text) == [
        "BOOK ONE: 1805 — CHAPTER I",
        "BOOK ONE: 1805 — CHAPTER II",
        "BOOK TWO: 1806 — CHAPTER I",
    ]
    assert bodies(text) == ["One.", "Two.", "Three."]


def test_container_with_its_own_text_is_a_chapter_and_a_prefix() -> None:
    text = "Part II\n\nAn introduction to the part.\n\nChapter 1\n\nThe body.\n"
    assert titles(text) == ["Part II", "Part II — Chapter 1"]


def test_prologue_with_text_is_not_a_prefix() -> None:
    text = book("Prologue", "Chapter 1", "Chapter 2", "Epilogue")
    assert titles(text) == ["Prologue", "Chapter 1", "Chapter 2", "Epilogue"]


def test_empty_epilogue_heading_prefixes_its_chapters() -> None:
    text = "Chapter 9\n\nEnd of the war.\n\nSECOND EPILOGUE\n\nCHAPTER I\n\nHistory.\n\nCHAPTER II\n\nMore.\n"
    assert titles(text) == ["Chapter 9", "SECOND EPILOGUE — CHAPTER I", "SECOND EPILOGUE — CHAPTER II"]


def test_heading_with_empty_body_is_not_a_chapter() -> None:
    assert titles("Chapter 1\n\nChapter 2\n\nThe only text.\n") == ["Chapter 2"]


def _war_and_peace_like() -> str:
    toc_lines = ["CONTENTS", "BOOK ONE: 1805", "CHAPTER I", "CHAPTER II", "CHAPTER III"]
    toc_lines += ["BOOK TWO: 1805", "CHAPTER I", "CHAPTER II", "FIRST EPILOGUE: 1813 - 20"]
    toc_lines += ["CHAPTER I", "CHAPTER II"]
    toc = "".join(f"    {line}\n\n" for line in toc_lines)
    real = "BOOK ONE: 1805\n\n" + book("CHAPTER I", "CHAPTER II", "CHAPTER III")
    real += "BOOK TWO: 1805\n\n" + book("CHAPTER I", "CHAPTER II")
    real += "FIRST EPILOGUE: 1813 - 20\n\n" + book("CHAPTER I", "CHAPTER II")
    return "WAR AND PEACE\n\nBy Leo Tolstoy/Tolstoi\n\n" + toc + real


def test_indented_table_of_contents_is_dropped() -> None:
    text = _war_and_peace_like()
    chapters = detect_chapters(text)
    assert [c.title for c in chapters] == [
        "BOOK ONE: 1805 — CHAPTER I",
        "BOOK ONE: 1805 — CHAPTER II",
        "BOOK ONE: 1805 — CHAPTER III",
        "BOOK TWO: 1805 — CHAPTER I",
        "BOOK TWO: 1805 — CHAPTER II",
        "FIRST EPILOGUE: 1813 - 20 — CHAPTER I",
        "FIRST EPILOGUE: 1813 - 20 — CHAPTER II",
    ]
    assert all(text[c.start : c.end].startswith("Body of part") for c in chapters)
    assert [c.number for c in chapters] == list(range(1, 8))


def test_table_of_contents_with_page_numbers_is_dropped() -> None:
    toc = "".join(
        f"CHAPTER {n}\n        Page\n\nJonathan Harker's Journal      {p}\n\n"
        for n, p in [("I", 1), ("II", 14), ("III", 26)]
    )
    text = "DRACULA\n\nCONTENTS\n\n" + toc + "DRACULA\n\n" + book("CHAPTER I", "CHAPTER II", "CHAPTER III")
    assert titles(text) == ["CHAPTER I", "CHAPTER II", "CHAPTER III"]


def test_text_after_the_contents_becomes_front_matter() -> None:
    toc = "CONTENTS\n\n" + "".join(
        f"{h}\n\n"
        for h in ["CHAPTER 1. Loomings.", "CHAPTER 2. The Carpet-Bag.", "CHAPTER 3. The Inn.", "Epilogue"]
    )
    front = "ETYMOLOGY.\n\n" + prose(120) + "\n\n"
    real = book("CHAPTER 1. Loomings.", "CHAPTER 2. The Carpet-Bag.", "CHAPTER 3. The Inn.", "Epilogue")
    text = "MOBY-DICK\n\n" + toc + front + real
    chapters = detect_chapters(text)
    assert [c.title for c in chapters] == [
        "Front matter",
        "CHAPTER 1. Loomings",
        "CHAPTER 2. The Carpet-Bag",
        "CHAPTER 3. The Inn",
        "Epilogue",
    ]
    assert text[chapters[0].start : chapters[0].end] == front.strip()


def test_table_of_contents_without_blank_lines() -> None:
    toc = "Contents\nChapter 1: Arrival\nChapter 2: Departure\nChapter 3: Return\n\n"
    text = "A Tale\n\n" + toc + book("Chapter 1: Arrival", "Chapter 2: Departure", "Chapter 3: Return")
    assert titles(text) == ["Chapter 1: Arrival", "Chapter 2: Departure", "Chapter 3: Return"]


def test_short_preamble_is_dropped_and_long_one_is_front_matter() -> None:
    short = "THE TITLE\n\nby Someone\n\n" + book("Chapter 1", "Chapter 2")
    assert titles(short) == ["Chapter 1", "Chapter 2"]
    long = "A FOREWORD\n\n" + prose(150) + "\n\n" + book("Chapter 1", "Chapter 2")
    chapters = detect_chapters(long)
    assert [c.title for c in chapters] == ["Front matter", "Chapter 1", "Chapter 2"]
    assert [c.number for c in chapters] == [1, 2, 3]
    assert long[chapters[0].start : chapters[0].end].startswith("A FOREWORD")


def test_markdown_headings_with_a_title_h1() -> None:
    text = "# The Story\n\n## Chapter 1\n\nOne.\n\n### A scene\n\nStill one.\n\n## The End\n\nTwo.\n"
    assert titles(text, markdown=True) == ["Chapter 1", "The End"]
    assert bodies(text, markdown=True)[0] == "One.\n\n### A scene\n\nStill one."
    assert markdown_title(text) == "The Story"


def test_markdown_h1_sections_prefix_h2_chapters() -> None:
    text = "# Part One\n\n## The Storm\n\nRain.\n\n# Part Two\n\n## The Calm\n\nSun.\n"
    assert titles(text, markdown=True) == ["Part One — The Storm", "Part Two — The Calm"]
    assert markdown_title(text) is None


def test_markdown_headings_need_no_blank_lines_and_keywords_still_apply() -> None:
    text = "# Title #\nIntro line.\n## First ##\nOne.\n\nChapter 2\n\nTwo.\n"
    assert titles(text, markdown=True) == ["First", "Chapter 2"]


def test_markdown_title_only_story_is_one_chapter() -> None:
    text = "# Lonely\n\nJust a story.\n"
    assert titles(text, markdown=True) == [""]
    assert markdown_title(text) == "Lonely"


def test_no_headings_gives_one_trimmed_chapter() -> None:
    text = "\n\n  Once upon a time.\n\nThe end.  \n\n"
    chapters = detect_chapters(text)
    assert len(chapters) == 1
    assert (chapters[0].number, chapters[0].title) == (1, "")
    assert text[chapters[0].start : chapters[0].end] == "Once upon a time.\n\nThe end."


@pytest.mark.parametrize("text", ["", "  \n\t\n"])
def test_blank_text_has_no_chapters(text: str) -> None:
    assert detect_chapters(text) == ()


def test_numbered_series_needs_three_headings() -> None:
    three = book("ADVENTURE I. A SCANDAL IN BOHEMIA", "ADVENTURE II. THE LEAGUE", "ADVENTURE III. IDENTITY")
    assert titles(three) == [
        "ADVENTURE I. A SCANDAL IN BOHEMIA",
        "ADVENTURE II. THE LEAGUE",
        "ADVENTURE III. IDENTITY",
    ]
    two = book("ADVENTURE I. A SCANDAL IN BOHEMIA", "ADVENTURE II. THE LEAGUE")
    assert titles(two) == [""]


def test_numbered_series_needs_distinct_numbers() -> None:
    assert titles(book("LETTER 4", "LETTER 4", "LETTER 4")) == [""]
    assert titles(book("Stave One", "Stave Two", "Stave Three")) == ["Stave One", "Stave Two", "Stave Three"]


def test_roman_numeral_with_caps_title_needs_three() -> None:
    three = book("VII. THE BLUE CARBUNCLE", "VIII. THE SPECKLED BAND", "IX. THE ENGINEER'S THUMB")
    assert titles(three) == ["VII. THE BLUE CARBUNCLE", "VIII. THE SPECKLED BAND", "IX. THE ENGINEER'S THUMB"]
    assert titles(book("VII. THE BLUE CARBUNCLE", "VIII. THE SPECKLED BAND")) == [""]


def test_bare_numeral_is_a_subsection_not_a_heading() -> None:
    headings = [
        "ADVENTURE I. A SCANDAL",
        "I.",
        "II.",
        "ADVENTURE II. A LEAGUE",
        "I.",
        "ADVENTURE III. A CASE",
    ]
    text = "TITLE\n\n   I. A Scandal\n  II. A League\n III. A Case\n\n" + book(*headings)
    chapters = detect_chapters(text)
    assert [c.title for c in chapters] == [
        "ADVENTURE I. A SCANDAL",
        "ADVENTURE II. A LEAGUE",
        "ADVENTURE III. A CASE",
    ]
    assert "II.\n\nBody of part 2" in text[chapters[0].start : chapters[0].end]


def test_mixed_case_roman_lines_are_not_headings() -> None:
    text = book("I. A Scandal in Bohemia", "II. The Red-headed League", "III. A Case of Identity")
    assert titles(text) == [""]


def test_classify_keys_match_across_forms() -> None:
    toc, real = classify("CHAPTER 1. Loomings."), classify("Chapter One")
    assert toc is not None
    assert real is not None
    assert toc.key == real.key == ("chapter", 1)


_FRAGMENTS = [
    "Chapter 1",
    "CHAPTER II.",
    "Chapter 3: The Fall",
    "BOOK ONE: 1805",
    "Part 2",
    "Prologue",
    "SECOND EPILOGUE",
    "# Title",
    "## Part",
    "### deep",
    "ADVENTURE I. A CASE",
    "VII. THE END",
    "I.",
    "Contents",
    "Some words of text here.",
    "word",
    "\n",
    "\n\n",
    "\n\n\n",
    "  ",
    "\t",
    "\r",
    "\x1c",
    "\u2028",
    "\xa0",
]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=40),
    markdown=st.booleans(),
)
def test_chapter_spans_are_ordered_trimmed_and_in_bounds(parts: list[str], markdown: bool) -> None:
    text = "".join(parts)
    chapters = detect_chapters(text, markdown)
    assert [c.number for c in chapters] == list(range(1, len(chapters) + 1))
    assert bool(chapters) == bool(text.strip())
    previous_end = 0
    for chapter in chapters:
        assert previous_end <= chapter.start < chapter.end <= len(text)
        body = text[chapter.start : chapter.end]
        assert body == body.strip()
        previous_end = chapter.end
