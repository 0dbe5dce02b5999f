"""Hybrid retrieval: FAISS inner product on unit vectors + BM25, fused on normalised scores, then the
trained reader (index/rerank.py) re-orders the first stage's best passages, and its quote model
scores the sentences of the best one.

Story and "up to chapter N" filters select the candidate set before ranking, so k hits come back
whenever k passages exist within the limit; nothing past the limit is ever scored or read.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

import bm25s
import faiss
import numpy as np
import numpy.typing as npt
from pydantic import Field

from index.chunking import text_sentences
from index.embedding import Embedder, Vectors
from index.errors import InputError, UnknownStoryError
from index.models import Frozen, Hit, Passage
from index.rerank import Reader, Reading, Sentences
from index.store import Library

Floats = npt.NDArray[np.float32]
Positions = npt.NDArray[np.int64]
T = TypeVar("T")

# Readings kept for repeated (question, passage) pairs: a few questions' worth.
_READING_CACHE = 256
_TOKEN = re.compile(r"[^\W_]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


class SearchParams(Frozen):
    """Fusion settings, chosen by measurement on the devset (see bench/eval_devset.py)."""

    dense_weight: float = Field(default=0.35, ge=0.0, le=1.0)
    k1: float = Field(default=1.2, gt=0.0)
    b: float = Field(default=0.75, ge=0.0, le=1.0)
    # Share of the lexical score taken from the passage's best-matching single sentence: a
    # question often paraphrases one sentence, which passage-level BM25 dilutes.
    sentence_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    # With a reader: how many of the first stage's best passages it reads (devset recall@16: 0.98),
    # and the weight of their fused first-stage score beside its own.
    rerank_depth: int = Field(default=16, ge=1)
    first_stage_weight: float = Field(default=0.5, ge=0.0)
    # With the quote model: the quoted passage's sentences score its logits plus this weight times
    # the reader's own answer head's, which the reader computed anyway (devset, quoted span strict,
    # explicit questions: 0 → 0.621, 0.5 → 0.626, 1 → 0.621, 2 → 0.619).
    answer_head_weight: float = Field(default=0.5, ge=0.0)


class Query(Frozen):
    """One question with its optional story and spoiler limit."""

    question: str
    story: str | None = None
    until_chapter: int | None = None
    # When set, only these stories are searched (a Discord server's own and shared stories).
    stories: tuple[str, ...] | None = None
    # Per-story spoiler limits (each reader's progress): nothing past a story's chapter is scored.
    chapter_limits: dict[str, int] = Field(default_factory=dict)

    @property
    def limited(self) -> bool:
        """Whether any chapter limit applies."""
        return self.until_chapter is not None or bool(self.chapter_limits)

    def limit_for(self, story: str) -> int | None:
        """The last chapter of ``story`` this query may see, or None."""
        limits = [x for x in (self.until_chapter, self.chapter_limits.get(story)) if x is not None]
        return min(limits) if limits else None


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; curly and straight apostrophes split words alike."""
    return _TOKEN.findall(text.translate(_APOSTROPHES).lower())


def _znorm(scores: Floats) -> Floats:
    std = float(scores.std())
    if std < 1e-9:
        return np.zeros_like(scores)
    return np.asarray((scores - scores.mean()) / std, dtype=np.float32)


