"""Discord formatting: limits, escaping, mention safety, truncation, citations and answer embeds."""

from __future__ import annotations

from collections import Counter

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answering import Answer
from bot.formatting import (
    LIMITS,
    answer_embed,
    cite,
    content_chunks,
    embed_length,
    escape_story_text,
    fit_embed,
    markdown_balanced,
    no_mentions,
    send_kwargs,
    truncate,
    truncate_start,
)
from index.models import Hit, Passage

MARKERS = ("```", "**", "__", "~~", "||", "*", "_", "`")


def balanced(text: str) -> bool:
    """Every marker pairs up and no lone backslash ends the text (written apart from the module's)."""
    counts: Counter[str] = Counter()
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 == len(text):
                return False
            i += 2
            continue
        marker = next((m for m in MARKERS if text.startswith(m, i)), None)
        counts[marker or ""] += 1
        i += len(marker) if marker else 1
    return all(n % 2 == 0 for m, n in counts.items() if m)


def passage(
    text: str, *, chapter: int = 3, title: str = "The Storm", start: int = 500, paras: int = 1
) -> Passage:
    """A passage of ``text`` placed at story offset ``start``."""
    return Passage(
        id=f"tale:{chapter}:0",
        story="tale",
        chapter=chapter,
        chapter_title=title,
        ordinal=0,
        para_start=1,
        para_end=paras,
        start=start,
        end=start + len(text),
        text=text,
    )


def answer_about(p: Passage, sentence: str, *others: Passage) -> Answer:
    """An answer whose sentence is the first occurrence of ``sentence`` in ``p``."""
    at = p.start + p.text.index(sentence)
    hits = tuple(Hit(passage=q, score=1.0 - i / 10) for i, q in enumerate((p, *others)))
    return Answer(question="What happened?", hits=hits, sentence_start=at, sentence_end=at + len(sentence))


