"""Question → hits → Answer: the passage that answers and the sentence inside it. Discord-free."""

from __future__ import annotations

import numpy as np

from index.chunking import text_sentences
from index.embedding import Embedder
from index.models import Frozen, Hit
from index.search import Query, Searcher, tokenize

# Below this cosine between a question and the best sentence of the top passage, the story is
# judged not to answer it. Chosen with bench/refusal.py on the devset (see the README's figures).
MIN_SIMILARITY = 0.35


class Answer(Frozen):
    """What a reader is shown: the best passage, the sentence that answers, the runners-up."""

    question: str
    hits: tuple[Hit, ...]
    sentence_start: int = 0
    sentence_end: int = 0
    # Cosine between the question and the answering sentence: how sure the answer is.
    similarity: float = 0.0
    # A better match lies past the reader's chapter limit; nothing of it is in ``hits``.
    later_chapter: bool = False

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
    """Finds passages for a question and picks the sentence that answers inside the best one.

    ``min_similarity`` is the cosine below which the best sentence is judged not to answer at all,
    and the reader is told the story does not say (see bench/refusal.py for how it was chosen).
    """

    def __init__(self, searcher: Searcher, embedder: Embedder, *, min_similarity: float = 0.0):
        self.searcher = searcher
        self.embedder = embedder
        self.min_similarity = min_similarity

    def ask(self, query: Query, *, k: int = 4) -> Answer:
        """Answer one question; an Answer with no hits when nothing relevant is found."""
        hits = self.searcher.search_query(query, k=k)
        answer = Answer(question=query.question, hits=())
        if hits:
            start, end, similarity = self.best_sentence(query.question, hits[0])
            found = similarity >= self.min_similarity
            answer = Answer(
                question=query.question,
                hits=tuple(hits) if found else (),
                sentence_start=start if found else 0,
                sentence_end=end if found else 0,
                similarity=similarity,
            )
        if query.limited and self._better_later(query, answer):
            answer = answer.model_copy(update={"later_chapter": True})
        return answer

    def _better_later(self, query: Query, answer: Answer) -> bool:
        """Whether the best match without the chapter limits lies past them and answers better.

        Only a yes/no leaves this method: the later passage itself is never shown.
        """
        unlimited = query.model_copy(update={"until_chapter": None, "chapter_limits": {}})
        top = self.searcher.search_query(unlimited, k=1)
        if not top:
            return False
        p = top[0].passage
        limit = query.limit_for(p.story)
        if limit is None or p.chapter <= limit:
            return False
        similarity = self.best_sentence(query.question, top[0])[2]
        return similarity >= self.min_similarity and (not answer.found or similarity > answer.similarity)

    def best_sentence(self, question: str, hit: Hit) -> tuple[int, int, float]:
        """The sentence of the passage closest to the question (cosine, nudged by shared words).

        Returns its start and end in the story, and the best cosine of any of its sentences to the
        question: whether the passage speaks to the question at all.
        """
        p = hit.passage
        spans = text_sentences(p.text) or [(0, len(p.text))]
        texts = [p.text[a:b] for a, b in spans]
        vectors = self.embedder.embed([question, *texts])  # one encoder run for all of them
        cosines = vectors[1:] @ vectors[0]
        words = set(tokenize(question))
        overlap = np.array([len(words & set(tokenize(t))) / (len(words) or 1) for t in texts])
        best = int(np.argmax(cosines + 0.3 * overlap))
        a, b = spans[best]
        return p.start + a, p.start + b, float(cosines.max())
