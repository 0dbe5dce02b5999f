"""A story's people up to a chapter, from its chapters' name records (index.xray) and its character
tags: which capitalised forms are people, which forms are one person, and where each is mentioned.

Only the chapters given are read, so nothing past a reader's chapter can shape the list: a name
first seen later is absent, and forms are grouped only by what those chapters show.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from index.xray import TITLES, ChapterNames, name_key, split_title

MIN_MENTIONS = 3  # a name seen once or twice is not yet a character a reader asks about
# A bare word ("Darcy") joins the one person whose longer forms hold it when that person has at
# least this share of those forms' mentions: the text itself says whom the word mostly means.
DOMINANT_SHARE = 0.75
RARE_SHARE = 10  # a longer form with under a tenth of the bare word's mentions is rare beside it
_TAG_NOISE = re.compile(r"\s*\([^)]*\)\s*")


@dataclass
class Person:
    """One person: the forms that name them and their mentions, as absolute offsets by chapter."""

    name: str
    forms: tuple[str, ...]
    mentions: dict[int, list[int]] = field(default_factory=dict)
    tagged: bool = False

    @property
    def total(self) -> int:
        """Mentions in the chapters read."""
        return sum(len(v) for v in self.mentions.values())

    def first(self) -> tuple[int, int]:
        """(chapter, offset) of the first mention."""
        chapter = min(self.mentions)
        return chapter, min(self.mentions[chapter])


@dataclass
class _Totals:
    display: Counter[str] = field(default_factory=Counter)
    mid: int = 0
    opening: int = 0
    person: int = 0
    place: int = 0
    mentions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


def tag_names(characters: Sequence[str]) -> list[tuple[str, ...]]:
    """AO3 character tags as name forms: "Kylo Ren | Ben Solo (Star Wars)" → ("Kylo Ren", "Ben Solo")."""
    found = []
    for tag in characters:
        aliases = tuple(
            k for k in (name_key(_TAG_NOISE.sub(" ", a)) for a in re.split(r"\s*[|/]\s*", tag)) if k
        )
        if aliases and not any(a.casefold().startswith("original ") for a in aliases):
            found.append(aliases)
    return found


def find_people(
    chapters: Mapping[int, ChapterNames], starts: Mapping[int, int], tags: Sequence[str] = ()
) -> list[Person]:
    """The people of the chapters given (number → names, number → chapter start), most mentioned first."""
    totals = _sum(chapters, starts)
    lower: Counter[str] = Counter()
    for names in chapters.values():
        lower.update(names.lower)
    tagged = [tuple(a for a in aliases if a in totals) for aliases in tag_names(tags)]
    tag_forms = {a for aliases in tagged for a in aliases}
    kept = {k for k, t in totals.items() if k in tag_forms or _is_name(k, t, lower)}
    groups = _Groups(kept)
    for aliases in tagged:
        for alias in aliases[1:]:
            groups.union(aliases[0], alias)
    _link_titled(groups, kept)
    _link_bare(groups, kept, totals)
    people = []
    for members in groups.sets():
        person = _person(members, totals, tag_forms)
        if person is not None:
            people.append(person)
    people.sort(key=lambda p: (-p.total, p.name))
    return people


def _sum(chapters: Mapping[int, ChapterNames], starts: Mapping[int, int]) -> dict[str, _Totals]:
    totals: dict[str, _Totals] = defaultdict(_Totals)
    for number, names in chapters.items():
        base = starts[number]
        for key, form in names.forms.items():
            t = totals[key]
            t.display[form.display] += len(form.mid) + len(form.opening)
            t.mid += len(form.mid)
            t.opening += len(form.opening)
            t.person += form.person
            t.place += form.place
            t.mentions[number].extend(base + o for o in (*form.mid, *form.opening))
    return totals


def _is_name(key: str, t: _Totals, lower: Counter[str]) -> bool:
    """Capitalised mid-sentence at least once and, for one word, rarely seen in lower case; a
    person's forms together must recur (see ``_person``)."""
    if len(key.split()) > 1:  # its later words are capitalised where no sentence starts
        return True
    return t.mid > 0 and lower[key.casefold()] * 2 < t.mid


