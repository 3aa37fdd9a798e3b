"""Forum posts archived between two polls (closed by their author, or idle past their
auto-archive time while Hark was down) are still read to their end, through Discord's list
of archived threads, which the fake serves under the same contract: bot auth, 429s, the
latest archived first, ``before`` and ``has_more``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import fakeredis
import pytest

from monitor.discord_api import DiscordApi, DiscordAuthError, DiscordRateLimited
from monitor.discord_poller import DiscordPoller
from monitor.discord_threads import DiscordThreads
from monitor.mention import Mention
from monitor.store import MonitorState
from tests.fakes.discord_server import FakeDiscord

TOKEN = "bot-token-for-tests"
GUILD = "200000000000000001"
ASKER = {"id": "100000000000000001", "username": "sam"}


class Sink:
    def __init__(self) -> None:
        self.mentions: list[Mention] = []

    def submit(self, mention: Mention) -> bool:
        if any(m.id == mention.id for m in self.mentions):
            return False
        self.mentions.append(mention)
        return True


class NoResolutions:
    def resolved(self, mention_id: str, staff_id: str) -> None:
        raise AssertionError("no ✅ in these tests")


@pytest.fixture
def fake():
    server = FakeDiscord(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def forum(fake) -> str:
    return fake.add_channel(GUILD, forum=True)


@pytest.fixture
def poller(fake, forum):
    sleeps: list[float] = []
    api = DiscordApi(TOKEN, fake.url, now_s=time.time, sleep=sleeps.append)
    connection = fakeredis.FakeRedis()
    built = DiscordPoller(
        api,
        Sink(),
        MonitorState(connection),
        DiscordThreads(connection),
        NoResolutions(),
        lambda: datetime.now(UTC),
        [forum],
    )
    built.sleeps = sleeps  # type: ignore[attr-defined]
    return built


def texts(poller: DiscordPoller) -> list[str]:
    return [m.text for m in poller.intake.mentions]  # type: ignore[attr-defined]


def test_a_reply_posted_just_before_the_post_was_closed_is_read(fake, forum, poller):
    thread = fake.add_post(forum, "caro hangs in tmux", ASKER, "after the first prompt")
    assert poller.poll_once().submitted == 1
    fake.post(thread, ASKER, "never mind, TERM was wrong; but the error message was useless")
    fake.archive(thread)  # its author closed the post before the next poll
    report = poller.poll_once()
    assert (report.submitted, report.errors) == (1, [])
    assert texts(poller)[-1].startswith("never mind")
    assert poller.poll_once().submitted == 0  # read once


def test_a_post_opened_and_archived_between_polls_is_read_from_its_start(fake, forum, poller):
    poller.poll_once()
    thread = fake.add_post(forum, "install fails on arch", ASKER, "pip says build error")
    fake.post(thread, ASKER, "with python 3.13")
    fake.archive(thread)
    assert poller.poll_once().submitted == 2
    assert texts(poller) == ["install fails on arch\npip says build error", "with python 3.13"]
    assert poller.intake.mentions[0].thread_id == thread  # type: ignore[attr-defined]


def test_posts_archived_before_hark_first_polled_are_history(fake, forum, poller):
    old = fake.add_post(forum, "an old question", ASKER, "from last month")
    fake.archive(old, at_s=time.time() - 3 * 86_400)
    assert poller.poll_once().submitted == 0


def test_an_archived_post_read_to_its_end_costs_no_more_reads(fake, forum, poller):
    thread = fake.add_post(forum, "caro hangs in tmux", ASKER, "after the first prompt")
    poller.poll_once()
    fake.archive(thread)
    poller.poll_once()
    fake.requests.clear()
    poller.poll_once()
    assert not any(f"/channels/{thread}/messages?" in request for request in fake.requests)


def test_many_archived_posts_are_paged_with_before(fake, forum, poller):
    poller.poll_once()
    start = time.time()
    threads = [fake.add_post(forum, f"question {n}", ASKER, "?") for n in range(105)]
    for n, thread in enumerate(threads):
        fake.archive(thread, at_s=start + n / 1000)
    assert poller.poll_once().submitted == 105
    pages = [r for r in fake.requests if "/threads/archived/public" in r]
    assert len(pages) == 3 and "before=" in pages[-1]  # the first poll's, then two pages


def test_an_archive_list_refused_does_not_stop_the_rest_of_the_poll(fake, forum, poller):
    fake.no_history.add(forum)  # the bot lacks Read Message History there
    fake.add_post(forum, "caro hangs in tmux", ASKER, "after the first prompt")
    report = poller.poll_once()
    assert report.submitted == 1
    assert report.errors == [f"archived threads of {forum}: 403 Missing Access"]
    assert any("/reactions/" in r or "/messages/" in r for r in fake.requests)  # ✅ checked


def test_a_rate_limit_on_the_archive_list_is_waited_out(fake, forum):
    thread = fake.add_post(forum, "caro hangs in tmux", ASKER, "after the first prompt")
    fake.archive(thread)
    clock = {"now": 1_000.0, "slept": []}

    def sleep(seconds: float) -> None:
        clock["slept"].append(seconds)
        clock["now"] += seconds

    api = DiscordApi(TOKEN, fake.url, now_s=lambda: clock["now"], sleep=sleep)
    fake.rate_limits.append((0.25, False))
    threads, _ = api.archived_threads(forum)
    assert [t["id"] for t in threads] == [thread] and clock["slept"] == [0.25]
    fake.rate_limits.append((30.0, True))  # too long to wait: the poller pauses on it
    with pytest.raises(DiscordRateLimited) as limited:
        api.archived_threads(forum)
    assert limited.value.retry_after_s == 30.0 and limited.value.is_global


def test_the_fake_lists_archived_threads_as_discord_does(fake, forum):
    first, second, active = (fake.add_post(forum, f"post {n}", ASKER, "?") for n in range(3))
    now = time.time()
    fake.archive(first, at_s=now - 60)
    fake.archive(second, at_s=now - 30)
    api = DiscordApi(TOKEN, fake.url, now_s=time.time, sleep=lambda s: None)
    threads, more = api.archived_threads(forum)
    assert [t["id"] for t in threads] == [second, first] and not more
    assert all(t["thread_metadata"]["archived"] for t in threads)
    before = threads[0]["thread_metadata"]["archive_timestamp"]
    assert [t["id"] for t in api.archived_threads(forum, before)[0]] == [first]
    listed = fake.handle("GET", f"/api/v10/guilds/{GUILD}/threads/active", {}, None)[1]
    assert [t["id"] for t in listed["threads"]] == [active]
    with pytest.raises(DiscordAuthError):
        DiscordApi("wrong", fake.url, now_s=time.time, sleep=lambda s: None).archived_threads(forum)
    request = urllib.request.Request(
        f"{fake.url}/channels/{forum}/threads/archived/public?limit=1",
        headers={"Authorization": f"Bot {TOKEN}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400 and json.load(refused.value)["code"] == 50035