def prose(chars: int, seed: str = "rain") -> str:
    """Paragraphs of plain sentences, about ``chars`` long."""
    sentences = [
        f"The {seed} fell on house number {i} while Mara waited by the door." for i in range(chars // 60)
    ]
    paragraphs = [" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5)]
    return "\n\n".join(paragraphs)


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= LIMITS.embed_title
    assert len(embed.description or "") <= LIMITS.embed_description
    assert len(embed.fields) <= LIMITS.fields
    for field in embed.fields:
        assert 0 < len(field.name or "") <= LIMITS.field_name
        assert 0 < len(field.value or "") <= LIMITS.field_value
    assert len(embed.footer.text or "") <= LIMITS.footer_text
    assert len(embed.author.name or "") <= LIMITS.author_name
    assert embed_length(embed) == len(embed) <= LIMITS.embed_total


def all_text(embed: discord.Embed) -> str:
    fields = [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join([embed.title or "", embed.description or "", *fields, embed.footer.text or ""])


# -- answer embeds ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2_000, 10_000])
def test_long_passage_embed_keeps_every_limit(size: int) -> None:
    text = prose(size)
    sentence = "The rain fell on house number 17 while Mara waited by the door."
    others = [passage(prose(size, seed=f"snow{i}"), chapter=4 + i, start=size * (i + 2)) for i in range(3)]
    answer = answer_about(passage(text), sentence, *others)
    embed = answer_embed(answer, story_title="A Tale " * 60, until_chapter=7)
    assert_within_limits(embed)
    description = embed.description or ""
    assert description.startswith(f"**{sentence}**\n\n> ")
    assert f"**{sentence}**" in description.split("\n\n", 1)[1]  # marked inside the quote too
    assert all(line.startswith("> ") for line in description.split("\n\n", 1)[1].splitlines())
    assert markdown_balanced(description)
    assert embed.fields[0].name == "Source"
    assert (embed.fields[0].value or "").startswith("Chapter 3: The Storm")
    assert all((f.name or "").startswith("Also: Chapter ") for f in embed.fields[1:])
    assert embed.footer.text == "Up to chapter 7"


def test_sentence_spanning_the_whole_huge_passage_still_fits() -> None:
    text = " ".join(["word"] * 3_000)  # one 15,000-character "sentence" with no punctuation
    embed = answer_embed(answer_about(passage(text), text), story_title="Tale")
    assert_within_limits(embed)
    assert markdown_balanced(embed.description or "")


@pytest.mark.parametrize("size", [2_000, 10_000])
def test_content_chunks_stay_under_the_limit_and_keep_every_word(size: int) -> None:
    text = prose(size)
    chunks = content_chunks(text)
    assert all(0 < len(c) <= LIMITS.content for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_content_chunks_prefer_paragraph_breaks() -> None:
    text = "a" * 1_500 + ".\n\n" + "b " * 600
    chunks = content_chunks(text)
    assert chunks[0] == "a" * 1_500 + "."
    assert content_chunks("  \n ") == []
    assert content_chunks("short") == ["short"]
    assert [len(c) for c in content_chunks("x" * 4_500)] == [2_000, 2_000, 500]  # no boundary: hard cuts


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["word", "longerword", ".", "!", "\n\n", "\n", "x" * 90]), max_size=400))
def test_content_chunks_property(pieces: list[str]) -> None:
    text = " ".join(pieces)
    chunks = content_chunks(text, limit=100)
    assert all(0 < len(c) <= 100 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_mentions_and_markdown_in_story_are_inert() -> None:
    text = (
        "Pings: @everyone and @here, <@123>, <@&456>, <#789>, <@!123456789012345678>.\n\n"
        "**bold** _it_ `code` ||spoiler|| ~~gone~~ [link](https://example.com)\n\n"
        "> quote\n\n# Heading\n\n- item\n\n1. first"
    )
    embed = answer_embed(answer_about(passage(text, title="@everyone **ch**"), "Pings:"), story_title="@here")
    rendered = all_text(embed)
    for ping in ("@everyone", "@here", "<@123>", "<@&456>", "<#789>", "<@!123456789012345678>"):
        assert ping not in rendered
    description = embed.description or ""
    for escaped in (r"\*\*bold\*\*", r"\_it\_", r"\`code\`", r"\|\|spoiler\|\|", r"\~\~gone\~\~", r"\[link]"):
        assert escaped in description
    for escaped in (r"> \> quote", r"> \# Heading", r"> \- item", r"> 1\. first"):
        assert escaped in description.splitlines()
    assert r"\*\*ch\*\*" in (embed.fields[0].value or "")


def test_send_kwargs_always_disable_every_mention() -> None:
    for kwargs in (send_kwargs(), send_kwargs(embed=discord.Embed(), ephemeral=True)):
        allowed = kwargs["allowed_mentions"]
        assert isinstance(allowed, discord.AllowedMentions)
        assert (allowed.everyone, allowed.users, allowed.roles, allowed.replied_user) == (False,) * 4
    assert send_kwargs(ephemeral=True)["ephemeral"] is True
    assert no_mentions().everyone is False
    with pytest.raises(TypeError):
        send_kwargs(allowed_mentions=discord.AllowedMentions.all())


def test_escape_story_text_normalises_whitespace() -> None:
    text = "  One   line\nwraps here.\n\n\n\n  Next\t\tpara.  \n \n"
    assert escape_story_text(text) == "One line wraps here.\n\nNext para."


def test_escape_story_text_leaves_no_raw_marker() -> None:
    # escape_markdown escapes a "[a](b)" match as a whole; markers inside it and in URLs are escaped too.
    text = "[a](b_c) lots of *text* (c) https://x.com/a_b"
    assert escape_story_text(text) == r"\[a](b\_c) lots of \*text\* (c) https://x.com/a\_b"


# -- truncate -----------------------------------------------------------------------------------


def test_truncate_returns_fitting_text_unchanged() -> None:
    assert truncate("Short **text**.", 15) == "Short **text**."


def test_truncate_prefers_a_sentence_end() -> None:
    text = "The door opened. Mara stepped in and looked around the empty hall."
    assert truncate(text, 30) == "The door opened.…"
    assert truncate(text, 40) == "The door opened. Mara stepped in and…"  # the stop keeps under half
    assert truncate('He said "Stop!" and then nothing more happened', 30) == 'He said "Stop!"…'


def test_truncate_falls_back_to_a_word_end() -> None:
    text = "A. Then a very long sentence without any stop that goes on and on and on"
    assert truncate(text, 40) == "A. Then a very long sentence without…"  # "A." keeps under half
    assert truncate("x" * 50, 20) == "x" * 19 + "…"  # no boundary at all: hard cut
    assert truncate("one two three four five six", 20, ellipsis="...") == "one two three..."


def test_truncate_never_cuts_inside_markdown() -> None:
    assert truncate("Start **bold words that run on and on** end", 30) == "Start…"
    assert truncate("See ||the hidden spoiler text here|| ok", 25) == "See…"
    assert truncate("A `code span goes here` and more words", 20) == "A…"
    assert truncate(r"Escaped \*star and words \\\* more", 27) == r"Escaped \*star and words…"
    cut = truncate("word \\" + "x" * 40, 20)  # would end in a lone backslash
    assert cut == "word…"


def test_truncate_tiny_limits() -> None:
    assert truncate("hello world", 1) == "…"
    assert truncate("hello world", 0) == ""


TOKENS = st.sampled_from(
    ["word", "Mara", "a", ".", "!", "?", "…", "”", "**", "*", "__", "_", "~~", "||", "`", "```", "\\", "\\*"]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(TOKENS, st.sampled_from([" ", "", "\n", "\n\n"])), max_size=120),
    st.integers(min_value=20, max_value=400),
)
def test_truncate_property(parts: list[tuple[str, str]], limit: int) -> None:
    text = "".join(token + sep for token, sep in parts)
    result = truncate(text, limit)
    assert len(result) <= limit
    if result == text:
        return
    assert result.endswith("…")
    head = result[: -len("…")]
    assert text.startswith(head)
    if balanced(text):
        assert balanced(head)
    assert balanced(head)  # stronger: the kept part is balanced whatever the input
    assert markdown_balanced(head)


def test_truncate_start_keeps_the_end_at_a_word() -> None:
    text = "First words of the passage lead to the sentence."
    assert truncate_start(text, 25) == "…lead to the sentence."
    assert truncate_start("**bold opening** then plain words", 20) == "…then plain words"
    assert truncate_start("fits", 10) == "fits"


# -- citations ----------------------------------------------------------------------------------


def test_cite_formats() -> None:
    assert cite(passage("x", paras=4).model_copy(update={"para_start": 2})) == "Chapter 3: The Storm · ¶2–4"
    assert cite(passage("x", paras=1)) == "Chapter 3: The Storm · ¶1"
    assert cite(passage("x", title="")) == "Chapter 3 · ¶1"
    assert cite(passage("x", title="CHAPTER THREE: Rain")) == "Chapter 3 · CHAPTER THREE: Rain · ¶1"
    assert cite(passage("x", title="Chapter 2 - Rain")) == "Chapter 3 · Chapter 2 - Rain · ¶1"
    assert cite(passage("x", title="3. Rain")) == "Chapter 3 · 3\\. Rain · ¶1"
    assert cite(passage("x", title="30 Days")) == "Chapter 3: 30 Days · ¶1"
    assert cite(passage("x"), "My *Tale*") == "My \\*Tale\\* · Chapter 3: The Storm · ¶1"


def test_a_passage_of_a_one_paragraph_chapter_is_cited_by_how_far_through_it_starts() -> None:
    assert (
        cite(passage("x").model_copy(update={"through": 80})) == "Chapter 3: The Storm · about 80 % through"
    )
    assert cite(passage("x").model_copy(update={"through": 0})) == "Chapter 3: The Storm · at the start"


def test_cite_of_a_huge_title_stays_within_a_field_name() -> None:
    text = cite(passage("x", title="Word " * 200), "Story " * 100)
    assert len(text) <= LIMITS.field_name
    assert text.endswith("· ¶1")


# -- not found and fitting ----------------------------------------------------------------------


def test_not_found_text() -> None:
    nothing = Answer(question="Who?", hits=())
    assert answer_embed(nothing, story_title="Tale").description == "I couldn't find that in the story."
    limited = answer_embed(nothing, story_title="Tale", until_chapter=4)
    assert limited.description == "I couldn't find that in the story, up to chapter 4."
    assert limited.footer.text == "Up to chapter 4"
    assert not limited.fields


def test_fit_embed_trims_an_oversized_embed() -> None:
    embed = discord.Embed(title="T" * 300, description="word " * 1_000)
    for i in range(30):
        embed.add_field(name=f"Field {i} " + "n" * 300, value="value " * 300)
    embed.set_footer(text="f " * 1_500)
    embed.set_author(name="a" * 400)
    fitted = fit_embed(embed)
    assert_within_limits(fitted)
    assert (fitted.fields[0].name or "").startswith("Field 0")


def test_answer_without_a_sentence_quotes_the_passage() -> None:
    hit = Hit(passage=passage("First line.\n\nSecond *line*."), score=1.0)
    embed = answer_embed(Answer(question="Q", hits=(hit,)), story_title="Tale")
    assert embed.description == "> First line.\n> Second \\*line\\*."


def test_answer_that_is_the_whole_passage_is_not_quoted_twice() -> None:
    embed = answer_embed(answer_about(passage("Only this."), "Only this."), story_title="Tale")
    assert embed.description == "**Only this.**"


def test_bold_never_touches_a_url() -> None:
    text = "Intro words here. See https://example.com/a_b\n\nAfter."
    description = answer_embed(
        answer_about(passage(text), "See https://example.com/a_b"), story_title="Tale"
    ).description
    # An autolink runs up to whitespace, so a space separates the URL from the closing marker.
    assert (description or "").startswith("**See https://example.com/a\\_b **\n\n")
