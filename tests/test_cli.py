"""The CLI end to end with the real embedding model: the JSON contract, answers, bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.cli import run
from index.store import Library
from tests.conftest import DEMO

Result = tuple[int, str, str]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_about_the_demo_story_quotes_the_answering_sentence(
    demo_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--data-dir", str(demo_library), "ask", "Who is Ben Solo?", "--json")
    assert code == 0
    answer = json.loads(out)
    assert "Ben Solo" in answer["answer"]
    best = answer["hits"][0]
    assert answer["answer"] in best["text"]
    assert DEMO.read_text(encoding="utf-8")[best["start"] : best["end"]] == best["text"]


def test_ask_renders_quote_citation_and_more_passages(
    demo_library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "--data-dir", str(demo_library), "ask", "Who tells Hux to go to bed?")
    assert code == 0
    assert "A: The next day, he yells at one of his underlings and Phasma tells him to go to bed." in out
    # The demo story is one long paragraph: ¶1 would fit every passage, so the place is a share.
    assert re.search(r"— \[demo\] Chapter 1, (?:at the start|about \d{1,3} % through)\n", out)
    assert "»The next day" in out
    assert "More passages:" in out


def test_search_json_follows_the_contract(demo_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(
        capsys, "--data-dir", str(demo_library), "search", "Why hasn't Hux slept?", "-k", "3", "--json"
    )
    assert code == 0
    result = json.loads(out)
    hits = result["hits"]
    assert len(hits) == 3
    assert all(set(h) == {"story", "chapter", "chapter_title", "start", "end", "text", "score"} for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert "Hux hadn’t slept" in hits[0]["text"]  # a straight apostrophe in the question still matches


def test_batch_search_answers_each_line(
    demo_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "q.jsonl"
    lines = [
        {"id": "a", "question": "Who is Phasma?"},
        {"id": 7, "question": "What does Kylo notice on Hux's jaw?", "story": "demo", "until_chapter": 1},
    ]
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    code, out, _ = cli(capsys, "--data-dir", str(demo_library), "search", "--batch", str(batch), "-k", "2")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 7]
    assert all(len(r["hits"]) == 2 for r in rows)
    assert any("freckle" in h["text"] for h in rows[1]["hits"])


def test_batch_ask_prints_what_single_ask_prints(
    demo_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[dict[str, str | int]] = [
        {"id": "a", "question": "Who tells Hux to go to bed?"},
        {"id": 2, "question": "How does it end?", "story": "demo"},
        {"id": "c", "question": "What is the capital of Peru?", "story": "demo", "until_chapter": 1},
    ]
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    data = ["--data-dir", str(demo_library)]
    code, out, _ = cli(capsys, *data, "ask", "--batch", str(batch), "--json", "-k", "3")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "c"]
    for line, row in zip(lines, rows, strict=True):
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in line.items() if k in ("story", "until_chapter")]
        code, single, _ = cli(capsys, *data, "ask", str(line["question"]), *flags, "--json", "-k", "3")
        assert code == 0
        expected = json.loads(single)
        assert row == {"id": line["id"], **{k: v for k, v in expected.items() if k != "question"}}
    assert set(rows[0]) == {"id", "answer", "later_chapter", "hits"}
    assert "Phasma tells him to go to bed" in rows[0]["answer"]
    assert rows[2]["answer"] == ""
    assert rows[2]["hits"] == []


def test_batch_ask_needs_json_and_no_question(
    demo_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": 1, "question": "Who is Ben?"}\n', encoding="utf-8")
    data = ["--data-dir", str(demo_library)]
    code, _, err = cli(capsys, *data, "ask", "--batch", str(batch))
    assert code == 1
    assert "--json" in err
    code, _, err = cli(capsys, *data, "ask", "Who?", "--batch", str(batch), "--json")
    assert code == 1
    assert "not both" in err


def test_ingest_folder_list_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    shutil.copy(DEMO, shelf / "hux.txt")
    (shelf / "lighthouse.md").write_text(
        "# The Lighthouse\n\n## Chapter 1: Fog\n\nThe keeper lit the lamp at dusk.\n\n"
        "## Chapter 2: Storm\n\nA ship struck the rocks and the keeper rowed out to it.\n",
        encoding="utf-8",
    )
    data = str(tmp_path / "lib")
    code, out, _ = cli(capsys, "--data-dir", data, "ingest", str(shelf), "--json")
    assert code == 0
    summaries = {s["id"]: s for s in map(json.loads, out.splitlines())}
    assert set(summaries) == {"hux", "lighthouse"}
    assert {"id", "title", "chapters", "passages", "seconds"} <= set(summaries["lighthouse"])
    assert summaries["lighthouse"]["title"] == "The Lighthouse"
    assert summaries["lighthouse"]["chapters"] == 2

    code, out, _ = cli(
        capsys,
        "--data-dir",
        data,
        "search",
        "who rowed out?",
        "--story",
        "lighthouse",
        "--until-chapter",
        "1",
        "--json",
    )
    assert code == 0
    assert {h["chapter"] for h in json.loads(out)["hits"]} == {1}

    assert cli(capsys, "--data-dir", data, "remove", "hux")[0] == 0
    code, out, _ = cli(capsys, "--data-dir", data, "list", "--json")
    assert [s["id"] for s in json.loads(out)] == ["lighthouse"]


def test_unchanged_story_is_not_embedded_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "lib")
    cli(capsys, "--data-dir", data, "ingest", str(DEMO), "--story-id", "demo")
    code, out, _ = cli(
        capsys, "--data-dir", data, "ingest", str(DEMO), "--story-id", "demo", "--replace", "--json"
    )
    assert code == 0
    summary = json.loads(out)
    assert (summary["embedded"], summary["reused"]) == (0, summary["passages"])


BAD_INPUTS = [
    "missing file",
    "empty file",
    "binary file",
    "folder with no stories",
    "existing id without --replace",
    "unknown story",
    "k of zero",
    "negative k",
    "empty question",
    "empty ask",
    "remove unknown",
    "bad story id",
    "data dir not writable",
    "no library",
]


def _bad_inputs(tmp: Path, data: Path) -> dict[str, list[str]]:
    (tmp / "empty.txt").write_text("", encoding="utf-8")
    (tmp / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (tmp / "nothing").mkdir()
    (tmp / "afile").write_text("x", encoding="utf-8")
    d = ["--data-dir", str(data)]
    return {
        "missing file": [*d, "ingest", str(tmp / "nope.txt")],
        "empty file": [*d, "ingest", str(tmp / "empty.txt")],
        "binary file": [*d, "ingest", str(tmp / "blob.txt")],
        "folder with no stories": [*d, "ingest", str(tmp / "nothing")],
        "existing id without --replace": [*d, "ingest", str(DEMO), "--story-id", "demo"],
        "unknown story": [*d, "search", "who?", "--story", "nope"],
        "k of zero": [*d, "search", "who?", "-k", "0"],
        "negative k": [*d, "ask", "who?", "-k", "-3"],
        "empty question": [*d, "search", "   "],
        "empty ask": [*d, "ask", ""],
        "remove unknown": [*d, "remove", "nope"],
        "bad story id": [*d, "ingest", str(DEMO), "--story-id", "Bad Id!", "--replace"],
        "data dir not writable": ["--data-dir", str(tmp / "afile" / "lib"), "ingest", str(DEMO)],
        "no library": ["--data-dir", str(tmp / "void"), "search", "who?"],
    }


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_gets_one_line_and_leaves_the_library_alone(
    case: str, demo_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "lib"
    shutil.copytree(demo_library, data)
    before = Library.open(data)
    generation, stories = before.generation, before.stories()
    before.close()

    cases = _bad_inputs(tmp_path, data)
    assert set(cases) == set(BAD_INPUTS)
    code, out, err = cli(capsys, *cases[case])

    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("storybot")
    assert "Traceback" not in err
    after = Library.open(data)
    assert (after.generation, after.stories()) == (generation, stories)
    after.close()


def test_library_built_with_another_model_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from index.chunking import ChunkParams

    Library.create_or_open(tmp_path / "lib", "some-other-model", 384, ChunkParams()).close()
    code, _, err = cli(capsys, "--data-dir", str(tmp_path / "lib"), "search", "who?")
    assert code == 1
    assert "some-other-model" in err
    assert "re-index" in err


def test_chat_answers_one_question_per_line(
    demo_library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Who is Ben Solo?\nWho tells Hux to go to bed?\n\n"))
    code, out, _ = cli(capsys, "--data-dir", str(demo_library), "chat", "--story", "demo", "-k", "1")
    assert code == 0
    assert out.count("Q: ") == 2
    assert "Phasma tells him to go to bed" in out


def test_data_dir_may_follow_the_command(demo_library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "list", "--json", "--data-dir", str(demo_library))
    assert code == 0
    assert [s["id"] for s in json.loads(out)] == ["demo"]


def test_data_dir_defaults_to_the_setting(
    demo_library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORYBOT_DATA_DIR", str(demo_library))
    code, out, _ = cli(capsys, "list")
    assert code == 0
    assert out.startswith("demo: ")


def test_not_utf8_story_is_read_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = tmp_path / "latin.txt"
    story.write_bytes("Chapter 1\n\nThe caf\xe9 was \x93closed\x94 that night.\n".encode("latin-1"))
    code, _, err = cli(capsys, "--data-dir", str(tmp_path / "lib"), "ingest", str(story))
    assert code == 0
    assert "warning" in err
    assert "UTF-8" in err
