"""Follow-ups: what each recent answer was about, so a reply to it continues the same conversation."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

# Words that open questions or sentences, capitalised only because they come first.
_OPENER_WORDS = (
    "who whom whose what when where why how which is are was were do does did can could will would "
    "should has have had the a an and but or so in on at to of for with i"
)
_OPENERS = frozenset(_OPENER_WORDS.split())
_NAME = re.compile(r"\b[A-Z][\w’'-]*")
# A conversation keeps this many earlier exchanges for an LLM to rewrite a follow-up with.
HISTORY = 3


@dataclass(frozen=True)
class Exchange:
    """One question and the answer shown, with the story it was about and the turns before it."""

    question: str
    answer: str
    story: str | None
    earlier: tuple[Exchange, ...] = ()

    def history(self) -> tuple[Exchange, ...]:
        """This conversation's last exchanges, oldest first, this one last."""
        return (*self.earlier, self)[-HISTORY:]

    def then(self, question: str, answer: str, story: str | None) -> Exchange:
        """The exchange that follows this one."""
        return Exchange(question, answer, story if story is not None else self.story, self.history())


class Conversations:
    """Recent exchanges by the id of the message (or thread) that carries them; the oldest are forgotten."""

    def __init__(self, size: int = 5000):
        self._size = size
        self._by_id: OrderedDict[int, Exchange] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: int, exchange: Exchange) -> None:
        """Keep ``exchange`` under a message or thread id."""
        with self._lock:
            self._by_id[key] = exchange
            self._by_id.move_to_end(key)
            while len(self._by_id) > self._size:
                self._by_id.popitem(last=False)

    def get(self, key: int) -> Exchange | None:
        """The exchange kept under ``key``, if it is still remembered."""
        with self._lock:
            return self._by_id.get(key)


def names(text: str) -> list[str]:
    """Capitalised words that are not sentence openers: the characters and places a question names."""
    found = [m[0] for m in _NAME.finditer(text) if m[0].lower() not in _OPENERS]
    return list(dict.fromkeys(found))


def carry_over(question: str, previous: Exchange) -> str:
    """A follow-up as retrieval should read it without an LLM: with the earlier question's names added.

    "Why did he leave?" after "Who is Ben Solo?" searches for "Why did he leave? Ben Solo"; a
    follow-up that names its own characters is left as it is.
    """
    if names(question):
        return question
    missing = [n for n in names(previous.question) if n.lower() not in question.lower()]
    return f"{question} {' '.join(missing)}" if missing else question
