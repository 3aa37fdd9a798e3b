"""The #help poller against the local fake Discord: each message submitted once, staff
answers noted, ✅ from the team handed on, the cursor moved only after submitting, and a
rate limit pausing the source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from monitor.discord_api import DiscordApi
from monitor.discord_poller import DiscordPoller
from monitor.discord_threads import DiscordThreads
from monitor.mention import Mention
from monitor.store import MonitorState
from tests.fakes.discord_server import BOT_USER, FakeDiscord

TOKEN = "bot-token-for-tests"
GUILD = "200000000000000001"
ASKER = {"id": "100000000000000001", "username": "sam"}
HELPER = {"id": "100000000000000002", "username": "kim"}
STAFF = {"id": "300000000000000001", "username": "caro-team"}


class Sink:
    """An intake that keeps what it was given (new ids only), and can fail on cue."""

    def __init__(self) -> None:
        self.mentions: list[Mention] = []
        self.fail_at: int | None = None

    def submit(self, mention: Mention) -> bool:
        if self.fail_at is not None and len(self.mentions) == self.fail_at:
            self.fail_at = None
            raise ConnectionError("redis went away")
        if any(m.id == mention.id for m in self.mentions):
            return False
        self.mentions.append(mention)
        return True


class Resolutions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def resolved(self, mention_id: str, staff_id: str) -> None:
        self.calls.append((mention_id, staff_id))


@pytest.fixture
def fake():
    server = FakeDiscord(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def setup(fake):
    connection = fakeredis.FakeRedis()
    clock = {"now": datetime.now(UTC)}
    sink, resolutions = Sink(), Resolutions()

    def build(*channel_ids: str) -> DiscordPoller:
        api = DiscordApi(
            TOKEN, fake.url, now_s=lambda: clock["now"].timestamp(), sleep=lambda s: None
        )
        return DiscordPoller(
            api,
            sink,
            MonitorState(connection),
            DiscordThreads(connection),
            resolutions,
            lambda: clock["now"],
            list(channel_ids),
            frozenset({STAFF["id"]}),
        )

    build.sink, build.resolutions, build.clock, build.connection = (
        sink,
        resolutions,
        clock,
        connection,
    )
    return build


def test_forum_posts_and_replies_are_submitted_once_each(fake, setup):
    forum = fake.add_channel(GUILD, forum=True)
    post = fake.add_post(forum, "caro crashes on start", ASKER, "since 1.2 on macOS")
    fake.post(post, HELPER, "same here")
    fake.post(post, BOT_USER, "an answer from a bot")
    poller = setup(forum)

    first = poller.poll_once()
    assert (first.submitted, first.skipped, first.errors) == (2, 1, [])
    starter, reply = setup.sink.mentions
    assert starter.id == f"discord:{post}" and starter.thread_id == post
    assert starter.text == "caro crashes on start\nsince 1.2 on macOS"
    assert reply.thread_id == post and reply.text == "same here"
    assert starter.raw["hark_discord"] == {"location_id": post, "forum_id": forum, "starter": True}

    fake.post(post, ASKER, "any news?")
    second = poller.poll_once()
    assert (second.submitted, second.duplicates) == (1, 0)
    assert setup.sink.mentions[-1].text == "any news?"


def test_a_staff_message_is_an_answer_not_a_report(fake, setup):
    forum = fake.add_channel(GUILD, forum=True)
    post = fake.add_post(forum, "how do I set the model?", ASKER, "")
    fake.post(post, STAFF, "use caro config set model")
    setup(forum).poll_once()
    assert [m.native_id for m in setup.sink.mentions] == [post]
    staff_id, _ = DiscordThreads(setup.connection).answer(post)
    assert staff_id == STAFF["id"]


def test_a_text_channel_pages_past_100_in_order_and_replies_join_their_message(fake, setup):
    channel = fake.add_channel(GUILD)
    first = fake.post(channel, ASKER, "first, before Hark watched")
    poller = setup(channel)
    poller.poll_once()  # the first poll reads the newest page only
    question = fake.post(channel, ASKER, "question 0")
    for n in range(1, 150):
        fake.post(channel, HELPER, f"question {n}")
    fake.post(channel, HELPER, "a reply", reply_to=question)
    report = poller.poll_once()
    texts = [m.text for m in setup.sink.mentions]
    assert texts[0] == "first, before Hark watched"
    assert texts[1:] == [f"question {n}" for n in range(150)] + ["a reply"]
    assert report.submitted == 151 and report.errors == []
    assert setup.sink.mentions[-1].thread_id == question
    assert setup.sink.mentions[-1].reply_to == f"discord:{question}"
    assert first != question


def test_the_cursor_moves_only_after_submitting(fake, setup):
    channel = fake.add_channel(GUILD)
    poller = setup(channel)
    poller.poll_once()
    for n in range(3):
        fake.post(channel, ASKER, f"message {n}")
    setup.sink.fail_at = 1
    with pytest.raises(ConnectionError):
        poller.poll_once()
    report = poller.poll_once()  # the page again: the one submitted is a duplicate
    assert (report.submitted, report.duplicates) == (2, 1)
    assert [m.text for m in setup.sink.mentions] == [f"message {n}" for n in range(3)]


def test_a_tick_from_the_team_resolves_once_and_anyone_elses_does_not(fake, setup):
    forum = fake.add_channel(GUILD, forum=True)
    post = fake.add_post(forum, "install fails on arch", ASKER, "")
    poller = setup(forum)
    poller.poll_once()
    fake.react(post, post, "✅", ASKER["id"])
    poller.poll_once()
    assert setup.resolutions.calls == []
    fake.react(post, post, "✅", STAFF["id"])
    poller.poll_once()
    poller.poll_once()
    assert setup.resolutions.calls == [(f"discord:{post}", STAFF["id"])]


def test_a_rate_limit_pauses_the_source_until_retry_after(fake, setup):
    forum = fake.add_channel(GUILD, forum=True)
    fake.add_post(forum, "help", ASKER, "")
    poller = setup(forum)
    fake.rate_limits.append((30.0, True))
    report = poller.poll_once()
    until = setup.clock["now"] + timedelta(seconds=30)
    assert report.paused == {"discord": until} and "rate limited globally" in report.errors[0]
    calls = len(fake.requests)
    assert poller.poll_once().paused == {"discord": until}
    assert len(fake.requests) == calls  # not asked while paused
    setup.clock["now"] = until + timedelta(seconds=1)
    assert poller.poll_once().submitted == 1
    health = MonitorState(setup.connection).health(setup.clock["now"])
    assert health[0]["source"] == "discord" and health[0]["healthy"]
