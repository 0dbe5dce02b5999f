"""Question → hits → Answer: the passage that answers and the sentence or two inside it. Discord-free."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from pydantic import Field

from bot import positional
from index.chunking import text_sentences
from index.embedding import Embedder
from index.models import Frozen, Hit
from index.search import Query, Searcher, tokenize

# Below this cosine between a question and the closest sentence weighed for the answer, the story
# is judged not to answer it (without the reader). Chosen with bench/refusal.py on the devset.
MIN_SIMILARITY = 0.45
# With the reader: its best passage's score plus READ_COSINE_WEIGHT times the closest cosine of the
# sentences the embedding rule weighs must reach MIN_READ_CONFIDENCE. One weighed sum rather than a
# threshold on each: a passage the reader is sure of may answer in words the question does not
# use, and a close paraphrase may sit in a passage the reader doubts (bench/refusal.py's grid).
READ_COSINE_WEIGHT = 8.0
MIN_READ_CONFIDENCE = 3.4

# Function words say nothing about where an answer is; a question's other words do.
_STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "by", "for", "with", "from",
    "as", "into", "onto", "upon", "about", "off", "out", "up", "down", "over", "under", "is", "was",
    "were", "be", "been", "being", "are", "am", "do", "does", "did", "done", "has", "have", "had",
    "having", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "it", "its",
    "he", "she", "they", "them", "his", "her", "hers", "their", "theirs", "him", "i", "you", "we", "us",
    "our", "your", "my", "me", "this", "that", "these", "those", "there", "here", "then", "than", "so",
    "not", "no", "what", "who", "whom", "whose", "which", "why", "how", "when", "where",
})  # fmt: skip


class SelectionParams(Frozen):
    """How the answering sentence is chosen, measured with bench/answer_sentence.py on the devset."""

    # Sentences of this many of the best passages compete for the answer.
    passages: int = Field(default=3, ge=1)
    # At most this many sentences go through the model, the most question-like by words first:
    # every sentence embedded costs ~3.5 ms on one thread.
    max_sentences: int = Field(default=6, ge=1, le=31)
    # The chosen sentence takes the next one along when both fit in this many characters: a question
    # often paraphrases one sentence while the answer is the sentence after it.
    window_chars: int = Field(default=400, ge=0)
    # Weight of the share of the question's words (by rarity) a sentence holds, next to its cosine.
    lexical_weight: float = Field(default=2.0, ge=0.0)
    # Taken off per passage rank, so retrieval's order breaks near-ties.
    rank_penalty: float = Field(default=0.05, ge=0.0)
    # With the reader: the sentences of this many of the best passages compete, each scored by
    # its own reading plus this weight times its passage's score.
    read_passages: int = Field(default=1, ge=1)
    passage_weight: float = Field(default=1.0, ge=0.0)
    # A neighbouring sentence joins the chosen one when both fit in ``window_chars`` and its score
    # is at most this far below: an answer often runs over two sentences.
    join_margin: float = Field(default=100.0, ge=0.0)


class Answer(Frozen):
    """What a reader is shown: the best passage, the sentence(s) that answer, the runners-up."""

    question: str
    hits: tuple[Hit, ...]
    sentence_start: int = 0
    sentence_end: int = 0
    # How sure it is: the reader's score of the answering passage, or without the reader the
    # highest cosine between the question and a sentence weighed for the answer.
    confidence: float = 0.0
    # A better match lies past the reader's chapter limit; nothing of it is in ``hits``.
    later_chapter: bool = False

    @property
    def found(self) -> bool:
        """Whether any passage was found."""
        return bool(self.hits)

    @property
    def sentence(self) -> str:
        """The answering sentence (or two), verbatim from the story."""
        if not self.hits:
            return ""
        p = self.hits[0].passage
        return p.text[self.sentence_start - p.start : self.sentence_end - p.start]


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen span: which hit holds it, its story offsets, and how sure (see Answer.confidence)."""

    hit: int
    start: int
    end: int
    confidence: float
    read: bool = False  # chosen by the reader, not by sentence embeddings
    # With the reader: the best cosine of the question with the sentences the embedding rule weighs
    # (see _select_embedded); the refusal rule weighs both, as neither alone separates well enough.
    cosine: float = 1.0


@dataclass(frozen=True, slots=True)
class _Sentence:
    rank: int  # the hit it belongs to
    index: int  # its place among that passage's sentences
    start: int  # passage-relative
    end: int
    lexical: float


