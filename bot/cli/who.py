"""`storybot who [NAME] --story ID`: the X-Ray of a story's people, as a reader at a chapter sees it."""

from __future__ import annotations

import argparse
import sys

from bot.chart import chart_png, chart_text
from bot.cli.common import emit
from bot.render import render_cast, render_profile
from bot.settings import Settings
from index.cast import XRay
from index.errors import InputError
from index.models import Passage
from index.store import Library


def cmd_who(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    try:
        xray = XRay(library)
        info = library.story(args.story)
        if not args.name:
            cast = xray.cast(info.id, args.until_chapter)
            if args.chart is not None:
                raise InputError("--chart draws one person's mentions: give a NAME")
            emit(cast.model_dump()) if args.json else print(render_cast(cast), end="")
            return 0
        names = [n.strip() for n in args.name.split(",") if n.strip()]
        profile = xray.profile(info.id, names[0], args.until_chapter)
        series = xray.mentions(info.id, names, args.until_chapter)
    finally:
        library.close()
    chart = None
    if args.chart is not None:
        png = chart_png(series, f"Mentions per chapter: {info.title}")
        if png is None:
            print("storybot: the chart could not be drawn; here it is as text", file=sys.stderr)
            print(chart_text(series), file=sys.stderr)
        else:
            args.chart.write_bytes(png)
            chart = str(args.chart)
    if args.json:
        emit(
            {
                **profile.model_dump(mode="json"),
                "passages": [_hit(p) for p in profile.passages],
                "chart": chart,
            }
        )
    else:
        print(render_profile(profile), end="")
        if chart:
            print(f"chart: {chart}")
    return 0


def _hit(passage: Passage) -> dict[str, object]:
    """A passage in the CLI JSON contract's hit shape, without a score."""
    return {
        "story": passage.story,
        "chapter": passage.chapter,
        "chapter_title": passage.chapter_title,
        "start": passage.start,
        "end": passage.end,
        "text": passage.text,
    }
