"""`/who` and `storybot who`: the chart (a valid PNG whose bars stop at the reader's chapter, on a
transparent background), the CLI's text and JSON, and /who end to end over the fake Discord."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from bot.answering import Answerer
from bot.catalog import Catalog
from bot.chart import COLOURS, chart_png, chart_text
from bot.cli import run
from bot.progress import ReadingProgress
from index.chunking import ChunkParams
from index.ingest import ingest_story
from index.readers import read_story
from index.search import Searcher
from index.store import DB_NAME, Library
from tests.bot_harness import (
    READER,
    bot_settings,
    embed_text,
    ingest,
    limit_violations,
    pings_nobody,
    running_storybot,
    sent_payloads,
)
from tests.fake_discord import JSON, FakeDiscord, option
from tests.fakes import HashEmbedder
from tests.test_xray import GUILD, KEEPERS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bar_groups(png: bytes, colour: str = COLOURS[0]) -> int:
    """How many separate bars of ``colour`` stand on the x axis (runs of columns holding it on the
    lowest row it reaches: a legend's patch of the colour floats above it)."""
    pixels = imread(io.BytesIO(png), format="png")
    target = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    close = (np.abs(pixels[:, :, :3] - target).max(axis=2) < 0.02) & (pixels[:, :, 3] > 0.9)
    rows = np.flatnonzero(close.any(axis=1))
    if not len(rows):
        return 0
    columns = close[rows.max() - 1]
    return int(np.count_nonzero(columns[1:] & ~columns[:-1]) + columns[0])


def keepers_catalog(tmp_path: Path) -> Catalog:
    path = tmp_path / "keepers.txt"
    path.write_text(KEEPERS, encoding="utf-8")
    embedder = HashEmbedder()
    library = Library.create_or_open(
        tmp_path / "data", embedder.model_id, embedder.dimension, ChunkParams(target_chars=160)
    )
    ingest_story(library, embedder, read_story(path), replace=False, guild=GUILD)
    reading = ReadingProgress(tmp_path / "data" / DB_NAME)
    return Catalog(library, Answerer(Searcher(library, embedder), embedder), reading)


def test_the_chart_is_a_transparent_png_whose_bars_stop_at_the_readers_chapter(tmp_path: Path) -> None:
    catalog = keepers_catalog(tmp_path)
    catalog.progress.set(GUILD, READER, "keepers", 2)
    found = catalog.who(GUILD, "keepers", name="Ada", user=READER)
    assert found.series == [("Ada Marsh", (4, 3))]  # chapter 3 mentions her too, but is not read yet
    png = chart_png(found.series, "Mentions per chapter")
    assert png is not None
    assert png.startswith(PNG_MAGIC)
    assert imread(io.BytesIO(png), format="png")[0, 0, 3] == 0  # transparent: reads on dark and light
    assert bar_groups(png) == 2
    whole = chart_png(catalog.who(GUILD, "keepers", name="Ada").series, "Mentions per chapter")
    assert whole is not None
    assert bar_groups(whole) == 3
    catalog.close()


def test_a_few_people_share_one_chart_and_the_text_fallback_says_the_same() -> None:
    series = [("Ada", (4, 2, 3)), ("Tomas", (0, 3, 5))]
    png = chart_png(series, "Mentions")
    assert png is not None
    assert bar_groups(png, COLOURS[0]) == 3
    assert bar_groups(png, COLOURS[1]) == 2  # no bar where Tomas has no mention
    assert chart_text(series, width=5).splitlines() == [
        "█ Ada  ▓ Tomas",
        "ch   1 ████4 0",
        "ch   2 ██2 ▓▓▓3",
        "ch   3 ███3 ▓▓▓▓▓5",
    ]
    assert chart_png([], "Mentions") is None


def test_cli_who_lists_people_and_one_persons_profile_with_a_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keepers_catalog(tmp_path).close()
    data = ["--data-dir", str(tmp_path / "data")]
    assert run([*data, "who", "--story", "keepers", "--until-chapter", "1", "--json"]) == 0
    cast = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in cast["people"]] == ["Ada Marsh", "Finch"]
    assert cast["until"] == 1
    chart = tmp_path / "tomas.png"
    assert run([*data, "who", "Tomas", "--story", "keepers", "--chart", str(chart), "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["first_chapter"] == 2
    assert profile["per_chapter"] == [0, 3, 5]
    assert {"story", "chapter", "chapter_title", "start", "end", "text"} <= set(profile["passages"][0])
    assert chart.read_bytes().startswith(PNG_MAGIC)
    assert profile["chart"] == str(chart)
    assert run([*data, "who", "Tomas", "--story", "keepers", "--until-chapter", "1"]) == 1
    assert capsys.readouterr().err == "storybot: no one called 'Tomas' in chapters 1 to 1\n"
    assert run([*data, "who", "Ada", "--story", "keepers"]) == 0
    text = capsys.readouterr().out
    assert "first appears in Chapter 1: Arrival — Ada Marsh came" in text
    assert "often near: " in text


async def command(fake: FakeDiscord, name: str, *options: JSON) -> JSON:
    payload = fake.slash_interaction(name, list(options), user_id=READER)
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_callback(payload)
    if callback.json["type"] == 4:
        return dict(callback.json["data"])
    return await fake.wait_for_response(payload, timeout=20)


@pytest.mark.slow
def test_who_over_discord_stays_within_the_readers_chapter(tmp_path: Path) -> None:
    story = tmp_path / "keepers.txt"
    story.write_text(KEEPERS, encoding="utf-8")
    data = ingest(tmp_path / "data", story)

    async def main() -> None:
        async with FakeDiscord() as fake, running_storybot(fake, bot_settings(fake, data)):
            await command(fake, "progress", option("story", "keepers"), option("chapter", 1))
            since = len(sent_payloads(fake))
            everyone = await command(fake, "who")
            assert "Ada Marsh" in embed_text(everyone)
            ada = await command(fake, "who", option("name", "ada"), option("story", "keepers"))
            assert "Ada Marsh" in embed_text(ada)
            assert "First appears in" in embed_text(ada)
            assert [a["filename"] for a in ada["attachments"]] == ["mentions.png"]
            assert ada["embeds"][0]["image"]["url"] == "attachment://mentions.png"
            name = ada["attachments"][0]["url"].rsplit("/", 1)[1]
            assert bar_groups(fake.world.attachments[name]) == 1  # chapter 1 only
            later = await command(fake, "who", option("name", "Tomas"))
            assert "no one called 'Tomas' in chapters 1 to 1" in embed_text(later)
            sent = [m for _, m in sent_payloads(fake)[since:]]
            assert all(pings_nobody(m) and not limit_violations(m) for m in sent)
            # Nothing from chapters 2 and 3 reached the reader: Tomas is named only in the refusal.
            shown = "".join(embed_text(m) for m in sent).replace("no one called 'Tomas'", "")
            assert "Tomas" not in shown

    asyncio.run(main())
