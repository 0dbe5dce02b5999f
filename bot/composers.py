"""Composers turn an Answer into the text a reader sees: verbatim quotes (default) or an LLM's words.

A composer sees only ``answer.hits``, which retrieval has already limited to the reader's progress:
nothing past a reader's chapter reaches the LLM. Passages are given to the model as numbered, quoted
data blocks, and its citations are checked against them afterwards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from bot.llm import ChatModel, LLMError, Message
from bot.prompts import Prompts
from index.models import Frozen, Hit

if TYPE_CHECKING:  # answering sits above composers (DESIGN.md): no import of it at run time
    from bot.answering import Answer

log = logging.getLogger("storybot.llm")

OnText = Callable[[str], None]
Kind = Literal["extractive", "llm"]

# Earlier turns given to the rewrite prompt, and how much of each earlier answer.
REWRITE_TURNS = 3
TURN_ANSWER_CHARS = 400
# A "standalone question" much longer than this is the model answering instead: keep the original.
REWRITE_MAX_CHARS = 300

# "[3]", "[1, 2]", "[2; 4]", "[Passage 3]": what models write for a citation.
_CITATION = re.compile(
    r"(\s*)\[\s*(?:passages?\s*)?(\d+(?:\s*[,;]\s*(?:passage\s*)?\d+)*)\s*\]", re.IGNORECASE
)
# The data-block markers; the same runs inside story text are defanged so a passage cannot close its block.
OPEN, CLOSE = "<<<", ">>>"


class Turn(Frozen):
    """One earlier exchange in a conversation: the reader's question and the answer shown."""

    question: str
    answer: str


class Composed(Frozen):
    """The answer shown to a reader, with citations [n] into ``passages`` (1-based)."""

    text: str
    cited: tuple[int, ...]
    passages: tuple[Hit, ...]
    fallback: bool = False
    kind: Kind


class Composer(Protocol):
    """Writes the reader's answer from an Answer's passages."""

    def compose(
        self,
        answer: Answer,
        *,
        titles: Mapping[str, str],
        history: Sequence[Turn] = (),
        on_text: OnText | None = None,
    ) -> Composed:
        """Compose the answer; ``on_text`` receives the whole text so far as it grows."""
        ...


# -- pure helpers --------------------------------------------------------------------------------


def map_citations(text: str, count: int) -> tuple[str, tuple[int, ...]]:
    """Keep citations [n] with 1 ≤ n ≤ count, drop any other; return the text and the numbers cited.

    A list like "[1, 9]" keeps its valid numbers as "[1]"; a citation with none valid is removed with
    the space before it. The numbers come back sorted, each once.
    """
    cited: set[int] = set()

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= count))
        cited.update(valid)
        return match.group(1) + "".join(f"[{n}]" for n in valid) if valid else ""

    return _CITATION.sub(replace, text).strip(), tuple(sorted(cited))


def defang(text: str) -> str:
    """Story text with the data-block markers neutralised, so it cannot end its block early."""
    return text.replace(OPEN, "‹‹‹").replace(CLOSE, "›››")


def one_line(text: str) -> str:
    """Text on one line (titles go in headers, where a newline could forge a line)."""
    return " ".join(defang(text).split())


def chapter_label(number: int, title: str) -> str:
    """ "Chapter N: title", without repeating a title that already says "Chapter N"."""
    title = one_line(title)
    if re.match(rf"chapter\s+{number}\b", title, re.IGNORECASE):
        return title
    return f"Chapter {number}: {title}" if title else f"Chapter {number}"


def number_passages(hits: Sequence[Hit], titles: Mapping[str, str]) -> str:
    """The passages as numbered, quoted data blocks: a "[n] story — Chapter N: title" line, then the text."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        p = hit.passage
        story = one_line(titles.get(p.story, p.story))
        blocks.append(
            f"[{n}] {story} — {chapter_label(p.chapter, p.chapter_title)}\n{OPEN}\n{defang(p.text)}\n{CLOSE}"
        )
    return "\n\n".join(blocks)


def earlier_questions(history: Sequence[Turn]) -> str:
    """The reader's earlier questions, for context; their answers stay out of the answer prompt."""
    if not history:
        return "Earlier questions from this reader: none."
    lines = "\n".join(f"- {one_line(turn.question)}" for turn in history[-REWRITE_TURNS:])
    return f"Earlier questions from this reader, for context only:\n{lines}"


