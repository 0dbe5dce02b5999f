"""Discord latency of the real bot over the loopback fake Discord: acknowledgement and answer times.

    python bench/discord_latency.py [--data-dir LIBRARY] [--burst 50] [--sequential 40]

Starts storybot's bot exactly as `storybot run` does, pointed at the fake Discord from the test suite,
then (1) sends ``--burst`` /ask interactions at once from different users and (2) ``--sequential``
questions one after another. Acknowledgement = the deferral (type 5) reaching Discord; answer = the
followup carrying the answer reaching Discord; both measured from the moment the fake sent the
interaction. Without --data-dir the bundled demo story is ingested into a temporary library; a given
library is copied first (opening it may upgrade its schema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot_harness import bot_settings, ingest, running_storybot
from tests.fake_discord import FakeDiscord, option

REPO = Path(__file__).resolve().parents[1]
DEVSET_QUESTIONS = REPO.parent / "shared/devset/questions.jsonl"
DEMO_QUESTIONS = [
    "Who is Ben Solo?",
    "Why hasn't Hux slept?",
    "Who tells Hux to go to bed?",
    "How do Ben and Hux get away?",
    "What did the medical droid say?",
    "Why is Snoke angry?",
    "Where does Hux go instead of bed?",
    "What happened to Starkiller Base?",
]


def percentiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):6.0f} ms   p95 {p95:6.0f} ms   max {ms[-1]:6.0f} ms   (n={len(ms)})"


async def ask_all(
    fake: FakeDiscord, questions: list[str], first_user: int
) -> tuple[list[float], list[float]]:
    """Send the questions at once; return acknowledgement and answer latencies."""
    loop = asyncio.get_running_loop()
    payloads = [
        fake.slash_interaction("ask", [option("question", q)], user_id=first_user + i)
        for i, q in enumerate(questions)
    ]
    sent = loop.time()
    await asyncio.gather(*(fake.dispatch("INTERACTION_CREATE", p) for p in payloads))
    acks, answers = [], []
    for p in payloads:
        acks.append((await fake.wait_for_callback(p, timeout=30)).at - sent)
        await fake.wait_for_response(p, timeout=120)
        followup = fake.find("POST", rf"/webhooks/\d+/{p['token']}$", status=200)[0]
        answers.append(followup.at - sent)
    return acks, answers


async def measure(library: Path, burst: int, sequential: int, questions: list[str]) -> None:
    async with FakeDiscord() as fake:
        settings = bot_settings(fake, library, cooldown_questions=10_000)
        async with running_storybot(fake, settings):
            await ask_all(fake, questions[:2], 10**17)  # warm-up
            acks, answers = await ask_all(
                fake, [questions[i % len(questions)] for i in range(burst)], 2 * 10**17
            )
            print(f"burst of {burst} /ask at once")
            print(f"  acknowledged: {percentiles(acks)}")
            print(f"  answered:     {percentiles(answers)}")
            one_acks: list[float] = []
            one_answers: list[float] = []
            for i in range(sequential):
                a, b = await ask_all(fake, [questions[i % len(questions)]], 3 * 10**17 + 1000 * i)
                one_acks += a
                one_answers += b
            print(f"{sequential} questions one at a time")
            print(f"  acknowledged: {percentiles(one_acks)}")
            print(f"  answered:     {percentiles(one_answers)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="a library to copy and serve (default: the demo story)")
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp, "data")
        if args.data_dir is None:
            ingest(library, REPO / "stories/demo.txt", "--story-id", "demo")
            questions = DEMO_QUESTIONS
        else:
            shutil.copytree(args.data_dir, library)
            lines = DEVSET_QUESTIONS.read_text(encoding="utf-8").splitlines()[:200]
            questions = [json.loads(line)["question"] for line in lines]
        with open(Path(args.data_dir or library, "manifest.json"), encoding="utf-8") as fh:
            stories = json.load(fh)["stories"]
        passages = sum(s["passages"] for s in stories.values())
        print(f"library: {len(stories)} stories, {passages:,} passages")
        asyncio.run(measure(library, args.burst, args.sequential, questions))


if __name__ == "__main__":
    main()
