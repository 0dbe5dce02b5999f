"""Passages through ONNX Runtime: agreement with torch, input order, one encoder per library, doctor."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import index.onnx_encoder
from bot.cli import run
from bot.cli.wiring import embedder, encoder_setting
from bot.doctor import check_encoder, check_library
from bot.settings import Settings, load_settings
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.errors import EncoderMismatchError, InputError
from index.onnx_encoder import BulkEncoder, compatible, settings_for
from index.store import DB_NAME, MANIFEST_NAME, Library
from tests.fakes import HashEmbedder

# Lengths from a few words to past the model's 256 tokens, so batches of two pad very differently.
TEXTS = [
    "Ishmael.",
    "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about.",
    "The whale " * 120,
    "Queequeg was a native of Rokovoko, an island far away to the West and South.",
    "It was a dark night.",
    "Ahab stood before them with a crucifixion in his face; in all the nameless regal overbearing "
    "dignity of some mighty woe. " * 4,
] * 7  # 42 texts: past the 32 that go through the one-thread encoder


def cache() -> Path:
    return Path(os.environ["STORYBOT_CACHE_DIR"])  # one export per test session (conftest)


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder().embed(TEXTS)


def test_fp32_passage_vectors_are_torchs(torch_vectors: np.ndarray) -> None:
    fp32 = SentenceTransformerEmbedder(query_cache_dir=cache(), encoder="fp32")
    assert fp32.encoder == "onnx-fp32"
    agreement = np.sum(fp32.embed(TEXTS) * torch_vectors, axis=1)
    assert agreement.min() > 0.9999


def test_int8_passage_vectors_stay_close_to_torchs(torch_vectors: np.ndarray) -> None:
    int8 = SentenceTransformerEmbedder(query_cache_dir=cache(), encoder="int8")
    assert int8.encoder == "onnx-int8"
    assert list(cache().glob("passage-encoder-int8-*.onnx"))
    vectors = int8.embed(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    agreement = np.sum(vectors * torch_vectors, axis=1)
    # On the devset's passages: min 0.97, mean 0.99 (bench/encoder_quality.py).
    assert agreement.min() > 0.95
    assert agreement.mean() > 0.98
    assert agreement.min() < 0.9999  # int8 really is another encoder: why it gets its own libraries


def test_length_batches_come_back_in_input_order(
    torch_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.onnx_encoder, "_WINDOW", 10)  # several windows, each sorted on its own
    fp32 = SentenceTransformerEmbedder(query_cache_dir=cache(), encoder="fp32")
    bulk = fp32._bulk
    assert isinstance(bulk, BulkEncoder)
    default = bulk.batch_size
    bulk.batch_size = 2
    reported: list[tuple[int, int]] = []
    try:
        vectors = bulk(TEXTS, lambda done, total: reported.append((done, total)))
    finally:
        bulk.batch_size = default
    np.testing.assert_allclose(vectors, torch_vectors, atol=2e-4)
    assert reported == [(min(n, len(TEXTS)), len(TEXTS)) for n in range(2, len(TEXTS) + 2, 2)]


def test_an_unusable_onnx_file_falls_back_to_torch(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for source in cache().glob("*.onnx"):
        (broken / source.name).write_bytes(source.read_bytes()[:1000])
    fallback = SentenceTransformerEmbedder(query_cache_dir=broken, encoder="int8")
    assert fallback.encoder == "torch"
    assert fallback.path.startswith("passages: torch")
    found = check_encoder("int8", fallback)
    assert found.status == "ok"
    assert "the int8 ONNX encoder could not be made" in found.notes[0]


def test_doctor_names_the_active_path() -> None:
    int8 = SentenceTransformerEmbedder(query_cache_dir=cache(), encoder="int8", bulk_threads=2)
    found = check_encoder("int8", int8)
    assert found.status == "ok"
    assert found.notes == ()
    assert found.text == (
        "encoder: onnx-int8: passages: ONNX Runtime int8, 2 threads, batched by length; "
        "questions: ONNX Runtime int8, 1 thread"
    )


# -- one library, one encoder --------------------------------------------------------------------
def test_vectors_of_one_family_share_a_library_and_int8_keeps_its_own() -> None:
    assert compatible("torch", "onnx-fp32")
    assert compatible("onnx-fp32", "torch")
    assert not compatible("torch", "onnx-int8")
    assert not compatible("onnx-int8", "onnx-fp32")
    assert compatible("onnx-int8", "onnx-int8")
    assert settings_for("torch") == "fp32 or torch"
    assert settings_for("onnx-int8") == "int8"


def test_the_manifest_records_the_encoder(tmp_path: Path) -> None:
    fake = HashEmbedder()
    Library.create_or_open(tmp_path, fake.model_id, fake.dimension, ChunkParams(), "onnx-int8").close()
    library = Library.open(tmp_path, fake.model_id, "onnx-int8")
    assert library.manifest.encoder == "onnx-int8"
    library.close()
    assert '"encoder": "onnx-int8"' in (tmp_path / MANIFEST_NAME).read_text()


def test_a_library_of_another_encoder_says_how_to_reindex(tmp_path: Path) -> None:
    fake = HashEmbedder()
    Library.create_or_open(tmp_path, fake.model_id, fake.dimension, ChunkParams(), "onnx-int8").close()
    for other in ("torch", "onnx-fp32"):
        with pytest.raises(EncoderMismatchError) as raised:
            Library.create_or_open(tmp_path, fake.model_id, fake.dimension, ChunkParams(), other)
        message = str(raised.value)
        assert f"made by encoder 'onnx-int8', not '{other}'" in message
        assert "STORYBOT_ENCODER=int8" in message
        assert "re-index into a new data dir" in message
    (found,) = check_library(tmp_path, fake, "torch")
    assert found.status == "problem"
    assert "set STORYBOT_ENCODER=int8" in found.fix


def test_a_library_from_before_the_field_is_torchs(tmp_path: Path) -> None:
    fake = HashEmbedder()
    Library.create_or_open(tmp_path, fake.model_id, fake.dimension, ChunkParams()).close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    with conn:
        row = conn.execute("SELECT value FROM meta WHERE key='manifest'").fetchone()
        old = row[0].replace(',"encoder":"torch"', "")
        assert "encoder" not in old
        conn.execute("UPDATE meta SET value=? WHERE key='manifest'", (old,))
    conn.close()
    library = Library.open(tmp_path, fake.model_id, "onnx-fp32")  # measured equal: it may add to it
    assert library.manifest.encoder == "torch"
    library.close()
    with pytest.raises(EncoderMismatchError, match="STORYBOT_ENCODER=fp32 or torch"):
        Library.open(tmp_path, fake.model_id, "onnx-int8")
    # With STORYBOT_ENCODER unset, such a library goes on with the fp32 export, not the default.
    assert encoder_setting(Settings(data_dir=tmp_path)) == "fp32"
    assert encoder_setting(Settings(data_dir=tmp_path, encoder="torch")) == "torch"
    assert encoder_setting(Settings(data_dir=tmp_path / "new")) == Settings().encoder


def test_ingest_with_another_encoder_is_refused_and_queries_use_the_librarys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Chapter 1\n\n" + "\n\n".join(TEXTS[:6]) + "\n")
    data = tmp_path / "data"
    monkeypatch.setenv("STORYBOT_ENCODER", "int8")
    assert run(["--data-dir", str(data), "ingest", str(story)]) == 0
    monkeypatch.setenv("STORYBOT_ENCODER", "fp32")
    assert run(["--data-dir", str(data), "ingest", str(story), "--story-id", "again"]) != 0
    err = capsys.readouterr().err
    assert "made by encoder 'onnx-int8', not 'onnx-fp32'" in err
    assert "STORYBOT_ENCODER=int8" in err
    monkeypatch.delenv("STORYBOT_ENCODER")
    settings = load_settings().model_copy(update={"data_dir": data})
    assert embedder(settings, threads=1, fast=True).encoder == "onnx-int8"


def test_an_unknown_encoder_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYBOT_ENCODER", "int4")
    with pytest.raises(InputError, match="STORYBOT_ENCODER"):
        load_settings()
