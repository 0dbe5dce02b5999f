"""Passages through ONNX Runtime: the query export (fp32) or its int8 quantization, batched by length.

Bulk ingest is the model's forward pass and nothing else. ONNX Runtime runs the same export that
questions use, and an int8 dynamic quantization of it (weights per output channel, activations
per batch) ran 3.6-4 times torch's passages per second on these CPUs (AVX-512 VNNI). Texts are
tokenised once, sorted by length and cut into batches, so a short passage never pads to a long
one; the vectors come back in input order. Each file is made once into the cache dir and checked
against torch at load.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from index.embedding import Vectors
from index.onnx_query import OnnxQueryEncoder, SentenceTransformer, onnx_export, onnx_session

log = logging.getLogger(__name__)

# STORYBOT_ENCODER: which runtime and precision embeds passages (and, in the library, questions).
Encoder = Literal["int8", "fp32", "torch"]
ENCODERS: tuple[Encoder, ...] = ("int8", "fp32", "torch")
# What a library's manifest records for each. A library made before the field existed was made by
# torch ("torch" is the manifest's default).
MANIFEST_NAME: dict[Encoder, str] = {"torch": "torch", "fp32": "onnx-fp32", "int8": "onnx-int8"}
SETTING_FOR: dict[str, Encoder] = {name: setting for setting, name in MANIFEST_NAME.items()}
# Vectors that may share one library. The fp32 export agrees with torch to a cosine of 0.9999 or
# better on every text (checked at each load), so its vectors are torch's; the bot has stored fp32
# ONNX vectors of short stories beside torch's since the query encoder shipped. int8 vectors differ
# from torch's by up to a few hundredths of cosine: an int8 library holds int8 vectors alone.
_FAMILY = {"torch": "fp32", "onnx-fp32": "fp32", "onnx-int8": "int8"}
# Between the int8 file and torch on the probes: a sanity check of the quantization (on the devset
# passages it measured a minimum of 0.97), not a claim of equivalence.
INT8_MIN_AGREEMENT = 0.95
_PROBES = (
    "Who is Ben Solo?",
    "The old whaler said nothing for a long while. Then he rose, took down the harpoon from above "
    "the hearth, and walked out into the snow without looking back at the boy by the fire.",
)
Progress = Callable[[int, int], None]
_WINDOW = 1024


def compatible(stored: str, active: str) -> bool:
    """Whether vectors from encoder ``active`` may be searched against and stored beside ``stored``'s."""
    return _FAMILY.get(stored, stored) == _FAMILY.get(active, active)


def settings_for(stored: str) -> str:
    """The STORYBOT_ENCODER values that can use a library whose manifest records ``stored``."""
    fits = [setting for setting in ENCODERS if compatible(stored, MANIFEST_NAME[setting])]
    return " or ".join(fits) if fits else f"(an encoder this storybot lacks: {stored})"


class BulkEncoder:
    """Many texts on every core: tokenised once, batched by length, vectors in input order."""

    # 16 a batch, not 32: the activations of the longest batch set the ingest's peak memory (-100 MiB).
    def __init__(self, path: Path, tokenizer: Any, max_length: int, *, threads: int, batch_size: int = 16):
        self._path = path
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._threads = threads
        self.batch_size = batch_size
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def threads(self) -> int:
        """ONNX Runtime's intra-op threads for a batch."""
        return self._threads

    def _ready(self) -> Any:
        # Made on first use: a bot that never ingests does not hold a second copy of the weights.
        with self._lock:
            if self._session is None:
                self._session = onnx_session(self._path, self._threads)
            return self._session

    def __call__(self, texts: Sequence[str], on_batch: Progress | None = None) -> Vectors:
        """Embed ``texts``; ``on_batch(done, total)`` after each batch."""
        session = self._ready()
        parts = []
        # Sorted within windows, not the whole novel: the token lists of War and Peace's 5,700
        # passages at once cost ~80 MiB, and a window of 1,024 pads nearly as little.
        for start in range(0, len(texts), _WINDOW):
            window = list(texts[start : start + _WINDOW])
            parts.append(self._window(session, window, start, len(texts), on_batch))
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _window(
        self, session: Any, texts: list[str], before: int, total: int, on_batch: Progress | None
    ) -> Vectors:
        ids = self._tokenizer(texts, truncation=True, max_length=self._max_length)["input_ids"]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks at once, early
        out = np.empty((len(ids), 0), dtype=np.float32)
        for start in range(0, len(ids), self.batch_size):
            rows = order[start : start + self.batch_size]
            vectors = self._batch(session, [ids[i] for i in rows], int(lengths[rows].max()))
            if out.shape[1] == 0:
                out = np.empty((len(ids), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
            if on_batch is not None:
                on_batch(before + min(start + self.batch_size, len(ids)), total)
        return out

    @staticmethod
    def _batch(session: Any, ids: list[list[int]], width: int) -> Vectors:
        tokens = np.zeros((len(ids), width), dtype=np.int64)  # 0 is [PAD]; the mask hides it anyway
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        hidden = session.run(None, {"input_ids": tokens, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)


def quantized(fp32: Path) -> Path:
    """The int8 dynamic quantization of an fp32 export, made beside it once (a few seconds)."""
    target = fp32.with_name(fp32.name.replace("query-encoder-", "passage-encoder-int8-"))
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    level = root.level
    # quantize_dynamic logs a pre-processing hint on the root logger; this export needs none.
    root.setLevel(logging.ERROR)
    try:
        # Per output channel: one scale per tensor measured cosine 0.90 to torch, per channel 0.97.
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)
    return target


def load_onnx_files(
    model: SentenceTransformer, model_id: str, location: str, cache_dir: Path, encoder: Encoder, threads: int
) -> tuple[OnnxQueryEncoder, BulkEncoder] | None:
    """The encoder's file as (one-thread encoder for a few texts, bulk encoder), or None for torch.

    The fp32 file is the query export; int8 is quantized from it. Either is checked against torch
    on the probes; a failure of any kind logs why and returns None (the caller decides the fallback).
    """
    if encoder == "torch":
        return None
    try:
        path = onnx_export(model, model_id, location, cache_dir)
        if path is None:
            return None
        if encoder == "int8":
            path = quantized(path)
        max_length = model.max_seq_length or 512
        few = OnnxQueryEncoder(onnx_session(path, 1), model.tokenizer, max_length)
        reference = model.encode(
            list(_PROBES), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        agreement = float(np.min(np.sum(few(list(_PROBES)) * reference, axis=1)))
        wanted = INT8_MIN_AGREEMENT if encoder == "int8" else 0.9999
        if agreement < wanted:
            log.warning("ONNX %s encoder disagrees with torch (cosine %.5f); not used", encoder, agreement)
            return None
        return few, BulkEncoder(path, model.tokenizer, max_length, threads=threads)
    except Exception as exc:  # any failure here only costs speed, never answers
        log.warning("ONNX %s passage encoder unavailable (%s)", encoder, exc)
        return None
