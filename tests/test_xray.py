"""The X-Ray: names found in the text (sentence starts, titles, possessives), forms grouped only as
the text shows, people from AO3 tags, per-chapter records reused on re-ingest, and the spoiler
guarantee as a property: /who up to chapter N is exactly /who of the story cut after chapter N."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import Answerer
from bot.catalog import Catalog
from bot.progress import ReadingProgress
from index.cast import MAX_SENTENCE_CHARS, NEAR_CHARS, TOP_NEAR, UnknownPersonError, XRay, _near, sentence_at
from index.chunking import ChunkParams
from index.ingest import ingest_story
from index.models import Story
from index.people import Person, find_people, tag_names
from index.readers import read_story
from index.search import Searcher
from index.store import DB_NAME, Library
from index.xray import chapter_names
from tests.fakes import HashEmbedder

GUILD, READER = 5, 50

KEEPERS = (
    "Chapter 1: Arrival\n\n"
    "Ada Marsh came to the lighthouse in March. The keeper, Mr. Finch, met her at the door.\n\n"
    "“You are late,” said Finch. Ada laughed. But Ada was not sorry, and Finch knew it.\n\n"
    "When the lamp was lit, Ada wrote in Finch's log. The light shone over Gull Point.\n\n"
    "Chapter 2: The Stranger\n\n"
    "In the morning Tomas Reyes washed ashore at Gull Point. Ada found him on the shingle.\n\n"
    "“Who are you?” asked Ada. “Nobody,” said Tomas. Mr. Finch carried him inside.\n\n"
    "Tomas slept for a day. Ada watched him, and Finch watched the sea near Gull Point.\n\n"
    "Chapter 3: The Storm\n\n"
    "The storm came. Tomas held the ladder, said Ada, and Tomas smiled. Finch lit the lamp.\n\n"
    "Tomas and Ada kept watch while Finch slept. Tomas told Ada of Cadiz, where Tomas was born.\n"
)


def keepers(tmp_path: Path) -> Story:
    path = tmp_path / "keepers.txt"
    path.write_text(KEEPERS, encoding="utf-8")
    return read_story(path)


def people_of(story: Story, until: int, tags: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    chapters = {c.number: chapter_names(story.text[c.start : c.end], c.title) for c in story.chapters[:until]}
    starts = {c.number: c.start for c in story.chapters}
    return {p.name: p.forms for p in find_people(chapters, starts, tags)}


def test_people_are_recurring_names_with_titles_and_speech_not_places_or_sentence_starts(
    tmp_path: Path,
) -> None:
    found = people_of(keepers(tmp_path), 3)
    assert set(found) == {"Ada Marsh", "Finch", "Tomas Reyes"}
    # "Ada" and "Finch" alone mean the one person whose longer forms hold them; "Finch's" too.
    assert found["Ada Marsh"] == ("Ada", "Ada Marsh")
    assert found["Finch"] == ("Finch", "Mr Finch")
    # "Gull Point" recurs but only ever "at"/"near"/"over" it; "When", "But", "The" open sentences.
    assert not any(k in " ".join(found) for k in ("Gull", "When", "But", "The", "Cadiz"))


def test_a_person_first_named_later_is_absent_before_that_chapter(tmp_path: Path) -> None:
    story = keepers(tmp_path)
    assert "Tomas Reyes" not in people_of(story, 1)
    assert "Tomas Reyes" in people_of(story, 2)


def test_a_surname_shared_by_two_people_is_not_merged_into_either() -> None:
    text = "Chapter 1\n\n" + " ".join(
        ["Mr. Bennet read.", "Mrs. Bennet talked.", "Mrs. Bennet sighed.", "He looked at Bennet."] * 3
    )
    names = {1: chapter_names(text)}
    people = {p.name: p.forms for p in find_people(names, {1: 0})}
    assert people["Mr. Bennet"] == ("Mr Bennet",)
    assert people["Mrs. Bennet"] == ("Mrs Bennet",)


def test_ao3_character_tags_name_people_and_join_their_aliases() -> None:
    assert tag_names(["Kylo Ren | Ben Solo", "Armitage Hux (Star Wars)", "Original Female Character(s)"]) == [
        ("Kylo Ren", "Ben Solo"),
        ("Armitage Hux",),
    ]
    text = (
        "Chapter 1\n\nKylo Ren waited. Later Ben Solo slept, and Hux watched. Hux sighed. Armitage Hux left."
    )
    names = {1: chapter_names(text)}
    people = {p.name: p for p in find_people(names, {1: 0}, ["Kylo Ren | Ben Solo", "Armitage Hux"])}
    assert set(people) == {"Kylo Ren", "Armitage Hux"}
    assert people["Kylo Ren"].forms == ("Ben Solo", "Kylo Ren")
    assert people["Armitage Hux"].total == 3  # "Hux" twice joins the tag's full name


def library_with(root: Path, story: Story) -> Library:
    embedder = HashEmbedder()
    library = Library.create_or_open(
        root, embedder.model_id, embedder.dimension, ChunkParams(target_chars=160)
    )
    ingest_story(library, embedder, story, replace=False, guild=GUILD)
    return library


def test_profile_first_appearance_mentions_passages_and_near(tmp_path: Path) -> None:
    story = keepers(tmp_path)
    library = library_with(tmp_path / "data", story)
    xray = XRay(library)
    tomas = xray.profile(story.id, "tomas", until=3)
    assert tomas.name == "Tomas Reyes"
    assert (tomas.first_chapter, tomas.first_chapter_title) == (2, "Chapter 2: The Stranger")
    assert tomas.first_sentence == "In the morning Tomas Reyes washed ashore at Gull Point."
    assert tomas.per_chapter == (0, 3, 5)
    assert all(p.chapter <= 3 and "Tomas" in p.text for p in tomas.passages)
    assert tomas.near[0][0] == "Ada Marsh"
    limited = xray.profile(story.id, "Ada", until=1)
    assert limited.per_chapter == (4,)
    assert all(p.chapter == 1 for p in limited.passages)
    # Tomas is first named in chapter 2: up to chapter 1 he is unknown, worded as for no one at all.
    with pytest.raises(UnknownPersonError, match=r"^no one called 'Tomas' in chapters 1 to 1$"):
        xray.profile(story.id, "Tomas", until=1)
    library.close()


def test_name_records_are_stored_at_ingest_and_reused_for_unchanged_chapters(tmp_path: Path) -> None:
    story = keepers(tmp_path)
    library = library_with(tmp_path / "data", story)
    stored = library.stored_names(story.id)
    assert [r.number for r in stored] == [1, 2, 3]
    assert "Tomas Reyes" in stored[1].names.forms
    # A fourth chapter posted: the first three records are reused as they are.
    longer = tmp_path / "keepers.txt"
    longer.write_text(KEEPERS + "\nChapter 4: Spring\n\nAda and Tomas planted the garden. Finch slept.\n")
    ingest_story(library, HashEmbedder(), read_story(longer), replace=True, guild=GUILD)
    again = library.stored_names(story.id)
    assert [r.names for r in again[:3]] == [r.names for r in stored]
    assert len(again) == 4
    library.close()


# -- the spoiler guarantee, as a property -------------------------------------------------------
NAMES = ["Ada Marsh", "Ada", "Mr. Finch", "Finch", "Tomas Reyes", "Tomas", "Captain Vell", "Nora"]
FILLER = ["walked to the cliff", "lit the lamp", "watched the sea", "slept", "laughed at the storm"]
sentence = st.tuples(st.sampled_from(NAMES), st.sampled_from(FILLER), st.booleans()).map(
    lambda t: f"“Enough,” said {t[0]}." if t[2] else f"Then {t[0]} {t[1]}."
)
chapter = st.lists(sentence, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chapters=st.lists(chapter, min_size=1, max_size=6), progress=st.integers(1, 7))
def test_who_up_to_a_chapter_is_who_of_the_story_cut_there(chapters: list[str], progress: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        whole = "".join(f"Chapter {n}\n\n{text}\n\n" for n, text in enumerate(chapters, 1))
        cut = "".join(f"Chapter {n}\n\n{text}\n\n" for n, text in enumerate(chapters[:progress], 1))
        (root / "story.txt").write_text(whole, encoding="utf-8")
        (root / "cut.txt").write_text(cut, encoding="utf-8")
        library = library_with(root / "data", read_story(root / "story.txt"))
        ingest_story(library, HashEmbedder(), read_story(root / "cut.txt"), replace=False, guild=GUILD)
        reading = ReadingProgress(root / "data" / DB_NAME)
        reading.set(GUILD, READER, "story", progress)
        embedder = HashEmbedder()
        catalog = Catalog(library, Answerer(Searcher(library, embedder), embedder), reading)
        seen = catalog.who(GUILD, "story", user=READER).cast
        assert seen is not None
        last = min(progress, len(chapters))
        assert seen.until == last
        expected = XRay(library).cast("cut")
        assert seen.people == expected.people
        for person in seen.people:
            profile = catalog.who(GUILD, "story", name=person.name, user=READER).profile
            assert profile is not None
            assert len(profile.per_chapter) == last
            assert all(p.chapter <= last for p in profile.passages)
            assert profile.first_sentence in cut
        reading.close()
        library.close()


@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=12), min_size=2, max_size=6
    )
)
def test_near_counts_each_mention_with_someone_else_within_reach(mentions: list[list[int]]) -> None:
    # The definition, spelled out: for every other person, how many of this person's mentions have
    # one of theirs within NEAR_CHARS either side.
    people = [Person(name=f"P{i}", forms=(f"P{i}",), mentions={1: sorted(m)}) for i, m in enumerate(mentions)]
    me, offsets = people[0], sorted(mentions[0])
    expected = {}
    for other in people[1:]:
        close = sum(any(abs(o - t) <= NEAR_CHARS for t in other.mentions[1]) for o in offsets)
        if close:
            expected[other.name] = close
    got = dict(_near(me, people, offsets))
    assert got == dict(Counter(expected).most_common(TOP_NEAR))


def test_the_first_sentence_is_split_as_passages_are_not_at_a_title() -> None:
    text = (
        "The room was full. Mr. Hurst merely looked the gentleman; but his friend Mr. Darcy soon drew "
        "notice. Later."
    )
    assert sentence_at(text, text.index("Darcy")) == (
        "Mr. Hurst merely looked the gentleman; but his friend Mr. Darcy soon drew notice."
    )


def test_a_long_first_sentence_is_cut_around_the_mention() -> None:
    text = "and then " * 100 + "Ben came " + "and then " * 100 + "home."
    quoted = sentence_at(text, text.index("Ben"))
    assert "Ben came" in quoted
    assert quoted.startswith("…")
    assert quoted.endswith("…")
    assert len(quoted) <= MAX_SENTENCE_CHARS + 2
