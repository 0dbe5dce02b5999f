"""Question → hits → Answer: the passage that answers and the sentence inside it. Discord-free."""

from __future__ import annotations

import numpy as np

from index.chunking import text_sentences
from index.embedding import Embedder
from index.models import Frozen, Hit
from index.search import Query, Searcher, tokenize


class Answer(Frozen):
    """What a reader is shown: the best passage, the sentence that answers, the runners-up."""

    question: str
    hits: tuple[Hit, ...]
    sentence_start: int = 0
    sentence_end: int = 0

    @property
    def found(self) -> bool:
        """Whether any passage was found."""
        return bool(self.hits)

    @property
    def sentence(self) -> str:
        """The answering sentence, verbatim from the story."""
        if not self.hits:
            return ""
        p = self.hits[0].passage
        return p.text[self.sentence_start - p.start : self.sentence_end - p.start]


class Answerer:
    """Finds passages for a question and picks the sentence that answers inside the best one."""

    def __init__(self, searcher: Searcher, embedder: Embedder):
        self.searcher = searcher
        self.embedder = embedder

    def ask(self, query: Query, *, k: int = 4) -> Answer:
        """Answer one question; an Answer with no hits when nothing is found."""
        hits = self.searcher.search(query.question, k=k, story=query.story, until_chapter=query.until_chapter)
        if not hits:
            return Answer(question=query.question, hits=())
        start, end = self.best_sentence(query.question, hits[0])
        return Answer(question=query.question, hits=tuple(hits), sentence_start=start, sentence_end=end)

    def best_sentence(self, question: str, hit: Hit) -> tuple[int, int]:
        """The sentence of the passage closest to the question (cosine, nudged by shared words)."""
        p = hit.passage
        spans = text_sentences(p.text)
        if len(spans) > 1:
            texts = [p.text[a:b] for a, b in spans]
            vectors = self.embedder.embed([question, *texts])  # one encoder run for all of them
            cosines = vectors[1:] @ vectors[0]
            words = set(tokenize(question))
            overlap = np.array([len(words & set(tokenize(t))) / (len(words) or 1) for t in texts])
            spans = [spans[int(np.argmax(cosines + 0.3 * overlap))]]
        a, b = spans[0]
        return p.start + a, p.start + b