class Answerer:
    """Finds passages for a question and picks the sentence that answers among the best of them.

    Below ``min_read_confidence`` (the reader's best passage score plus ``read_cosine_weight`` × the
    best weighed sentence's cosine) or, without the reader, ``min_similarity`` (the best sentence
    cosine), nothing is judged to answer and the reader is told the story does not say (see
    bench/refusal.py for how they were chosen).
    """

    def __init__(
        self,
        searcher: Searcher,
        embedder: Embedder,
        *,
        min_similarity: float = 0.0,
        min_read_confidence: float = MIN_READ_CONFIDENCE,
        read_cosine_weight: float = READ_COSINE_WEIGHT,
        params: SelectionParams | None = None,
    ):
        self.searcher = searcher
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_read_confidence = min_read_confidence
        self.read_cosine_weight = read_cosine_weight
        self.params = params or SelectionParams()

    def ask(self, query: Query, *, k: int = 4) -> Answer:
        """Answer one question; an Answer with no hits when nothing relevant is found."""
        position = positional.recognise(query.question)
        story = self._story_for(query) if position is not None else None
        if position is not None and story is not None:
            placed = positional.answer(
                self.searcher.library,
                position,
                story,
                query.limit_for(story),
                k=k,
                window_chars=self.params.window_chars,
            )
            return Answer(
                question=query.question,
                hits=placed.hits,
                sentence_start=placed.start,
                sentence_end=placed.end,
                confidence=1.0 if placed.hits else 0.0,
                later_chapter=placed.later_chapter,
            )
        hits = self.searcher.search_query(query, k=k)
        answer = Answer(question=query.question, hits=())
        if hits:
            chosen = self.select(query.question, hits)
            answer = Answer(question=query.question, hits=(), confidence=chosen.confidence)
            if self._sure(chosen):
                # The passage that holds the span leads: formatting quotes hits[0] around it.
                lead = hits[chosen.hit]
                answer = Answer(
                    question=query.question,
                    hits=(lead, *hits[: chosen.hit], *hits[chosen.hit + 1 :]),
                    sentence_start=chosen.start,
                    sentence_end=chosen.end,
                    confidence=chosen.confidence,
                )
        if query.limited and self._better_later(query, answer):
            answer = answer.model_copy(update={"later_chapter": True})
        return answer

    def _story_for(self, query: Query) -> str | None:
        """The one story a positional question is about: named, the only one, or the best match's."""
        if query.story is not None:
            return query.story
        scope = query.stories if query.stories is not None else tuple(self.searcher.library.manifest.stories)
        if len(scope) == 1:
            return scope[0]
        best = self.searcher.search_query(query, k=1)
        return best[0].passage.story if best else None

    def _better_later(self, query: Query, answer: Answer) -> bool:
        """Whether, without the chapter limits, the answer would lie past them and be surer.

        Only a yes/no leaves this method: the later passage itself is never shown.
        """
        unlimited = query.model_copy(update={"until_chapter": None, "chapter_limits": {}})
        top = self.searcher.search_query(unlimited, k=self.params.passages)
        if not top:
            return False
        chosen = self.select(query.question, top)
        p = top[chosen.hit].passage
        limit = query.limit_for(p.story)
        if limit is None or p.chapter <= limit:
            return False
        surer = not answer.found or chosen.confidence > answer.confidence
        return self._sure(chosen) and surer

    def _sure(self, chosen: Selection) -> bool:
        """Whether the chosen span is sure enough to answer with."""
        if chosen.read:
            return chosen.confidence + self.read_cosine_weight * chosen.cosine >= self.min_read_confidence
        return chosen.confidence >= self.min_similarity

    def best_sentence(self, question: str, hit: Hit) -> tuple[int, int, float]:
        """The answering span of one passage: its start and end in the story, and its confidence."""
        chosen = self.select(question, [hit])
        return chosen.start, chosen.end, chosen.confidence

    def select(self, question: str, hits: Sequence[Hit]) -> Selection:
        """Choose the answering sentence (or two) among the sentences of the best ``hits``."""
        if not hits:
            raise ValueError("no passage to choose a sentence from")
        if hits[0].sentences:
            read = self._select_read(hits)
            return replace(read, cosine=self._select_embedded(question, hits).confidence)
        return self._select_embedded(question, hits)

    def _select_read(self, hits: Sequence[Hit]) -> Selection:
        """The sentence the reader scored best, with its better neighbour when that one is close."""
        params = self.params
        best_rank, best_index, best = 0, 0, float("-inf")
        for rank, hit in enumerate(hits[: params.read_passages]):
            for index, (_, _, score) in enumerate(hit.sentences):
                total = score + params.passage_weight * hit.score
                if total > best:
                    best_rank, best_index, best = rank, index, total
        sentences = hits[best_rank].sentences
        start, end, score = sentences[best_index]
        near = [sentences[i] for i in (best_index - 1, best_index + 1) if 0 <= i < len(sentences)]
        joinable = [
            n
            for n in near
            if max(end, n[1]) - min(start, n[0]) <= params.window_chars and n[2] >= score - params.join_margin
        ]
        if joinable:
            other = max(joinable, key=lambda n: n[2])
            start, end = min(start, other[0]), max(end, other[1])
        lead = hits[best_rank]
        sure = lead.read_score if lead.read_score is not None else lead.score
        p = lead.passage
        return Selection(best_rank, p.start + start, p.start + end, sure, read=True)

    def _select_embedded(self, question: str, hits: Sequence[Hit]) -> Selection:
        """Without the reader: each sentence scores its cosine with the question, plus the share of
        the question's words it holds (rarer words weigh more), minus a little per passage rank.
        """
        params = self.params
        candidates = _candidates(question, hits, params)
        texts = [hits[s.rank].passage.text[s.start : s.end] for s in candidates]
        vectors = _embed_by_length(self.embedder, [question, *texts])
        cosines = vectors[1:] @ vectors[0]
        lexical = np.array([s.lexical for s in candidates])
        ranks = np.array([s.rank for s in candidates])
        scores = cosines + params.lexical_weight * lexical - params.rank_penalty * ranks
        best = candidates[int(np.argmax(scores))]
        start, end = self._window(hits[best.rank], best)
        p = hits[best.rank].passage
        return Selection(best.rank, p.start + start, p.start + end, float(cosines.max()))

    def _window(self, hit: Hit, sentence: _Sentence) -> tuple[int, int]:
        """The sentence, and the next one of its passage when both fit in ``window_chars``."""
        spans = _sentence_spans(hit)
        after = sentence.index + 1
        if after < len(spans) and spans[after][1] - sentence.start <= self.params.window_chars:
            return sentence.start, spans[after][1]
        return sentence.start, sentence.end