class Searcher:
    """Answers queries against a library; call ``refresh`` after the library changes."""

    def __init__(
        self,
        library: Library,
        embedder: Embedder,
        params: SearchParams | None = None,
        *,
        reader: Reader | None = None,
    ):
        self.library = library
        self.embedder = embedder
        self.params = params or SearchParams()
        # None: first-stage order only (STORYBOT_RERANK=false, or tests of the first stage).
        self.reader = reader
        self._cache: OrderedDict[tuple[str, str], Reading] = OrderedDict()
        self._quote_cache: OrderedDict[tuple[str, str], Sentences] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Reload the library if another process changed it, and rebuild the lexical index."""
        self.library.reload()
        rowids, texts, stories, chapters = self.library.passage_table()
        bm25 = bm25s.BM25(k1=self.params.k1, b=self.params.b)
        sent_bm25 = bm25s.BM25(k1=self.params.k1, b=self.params.b)
        first_sentence = np.zeros(len(texts), dtype=np.int64)
        if texts:
            bm25.index([tokenize(t) for t in texts], show_progress=False)
            sent_tokens: list[list[str]] = []
            for i, text in enumerate(texts):
                first_sentence[i] = len(sent_tokens)
                sent_tokens += [tokenize(text[a:b]) for a, b in text_sentences(text)] or [[]]
            sent_bm25.index(sent_tokens, show_progress=False)
        story_arr = np.array(stories, dtype=object)
        by_story = {s: np.flatnonzero(story_arr == s) for s in set(stories)}
        with self._lock:
            self._rowids, self._chapters, self._by_story = rowids, chapters, by_story
            self._bm25 = bm25 if texts else None
            self._sent_bm25, self._first_sentence = sent_bm25, first_sentence
            self._rows_generation = -1

    # -- scope -----------------------------------------------------------------------------
    def _scope(self, query: Query) -> Positions:
        story, until_chapter = query.story, query.until_chapter
        if story is None:
            positions: Positions = np.arange(len(self._rowids), dtype=np.int64)
        elif story in self._by_story:
            positions = self._by_story[story]
        else:
            raise UnknownStoryError(f"no story '{story}' in the library (see 'storybot list')")
        if query.stories is not None:
            allowed = [self._by_story[s] for s in query.stories if s in self._by_story]
            within = np.concatenate(allowed) if allowed else np.zeros(0, dtype=np.int64)
            positions = positions[np.isin(positions, within)]
        if until_chapter is not None:
            positions = positions[self._chapters[positions] <= until_chapter]
        for limited, last in query.chapter_limits.items():
            past = self._by_story.get(limited, np.zeros(0, dtype=np.int64))
            past = past[self._chapters[past] > last]
            if len(past):
                positions = positions[~np.isin(positions, past)]
        return positions

    # -- scoring ---------------------------------------------------------------------------
    def _dense(self, qvec: Vectors, scope: Positions) -> Floats:
        # Fusion normalises over every in-scope passage, so every in-scope score is needed: one
        # inner product over FAISS's flat storage costs ~0.4 ms at 13k passages, where a k=n FAISS
        # search spends ~4 ms building a heap of all of them.
        index = self.library.dense
        if index.ntotal == 0:
            return np.zeros(len(scope), dtype=np.float32)
        flat = faiss.downcast_index(index.index)
        xb = flat.get_xb()  # type: ignore[attr-defined]
        vectors = faiss.rev_swig_ptr(xb, index.ntotal * index.d).reshape(index.ntotal, index.d)
        by_position = np.zeros(len(self._rowids), dtype=np.float32)
        rows, positions = self._row_positions()
        by_position[positions] = (vectors @ qvec[0])[rows]
        return by_position[scope]

    def _row_positions(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """FAISS rows that belong to known passages, and those passages' positions."""
        generation = self.library.loaded_generation
        if self._rows_generation != generation:
            ids = faiss.vector_to_array(self.library.dense.id_map).astype(np.int64)
            where = np.searchsorted(self._rowids, ids).clip(max=max(len(self._rowids) - 1, 0))
            # A row unknown to this refresh (a write racing it) is ignored until the next refresh.
            known = self._rowids[where] == ids if len(self._rowids) else np.zeros(len(ids), dtype=bool)
            self._rows = (np.flatnonzero(known), where[known])
            self._rows_generation = generation
        return self._rows

    def _lexical(self, question: str, scope: Positions) -> Floats:
        tokens = tokenize(question)
        if self._bm25 is None or not tokens:
            return np.zeros(len(scope), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(tokens)[scope], dtype=np.float32)
        beta = self.params.sentence_weight
        if beta:
            per_sentence = self._sent_bm25.get_scores(tokens)
            best = np.maximum.reduceat(per_sentence, self._first_sentence)[scope]
            scores = (1 - beta) * _znorm(scores) + beta * _znorm(np.asarray(best, dtype=np.float32))
        return scores

    def _fuse(self, dense: Floats, lexical: Floats) -> Floats:
        w = self.params.dense_weight
        return w * _znorm(dense) + (1.0 - w) * _znorm(lexical)

    # -- public ----------------------------------------------------------------------------
    def search(
        self, question: str, *, k: int = 5, story: str | None = None, until_chapter: int | None = None
    ) -> list[Hit]:
        """Return up to k de-duplicated hits for one question."""
        return self.search_query(Query(question=question, story=story, until_chapter=until_chapter), k=k)

    def search_query(self, query: Query, *, k: int = 5) -> list[Hit]:
        """Return up to k de-duplicated hits for one query."""
        return self.search_many([query], k=k)[0]

    def search_many(self, queries: Sequence[Query], *, k: int = 5) -> list[list[Hit]]:
        """Answer several queries, embedding their questions in one batch."""
        if k <= 0:
            raise InputError("k must be a positive number")
        for q in queries:
            if not q.question.strip():
                raise InputError("the question is empty")
            if q.until_chapter is not None and q.until_chapter < 1:
                raise InputError("until_chapter must be 1 or more")
            if any(last < 1 for last in q.chapter_limits.values()):
                raise InputError("a chapter limit must be 1 or more")
        vectors = self.embedder.embed([q.question for q in queries])
        depth = k if self.reader is None else max(k, self.params.rerank_depth)
        # A write in another thread (a Discord upload) resizes FAISS's storage, which _dense reads.
        with self._lock, self.library.locked():
            first = [self._rank(vectors[i : i + 1], q, depth) for i, q in enumerate(queries)]
        # The reader needs neither lock: it sees only the passages' texts.
        return [self._reread(q.question, hits, k) for q, hits in zip(queries, first, strict=True)]

    def _reread(self, question: str, hits: list[Hit], k: int) -> list[Hit]:
        """The first stage's hits re-ordered by the reader, each with its sentences' scores."""
        if self.reader is None or not hits:
            return hits[:k]
        readings = self._readings(question, [h.passage.text for h in hits])
        fused = _znorm(np.array([h.score for h in hits], dtype=np.float32))
        w = self.params.first_stage_weight
        read = [
            Hit(passage=h.passage, score=r.score + w * float(f), read_score=r.score, sentences=r.sentences)
            for h, r, f in zip(hits, readings, fused, strict=True)
        ]
        # Stable: equal scores keep the first stage's order.
        best = sorted(read, key=lambda h: -h.score)[:k]
        if self.reader.quotes:
            # The quote model reads only the passage quoted from (the answer takes the top hit's
            # sentences): one more pass per question, not one per passage.
            (sentences,) = self._through_cache(
                self._quote_cache, question, [best[0].passage.text], self.reader.quote
            )
            w = self.params.answer_head_weight
            mixed = tuple(
                (a, b, quote + w * head)
                for (a, b, quote), (_, _, head) in zip(sentences, best[0].sentences, strict=True)
            )
            best[0] = best[0].model_copy(update={"sentences": mixed})
        return best

    def _readings(self, question: str, texts: list[str]) -> list[Reading]:
        assert self.reader is not None
        return self._through_cache(self._cache, question, texts, self.reader.read)

    def _through_cache(
        self,
        cache: OrderedDict[tuple[str, str], T],
        question: str,
        texts: list[str],
        compute: Callable[[str, list[str]], list[T]],
    ) -> list[T]:
        """``compute(question, texts)``, from the cache where this question already read a passage.

        A reader held at a chapter asks twice (within the limit, then without, to say whether a
        better answer lies later): the second search shares most of its passages with the first.
        """
        with self._cache_lock:
            known = {t: cache[(question, t)] for t in texts if (question, t) in cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        for text, result in zip(missing, compute(question, missing), strict=True):
            known[text] = result
        with self._cache_lock:
            for text in missing:
                cache[(question, text)] = known[text]
            while len(cache) > _READING_CACHE:
                cache.popitem(last=False)
        return [known[t] for t in texts]

    def _rank(self, qvec: Vectors, query: Query, k: int) -> list[Hit]:
        scope = self._scope(query)
        if len(scope) == 0:
            return []
        fused = self._fuse(self._dense(qvec, scope), self._lexical(query.question, scope))
        # Fetch a few spares, as overlapping neighbours are dropped; all of them only if that
        # was not enough (a scope of heavily overlapping passages).
        head = _best(fused, 3 * k + 5)
        hits = _dedupe(self._fetch(scope, head), [float(fused[i]) for i in head], k)
        if len(hits) < k and len(head) < len(fused):
            head = _best(fused, len(fused))
            hits = _dedupe(self._fetch(scope, head), [float(fused[i]) for i in head], k)
        return hits

    def _fetch(self, scope: Positions, head: Positions) -> list[Passage]:
        return self.library.passages([int(r) for r in self._rowids[scope[head]]])


def _best(scores: Floats, n: int) -> Positions:
    """Positions of the n best scores, best first, ties in reading order."""
    top = np.arange(len(scores)) if n >= len(scores) else np.argpartition(-scores, n)[:n]
    return top[np.lexsort((top, -scores[top]))]


def _dedupe(passages: Sequence[Passage], scores: Sequence[float], k: int) -> list[Hit]:
    """Keep the best of any passages that overlap in the text, up to k."""
    kept: list[Hit] = []
    for passage, score in zip(passages, scores, strict=True):
        if any(
            h.passage.story == passage.story
            and h.passage.start < passage.end
            and passage.start < h.passage.end
            for h in kept
        ):
            continue
        kept.append(Hit(passage=passage, score=score))
        if len(kept) == k:
            break
    return kept
