"""Tests for index/chunking.py: offsets, boundaries, sizes, paragraph numbers, overlap, sentences."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import ChunkParams, _split_long, chunk_story, quotations, sentences
from index.models import Chapter, Passage, Story
from tests.fakes import story_from_text

WORDS = (
    "anna", "house", "cold", "stove", "snow", "road", "window", "light", "quiet", "river", "horse",
    "letter", "morning", "garden", "kitchen", "door", "bread", "small", "tired", "green", "walked",
    "slowly", "toward", "the", "a", "of", "and", "she", "he", "said", "waited",
)  # fmt: skip
SCENE_BREAKS = (
    "\n\n\n",
    "\n\n\n\n",
    "\n \n\t\n",
    "\n\n* * *\n\n",
    "\n\n***\n\n",
    "\n\n---\n\n",
    "\n\n~~~\n\n",
)
MARKERS = ("* * *", "***", "---", "~~~")


def one_chapter(text: str, story_id: str = "s", title: str = "One") -> Story:
    """A story whose single chapter spans the whole text."""
    return Story(
        id=story_id, title="T", text=text, chapters=(Chapter(number=1, title=title, start=0, end=len(text)),)
    )


def sentence_texts(text: str) -> list[str]:
    return [text[a:b] for a, b in sentences(text, 0, len(text))]


def make_sentence(rng: random.Random, min_words: int = 4, max_words: int = 30) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words))]
    return " ".join([words[0].capitalize(), *words[1:]]) + rng.choice(".!?")


def sentence_of_length(n: int, word: str = "snow") -> str:
    """One sentence of exactly ``n`` characters: 'Snow snow ... snowww.'"""
    body = " ".join([word] * (n // (len(word) + 1) + 1))[: n - 1].rstrip()
    body = body + "w" * (n - 1 - len(body))
    sentence = body[0].upper() + body[1:] + "."
    assert len(sentence) == n
    return sentence


def long_text(seed: int, paragraphs: int = 120) -> tuple[str, list[tuple[int, int]]]:
    """Generated fiction-like prose with scene breaks; returns text and the separator spans of breaks."""
    text, breaks, _ = long_text_paras(seed, paragraphs)
    return text, breaks


def long_text_paras(seed: int, paragraphs: int) -> tuple[str, list[tuple[int, int]], list[int]]:
    """Like ``long_text``, also returning where each paragraph starts."""
    rng = random.Random(seed)
    out: list[str] = []
    breaks: list[tuple[int, int]] = []
    starts: list[int] = []
    pos = 0
    for i in range(paragraphs):
        if i:
            sep = rng.choice(SCENE_BREAKS) if rng.random() < 0.08 else "\n\n"
            if sep != "\n\n":
                breaks.append((pos, pos + len(sep)))
            out.append(sep)
            pos += len(sep)
        para = " ".join(make_sentence(rng) for _ in range(rng.randint(1, 6)))
        starts.append(pos)
        out.append(para)
        pos += len(para)
    return "".join(out), breaks, starts


def assert_offsets(story: Story, passages: list[Passage]) -> None:
    assert passages, "expected at least one passage"
    for p in passages:
        assert story.text[p.start : p.end] == p.text
        assert p.text == p.text.strip()


def crosses(p: Passage, span: tuple[int, int]) -> bool:
    return p.start < span[1] and span[0] < p.end


# -- the offsets contract ---------------------------------------------------------------------


def test_offsets_hold_for_single_line_fanfic(tmp_path: Path) -> None:
    rng = random.Random(1)
    bits = []
    for i in range(60):
        s = make_sentence(rng)
        bits.append(f"“{s}” she said, and didn’t look back." if i % 3 == 0 else s)
    text = " ".join(bits)
    assert "\n" not in text
    story = story_from_text(tmp_path, text)
    passages = chunk_story(story, ChunkParams())
    assert_offsets(story, passages)
    assert len(passages) > 5


def test_offsets_hold_for_multi_chapter_text(tmp_path: Path) -> None:
    text, _ = long_text(2, paragraphs=30)
    parts = text.split("\n\n")
    chapters = [f"Chapter {n}\n\n" + "\n\n".join(parts[(n - 1) * 10 : n * 10]) for n in (1, 2, 3)]
    story = story_from_text(tmp_path, "\n\n".join(chapters))
    assert [c.title for c in story.chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    passages = chunk_story(story, ChunkParams(target_chars=300))
    assert_offsets(story, passages)
    assert {p.chapter for p in passages} == {1, 2, 3}
    assert all("Chapter" not in p.text for p in passages)


def test_offsets_hold_for_crlf_file(tmp_path: Path) -> None:
    text, _ = long_text(3, paragraphs=20)
    crlf = ("Chapter 1\n\n" + text + "\n\nChapter 2\n\n" + text).replace("\n", "\r\n")
    story = story_from_text(tmp_path, crlf)
    assert "\r" not in story.text
    passages = chunk_story(story, ChunkParams(target_chars=200))
    assert_offsets(story, passages)
    assert {p.chapter for p in passages} == {1, 2}


# -- chapter and scene boundaries -------------------------------------------------------------


def test_passages_stay_inside_their_chapter(tmp_path: Path) -> None:
    para = "Anna walked to the river. The water was cold and green."
    text = "\n\n".join(f"Chapter {n}\n\n{para}\n\n{para}" for n in (1, 2, 3))
    story = story_from_text(tmp_path, text)
    passages = chunk_story(story, ChunkParams(target_chars=2000))
    # Everything would fit in one passage; chapters must still cut it.
    assert len(passages) == 3
    for p in passages:
        chapter = story.chapters[p.chapter - 1]
        assert chapter.start <= p.start < p.end <= chapter.end
        assert p.chapter_title == chapter.title == f"Chapter {p.chapter}"


@pytest.mark.parametrize("brk", SCENE_BREAKS)
def test_scene_break_cuts_passages(brk: str) -> None:
    before = "Anna waited by the window. The road stayed empty."
    after = "The letter came at dawn. She read it twice."
    text = before + brk + after
    passages = chunk_story(one_chapter(text), ChunkParams(target_chars=450))
    assert [p.text for p in passages] == [before, after]


def test_long_text_respects_scene_breaks() -> None:
    text, breaks = long_text(4)
    assert len(breaks) > 3
    passages = chunk_story(one_chapter(text), ChunkParams(target_chars=450))
    for p in passages:
        assert not any(crosses(p, b) for b in breaks)
        assert not any(m in p.text for m in MARKERS)
        assert "\n\n\n" not in p.text


@pytest.mark.parametrize(
    "text",
    [
        "Anna waited by the window all evening.\n* * *\nThe letter came at dawn.",
        "Anna waited by the window all evening.\n\n***\nThe letter came at dawn.",
        "Anna waited by the window all evening.\n---\n\nThe letter came at dawn.",
    ],
    ids=["single-newlines", "blank-before-only", "blank-after-only"],
)
def test_scene_mark_line_without_blank_lines_is_a_break(text: str) -> None:
    passages = chunk_story(one_chapter(text), ChunkParams())
    assert not any(m in p.text for p in passages for m in MARKERS), [p.text for p in passages]
    assert [p.text for p in passages] == [
        "Anna waited by the window all evening.",
        "The letter came at dawn.",
    ]


# -- sizes --------------------------------------------------------------------------------------


def test_long_text_passage_sizes_near_target() -> None:
    text, _ = long_text(5, paragraphs=200)
    params = ChunkParams(target_chars=450)
    story = one_chapter(text)
    passages = chunk_story(story, params)
    for p in passages:
        single_sentence = len(list(sentences(text, p.start, p.end))) == 1
        assert len(p.text) <= 1.6 * params.target_chars or single_sentence, len(p.text)
    mean = sum(len(p.text) for p in passages) / len(passages)
    assert 0.55 * params.target_chars <= mean <= 1.1 * params.target_chars


def test_full_paragraphs_are_not_merged_past_target() -> None:
    # Three paragraphs of exactly target_chars: each fits a passage on its own.
    paras = [sentence_of_length(450, w) for w in ("snow", "road", "door")]
    passages = chunk_story(one_chapter("\n\n".join(paras)), ChunkParams(target_chars=450))
    assert max(len(p.text) for p in passages) <= 1.6 * 450, [len(p.text) for p in passages]


def test_cut_placement_keeps_passages_near_target() -> None:
    sizes = (400, 300, 400, 400, 250)
    paras = [
        sentence_of_length(n, w)
        for n, w in zip(sizes, ("snow", "road", "door", "bread", "light"), strict=True)
    ]
    passages = chunk_story(one_chapter("\n\n".join(paras)), ChunkParams(target_chars=450))
    # One paragraph per passage would keep every passage under 450 characters.
    assert max(len(p.text) for p in passages) <= 1.6 * 450, [len(p.text) for p in passages]


def test_run_on_sentence_is_cut_near_target() -> None:
    rng = random.Random(6)
    text = "He ran " + " ".join(rng.choice(WORDS) for _ in range(800)) + "."
    params = ChunkParams(target_chars=450)
    passages = chunk_story(one_chapter(text), params)
    assert len(passages) > 5
    assert max(len(p.text) for p in passages) <= 1.15 * params.target_chars
    for p in passages:  # cut at whitespace, never inside a word
        assert p.start == 0 or text[p.start - 1].isspace()
        assert p.end == len(text) or text[p.end].isspace()


def test_split_long_cuts_at_whitespace_within_limit() -> None:
    rng = random.Random(7)
    text = " ".join(rng.choice(WORDS) for _ in range(300))
    pieces = list(_split_long(text, 0, len(text), 100))
    assert len(pieces) > 10
    assert all(b - a <= 100 for a, b in pieces)
    assert all(text[a:b] == text[a:b].strip() for a, b in pieces)
    assert all(b == len(text) or text[b] == " " for _, b in pieces)
    assert " ".join(text[a:b] for a, b in pieces) == text


def test_split_long_hard_cuts_text_without_spaces() -> None:
    text = "x" * 1000
    pieces = list(_split_long(text, 0, len(text), 300))
    assert [b - a for a, b in pieces] == [300, 300, 300, 100]


# -- paragraph numbers, metadata, ids -----------------------------------------------------------

KNOWN = (
    "Chapter 1\n\n"
    "Anna woke early. The house was cold.\n\n"
    "She lit the stove.\n\n"
    "* * *\n\n"
    "By noon the snow had stopped. Anna went out.\n\n"
    "The road was white.\n\n"
    "Chapter 2\n\n"
    "The letter came on Monday.\n\n"
    "She did not open it.\n\n\n"
    "Later, by the river, she did."
)


def test_para_numbers_and_metadata_for_known_text(tmp_path: Path) -> None:
    story = story_from_text(tmp_path, KNOWN, story_id="known")
    passages = chunk_story(story, ChunkParams(target_chars=80))
    texts = [
        "Anna woke early. The house was cold.\n\nShe lit the stove.",
        "By noon the snow had stopped. Anna went out.\n\nThe road was white.",
        "The letter came on Monday.\n\nShe did not open it.",
        "Later, by the river, she did.",
    ]
    got = [(p.id, p.chapter, p.chapter_title, p.ordinal, p.para_start, p.para_end, p.text) for p in passages]
    assert got == [
        ("known:1:0", 1, "Chapter 1", 0, 1, 2, texts[0]),
        ("known:1:1", 1, "Chapter 1", 1, 3, 4, texts[1]),
        ("known:2:0", 2, "Chapter 2", 0, 1, 2, texts[2]),
        ("known:2:1", 2, "Chapter 2", 1, 3, 3, texts[3]),
    ]
    assert all(p.story == "known" for p in passages)


def test_para_numbers_match_blank_line_paragraphs() -> None:
    text, _, starts = long_text_paras(8, paragraphs=60)
    story = one_chapter(text)
    passages = chunk_story(story, ChunkParams(target_chars=300))
    for p in passages:
        first = sum(1 for s in starts if s <= p.start)
        last = sum(1 for s in starts if s < p.end)
        assert (p.para_start, p.para_end) == (first, last)
    assert passages[-1].para_end == len(starts)


def test_ids_are_ordinal_and_deterministic() -> None:
    text, _ = long_text(9, paragraphs=40)
    story = one_chapter(text, story_id="det")
    first = chunk_story(story, ChunkParams(target_chars=250))
    second = chunk_story(one_chapter(text, story_id="det"), ChunkParams(target_chars=250))
    assert first == second
    assert [p.id for p in first] == [f"det:1:{i}" for i in range(len(first))]
    assert [p.ordinal for p in first] == list(range(len(first)))


# -- overlap ------------------------------------------------------------------------------------


def test_overlap_shares_one_sentence_within_a_scene_only() -> None:
    rng = random.Random(10)
    scenes = [
        "\n\n".join(" ".join(make_sentence(rng, 3, 8) for _ in range(rng.randint(3, 5))) for _ in range(6))
        for _ in range(3)
    ]
    text = "\n\n* * *\n\n".join(scenes)
    breaks = [(m.start(), m.end()) for m in re.finditer(r"\n\n\* \* \*\n\n", text)]
    passages = chunk_story(one_chapter(text), ChunkParams(target_chars=200, overlap_sentences=1))
    same_scene = 0
    for prev, nxt in itertools.pairwise(passages):
        between = (prev.start, nxt.end)
        if any(b[0] >= between[0] and b[1] <= between[1] for b in breaks):
            assert nxt.start > prev.end  # no sharing across a scene break
            continue
        same_scene += 1
        assert nxt.start < prev.end
        shared = list(sentences(text, nxt.start, prev.end))
        assert len(shared) == 1
        assert text[nxt.start : prev.end] == text[shared[0][0] : shared[0][1]]
        assert prev.text.endswith(text[nxt.start : prev.end])
    assert same_scene >= 5


# -- sentences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Darcy bowed. She left.", ["Mr. Darcy bowed.", "She left."]),
        ("Dr. Watson sat down. Holmes smiled.", ["Dr. Watson sat down.", "Holmes smiled."]),
        ("J. R. R. Tolkien wrote it. We read it.", ["J. R. R. Tolkien wrote it.", "We read it."]),
        ("“Stop!” she cried. He ran.", ["“Stop!” she cried.", "He ran."]),
        ("“Stop!” He ran.", ["“Stop!”", "He ran."]),
        ("He said. then he left.", ["He said. then he left."]),
        ("Why? Because.", ["Why?", "Because."]),
        ("Wait… What?! No way.", ["Wait…", "What?!", "No way."]),
        ("(He knew.) She did too.", ["(He knew.)", "She did too."]),
        # A short quotation is one sentence, its closing mark with it.
        (
            "Hux’s hand tightens on Ben’s. “Snoke’ll find us. He’ll kill us.” He can hear the smile.",
            ["Hux’s hand tightens on Ben’s.", "“Snoke’ll find us. He’ll kill us.”", "He can hear the smile."],
        ),
        ('"Go away. Now!" she cried. Then he left.', ['"Go away. Now!" she cried.', "Then he left."]),
        ("«Non. Jamais.» Il partit.", ["«Non. Jamais.»", "Il partit."]),
        # Speech that runs on into the next paragraph stays whole to the paragraph's end.
        ("He turned. “I said no. Stop it.", ["He turned.", "“I said no. Stop it."]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


def test_sentences_split_after_quoted_no() -> None:
    # "No." is in the abbreviation list (as in "No. 5"), but a closing quote ends the sentence.
    assert sentence_texts("“No.” She turned away.") == ["“No.”", "She turned away."]


def test_a_long_speech_splits_at_its_own_sentence_ends() -> None:
    speech = " ".join(f"This is sentence number {n} of a very long speech." for n in range(8))
    got = sentence_texts(f"“{speech}” He sat down.")
    assert len(got) == 9
    assert got[0].startswith("“This is sentence number 0")
    assert got[-2].endswith("speech.”")


def test_quotations_pair_curly_straight_and_guillemet_marks() -> None:
    text = 'A “b” c "d" e «f» g “h'
    assert [text[a:b] for a, b in quotations(text, 0, len(text))] == ["“b”", '"d"', "«f»", "“h"]


def test_a_one_paragraph_chapter_cites_how_far_through_it_each_passage_is() -> None:
    body = " ".join(f"Sentence {n} goes on for a while about nothing much." for n in range(60))
    story = Story(
        id="s", title="S", text=body, chapters=(Chapter(number=1, title="", start=0, end=len(body)),)
    )
    passages = chunk_story(story, ChunkParams(target_chars=400))
    assert len(passages) > 4
    assert [p.through for p in passages] == sorted(p.through or 0 for p in passages)
    assert passages[0].place == "at the start"
    assert passages[-1].place.startswith("about ")
    assert passages[-1].place.endswith(" % through")
    assert all(p.through is not None and p.through % 5 == 0 for p in passages)


def test_a_chapter_with_paragraphs_keeps_paragraph_numbers() -> None:
    body = "\n\n".join(f"Paragraph {n} is short. It has two sentences." for n in range(12))
    story = Story(
        id="s", title="S", text=body, chapters=(Chapter(number=1, title="", start=0, end=len(body)),)
    )
    passages = chunk_story(story, ChunkParams(target_chars=120))
    assert all(p.through is None for p in passages)
    assert passages[1].place.startswith("¶")


def test_sentences_respect_bounds() -> None:
    text = "xx Anna left. Bob stayed. yy"
    got = [text[a:b] for a, b in sentences(text, 3, 25)]
    assert got == ["Anna left.", "Bob stayed."]


# -- property: random stories -------------------------------------------------------------------

Built = tuple[Story, list[tuple[int, int, int]], list[tuple[int, int]]]


@st.composite
def fiction(draw: st.DrawFn) -> Built:
    """A story with 'Chapter N' headings; returns it, its sentence spans (chapter, start, end) and breaks."""
    out: list[str] = []
    pos = 0
    sents: list[tuple[int, int, int]] = []
    breaks: list[tuple[int, int]] = []
    chapters: list[Chapter] = []

    def emit(s: str) -> None:
        nonlocal pos
        out.append(s)
        pos += len(s)

    for number in range(1, draw(st.integers(1, 3)) + 1):
        if number > 1:
            emit("\n\n")
        emit(f"Chapter {number}\n\n")
        body_start = pos
        for si in range(draw(st.integers(1, 3))):
            if si:
                brk = draw(st.sampled_from(SCENE_BREAKS))
                breaks.append((pos, pos + len(brk)))
                emit(brk)
            for pi in range(draw(st.integers(1, 4))):
                if pi:
                    emit(draw(st.sampled_from(["\n\n", "\n \n", "\n\n  ", "\n\t\n"])))
                for ti in range(draw(st.integers(1, 5))):
                    if ti:
                        emit(draw(st.sampled_from([" ", "  ", "\n"])))
                    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=40))
                    lead = draw(st.sampled_from(["", "“", "Mr. ", "J. R. "]))
                    end = draw(st.sampled_from([".", "!", "?", "…", ".”", "!”", "?!"]))
                    sentence = lead + " ".join([words[0].capitalize(), *words[1:]]) + end
                    sents.append((number, pos, pos + len(sentence)))
                    emit(sentence)
        chapters.append(Chapter(number=number, title=f"Chapter {number}", start=body_start, end=pos))
    story = Story(id="rand", title="Rand", text="".join(out), chapters=tuple(chapters))
    return story, sents, breaks


@settings(max_examples=100, deadline=None)
@given(built=fiction(), target=st.integers(80, 600), overlap=st.integers(0, 2))
def test_random_stories_keep_every_contract(built: Built, target: int, overlap: int) -> None:
    story, sents, breaks = built
    passages = chunk_story(story, ChunkParams(target_chars=target, overlap_sentences=overlap))
    text = story.text
    covered = [False] * len(text)
    for p in passages:
        assert text[p.start : p.end] == p.text
        chapter = story.chapters[p.chapter - 1]
        assert chapter.start <= p.start < p.end <= chapter.end
        assert not any(crosses(p, b) for b in breaks)
        for i in range(p.start, p.end):
            covered[i] = True
    for number in range(1, len(story.chapters) + 1):
        mine = [p for p in passages if p.chapter == number]
        assert [p.ordinal for p in mine] == list(range(len(mine)))
        for prev, nxt in itertools.pairwise(mine):
            assert prev.start < nxt.start
            assert prev.end < nxt.end
            if overlap == 0:
                assert prev.end <= nxt.start
    assert [p.chapter for p in passages] == sorted(p.chapter for p in passages)
    for _, a, b in sents:  # nothing is lost
        assert all(covered[i] for i in range(a, b) if not text[i].isspace())