def _embed_by_length(embedder: Embedder, texts: list[str]) -> npt.NDArray[np.float32]:
    """Embed ``texts`` in one encoder run, or two when their lengths differ widely.

    A run pads every text to its longest, and a passage's sentences run from a few words to a
    hundred: shorter ones apart from longer ones cost a run's overhead but save ~40% of the tokens
    (devset candidates on one thread: p50 60 → 49 ms, p95 119 → 76 ms).
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    size = [len(texts[i]) for i in order]
    one_run = size[-1] * len(size)
    cut, cost = min(
        ((j, size[j - 1] * j + size[-1] * (len(size) - j)) for j in range(1, len(size))),
        key=lambda c: c[1],
        default=(len(size), one_run),
    )
    if cost >= 0.75 * one_run:  # not worth a second run
        return embedder.embed(texts)
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for part in (order[:cut], order[cut:]):
        vectors[part] = embedder.embed([texts[i] for i in part])
    return vectors


def _sentence_spans(hit: Hit) -> list[tuple[int, int]]:
    text = hit.passage.text
    return text_sentences(text) or [(0, len(text))]


def _content_words(text: str) -> set[str]:
    words = tokenize(text)
    content = {w for w in words if w not in _STOPWORDS}
    return content or set(words)  # "Who is he?" has only function words: keep them


def _candidates(question: str, hits: Sequence[Hit], params: SelectionParams) -> list[_Sentence]:
    """The sentences of the best ``params.passages`` hits worth embedding, each with its lexical score.

    A word's weight is its rarity among the sentences of all ``hits``: a name every passage repeats
    says less about which sentence answers than a word only one sentence has.
    """
    asked = _content_words(question)
    every = [(rank, i, a, b) for rank, h in enumerate(hits) for i, (a, b) in enumerate(_sentence_spans(h))]
    words = [set(tokenize(hits[rank].passage.text[a:b])) for rank, _, a, b in every]
    df = Counter(w for ws in words for w in ws & asked)
    weight = {w: math.log((len(words) + 1) / (df[w] + 0.5)) for w in asked}
    total = sum(weight.values()) or 1.0
    sentences = [
        _Sentence(rank, i, a, b, sum(weight[w] for w in ws & asked) / total)
        for (rank, i, a, b), ws in zip(every, words, strict=True)
        if rank < params.passages
    ]
    # Words first, then retrieval's order: the model only sees the most promising sentences.
    pre = sorted(sentences, key=lambda s: (-(s.lexical - params.rank_penalty * s.rank), s.rank, s.index))
    return sorted(pre[: params.max_sentences], key=lambda s: (s.rank, s.index))
