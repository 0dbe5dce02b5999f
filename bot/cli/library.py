"""`storybot ingest | list | info | rate | remove`: the library's stories."""

from __future__ import annotations

import argparse
import os
import sys

from bot.cli.common import emit, plural
from bot.cli.wiring import embedder
from bot.progress import ReadingProgress
from bot.render import render_info
from bot.settings import Settings
from index.chunking import ChunkParams
from index.ingest import IngestSummary, ingest_all, load_stories
from index.sqlite_io import check_writable
from index.store import DB_NAME, Library


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    stories = load_stories(args.paths, story_id=args.story_id, title=args.title)
    for story in stories:
        for warning in story.warnings:
            print(f"storybot: warning: {warning}", file=sys.stderr)
    check_writable(settings.data_dir)  # an unusable data dir fails before the model loads
    threads = settings.ingest_threads or os.cpu_count() or 1
    model = embedder(settings, threads=threads)
    library = Library.create_or_open(
        settings.data_dir, model.model_id, model.dimension, ChunkParams(), model.encoder
    )
    try:
        summaries = ingest_all(
            library,
            model,
            stories,
            replace=args.replace,
            progress=sys.stderr.isatty(),
            guild=args.guild,
            on_done=lambda s: _report_ingest(s, args.json),
        )
    finally:
        library.close()
    _keep_progress(settings, summaries)
    return 0


def _keep_progress(settings: Settings, summaries: list[IngestSummary]) -> None:
    """Readers of a replaced story stay at the chapter they had reached, whatever its number now."""
    moved = [s for s in summaries if s.renumbered]
    if not moved:
        return
    progress = ReadingProgress(settings.data_dir / DB_NAME)
    try:
        for summary in moved:
            readers = progress.renumber(summary.id, summary.renumbered)
            if readers:
                print(
                    f"storybot: {summary.id}: chapters were renumbered; the progress of "
                    f"{plural(readers, 'reader')} moved with them",
                    file=sys.stderr,
                )
    finally:
        progress.close()


def _report_ingest(summary: IngestSummary, as_json: bool) -> None:
    if as_json:
        emit(summary.model_dump(exclude={"warnings"}))
        return
    what = f"{summary.passages} passages"
    if summary.reused:
        what += f" ({summary.embedded} embedded, {summary.reused} unchanged)"
    chapters = plural(summary.chapters, "chapter")
    print(f"{summary.id}: '{summary.title}', {chapters}, {what} ({summary.seconds:.1f}s)")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    stories = library.stories()
    library.close()
    if args.json:
        emit([s.model_dump(exclude={"content_hash"}) for s in stories])
    elif not stories:
        print("no stories yet: add one with 'storybot ingest FILE'")
    for s in [] if args.json else stories:
        print(
            f"{s.id}: '{s.title}', {plural(s.chapters, 'chapter')}, {plural(s.passages, 'passage')}, "
            f"{s.words} words"
        )
    return 0


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    try:
        info = library.story(args.story_id)
        meta, chapters = library.story_meta(info.id), library.chapters(info.id)
    finally:
        library.close()
    if args.json:
        emit(
            {
                **info.model_dump(exclude={"content_hash"}),
                "meta": meta.model_dump(),
                "chapter_list": [c.model_dump() for c in chapters],
            }
        )
    else:
        print(render_info(info, meta, chapters), end="")
    return 0


def cmd_rate(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    try:
        info = library.set_rating(args.story_id, None if args.rating == "file" else args.rating)
    finally:
        library.close()
    gate = " (answers only in age-restricted channels)" if info.rating in ("mature", "explicit") else ""
    print(f"{info.id}: rated {info.rating}{gate}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    try:
        library.remove_story(args.story_id)
    finally:
        library.close()
    print(f"removed {args.story_id}")
    return 0
