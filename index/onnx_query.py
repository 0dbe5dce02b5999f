"""A faster encoder for single questions: the same model exported to ONNX and run by ONNX Runtime.

On one CPU thread, torch spends most of a short question's ~11 ms in per-operator overhead; ONNX
Runtime gives identical vectors in ~4 ms. The export happens once per model into a cache
directory and is checked against torch at every load; anything unexpected falls back to torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import Vectors

# Typed as Any: only index/embedding.py may import sentence-transformers (see test_import_rules).
SentenceTransformer = Any
log = logging.getLogger(__name__)

_PROBES = ("Who is Ben Solo?", "Why did the king's youngest daughter leave the castle at night?")


class OnnxQueryEncoder:
    """Mean-pooled, unit-normalised sentence vectors from an ONNX export of the transformer."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int):
        self._session = session
        self._tokenizer = tokenizer
        self._max_length = max_length

    def __call__(self, texts: list[str]) -> Vectors:
        """Embed a few short texts."""
        enc = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
        )
        mask = enc["attention_mask"].astype(np.int64)
        hidden = self._session.run(
            None, {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": mask}
        )[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.linalg.norm(pooled, axis=1, keepdims=True), dtype=np.float32)


def _is_mean_pooled_transformer(model: SentenceTransformer) -> bool:
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
        return False
    return getattr(model[1], "pooling_mode", None) == "mean"


def _export(model: SentenceTransformer, target: Path) -> None:
    import torch

    class _Hidden(torch.nn.Module):
        def __init__(self, transformer: Any):
            super().__init__()
            self.transformer = transformer  # a submodule, so its weights export as initialisers

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.transformer(input_ids=ids, attention_mask=mask).last_hidden_state  # type: ignore[no-any-return]

    sample = model.tokenizer(list(_PROBES), padding=True, return_tensors="pt")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    axes = {0: "batch", 1: "tokens"}
    # The TorchScript exporter needs no extra packages; the agreement check at load guards it.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model[0].auto_model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def _cache_key(model_id: str, location: str) -> str:
    weights = sorted(Path(location).glob("*.safetensors")) + sorted(Path(location).glob("*.bin"))
    stamp = "|".join(f"{w.name}:{w.stat().st_size}:{int(w.stat().st_mtime)}" for w in weights)
    return hashlib.sha256(f"{model_id}|{location}|{stamp}".encode()).hexdigest()[:16]


_loaded: dict[tuple[str, Path], OnnxQueryEncoder | None] = {}
_lock = threading.Lock()


def load_onnx_encoder(
    model: SentenceTransformer, model_id: str, location: str, cache_dir: Path
) -> OnnxQueryEncoder | None:
    """Return an ONNX Runtime encoder equivalent to ``model`` (once per process), or None for torch."""
    with _lock:
        key = (location, cache_dir)
        if key not in _loaded:
            _loaded[key] = _load(model, model_id, location, cache_dir)
        return _loaded[key]


def onnx_export(model: SentenceTransformer, model_id: str, location: str, cache_dir: Path) -> Path | None:
    """The fp32 ONNX export of ``model`` in ``cache_dir``, made if missing; None if it cannot be made."""
    if not _is_mean_pooled_transformer(model):
        return None
    path = cache_dir / f"query-encoder-{_cache_key(model_id, location)}.onnx"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        _export(model, path)
    return path


def onnx_session(path: Path, threads: int, *, arena: bool = True) -> Any:
    """An ONNX Runtime CPU session on ``threads`` intra-op threads (``arena``: ONNX Runtime's allocator)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = arena
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _load(
    model: SentenceTransformer, model_id: str, location: str, cache_dir: Path
) -> OnnxQueryEncoder | None:
    try:
        path = onnx_export(model, model_id, location, cache_dir)
        if path is None:
            return None
        # One question at a time, like torch's serving setting.
        encoder = OnnxQueryEncoder(onnx_session(path, 1), model.tokenizer, model.max_seq_length or 512)
        reference = model.encode(
            list(_PROBES), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        agreement = float(np.min(np.sum(encoder(list(_PROBES)) * reference, axis=1)))
        if agreement < 0.9999:
            log.warning("ONNX query encoder disagrees with torch (cosine %.5f); using torch", agreement)
            return None
        return encoder
    except Exception as exc:  # any failure here only costs speed, never answers
        log.warning("ONNX query encoder unavailable (%s); questions use torch", exc)
        return None
