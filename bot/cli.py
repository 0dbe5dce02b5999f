"""`storybot …` commands: the composition root that reads settings and builds the engine."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.answering import MIN_SIMILARITY, Answerer
from bot.catalog import Catalog
from bot.client import serve
from bot.progress import ReadingProgress
from bot.render import cite, oneline, render_answer, render_info
from bot.settings import Settings
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.errors import InputError, StorybotError
from index.ingest import IngestSummary, ingest_all, load_stories
from index.models import RATINGS
from index.search import Query, Searcher
from index.sqlite_io import check_writable
from index.store import DB_NAME, Library

Handler = Callable[[argparse.Namespace, Settings], int]


class BatchLine(BaseModel):
    """One line of `storybot search --batch FILE.jsonl`."""

    model_config = ConfigDict(extra="forbid")
    id: str | int
    question: str
    story: str | None = None
    until_chapter: int | None = None


def _emit(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


# -- building the engine ---------------------------------------------------------------------
def _embedder(settings: Settings, *, threads: int, fast: bool = False) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model, threads=threads, query_cache_dir=settings.cache_dir if fast else None
    )


def _reader(settings: Settings) -> tuple[SentenceTransformerEmbedder, Searcher]:
    data_dir = settings.data_dir
    Library.open(data_dir).close()  # a missing library fails fast, before the model loads
    embedder = _embedder(settings, threads=settings.query_threads, fast=True)
    library = Library.open(data_dir, embedder.model_id)
    return embedder, Searcher(library, embedder)


# -- ingest / list / remove ------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    stories = load_stories(args.paths, story_id=args.story_id, title=args.title)
    for story in stories:
        for warning in story.warnings:
            print(f"storybot: warning: {warning}", file=sys.stderr)
    check_writable(settings.data_dir)  # an unusable data dir fails before the model loads
    threads = settings.ingest_threads or os.cpu_count() or 1
    embedder = _embedder(settings, threads=threads)
    library = Library.create_or_open(settings.data_dir, embedder.model_id, embedder.dimension, ChunkParams())
    try:
        ingest_all(
            library,
            embedder,
            stories,
            replace=args.replace,
            progress=sys.stderr.isatty(),
            guild=args.guild,
            on_done=lambda s: _report_ingest(s, args.json),
        )
    finally:
        library.close()
    return 0


def _report_ingest(summary: IngestSummary, as_json: bool) -> None:
    if as_json:
        _emit(summary.model_dump(exclude={"warnings"}))
        return
    what = f"{summary.passages} passages"
    if summary.reused:
        what += f" ({summary.embedded} embedded, {summary.reused} unchanged)"
    chapters = _plural(summary.chapters, "chapter")
    print(f"{summary.id}: '{summary.title}', {chapters}, {what} ({summary.seconds:.1f}s)")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    library = Library.open(settings.data_dir)
    stories = library.stories()
    library.close()
    if args.json:
        _emit([s.model_dump(exclude={"content_hash"}) for s in stories])
    elif not stories:
        print("no stories yet: add one with 'storybot ingest FILE'")
    for s in [] if args.json else stories:
        print(
            f"{s.id}: '{s.title}', {_plural(s.chapters, 'chapter')}, {_plural(s.passages, 'passage')}, "
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
        _emit(
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


# -- search / ask / chat ---------------------------------------------------------------------
def _batch_lines(path: Path) -> Iterator[BatchLine]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield BatchLine.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise InputError(f"{path.name} line {number}: {where}: {first['msg']}") from None


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch is not None:
        if args.question:
            raise InputError("give a question or --batch FILE, not both")
        batch = list(_batch_lines(args.batch))
        _, searcher = _reader(settings)
        queries = [Query(question=b.question, story=b.story, until_chapter=b.until_chapter) for b in batch]
        for line, hits in zip(batch, searcher.search_many(queries, k=args.k), strict=True):
            _emit({"id": line.id, "hits": [h.to_json() for h in hits]})
        return 0
    question = _question(args.question)
    _, searcher = _reader(settings)
    hits = searcher.search(question, k=args.k, story=args.story, until_chapter=args.until_chapter)
    if args.json:
        _emit({"question": question, "hits": [h.to_json() for h in hits]})
    else:
        for rank, hit in enumerate(hits, 1):
            print(f"{rank}. {cite(hit)}  score {hit.score:.3f}\n   {oneline(hit.passage.text)}\n")
    return 0


def _question(text: str | None) -> str:
    if text is None or not text.strip():
        raise InputError("the question is empty")
    return text.strip()


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    query = Query(question=_question(args.question), story=args.story, until_chapter=args.until_chapter)
    embedder, searcher = _reader(settings)
    answer = Answerer(searcher, embedder, min_similarity=MIN_SIMILARITY).ask(query, k=args.k)
    if args.json:
        _emit(
            {
                "question": answer.question,
                "answer": answer.sentence,
                "later_chapter": answer.later_chapter,
                "hits": [h.to_json() for h in answer.hits],
            }
        )
    else:
        print(render_answer(answer, until_chapter=args.until_chapter))
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    embedder, searcher = _reader(settings)
    answerer = Answerer(searcher, embedder, min_similarity=MIN_SIMILARITY)
    print("Ask about the story; an empty line or Ctrl-D ends.", file=sys.stderr)
    for line in sys.stdin:
        if not line.strip():
            break
        query = Query(question=line.strip(), story=args.story, until_chapter=args.until_chapter)
        print(render_answer(answerer.ask(query, k=args.k), until_chapter=args.until_chapter), flush=True)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise InputError(
            "set STORYBOT_DISCORD_TOKEN to the bot's token (the README's 'Discord setup' says how)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself at import
    asyncio.run(serve(settings, lambda: _catalog(settings), token))
    return 0


def _catalog(settings: Settings) -> Catalog:
    """The bot's engine: a library that may start empty (stories can be added from Discord)."""
    embedder = _embedder(settings, threads=settings.query_threads, fast=True)
    library = Library.create_or_open(settings.data_dir, embedder.model_id, embedder.dimension, ChunkParams())
    answerer = Answerer(Searcher(library, embedder), embedder, min_similarity=MIN_SIMILARITY)
    progress = ReadingProgress(settings.data_dir / DB_NAME)
    return Catalog(library, answerer, progress, shared_stories=settings.shared_stories)


