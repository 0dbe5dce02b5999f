"""The real embedding model: offline load, unit vectors, and the ONNX fast path for questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder, resolve_model
from index.errors import LibraryError

TEXTS = [
    "Who is Ben Solo?",
    "Hux smiles, oh so sadly. “I have a job, Ren. I’ve got a thousand people under my command.”",
    "On the fourth morning, an unsanctioned TIE fighter departs from Hanger Fifteen.",
]


def test_default_model_loads_from_the_installed_package() -> None:
    model_id, location = resolve_model("all-MiniLM-L6-v2")
    assert model_id == DEFAULT_MODEL
    assert (Path(location) / "model.safetensors").is_file()


def test_vectors_are_unit_length_and_batched_like_single() -> None:
    embedder = SentenceTransformerEmbedder()
    vectors = embedder.embed(TEXTS * 30)  # past the fast path's size: torch, in batches
    assert vectors.shape == (90, embedder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[1], embedder.embed([TEXTS[1]])[0], atol=1e-5)


def test_onnx_question_encoder_matches_torch(tmp_path: Path) -> None:
    torch_only = SentenceTransformerEmbedder()
    fast = SentenceTransformerEmbedder(query_cache_dir=tmp_path / "cache")
    assert fast.fast_queries
    assert not torch_only.fast_queries
    assert list((tmp_path / "cache").glob("query-encoder-*.onnx"))
    agreement = np.sum(fast.embed(TEXTS) * torch_only.embed(TEXTS), axis=1)
    assert agreement.min() > 0.9999
    np.testing.assert_allclose(fast.embed_query(TEXTS[0]), torch_only.embed_query(TEXTS[0]), atol=1e-4)


def test_unknown_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="cannot load embedding model"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
