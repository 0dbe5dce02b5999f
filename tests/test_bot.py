"""The bot end to end: the real discord.py client, model and library, over the loopback fake Discord."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest

from tests.bot_harness import (
    READER,
    embed_text,
    ingest,
    limit_violations,
    pings_nobody,
    press_button,
    run_with_bot,
    sent_payloads,
)
from tests.fake_discord import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    MESSAGE_FLAG_EPHEMERAL,
    UPDATE_MESSAGE,
    FakeDiscord,
    option,
)

# A story built to break things: a 2,000-character paragraph, markdown, mentions and a link.
TRAPS = (
    "Chapter 1: The *Bold* __Beginning__\n\n"
    + "The lantern keeper walked the ~~old~~ pier while **gulls** cried and ||secrets|| waited. " * 23
    + "\n\nThe herald shouted @everyone and @here, then <@123> and <@&456>, and read "
    "https://example.com/a_b*c from a scroll.\n\n"
    "Chapter 2: Night\n\nThe lantern keeper slept at last, and the harbour was quiet.\n"
)


@pytest.fixture(scope="module")
def traps_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library holding the TRAPS story, ingested once with the real model."""
    folder = tmp_path_factory.mktemp("traps")
    story = folder / "traps.txt"
    story.write_text(TRAPS, encoding="utf-8")
    return ingest(folder / "data", story, "--title", "The ||Keeper|| @everyone " + "long title " * 30)


def test_ask_is_acknowledged_at_once_and_answered_with_the_passage(
    tmp_path: Path, demo_library: Path
) -> None:
    async def body(fake: FakeDiscord) -> None:
        payload = fake.slash_interaction("ask", [option("question", "Who is Ben Solo?")], user_id=READER)
        sent = time.monotonic()
        await fake.dispatch("INTERACTION_CREATE", payload)
        callback = await fake.wait_for_callback(payload)
        assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
        assert callback.at - sent < 3.0
        answer = await fake.wait_for_response(payload, timeout=10)
        text = embed_text(answer)
        assert "Ben Solo" in text
        assert "Chapter" in text
        assert all(pings_nobody(m) for _, m in sent_payloads(fake))

    run_with_bot(tmp_path, demo_library, body)


def test_fifty_questions_at_once_are_all_acknowledged_within_three_seconds(
    tmp_path: Path, demo_library: Path
) -> None:
    questions = ["Who is Ben Solo?", "Why hasn't Hux slept?", "Who tells Hux to go to bed?", "What is Snoke?"]

    async def body(fake: FakeDiscord) -> None:
        payloads = [
            fake.slash_interaction("ask", [option("question", questions[i % 4])], user_id=READER + i)
            for i in range(50)
        ]
        sent = time.monotonic()
        await asyncio.gather(*(fake.dispatch("INTERACTION_CREATE", p) for p in payloads))
        callbacks = [await fake.wait_for_callback(p, timeout=10) for p in payloads]
        answers = [await fake.wait_for_response(p, timeout=60) for p in payloads]
        acks = [c.at - sent for c in callbacks]
        assert max(acks) < 3.0, f"slowest acknowledgement {max(acks):.2f}s"
        assert all(c.json["type"] == DEFERRED_CHANNEL_MESSAGE for c in callbacks)
        assert all("Chapter" in embed_text(a) for a in answers)
        print(f"ack p50 {statistics.median(acks) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms")

    run_with_bot(tmp_path, demo_library, body)