# -- the parser ------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _query_options(p: argparse.ArgumentParser, *, k: int) -> None:
    p.add_argument("--story", help="search only this story id")
    p.add_argument("--until-chapter", type=_positive, metavar="N", help="nothing after chapter N")
    p.add_argument("-k", type=_positive, default=k, help=f"how many passages (default {k})")


DATA_DIR_HELP = "the library (default $STORYBOT_DATA_DIR or ./data)"


def build_parser() -> argparse.ArgumentParser:
    """The `storybot` argument parser."""
    parser = _Parser(prog="storybot", description="Answer readers' questions from a story.")
    parser.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    common = _Parser(add_help=False)
    # Accepted after the command too; SUPPRESS keeps a value given before the command.
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, help=DATA_DIR_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ingest", parents=[common], help="add stories (files or folders) to the library")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--story-id", help="the story id (default: the file name)")
    p.add_argument("--title", help="the story title")
    p.add_argument("--replace", action="store_true", help="update a story already in the library")
    p.add_argument("--json", action="store_true", help="print one JSON summary per story")
    p.add_argument(
        "--guild",
        type=_positive,
        metavar="SERVER_ID",
        help="only this Discord server may read it (default: all)",
    )
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("list", parents=[common], help="list the stories in the library")
    p.add_argument("--json", action="store_true", help="print JSON (the contract is in the README)")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("info", parents=[common], help="a story's details: metadata, rating, chapters")
    p.add_argument("story_id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser(
        "rate", parents=[common], help="set a story's rating (mature/explicit: NSFW channels only)"
    )
    p.add_argument("story_id", metavar="ID")
    p.add_argument("rating", choices=[*RATINGS, "file"], help="'file' goes back to what the story file says")
    p.set_defaults(handler=cmd_rate)

    p = sub.add_parser("remove", parents=[common], help="remove a story from the library")
    p.add_argument("story_id", metavar="ID")
    p.set_defaults(handler=cmd_remove)

    p = sub.add_parser("search", parents=[common], help="the passages that answer a question")
    p.add_argument("question", nargs="?", help="the question, in quotes")
    p.add_argument("--batch", type=Path, metavar="FILE.jsonl", help="one JSON query per line")
    p.add_argument("--json", action="store_true", help="print JSON (the contract is in the README)")
    _query_options(p, k=5)
    p.set_defaults(handler=cmd_search)

    for name, handler, text in (
        ("ask", cmd_ask, "answer a question as a reader sees it"),
        ("chat", cmd_chat, "ask questions one after another"),
    ):
        p = sub.add_parser(name, parents=[common], help=text)
        if name == "ask":
            p.add_argument("question", help="the question, in quotes")
            p.add_argument("--json", action="store_true", help="print JSON (the contract is in the README)")
        _query_options(p, k=4)
        p.set_defaults(handler=handler)
    p = sub.add_parser("run", parents=[common], help="run the Discord bot (needs STORYBOT_DISCORD_TOKEN)")
    p.set_defaults(handler=cmd_run)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run one command, and turn domain errors into one line and exit code 1."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return int(exc.code or 0)
    settings = Settings()
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    handler: Handler = args.handler
    started = time.perf_counter()
    try:
        return handler(args, settings)
    except StorybotError as exc:
        print(f"storybot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"storybot: interrupted after {time.perf_counter() - started:.0f}s", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"storybot: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