class _Groups:
    """Union-find over name forms."""

    def __init__(self, keys: set[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        if a in self.parent and b in self.parent:
            self.parent[self.find(b)] = self.find(a)

    def sets(self) -> list[list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for key in self.parent:
            found[self.find(key)].append(key)
        return list(found.values())


def _link_titled(groups: _Groups, kept: set[str]) -> None:
    """ "Miss Elizabeth Bennet" shows "Elizabeth Bennet" and "Miss Elizabeth" are one person (not
    "Miss Bennet": a title with the surname alone may name another of the family)."""
    for key in kept:
        title, rest = split_title(key)
        words = rest.split()
        if not title or len(words) < 2:
            continue
        for other in (rest, f"{title} {words[0]}"):
            groups.union(key, other)


def _link_bare(groups: _Groups, kept: set[str], totals: Mapping[str, _Totals]) -> None:
    """A one-word form joins the person whose longer forms hold it, if it mostly means them."""
    holding: dict[str, set[str]] = defaultdict(set)  # word → the longer forms naming it
    for other in kept:
        if len(other.split()) > 1:
            for word in split_title(other)[1].split():
                holding[word].add(other)
    for key in [k for k in kept if len(k.split()) == 1]:
        if key.casefold() in TITLES:
            continue
        shares: Counter[str] = Counter()
        for other in holding.get(key, ()):
            t = totals[other]
            shares[groups.find(other)] += t.mid + t.opening
        # A full name seen once or twice beside a word used dozens of times ("Mary King", "Mary")
        # is too little to say whom the word means: only longer forms that recur, or are not rare
        # next to the word, count.
        bare = totals[key].mid + totals[key].opening
        shares = Counter({r: n for r, n in shares.items() if n >= MIN_MENTIONS or n * RARE_SHARE >= bare})
        if not shares:
            continue
        root, count = shares.most_common(1)[0]
        if count >= DOMINANT_SHARE * sum(shares.values()):
            groups.union(root, key)


def _person(members: list[str], totals: Mapping[str, _Totals], tag_forms: set[str]) -> Person | None:
    """The person a group of forms names, or None when the cues say it is a place or a thing."""
    ts = [totals[m] for m in members]
    tagged = any(m in tag_forms for m in members)
    titled = any(split_title(m)[0] for m in members)
    person, place = sum(t.person for t in ts), sum(t.place for t in ts)
    total = sum(t.mid + t.opening for t in ts)
    if total < (1 if tagged else MIN_MENTIONS):
        return None
    if not (tagged or titled or (person >= 1 and person >= place)):
        return None
    mentions: dict[int, list[int]] = defaultdict(list)
    for t in ts:
        for number, offsets in t.mentions.items():
            mentions[number].extend(offsets)
    for offsets in mentions.values():
        offsets.sort()
    return Person(
        name=_display(members, totals, tag_forms),
        forms=tuple(sorted(members)),
        mentions=dict(mentions),
        tagged=tagged,
    )


def _display(members: list[str], totals: Mapping[str, _Totals], tag_forms: set[str]) -> str:
    """The tag's name if there is one, else the most used full name ("Elizabeth Bennet"), else the
    most used form ("Mr. Darcy", "Lydia")."""
    tags = [m for m in members if m in tag_forms]
    if tags:
        return max(tags, key=lambda m: (len(m.split()), m))
    counts = Counter({m: totals[m].mid + totals[m].opening for m in members})
    multi = [m for m in counts if len(m.split()) > 1]
    full = [m for m in multi if not split_title(m)[0]]
    best = max(full or counts, key=lambda m: (counts[m], m))
    return totals[best].display.most_common(1)[0][0]
