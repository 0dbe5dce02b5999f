"""Answers and story details as a reader sees them in a terminal."""

from __future__ import annotations

from bot.answering import Answer
from bot.composers import Composed, chapter_label
from bot.recap import ChapterRecap
from index.cast import CastList, Profile
from index.models import Hit, StoryMeta
from index.store import ChapterInfo, StoryInfo


# -- text rendering --------------------------------------------------------------------------
def cite(hit: Hit) -> str:
    p = hit.passage
    return f"[{p.story}] {chapter_label(p.chapter, p.chapter_title)}, {p.place}"


def oneline(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def render_answer(answer: Answer, *, until_chapter: int | None = None) -> str:
    """The answer as a reader sees it in a terminal: quote, citation, passage, runners-up."""
    if not answer.found:
        limit = f", up to chapter {until_chapter}" if until_chapter else ""
        later = " The answer may be in a later chapter." if answer.later_chapter else ""
        return f"Q: {answer.question}\nI couldn't find that in the story{limit}.{later}\n"
    best = answer.hits[0]
    p = best.passage
    a, b = answer.sentence_start - p.start, answer.sentence_end - p.start
    passage = (
        oneline(p.text[:a], 10_000) + " »" + oneline(p.text[a:b], 10_000) + "« " + oneline(p.text[b:], 10_000)
    )
    lines = [
        f"Q: {answer.question}",
        f"A: {oneline(answer.sentence)}",
        f"   — {cite(best)}",
        "",
        f"   {passage.strip()}",
        "",
    ]
    if answer.later_chapter:
        lines += [f"   (A closer match may be in a chapter after {until_chapter}.)", ""]
    if len(answer.hits) > 1:
        lines.append("More passages:")
        lines += [
            f" {i}. {cite(h)}\n    {oneline(h.passage.text, 300)}" for i, h in enumerate(answer.hits[1:], 2)
        ]
    return "\n".join(lines) + "\n"


def render_info(info: StoryInfo, meta: StoryMeta, chapters: list[ChapterInfo]) -> str:
    """A story's details: metadata, rating, size and chapters."""
    lines = [f"{info.title} [{info.id}]"]
    fields = [
        ("By", ", ".join(meta.authors)),
        ("Rating", info.rating + (f" (file: {meta.rating_label})" if meta.rating_label else "")),
        ("Warnings", ", ".join(meta.warnings)),
        ("Fandoms", ", ".join(meta.fandoms)),
        ("Relationships", ", ".join(meta.relationships)),
        ("Characters", ", ".join(meta.characters)),
        ("Tags", ", ".join(meta.tags)),
        ("Summary", oneline(meta.summary, 1000)),
        ("Server", "every server" if info.guild is None else str(info.guild)),
        ("Size", f"{info.chapters} chapters, {info.words:,} words, {info.passages:,} passages"),
        ("Updated", info.updated_at),
    ]
    lines += [f"  {name}: {value}" for name, value in fields if value]
    for c in chapters:
        size = f"{c.words:,} words, {c.passages} passage" + ("" if c.passages == 1 else "s")
        lines.append(f"  {c.number:>4}. {c.title or 'Untitled'} ({size})")
    return "\n".join(lines) + "\n"


def render_composed(composed: Composed, *, streamed: bool = False) -> str:
    """An LLM answer (unless already streamed to the terminal) and the passages it cites."""
    lines = [] if streamed else [f"LLM: {composed.text}"]
    if composed.fallback:
        lines.append("(The LLM could not answer; the quote above stands.)")
    lines += [
        f"   [{n}] {cite(composed.passages[n - 1])}" for n in composed.cited if n <= len(composed.passages)
    ]
    return "\n".join(lines) + "\n"


def render_recap(title: str, until_chapter: int | None, recaps: list[ChapterRecap]) -> str:
    """The story so far: one entry per chapter."""
    where = f" up to chapter {until_chapter}" if until_chapter else ""
    lines = [f"The story so far: {title}{where}", ""]
    for r in recaps:
        lines += [f"{r.number}. {r.title}", f"   {oneline(r.text, 1000)}", ""]
    return "\n".join(lines)


def _reach(until: int, chapters: int | None = None) -> str:
    if chapters is not None and until >= chapters:
        return "the whole story"
    return f"chapters 1 to {until}" if until else "no chapters yet"


def render_cast(cast: CastList) -> str:
    """A story's people up to a chapter, most mentioned first."""
    lines = [f"People in '{cast.title}', {_reach(cast.until, cast.chapters)}:"]
    for i, person in enumerate(cast.people, 1):
        lines.append(
            f"{i:>3}. {person.name}: {person.mentions} mentions, from chapter {person.first_chapter}"
        )
    if not cast.people:
        lines.append("  no one yet")
    return "\n".join(lines) + "\n"


def render_profile(profile: Profile) -> str:
    """One person: first appearance, mentions per chapter, top passages, people near them."""
    also = [f for f in profile.forms if f != profile.name]
    lines = [f"{profile.name} in '{profile.title}', chapters 1 to {profile.until}"]
    if also:
        lines.append(f"  also called: {', '.join(also)}")
    lines.append(
        f"  first appears in {chapter_label(profile.first_chapter, profile.first_chapter_title)} — "
        f"{oneline(profile.first_sentence)}"
    )
    counts = ", ".join(f"{n}: {c}" for n, c in enumerate(profile.per_chapter, 1) if c)
    lines.append(f"  {profile.mentions} mentions by chapter: {counts}")
    for passage in profile.passages:
        lines.append(f"  [chapter {passage.chapter}, {passage.place}] {oneline(passage.text, 300)}")
    if profile.near:
        lines.append("  often near: " + ", ".join(f"{name} ({n})" for name, n in profile.near))
    return "\n".join(lines) + "\n"