def test_every_payload_fits_discords_limits_and_pings_nobody(tmp_path: Path, traps_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        for question in (
            "Where did the lantern keeper walk while gulls cried?",
            "What did the herald shout?",
        ):
            payload = fake.slash_interaction("ask", [option("question", question)], user_id=READER)
            await fake.dispatch("INTERACTION_CREATE", payload)
            answer = await fake.wait_for_response(payload, timeout=10)
            await press_button(fake, answer, 1, user_id=READER)
        mention = fake.mention_message("what did the herald shout?", author_id=READER)
        await fake.dispatch("MESSAGE_CREATE", mention)
        await fake.wait_for("POST", rf"/channels/{fake.channel_id}/messages$", timeout=10)
        await fake.wait_until(lambda: len(fake.find("POST", r"/interactions/.*/callback$")) == 4)
        payloads = sent_payloads(fake)
        assert len(payloads) >= 5
        for request, message in payloads:
            assert limit_violations(message) == [], request.path
            assert pings_nobody(message), request.path
        herald = embed_text(payloads[-1][1])
        assert "herald" in herald
        assert "@everyone" not in herald.replace("@\u200beveryone", "")

    run_with_bot(tmp_path, traps_library, body)


def test_only_the_asker_turns_pages(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        payload = fake.slash_interaction("ask", [option("question", "Who is Ben Solo?")], user_id=READER)
        await fake.dispatch("INTERACTION_CREATE", payload)
        answer = await fake.wait_for_response(payload, timeout=10)
        stranger = await press_button(fake, answer, 1, user_id=READER + 1)
        refused = await fake.wait_for_callback(stranger)
        assert refused.json["type"] == CHANNEL_MESSAGE
        assert refused.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
        assert "Only the reader who asked" in refused.json["data"]["content"]
        click = await press_button(fake, answer, 1, user_id=READER)
        turned = await fake.wait_for_callback(click)
        assert turned.json["type"] == UPDATE_MESSAGE
        page = fake.bot_messages[answer["id"]]
        assert "Passage 2 of" in page["embeds"][0]["footer"]["text"]
        assert not page["components"][0]["components"][0].get("disabled")  # "Previous" works now

    run_with_bot(tmp_path, demo_library, body)


def test_story_autocomplete_and_a_question_the_story_does_not_answer(
    tmp_path: Path, demo_library: Path
) -> None:
    async def body(fake: FakeDiscord) -> None:
        typing = fake.autocomplete_interaction(
            "ask", "story", "dem", [option("question", "who?")], user_id=READER
        )
        await fake.dispatch("INTERACTION_CREATE", typing)
        choices = await fake.wait_for_callback(typing)
        assert choices.json["type"] == AUTOCOMPLETE_RESULT
        assert [c["value"] for c in choices.json["data"]["choices"]] == ["demo"]
        payload = fake.slash_interaction(
            "ask",
            [option("question", "What is the capital of France?"), option("story", "demo")],
            user_id=READER,
        )
        await fake.dispatch("INTERACTION_CREATE", payload)
        answer = await fake.wait_for_response(payload, timeout=10)
        assert "I couldn't find that in the story" in embed_text(answer)
        assert not answer.get("components")

    run_with_bot(tmp_path, demo_library, body)


def test_cooldown_gives_a_short_private_notice(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        asked = [
            fake.slash_interaction("ask", [option("question", "Who is Ben?")], user_id=READER)
            for _ in range(3)
        ]
        for payload in asked:
            await fake.dispatch("INTERACTION_CREATE", payload)
        third = await fake.wait_for_callback(asked[2])
        assert third.json["type"] == CHANNEL_MESSAGE
        assert third.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
        assert third.json["data"]["content"].startswith("Slow down")
        for payload in asked[:2]:
            assert "Ben" in embed_text(await fake.wait_for_response(payload, timeout=10))
        other = fake.slash_interaction("ask", [option("question", "Who is Ben?")], user_id=READER + 1)
        await fake.dispatch("INTERACTION_CREATE", other)
        assert (await fake.wait_for_callback(other)).json["type"] == DEFERRED_CHANNEL_MESSAGE

    run_with_bot(tmp_path, demo_library, body, cooldown_questions=2)


def test_a_mention_gets_a_reply_and_a_reply_to_it_a_follow_up(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        route = rf"/channels/{fake.channel_id}/messages$"
        mention = fake.mention_message("who is Ben Solo?", author_id=READER)
        await fake.dispatch("MESSAGE_CREATE", mention)
        reply = await fake.wait_for("POST", route, timeout=10, status=200)
        assert str(reply.json["message_reference"]["message_id"]) == mention["id"]
        assert "Ben" in embed_text(reply.json)
        since = len(fake.requests)
        follow = fake.message_create(
            "and why hasn't Hux slept?", author_id=READER, reply_to=reply.response["id"]
        )
        await fake.dispatch("MESSAGE_CREATE", follow)
        second = await fake.wait_for("POST", route, timeout=10, status=200, since=since)
        assert str(second.json["message_reference"]["message_id"]) == follow["id"]
        assert "slept" in embed_text(second.json)
        unrelated = fake.message_create("nice weather today", author_id=READER)
        await fake.dispatch("MESSAGE_CREATE", unrelated)
        await asyncio.sleep(0.5)
        assert len(fake.find("POST", route)) == 2

    run_with_bot(tmp_path, demo_library, body)


def test_a_rate_limited_followup_is_retried_and_arrives(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        fake.fail_next("POST", r"/webhooks/\d+/[^/]+$", status=429, retry_after=0.3)
        payload = fake.slash_interaction("ask", [option("question", "Who is Ben Solo?")], user_id=READER)
        await fake.dispatch("INTERACTION_CREATE", payload)
        answer = await fake.wait_for_response(payload, timeout=10)
        assert "Ben" in embed_text(answer)
        assert [r.status for r in fake.find("POST", r"/webhooks/")] == [429, 200]

    run_with_bot(tmp_path, demo_library, body)


def test_after_a_dropped_connection_the_bot_resumes_and_keeps_answering(
    tmp_path: Path, demo_library: Path
) -> None:
    async def body(fake: FakeDiscord) -> None:
        await fake.drop_connection(4000)
        await fake.wait_until(lambda: fake.resume_count == 1, timeout=20)
        payload = fake.slash_interaction("ask", [option("question", "Who is Ben Solo?")], user_id=READER)
        await fake.dispatch("INTERACTION_CREATE", payload)
        assert "Ben" in embed_text(await fake.wait_for_response(payload, timeout=10))
        assert fake.identify_count == 1

    run_with_bot(tmp_path, demo_library, body)


def test_a_private_question_gets_an_answer_only_the_asker_sees(tmp_path: Path, demo_library: Path) -> None:
    async def body(fake: FakeDiscord) -> None:
        asked = [option("question", "Why hasn't Hux slept?"), option("private", True)]
        payload = fake.slash_interaction("ask", asked, user_id=READER)
        await fake.dispatch("INTERACTION_CREATE", payload)
        callback = await fake.wait_for_callback(payload)
        assert callback.json["data"]["flags"] & MESSAGE_FLAG_EPHEMERAL
        answer = await fake.wait_for_response(payload, timeout=10)
        assert answer["flags"] & MESSAGE_FLAG_EPHEMERAL
        assert "slept" in embed_text(answer)

    run_with_bot(tmp_path, demo_library, body)