def conversation(history: Sequence[Turn]) -> str:
    """The last turns as a quoted transcript for the rewrite prompt."""
    if not history:
        return f"{OPEN}\n(no earlier turns)\n{CLOSE}"
    lines = []
    for turn in history[-REWRITE_TURNS:]:
        answer = one_line(turn.answer)
        if len(answer) > TURN_ANSWER_CHARS:
            answer = answer[: TURN_ANSWER_CHARS - 1] + "…"
        lines += [f"Reader: {one_line(turn.question)}", f"Answer: {answer}"]
    return "\n".join([OPEN, *lines, CLOSE])


def clean_rewrite(reply: str, question: str) -> str:
    """The rewritten question from a model's reply, or ``question`` when the reply is unusable."""
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    if not lines:
        return question
    line = re.sub(r"^(?:standalone question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE)
    line = line.strip().strip("\"'“”").strip()
    return line if line and len(line) <= max(REWRITE_MAX_CHARS, 2 * len(question)) else question


# -- composers -----------------------------------------------------------------------------------


class ExtractiveComposer:
    """The default: the verbatim answering sentence, citing the first passage. Cannot hallucinate."""

    def compose(
        self,
        answer: Answer,
        *,
        titles: Mapping[str, str],
        history: Sequence[Turn] = (),
        on_text: OnText | None = None,
    ) -> Composed:
        """Compose the quote; a not-found answer gives empty text."""
        if not answer.found:
            return Composed(text="", cited=(), passages=(), kind="extractive")
        return Composed(text=answer.sentence, cited=(1,), passages=answer.hits, kind="extractive")


class LLMComposer:
    """Answers in the model's words from the numbered passages, falling back to the quote on failure."""

    def __init__(self, client: ChatModel, prompts: Prompts, fallback: ExtractiveComposer) -> None:
        self.client = client
        self.prompts = prompts
        self.fallback = fallback

    def compose(
        self,
        answer: Answer,
        *,
        titles: Mapping[str, str],
        history: Sequence[Turn] = (),
        on_text: OnText | None = None,
    ) -> Composed:
        """Stream the model's answer; on LLMError log one warning and return the quote (fallback=True)."""
        if not answer.found:  # nothing to answer from: the model is never asked
            return self.fallback.compose(answer, titles=titles)
        prompt = self.prompts.render_task(
            "answer",
            passages=number_passages(answer.hits, titles),
            history=earlier_questions(history),
            question=one_line(answer.question),
        )
        count = len(answer.hits)
        try:
            text, cited = map_citations(
                self._stream(_messages(prompt.system, prompt.user), count, on_text), count
            )
            if not text:
                raise LLMError("the LLM's reply held nothing but invalid citations")
        except LLMError as err:
            log.warning("LLM answer failed (%s); showing the quoted passage instead", err)
            quoted = self.fallback.compose(answer, titles=titles, history=history)
            return quoted.model_copy(update={"fallback": True})
        return Composed(text=text, cited=cited, passages=answer.hits, kind="llm")

    def rewrite_question(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up rewritten as a standalone question; the question unchanged on any LLM error."""
        if not history:
            return question
        prompt = self.prompts.render_task(
            "rewrite", history=conversation(history), question=one_line(question)
        )
        try:
            reply = self.client.complete(_messages(prompt.system, prompt.user))
        except LLMError as err:
            log.warning("LLM rewrite failed (%s); searching with the question as asked", err)
            return question
        return clean_rewrite(reply, question)

    def summarize_chapter(self, story_title: str, chapter_title: str, text: str) -> str:
        """Summarize one chapter's text; raises LLMError (the caller caches and handles failures)."""
        prompt = self.prompts.render_task(
            "summary",
            story_title=one_line(story_title),
            chapter_title=one_line(chapter_title),
            text=defang(text),
        )
        summary = self.client.complete(_messages(prompt.system, prompt.user)).strip()
        if not summary:
            raise LLMError("the LLM endpoint sent an empty reply")
        return summary

    def _stream(self, messages: list[Message], count: int, on_text: OnText | None) -> str:
        """The model's whole reply, reporting the citation-mapped text so far to ``on_text``."""
        text = shown = ""
        for delta in self.client.stream(messages):
            text += delta
            if on_text is not None and (mapped := map_citations(text, count)[0]) != shown:
                shown = mapped
                on_text(mapped)
        return text


def _messages(system: str, user: str) -> list[Message]:
    return [Message(role="system", content=system.strip()), Message(role="user", content=user.strip())]
