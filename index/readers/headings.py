"""Classify one stripped line as a possible chapter or container heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

Kind = Literal["chapter", "container", "special", "series", "roman", "markdown"]

_UNITS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_UNIT_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_TEN_ORDINALS = [t[:-1] + "ieth" for t in _TENS]

_WORD_VALUES: dict[str, int] = {
    **{w: i for i, w in enumerate(_UNITS, 1)},
    **{w: i for i, w in enumerate(_UNIT_ORDINALS, 1)},
    **{w: 10 * i for i, w in enumerate(_TENS, 2)},
    **{w: 10 * i for i, w in enumerate(_TEN_ORDINALS, 2)},
}


def _alternation(words: list[str]) -> str:
    # Longest first, so "seventeen" is not matched as "seven".
    return "|".join(sorted(words, key=len, reverse=True))


_SIMPLE_WORDS = _alternation(_UNITS + _UNIT_ORDINALS + _TEN_ORDINALS)
# Also what bot.positional understands in "what happens in chapter twenty-one?".
NUMBER_WORDS = (
    rf"(?:(?:{_alternation(_TENS)})(?:[-\s](?:{_alternation(_UNITS[:9] + _UNIT_ORDINALS[:9])}))?"
    rf"|{_SIMPLE_WORDS})"
)
_NUMBER = rf"(?P<num>\d{{1,4}}|[ivxlcdm]+|{NUMBER_WORDS})(?![\w'’])"
_ORDINALS = _alternation(_UNIT_ORDINALS + _TEN_ORDINALS)

_KEYWORD_RE = re.compile(
    rf"(?:(?P<kw>chapter|chap|book|part|volume|vol)\s+|(?P<kwd>chap|ch|vol)\.\s*){_NUMBER}(?P<rest>.*)",
    re.IGNORECASE,
)
_SPECIAL_RE = re.compile(
    rf"(?:(?P<ord>{_ORDINALS})\s+)?(?P<kw>prologue|epilogue|interlude|preface|foreword|afterword)"
    rf"(?:\s+{_NUMBER})?(?P<rest>.*)",
    re.IGNORECASE,
)
_SERIES_RE = re.compile(rf"(?P<word>[a-z]{{2,}})\s+{_NUMBER}(?P<rest>.*)", re.IGNORECASE)
_ROMAN_CAPS_RE = re.compile(r"(?P<num>[IVXLCDM]+)\.\s+(?P<title>[^a-z]*[A-Z][^a-z]*)")
_MARKDOWN_RE = re.compile(r" {0,3}(?P<marks>#{1,2})[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*")
_ROMAN_RE = re.compile(r"M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_SEPARATED_RE = re.compile(r"\s*[.:\-–—]+\s*(?P<title>\S.*)")
_SPACED_RE = re.compile(r"\s+(?P<title>\S.*)")
_CONTAINERS = {"book": "book", "part": "part", "volume": "volume", "vol": "volume"}


@dataclass(frozen=True)
class Candidate:
    """A line that may be a heading; ``key`` identifies it across a table of contents."""

    kind: Kind
    title: str
    key: tuple[str, int | str]
    has_title: bool = False
    md_level: int = 0
    group: str = ""


def parse_number(token: str) -> int | None:
    """Return the value of a number in digits, roman numerals or English words."""
    if token.isdigit():
        return int(token)
    upper = token.upper()
    if _ROMAN_RE.fullmatch(upper):
        return _roman_value(upper)
    words = re.split(r"[-\s]+", token.lower())
    values = [_WORD_VALUES.get(w) for w in words]
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _roman_value(numeral: str) -> int:
    digits = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(numeral):
        value = digits[ch]
        following = digits[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total


def clean_title(raw: str) -> str:
    """Collapse whitespace and drop a single trailing full stop."""
    title = " ".join(raw.split())
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1].rstrip()
    return title


def classify(line: str, markdown: bool = False) -> Candidate | None:
    """Return the heading candidate a stripped line could be, or None."""
    if markdown:
        md = _MARKDOWN_RE.fullmatch(line)
        if md and md.group("text").strip():
            return _markdown(md.group("text"), len(md.group("marks")))
    return _keyword(line) or _special(line) or _roman_caps(line) or _series(line)


def _markdown(text: str, level: int) -> Candidate:
    inner = text.strip().strip("#").strip() or text.strip()
    found = _keyword(inner) or _special(inner)
    if found is not None:
        return Candidate(found.kind, found.title, found.key, found.has_title, level)
    title = clean_title(inner)
    return Candidate("markdown", title, ("md", title.lower()), True, level)


class _Rest(NamedTuple):
    has_title: bool
    title: str
    separated: bool


def _split_rest(rest: str, spaced: bool) -> _Rest | None:
    """Parse what follows a heading number; None if it reads like prose."""
    if not rest.strip(" \t.:"):
        return _Rest(False, "", False)
    separated = _SEPARATED_RE.fullmatch(rest)
    if separated is not None:
        return _Rest(True, separated.group("title"), True)
    unseparated = _SPACED_RE.fullmatch(rest) if spaced else None
    if unseparated is not None:
        return _Rest(True, unseparated.group("title"), False)
    return None


def _keyword(line: str) -> Candidate | None:
    m = _KEYWORD_RE.fullmatch(line)
    if m is None:
        return None
    word = (m.group("kw") or m.group("kwd")).lower()
    is_chapter = word not in _CONTAINERS
    # Prose such as "Part one of the plan" must not pass: only chapters take a
    # title without a separator, and any title has to start like a title.
    rest = _split_rest(m.group("rest"), spaced=is_chapter)
    value = parse_number(m.group("num"))
    if value is None or rest is None or rest.title[:1].islower():
        return None
    if is_chapter:
        return Candidate("chapter", clean_title(line), ("chapter", value), rest.has_title)
    key = (_CONTAINERS[word], value)
    return Candidate("container", clean_title(line), key, rest.has_title)


def _special(line: str) -> Candidate | None:
    m = _SPECIAL_RE.fullmatch(line)
    if m is None:
        return None
    rest = _split_rest(m.group("rest"), spaced=False)
    number = m.group("ord") or m.group("num")
    value = parse_number(number) if number else 0
    if value is None or rest is None:
        return None
    key = (m.group("kw").lower(), value)
    return Candidate("special", clean_title(line), key, rest.has_title)


def _roman_caps(line: str) -> Candidate | None:
    m = _ROMAN_CAPS_RE.fullmatch(line)
    if m is None or not _ROMAN_RE.fullmatch(m.group("num")):
        return None
    value = _roman_value(m.group("num"))
    return Candidate("roman", clean_title(line), ("roman", value), True, group="roman")


def _series(line: str) -> Candidate | None:
    m = _SERIES_RE.fullmatch(line)
    if m is None or not m.group("word")[0].isupper():
        return None
    token = m.group("num")
    value = parse_number(token)
    rest = _split_rest(m.group("rest"), spaced=True)
    if value is None or rest is None or (token.isdigit() and len(token) > 3):
        return None
    # Without a separator only an all-caps title counts ("STAVE ONE MARLEY'S GHOST"),
    # so that prose like "In 1805 the army" is not a heading.
    if not rest.separated and (any(c.islower() for c in rest.title) or rest.title[:1].isdigit()):
        return None
    word = m.group("word").lower()
    return Candidate("series", clean_title(line), (word, value), rest.has_title, group=word)
