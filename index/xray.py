"""Names in one chapter's text, for the X-Ray of a story's people: pure functions, no I/O.

Each chapter is read on its own, so a work in progress re-reads only its new chapters; what makes a
capitalised run a person (it recurs, it is capitalised where no sentence start forces it, speech
verbs and titles go with it) is decided later over the chapters a reader has read (index.people).
Offsets are relative to the chapter's start, so a chapter that moves keeps its record.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pydantic import Field

from index.models import Frozen

# Honorifics and ranks that open a person's name ("Mr. Darcy", "General Kutuzov").
# fmt: off
TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "sir", "dame", "lady", "lord", "madam", "madame",
    "monsieur", "mademoiselle", "mme", "mlle", "herr", "frau", "captain", "capt", "colonel", "col",
    "general", "major", "lieutenant", "sergeant", "admiral", "commander", "prince", "princess",
    "count", "countess", "duke", "duchess", "baron", "baroness", "king", "queen", "professor", "prof",
    "father", "brother", "sister", "uncle", "aunt", "saint", "st", "inspector", "rev", "reverend",
    "emperor", "empress", "tsar", "czar", "sultan", "pope", "chief",
})
# fmt: on
# English words that are capitalised only because they open a sentence, a quote or a title.
_FUNCTION_TEXT = """
a an the and but or nor for yet so if then than when while whilst as because though although
after before since until unless where whence whither why how what which who whom whose that this
these those there here it its he she they we you i me him her them us my his their our your mine
yours theirs ours oh ah o yes no not well now again also even only every all some any each such
upon into onto in on at to of by with from about above below under over through between among
without within do does did was were is are am be been being has have had will would could should
may might must shall can let lo alas nay aye indeed perhaps chapter book volume part letter
one two three four five six seven eight nine ten first second third last next dear poor
later soon still just never always once meanwhile suddenly finally at last then thus hence
"""
FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())
_SPEECH_TEXT = """
said says asked asks replied replies cried answered whispered exclaimed added continued shouted
muttered murmured observed returned repeated thought began called laughed smiled sighed nodded
"""
SPEECH_VERBS = frozenset(_SPEECH_TEXT.split())
PLACE_WORDS = frozenset({"in", "at", "near", "into", "towards", "toward", "inside", "outside"})
_PARTICLES = r"(?:de|du|des|da|di|van|von|der|den|le|la|del|della|ten|ter)"
_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = rf"[{_UPPER}][a-zß-öø-ÿ'’]*[a-zß-öø-ÿ](?:-[{_UPPER}]?[a-zß-öø-ÿ]+)*"
_ABBREVIATED = r"(?:Mr|Mrs|Ms|Dr|St|Mme|Mlle|Capt|Col|Rev|Prof)"
_RUN = re.compile(rf"(?:{_ABBREVIATED}\.?\s+)?{_WORD}(?:\s+(?:{_PARTICLES}\s+)?{_WORD})*")
_LOWER_WORD = re.compile(r"\b[a-zß-öø-ÿ][a-zß-öø-ÿ'’]+\b")
_BEFORE = re.compile(r"([A-Za-z’']+)[^A-Za-z\n]{0,3}$")
_AFTER = re.compile(r"^[^A-Za-z\n]{0,3}([A-Za-z]+)")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Mme|Mlle|Capt|Col|Rev|Prof)\.$")
_POSSESSIVE = re.compile(r"['’]s?$")
_NON_SPACE = re.compile(r"\S+")
_POSSESSIVE_END = re.compile(r"[a-z]['’]s$")


class FormCounts(Frozen):
    """How one name form occurs in a chapter: offsets of its mentions, and the cues around them."""

    display: str
    mid: tuple[int, ...] = ()  # mentions where no sentence start explains the capital
    opening: tuple[int, ...] = ()  # mentions that open a sentence or a quotation
    person: int = 0  # a title, a speech verb next to it, a possessive
    place: int = 0  # "in X", "at X"


class ChapterNames(Frozen):
    """Every capitalised name form of a chapter, and how often its single words occur in lower case."""

    forms: dict[str, FormCounts] = Field(default_factory=dict)
    lower: dict[str, int] = Field(default_factory=dict)


@dataclass
class _Form:
    display: str
    mid: list[int] = field(default_factory=list)
    opening: list[int] = field(default_factory=list)
    person: int = 0
    place: int = 0


def name_key(name: str) -> str:
    """The form a name is compared by: words only, dots and possessives dropped, spaces single."""
    words = [_POSSESSIVE.sub("", w.strip(".,;:")) for w in name.replace("’", "'").split()]
    return " ".join(w for w in words if w)


def split_title(key: str) -> tuple[str, str]:
    """("Mr", "Darcy") for "Mr Darcy"; ("", key) for a name without a title."""
    words = key.split()
    if len(words) > 1 and words[0].casefold() in TITLES:
        return words[0], " ".join(words[1:])
    return "", key


def chapter_names(text: str, title: str = "") -> ChapterNames:
    """The name forms in one chapter's text, without the heading line that opens it (if it does)."""
    body_start = heading_end(text, title)
    forms: dict[str, _Form] = {}
    for match in _RUN.finditer(text, body_start):
        _add_run(text, match.start(), match.group(0), forms)
    singles = {w.casefold() for key in forms for w in key.split()}
    lowered = Counter(w for w in _LOWER_WORD.findall(text, body_start) if w in singles)
    # Built from values this module made, so pydantic's validation (a third of the time) is skipped.
    return ChapterNames.model_construct(
        forms={
            key: FormCounts.model_construct(
                display=f.display, mid=tuple(f.mid), opening=tuple(f.opening), person=f.person, place=f.place
            )
            for key, f in forms.items()
        },
        lower=dict(lowered),
    )


