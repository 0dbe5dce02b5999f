"""The trained reader: question + candidate passages → a relevance score per passage and per sentence.

One int8 ONNX cross-encoder (index/weights/, trained by `make train-reader` on FairytaleQA's
training stories, see its model card) reads each (question, passage) pair once: its classification
logit ranks the passage, and a per-token answer logit, pooled per sentence, says which sentence
answers. A second int8 model, the quote model (all six layers fine-tuned for the answer logits
alone), re-reads the one passage storybot quotes from and chooses its sentence instead, when it
ships beside the reader. Loaded once per process; each load checks both files against the torch
models' reference scores stored beside them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from index.chunking import text_sentences
from index.errors import LibraryError
from index.models import Frozen

WEIGHTS = Path(__file__).resolve().parent / "weights"
MODEL_FILE = "reader.onnx"
TOKENIZER_FILE = "tokenizer.json"
SPEC_FILE = "reader.json"
# The quote model (optional): a second encoder fine-tuned only to say which sentence answers.
QUOTE_FILE = "quote.onnx"
QUOTE_SPEC_FILE = "quote.json"
# int8 against the torch model it was quantized from, on the reference pairs (measured: see card).
SCORE_TOLERANCE = 1.5
# A fixed cost per ONNX run, in padded tokens: below it, one run beats splitting by length.
_RUN_OVERHEAD_TOKENS = 256
# At most this many padded tokens per run: ONNX Runtime's arena keeps the largest run's activations
# for the life of the process, and four full-length pairs keep it ~60 MiB smaller than sixteen.
MAX_RUN_TOKENS = 1024

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Sentences = tuple[tuple[int, int, float], ...]  # (start, end, score), passage-relative


class ReaderSpec(Frozen):
    """reader.json: how the file was trained and the torch model's scores on reference pairs."""

    max_length: int
    layers: int
    probes: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    """One passage as the reader saw it: its score and each sentence's (start, end, score)."""

    score: float
    sentences: Sentences


def token_sentences(
    passage: str, offsets: Sequence[tuple[int, int]], passage_tokens: Sequence[bool]
) -> tuple[list[tuple[int, int]], Ints]:
    """The passage's sentences, and each token's sentence index (-1: a question or special token).

    Training (the answer head's targets) and reading share it, so both pool the same tokens.
    """
    spans = text_sentences(passage) or [(0, len(passage))]
    starts = np.array([a for a, _ in spans])
    which = np.full(len(offsets), -1, dtype=np.int64)
    for t, ((a, b), mine) in enumerate(zip(offsets, passage_tokens, strict=True)):
        if mine and b > a:
            which[t] = int(np.searchsorted(starts, a, side="right")) - 1
    return spans, which


def sentence_scores(
    passage: str, tokens: Floats, offsets: Sequence[tuple[int, int]], passage_tokens: Sequence[bool]
) -> list[tuple[int, int, float]]:
    """Each sentence of ``passage`` with the log-sum-exp of its tokens' answer logits.

    A sentence cut off by the length limit has no tokens and scores -inf: it was not read.
    """
    spans, which = token_sentences(passage, offsets, passage_tokens)
    logits = np.asarray(tokens[: len(which)], dtype=np.float64)
    out = []
    for i, (a, b) in enumerate(spans):
        mine = logits[which == i]
        out.append((a, b, float(np.logaddexp.reduce(mine)) if len(mine) else float("-inf")))
    return out


