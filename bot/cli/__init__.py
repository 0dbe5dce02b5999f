"""`storybot …` commands: the composition root that reads settings and builds the engine."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from bot.cli.common import positive
from bot.cli.doctor import cmd_doctor, lenient_settings
from bot.cli.health import cmd_health
from bot.cli.library import cmd_info, cmd_ingest, cmd_list, cmd_rate, cmd_remove
from bot.cli.questions import cmd_ask, cmd_chat, cmd_recap, cmd_run, cmd_search
from bot.cli.who import cmd_who
from bot.settings import Settings, load_settings
from index.errors import StorybotError
from index.models import RATINGS

Handler = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _query_options(p: argparse.ArgumentParser, *, k: int) -> None:
    p.add_argument("--story", help="search only this story id")
    p.add_argument("--until-chapter", type=positive, metavar="N", help="nothing after chapter N")
    p.add_argument("-k", type=positive, default=k, help=f"how many passages (default {k})")


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
        type=positive,
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
            p.add_argument("question", nargs="?", help="the question, in quotes")
            p.add_argument(
                "--batch", type=Path, metavar="FILE.jsonl", help="one JSON question per line (with --json)"
            )
            p.add_argument("--json", action="store_true", help="print JSON (the contract is in the README)")
            p.add_argument(
                "--llm", action="store_true", help="also compose an answer with the configured LLM"
            )
        _query_options(p, k=4)
        p.set_defaults(handler=handler)

    p = sub.add_parser("recap", parents=[common], help="the story so far, chapter by chapter")
    p.add_argument("story_id", metavar="ID")
    p.add_argument("--until-chapter", type=positive, metavar="N", help="nothing after chapter N")
    p.add_argument("--llm", action="store_true", help="chapter summaries by the configured LLM (cached)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_recap)

    p = sub.add_parser("who", parents=[common], help="a story's people up to a chapter (X-Ray)")
    p.add_argument("name", nargs="?", help="one person (or a few, comma-separated, for --chart)")
    p.add_argument("--story", required=True, help="the story id")
    p.add_argument("--until-chapter", type=positive, metavar="N", help="nothing after chapter N")
    p.add_argument("--chart", type=Path, metavar="PATH", help="write a PNG of mentions per chapter")
    p.add_argument("--json", action="store_true", help="print JSON (the contract is in the README)")
    p.set_defaults(handler=cmd_who)

    p = sub.add_parser("run", parents=[common], help="run the Discord bot (needs STORYBOT_DISCORD_TOKEN)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser(
        "health", parents=[common], help="exit 0 if the running bot is connected with its library loaded"
    )
    p.set_defaults(handler=cmd_health)

    p = sub.add_parser("doctor", parents=[common], help="check the setup and say what to fix")
    p.set_defaults(handler=cmd_doctor)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run one command, and turn domain errors into one line and exit code 1."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return int(exc.code or 0)
    if args.handler is cmd_doctor:
        # The doctor names each invalid setting itself, then checks the rest with defaults in their place.
        settings, args.settings_problems = lenient_settings()
    else:
        try:
            settings = load_settings()
        except StorybotError as exc:
            print(f"storybot: {exc}", file=sys.stderr)
            return 1
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
