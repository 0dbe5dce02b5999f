"""`storybot search | ask | chat | recap | run`: questions, from the terminal or from Discord."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.answering import Answer
from bot.cli.common import emit
from bot.cli.wiring import answerer, llm_composer, reader, services
from bot.composers import Composed
from bot.lifecycle import serve
from bot.logs import configure_logging
from bot.recap import SummaryCache, central_passages, summaries
from bot.render import cite, oneline, render_answer, render_composed, render_recap
from bot.settings import Settings
from index.errors import InputError
from index.search import Query
from index.store import DB_NAME, Library


class BatchLine(BaseModel):
    """One line of `storybot search --batch FILE.jsonl` or `storybot ask --batch FILE.jsonl`."""

    model_config = ConfigDict(extra="forbid")
    id: str | int
    question: str
    story: str | None = None
    until_chapter: int | None = None


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
        _, searcher = reader(settings)
        queries = [Query(question=b.question, story=b.story, until_chapter=b.until_chapter) for b in batch]
        for line, hits in zip(batch, searcher.search_many(queries, k=args.k), strict=True):
            emit({"id": line.id, "hits": [h.to_json() for h in hits]})
        return 0
    question = _question(args.question)
    _, searcher = reader(settings)
    hits = searcher.search(question, k=args.k, story=args.story, until_chapter=args.until_chapter)
    if args.json:
        emit({"question": question, "hits": [h.to_json() for h in hits]})
    else:
        for rank, hit in enumerate(hits, 1):
            print(f"{rank}. {cite(hit)}  score {hit.score:.3f}\n   {oneline(hit.passage.text)}\n")
    return 0


def _question(text: str | None) -> str:
    if text is None or not text.strip():
        raise InputError("the question is empty")
    return text.strip()


def _answer_json(answer: Answer) -> dict[str, object]:
    """`ask --json`'s fields of one answer (the README's contract)."""
    return {
        "answer": answer.sentence,
        "later_chapter": answer.later_chapter,
        "hits": [h.to_json() for h in answer.hits],
    }


def _ask_batch(args: argparse.Namespace, settings: Settings) -> int:
    """`ask --batch FILE --json`: one line per question, the models loaded once."""
    if args.question:
        raise InputError("give a question or --batch FILE, not both")
    if not args.json:
        raise InputError("--batch prints JSON lines: add --json")
    if args.llm:
        raise InputError("--batch answers from the story only: drop --llm")
    batch = list(_batch_lines(args.batch))
    ask = answerer(settings)
    for line in batch:
        query = Query(question=_question(line.question), story=line.story, until_chapter=line.until_chapter)
        emit({"id": line.id, **_answer_json(ask.ask(query, k=args.k))})
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch is not None:
        return _ask_batch(args, settings)
    query = Query(question=_question(args.question), story=args.story, until_chapter=args.until_chapter)
    llm = llm_composer(settings, required=True) if args.llm else None
    ask = answerer(settings)
    answer = ask.ask(query, k=args.k)
    titles = {s.id: s.title for s in ask.searcher.library.stories()}
    if not args.json:
        print(render_answer(answer, until_chapter=args.until_chapter), end="")
    composed = None
    if llm is not None:
        streamed = _Printer(enabled=not args.json and answer.found)
        composed = llm.compose(answer, titles=titles, on_text=streamed)
        streamed.finish(composed)
    if args.json:
        emit(
            {
                "question": answer.question,
                **_answer_json(answer),
                **({"composed": composed.model_dump(exclude={"passages"})} if composed else {}),
            }
        )
    return 0


class _Printer:
    """Prints an LLM answer to the terminal as it streams in."""

    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.shown = ""

    def __call__(self, text: str) -> None:
        if self.enabled and text.startswith(self.shown):
            if not self.shown:
                print("LLM: ", end="")
            print(text[len(self.shown) :], end="", flush=True)
            self.shown = text

    def finish(self, composed: Composed) -> None:
        if self.enabled:
            print("\n" + render_composed(composed, streamed=bool(self.shown)))


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    ask = answerer(settings)
    print("Ask about the story; an empty line or Ctrl-D ends.", file=sys.stderr)
    for line in sys.stdin:
        if not line.strip():
            break
        query = Query(question=line.strip(), story=args.story, until_chapter=args.until_chapter)
        print(render_answer(ask.ask(query, k=args.k), until_chapter=args.until_chapter), flush=True)
    return 0


def cmd_recap(args: argparse.Namespace, settings: Settings) -> int:
    llm = llm_composer(settings, required=True) if args.llm else None
    library = Library.open(settings.data_dir)
    try:
        info = library.story(args.story_id)
        if llm is None:
            recaps = central_passages(library, info.id, args.until_chapter)
        else:
            recaps = summaries(
                library,
                info.id,
                args.until_chapter,
                cache=SummaryCache(settings.data_dir / DB_NAME),
                model=settings.llm_model,
                summarize=lambda title, text: llm.summarize_chapter(info.title, title, text),
            )
    finally:
        library.close()
    if args.json:
        emit(
            {
                "story": info.id,
                "until_chapter": args.until_chapter,
                "chapters": [r.model_dump() for r in recaps],
            }
        )
    else:
        print(render_recap(info.title, args.until_chapter, recaps), end="")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise InputError(
            "set STORYBOT_DISCORD_TOKEN to the bot's token (the README's 'Discord setup' says how)"
        )
    configure_logging(settings)

    async def main() -> None:
        if not await serve(settings, lambda: services(settings), token):
            # Abandoned jobs' worker threads would hold the exit until they end; the library is closed.
            logging.getLogger("storybot.bot").warning("exiting without waiting for abandoned jobs")
            logging.shutdown()
            os._exit(0)

    asyncio.run(main())
    return 0
