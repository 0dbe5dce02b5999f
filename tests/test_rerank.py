"""The trained reader shipped in index/weights/: it loads offline, agrees with torch, and reorders."""

from __future__ import annotations

import json
import shutil
import socket
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.chunking import ChunkParams
from index.errors import LibraryError
from index.rerank import (
    MAX_RUN_TOKENS,
    MODEL_FILE,
    QUOTE_FILE,
    QUOTE_SPEC_FILE,
    SCORE_TOLERANCE,
    SPEC_FILE,
    WEIGHTS,
    _load,
    _runs,
    load_reader,
)
from index.search import Query, Searcher, SearchParams
from index.store import Library
from tests.fakes import HashEmbedder, put, story_from_text


def test_the_shipped_reader_loads_offline_and_matches_the_torch_scores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("the reader tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    reader = _load(WEIGHTS, threads=1)  # not the per-process cache: this load must happen here
    probes = reader.spec.probes
    assert len(probes) >= 4
    for probe in probes:
        (got,) = reader.read(probe["question"], [probe["passage"]])
        assert abs(got.score - probe["score"]) <= SCORE_TOLERANCE
        assert len(got.sentences) == len(probe["sentences"])
        for (_, _, mine), torch_score in zip(got.sentences, probe["sentences"], strict=True):
            assert abs(mine - torch_score) <= SCORE_TOLERANCE
    assert reader.quotes  # the quote model ships beside the reader, and is checked the same way
    quote_probes = json.loads((WEIGHTS / QUOTE_SPEC_FILE).read_text())["probes"]
    assert len(quote_probes) >= 4
    for probe in quote_probes:
        (sentences,) = reader.quote(probe["question"], [probe["passage"]])
        assert len(sentences) == len(probe["sentences"])
        for (_, _, mine), torch_score in zip(sentences, probe["sentences"], strict=True):
            assert abs(mine - torch_score) <= SCORE_TOLERANCE
    assert reader.disagreement() <= SCORE_TOLERANCE


def test_the_shipped_files_are_small_enough_for_git() -> None:
    assert (WEIGHTS / MODEL_FILE).stat().st_size <= 25_000_000
    assert (WEIGHTS / QUOTE_FILE).stat().st_size <= 25_000_000
    assert (WEIGHTS / "MODEL_CARD.md").is_file()


def test_the_answering_passage_outranks_lookalikes_and_its_sentence_scores_best() -> None:
    reader = load_reader()
    question = "Who tells Hux to go to bed?"
    passages = [
        "Hux goes to bed late. Hux stays in bed, and Hux thinks about the bed.",
        "The next day, he yells at one of his underlings and Phasma tells him to go to bed. "
        "He yells at her too and storms off the bridge.",
        "The medical droid tells Hux that Kylo has been angry and erratic all week.",
    ]
    readings = reader.read(question, passages)
    assert max(range(3), key=lambda i: readings[i].score) == 1
    best = max(readings[1].sentences, key=lambda s: s[2])
    assert passages[1][best[0] : best[1]].endswith("Phasma tells him to go to bed.")


def test_the_quote_model_picks_the_sentence_that_answers() -> None:
    reader = load_reader()
    passage = (
        "The girl walked down to the well with her mother's bucket. The bucket had a hole in it, so "
        "she could carry no water home, and she sat down and cried. Her mother came out to find her."
    )
    (sentences,) = reader.quote("Why did the girl cry?", [passage])
    start, end, _ = max(sentences, key=lambda s: s[2])
    assert passage[start:end].startswith("The bucket had a hole in it")


def test_without_the_quote_model_the_reader_scores_the_sentences(tmp_path: Path) -> None:
    alone = tmp_path / "reader-only"
    shutil.copytree(WEIGHTS, alone)
    (alone / QUOTE_FILE).unlink()
    reader = _load(alone, threads=1)
    assert not reader.quotes
    question, passage = "What did the fox steal?", "The fox came. The fox took the goose and ran."
    assert reader.quote(question, [passage]) == [reader.read(question, [passage])[0].sentences]


def test_a_damaged_or_disagreeing_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(WEIGHTS, broken)
    (broken / MODEL_FILE).write_bytes(b"not an onnx file")
    with pytest.raises(LibraryError, match="cannot load the reranker"):
        _load(broken, threads=1)
    off = tmp_path / "off"
    shutil.copytree(WEIGHTS, off)
    spec = json.loads((off / SPEC_FILE).read_text())
    spec["probes"][0]["score"] += 5.0
    (off / SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(LibraryError, match="disagrees with its reference scores"):
        _load(off, threads=1)
    quote_off = tmp_path / "quote-off"
    shutil.copytree(WEIGHTS, quote_off)
    spec = json.loads((quote_off / QUOTE_SPEC_FILE).read_text())
    spec["probes"][0]["sentences"][0] += 5.0
    (quote_off / QUOTE_SPEC_FILE).write_text(json.dumps(spec))
    with pytest.raises(LibraryError, match="disagrees with its reference scores"):
        _load(quote_off, threads=1)


@given(st.lists(st.integers(min_value=3, max_value=256), min_size=1, max_size=40))
def test_runs_by_length_cover_every_pair_once(lengths: list[int]) -> None:
    runs = _runs(lengths)
    assert sorted(i for run in runs for i in run) == list(range(len(lengths)))
    # Runs hold contiguous stretches of the lengths, sorted.
    widths = [(min(lengths[i] for i in run), max(lengths[i] for i in run)) for run in runs]
    assert all(a[1] <= b[0] for a, b in pairwise(widths))
    # No run pads past the cap unless it is one pair: the arena keeps the largest run's memory.
    assert all(len(run) == 1 or len(run) * max(lengths[i] for i in run) <= MAX_RUN_TOKENS for run in runs)


def test_the_reading_order_is_the_order_given_whatever_the_lengths() -> None:
    reader = load_reader()
    texts = ["Short one.", "A much longer passage " * 30, "Middle sized passage here. Two sentences."]
    alone = [reader.read("What is here?", [t])[0].score for t in texts]
    together = [r.score for r in reader.read("What is here?", texts)]
    # int8 activations are scaled per run, so a run's company moves a score a little, never the order.
    assert together == pytest.approx(alone, abs=0.25)


# One paragraph per passage; by words, the answer ranks third among them in the first stage.
BEDTIME = (
    "Hux goes to bed late again. Hux stays in bed, and Hux thinks about the bed and about Hux.\n\n"
    "Hux tells the crew that bed rest is for the weak. Hux tells them to go. Go, Hux tells them.\n\n"
    "The next day, he yells at one of his underlings and Phasma tells him to go to bed. "
    "He yells at her too.\n\n"
    "The medical droid keeps Kylo in the medbay for three more days.\n\n"
    "At night the ship is quiet and the stars drift past the long window.\n"
)


def test_an_answer_third_in_the_first_stage_comes_back_first(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    library = Library.create_or_open(
        tmp_path / "lib", embedder.model_id, embedder.dimension, ChunkParams(target_chars=120)
    )
    put(library, embedder, story_from_text(tmp_path, BEDTIME, "bedtime"))
    query = Query(question="Who tells Hux to go to bed?", story="bedtime")
    first = Searcher(library, embedder).search_query(query, k=5)
    assert "Phasma" in first[2].passage.text  # the setting of this test: third by words alone
    read = Searcher(library, embedder, reader=load_reader()).search_query(query, k=5)
    assert "Phasma" in read[0].passage.text
    assert [h.score for h in read] == sorted((h.score for h in read), reverse=True)
    assert {h.passage.id for h in read} == {h.passage.id for h in first}
    # The passage quoted from scores its sentences by the quote model plus the reader's answer head
    # (as the searcher read them, in one batch); the others keep the reader's alone.
    reader = load_reader()
    readings = reader.read(query.question, [h.passage.text for h in first])
    by_text = {h.passage.text: r.sentences for h, r in zip(first, readings, strict=True)}
    (quoted,) = reader.quote(query.question, [read[0].passage.text])
    w = SearchParams().answer_head_weight
    head = by_text[read[0].passage.text]
    expected = [(a, b, q + w * h) for (a, b, q), (_, _, h) in zip(quoted, head, strict=True)]
    assert [s[:2] for s in read[0].sentences] == [s[:2] for s in expected]
    assert [s[2] for s in read[0].sentences] == pytest.approx([s[2] for s in expected])
    assert all(h.sentences == by_text[h.passage.text] for h in read[1:])