def _runs(lengths: Sequence[int], max_tokens: int = MAX_RUN_TOKENS) -> list[list[int]]:
    """Indices grouped into ONNX runs by length, so short pairs don't pad to long ones, each run at
    most ``max_tokens`` padded tokens (or one pair)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    size = [lengths[i] for i in order]
    n = len(size)
    # best[j]: the cheapest padded-token cost of the first j pairs (sorted), in contiguous runs.
    best, cut = [0.0] + [float("inf")] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            if size[j - 1] * (j - i) > max_tokens and j - i > 1:
                continue
            cost = best[i] + size[j - 1] * (j - i) + _RUN_OVERHEAD_TOKENS
            if cost < best[j]:
                best[j], cut[j] = cost, i
    runs, j = [], n
    while j:
        runs.append(order[cut[j] : j])
        j = cut[j]
    return runs[::-1]


class Reader:
    """Scores passages for a question with the exported cross-encoder, and, when the quote model
    ships beside it, re-reads the passage to be quoted with that model."""

    def __init__(
        self, session: Any, tokenizer: Any, spec: ReaderSpec, quote: tuple[Any, ReaderSpec] | None = None
    ):
        self._session = session
        self._tokenizer = tokenizer
        self.spec = spec
        self._quote = quote
        self._lock = threading.Lock()  # one run at a time: a session's one thread is the budget

    @property
    def quotes(self) -> bool:
        """Whether the quote model is loaded."""
        return self._quote is not None

    def read(self, question: str, passages: Sequence[str]) -> list[Reading]:
        """One Reading per passage, in the order given."""
        return [
            Reading(float(outputs[0]), sentences)
            for outputs, sentences in self._run(self._session, question, passages)
        ]

    def quote(self, question: str, passages: Sequence[str]) -> list[Sentences]:
        """Each passage's sentences (start, end, score) as the quote model scores them; the reader's
        own sentence scores where no quote model ships."""
        if self._quote is None:
            return [r.sentences for r in self.read(question, passages)]
        return [sentences for _, sentences in self._run(self._quote[0], question, passages)]

    def _run(self, session: Any, question: str, passages: Sequence[str]) -> list[tuple[list[Any], Sentences]]:
        """Per passage, in the order given: its row of each of the session's outputs, and its
        sentences scored by the last output (the per-token answer logits)."""
        if not passages:
            return []
        encodings = self._tokenizer.encode_batch([(question, p) for p in passages])
        rows: list[tuple[list[Any], Sentences] | None] = [None] * len(passages)
        for run in _runs([len(e.ids) for e in encodings]):
            width = max(len(encodings[i].ids) for i in run)
            ids = np.zeros((len(run), width), dtype=np.int64)
            types = np.zeros_like(ids)
            mask = np.zeros_like(ids)
            for row, i in enumerate(run):
                e = encodings[i]
                ids[row, : len(e.ids)], types[row, : len(e.ids)], mask[row, : len(e.ids)] = (
                    e.ids,
                    e.type_ids,
                    1,
                )
            with self._lock:
                outputs = session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
                )
            for row, i in enumerate(run):
                e = encodings[i]
                mine = [s == 1 for s in e.sequence_ids]
                spans = sentence_scores(passages[i], outputs[-1][row], e.offsets, mine)
                rows[i] = ([o[row] for o in outputs], tuple(spans))
        return [r for r in rows if r is not None]

    def disagreement(self) -> float:
        """The largest score difference from the torch models on the reference pairs."""
        worst = 0.0
        for probe in self.spec.probes:
            (got,) = self.read(probe["question"], [probe["passage"]])
            worst = max(worst, abs(got.score - probe["score"]), _sentence_gap(got.sentences, probe))
        for probe in self._quote[1].probes if self._quote else ():
            (sentences,) = self.quote(probe["question"], [probe["passage"]])
            worst = max(worst, _sentence_gap(sentences, probe))
        return worst


def _sentence_gap(sentences: Sequence[tuple[int, int, float]], probe: dict[str, Any]) -> float:
    refs: list[float] = probe["sentences"]
    return max(abs(s - ref) for (_, _, s), ref in zip(sentences, refs, strict=True))


_loaded: dict[tuple[Path, int], Reader] = {}
_load_lock = threading.Lock()


def load_reader(weights: Path = WEIGHTS, *, threads: int = 1) -> Reader:
    """The reader in ``weights`` (once per process), checked against its reference scores."""
    with _load_lock:
        key = (weights, threads)
        if key not in _loaded:
            _loaded[key] = _load(weights, threads)
        return _loaded[key]


def _load(weights: Path, threads: int) -> Reader:
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = ReaderSpec.model_validate(json.loads((weights / SPEC_FILE).read_text()))
        tokenizer = Tokenizer.from_file(str(weights / TOKENIZER_FILE))
        tokenizer.enable_truncation(spec.max_length, strategy="only_second")
        tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(weights / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        quote = None
        if (weights / QUOTE_FILE).exists():
            quote_spec = ReaderSpec.model_validate(json.loads((weights / QUOTE_SPEC_FILE).read_text()))
            # Its threads sleep once it is done: spinning, they slowed the reader's next run by a
            # third (measured: 108 ms for a question's two runs, 78 ms without).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            quote_session = ort.InferenceSession(
                str(weights / QUOTE_FILE), options, providers=["CPUExecutionProvider"]
            )
            quote = (quote_session, quote_spec)
    except Exception as exc:  # a missing or damaged file: say which, the caller decides what next
        raise LibraryError(f"cannot load the reranker from {weights}: {exc}") from exc
    reader = Reader(session, tokenizer, spec, quote)
    worst = reader.disagreement()
    if worst > SCORE_TOLERANCE:
        raise LibraryError(
            f"the reranker in {weights} disagrees with its reference scores by {worst:.3f} "
            f"(at most {SCORE_TOLERANCE}); reinstall storybot or run 'make train-reader'"
        )
    return reader
