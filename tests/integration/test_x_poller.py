"""The X poller with the real tweepy client against a local fake X API (tests/fakes),
serving the X API v2 responses of tests/data/x/ (X's documented shape, our own texts), and a
real Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from desk.mentions import MentionStore
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.store import MonitorState
from monitor.x_api import XApi
from monitor.x_poller import XPoller
from services.intake import Intake
from tests.conftest import X_FIXTURES
from tests.fakes.x_server import FakeX

TOKEN = "AAAA-test-bearer-token"
ME = json.loads((X_FIXTURES / "get_me.json").read_text(encoding="utf-8"))["body"]["data"]
WATCHED = {"id": ME["id"], "username": ME["username"]}  # @CaroCLI, the account watched
NEWEST = "2015060185969635405"  # meta.newest_id of get_users_mentions.json


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 24, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def fake_x():
    server = FakeX(TOKEN).start()
    server.users["CaroCLI"] = WATCHED
    yield server
    server.stop()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_poller(fake_x, redis_conn, clock):
    sleeps: list[float] = []

    # A generous timeout: the fake X runs in this process, which a loaded machine can stall.
    def build(token: str = TOKEN, timeout_s: float = 10.0, **overrides) -> XPoller:
        api = XApi(token, fake_x.url, now_s=clock.epoch, timeout_s=timeout_s)
        options = {"username": "CaroCLI", "queries": [], "interval_s": 60.0, **overrides}
        return XPoller(
            api, Intake(redis_conn), MonitorState(redis_conn), clock, sleeps.append, **options
        )

    build.sleeps = sleeps
    return build


def _tweet(tweet_id: int, text: str, **extra) -> dict:
    return {"id": str(tweet_id), "text": text, "edit_history_tweet_ids": [str(tweet_id)], **extra}


def test_recorded_mentions_are_polled_once_each(fake_x, make_poller, redis_conn):
    fake_x.load_recording(X_FIXTURES / "get_users_mentions.json")
    poller = make_poller()
    first = poller.poll_once()
    assert (first.submitted, first.errors) == (10, [])
    state = MonitorState(redis_conn)
    assert state.cursor("x:mentions") == NEWEST
    again = poller.poll_once()
    assert (again.submitted, again.duplicates) == (0, 0)
    assert f"since_id={NEWEST}" in fake_x.requests[-1]

    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    store = MentionStore(redis_conn)
    assert store.count() == 10
    record = store.get(f"x:{NEWEST}")
    assert record.text.startswith('@CaroCLI asked for "delete every .DS_Store under this')
    assert record.author == "mkoenig_dev"  # from includes.users (expansions=author_id)


def test_pages_back_to_the_last_seen_id(fake_x, make_poller, redis_conn):
    fake_x.page_size = 3
    fake_x.mentions = [_tweet(100 + n, f"old {n}") for n in range(2, 0, -1)]
    poller = make_poller()
    assert poller.poll_once().submitted == 2
    fake_x.mentions = [_tweet(200 + n, f"new {n}") for n in range(8, 0, -1)] + fake_x.mentions
    report = poller.poll_once()
    assert (report.submitted, report.errors) == (8, [])
    assert sum("pagination_token" in path for path in fake_x.requests) == 2  # 3 + 3 + 2
    assert MonitorState(redis_conn).cursor("x:mentions") == "208"


def test_search_feed_with_author_expansion_skips_retweets_and_own_posts(
    fake_x, make_poller, redis_conn
):
    # A crash report, a retweet of it, @CaroCLI's own post about it, and a question.
    fake_x.load_recording(X_FIXTURES / "search_recent_tweets.json", into="search")
    report = make_poller(queries=["caro cli"]).poll_once()
    assert (report.submitted, report.skipped) == (2, 2)
    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    store = MentionStore(redis_conn)
    assert store.count() == 2
    record = store.get("x:2015061691724837053")  # the crash report
    assert (record.author, record.author_reach, record.language) == (
        "dana_ops",
        1200,
        "en",
    )
    assert record.url == "https://x.com/dana_ops/status/2015061691724837053"
    assert record.triage.priority == "P0"


def test_username_is_resolved_once_and_remembered(fake_x, make_poller):
    make_poller().poll_once()
    make_poller().poll_once()  # a restarted poller
    assert sum("/users/by/username/CaroCLI" in path for path in fake_x.requests) == 1


def test_unknown_username_names_the_setting_and_polls_nothing(fake_x, make_poller, redis_conn):
    fake_x.mentions = [_tweet(900, "@CaroCLI hello")]
    report = make_poller(username="NoSuchCaro").poll_once()
    assert report.submitted == 0
    (error,) = report.errors
    assert "@NoSuchCaro" in error and "HARK_X_USERNAME" in error
    assert MonitorState(redis_conn).remembered("x-user-id:NoSuchCaro") is None
    assert not any("/mentions" in path for path in fake_x.requests)


def test_rate_limit_pauses_that_feed_only(fake_x, make_poller, redis_conn, clock):
    fake_x.search = [_tweet(500, "caro is neat")]
    fake_x.mentions = [_tweet(600, "@CaroCLI hi")]
    poller = make_poller(user_id=WATCHED["id"], queries=["caro"])
    fake_x.reset_epoch = int(clock.epoch()) + 60
    fake_x.faults = [(429, 0)]  # the mentions call, first in the poll
    report = poller.poll_once()
    assert report.submitted == 1  # the search feed went on
    assert "rate limit" in report.errors[0] and "60 s" in report.errors[0]
    assert make_poller.sleeps == []  # nobody waited on the reset

    requests_before = len(fake_x.requests)
    clock.now += timedelta(seconds=30)
    paused = poller.poll_once()
    assert paused.submitted == 0 and list(paused.paused) == ["x:mentions"]  # said, not silent
    assert not any("/mentions" in p for p in fake_x.requests[requests_before:])
    clock.now += timedelta(seconds=31)
    resumed = poller.poll_once()
    assert resumed.submitted == 1 and resumed.paused == {}  # after the reset


def test_server_errors_and_timeouts_are_retried_with_backoff(fake_x, make_poller):
    fake_x.mentions = [_tweet(700, "@CaroCLI hello")]
    fake_x.faults = [(503, 0), (200, 1.5)]  # a 503, then a reply slower than the 1 s timeout
    poller = make_poller(user_id=WATCHED["id"], timeout_s=1.0)
    report = poller.poll_once()
    assert (report.submitted, report.errors) == (1, [])
    assert make_poller.sleeps == [1.0, 2.0]


def test_bad_token_names_the_setting_and_submits_nothing(fake_x, make_poller, redis_conn, clock):
    fake_x.mentions = [_tweet(800, "@CaroCLI hello")]
    report = make_poller(token="wrong").poll_once()
    assert report.submitted == 0
    assert "HARK_X_BEARER_TOKEN" in report.errors[0]
    (health,) = MonitorState(redis_conn).health(clock())
    assert health["source"] == "x" and not health["healthy"]
    assert "HARK_X_BEARER_TOKEN" in health["last_error"]


def test_killed_between_fetch_and_cursor_save_loses_and_duplicates_nothing(
    fake_x, make_poller, redis_conn
):
    fake_x.load_recording(X_FIXTURES / "get_users_mentions.json")
    poller = make_poller()
    poller.poll_once()  # first run: remember where we are
    fresh = [_tweet(int(NEWEST) + n, f"@CaroCLI new {n}") for n in range(6, 0, -1)]
    fake_x.mentions = fresh + fake_x.mentions

    class Killed(BaseException):
        pass

    real_submit, calls = poller.intake.submit, []

    def dies_after_three(mention):
        if len(calls) == 3:
            raise Killed  # the process dies mid-batch
        calls.append(mention.id)
        return real_submit(mention)

    poller.intake.submit = dies_after_three
    with pytest.raises(Killed):
        poller.poll_once()
    assert MonitorState(redis_conn).cursor("x:mentions") == NEWEST  # not moved

    restarted = make_poller()
    report = restarted.poll_once()
    assert (report.submitted, report.duplicates) == (3, 3)
    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    assert MentionStore(redis_conn).count() == 16


def test_source_health_reports_silence(fake_x, make_poller, redis_conn, clock):
    make_poller().poll_once()
    state = MonitorState(redis_conn)
    assert state.health(clock())[0]["healthy"] is True
    clock.now += timedelta(seconds=181)  # three intervals of 60 s
    assert state.health(clock())[0]["healthy"] is False