def heading_end(text: str, title: str) -> int:
    """Where the text after the chapter's heading starts: a chapter read from EPUB or HTML opens
    with its heading line ("Chapter 2: The Storm"), one read from a .txt file with its text."""
    first, _, _ = text.partition("\n\n")
    plain = " ".join(title.casefold().split())
    if plain and "\n" not in first and plain in " ".join(first.casefold().split()):
        return len(first)
    return 0


def _add_run(text: str, start: int, run: str, forms: dict[str, _Form]) -> None:
    """Record one capitalised run, without the function words that open or close it."""
    words = run.split()
    if len(words) == 1 and words[0].casefold() in FUNCTION_WORDS:
        return  # most runs: "The", "But", "When" opening a sentence
    offsets = [start + m.start() for m in _NON_SPACE.finditer(run)]
    opening = _opens_sentence(text, start)
    while words and words[0].casefold().rstrip(".") in FUNCTION_WORDS:
        words, offsets, opening = words[1:], offsets[1:], False
    while words and words[-1].casefold() in FUNCTION_WORDS:
        words, offsets = words[:-1], offsets[:-1]
    if not words or all(w.casefold().rstrip(".") in TITLES for w in words):
        return
    possessive = _POSSESSIVE_END.search(words[-1]) is not None
    end = offsets[-1] + len(words[-1])
    if possessive:
        words[-1] = words[-1][:-2]
    display = " ".join(words)
    key = name_key(display)
    if not key:
        return
    form = forms.setdefault(key, _Form(display=display))
    (form.opening if opening else form.mid).append(offsets[0])
    if split_title(key)[0] or possessive:
        form.person += 1
    before = _BEFORE.search(text, max(0, offsets[0] - 24), offsets[0])
    after = _AFTER.search(text[end : end + 24])
    near = {m.group(1).casefold() for m in (before, after) if m is not None}
    form.person += bool(near & SPEECH_VERBS)
    form.place += before is not None and before.group(1).casefold() in PLACE_WORDS


def _opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` opens a sentence, a paragraph or a quotation."""
    before = text[max(0, start - 12) : start].rstrip(" \t")
    if not before or before.endswith("\n"):
        return True
    last = before[-1]
    if last in "“\"‘'([—–-:":
        return True
    return last in ".!?…" and not _ABBREVIATIONS.search(before)
