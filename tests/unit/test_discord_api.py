"""The Discord client against the local fake: bot auth, snowflake cursors, rate limits."""

from __future__ import annotations

import pytest

from monitor.discord_api import DiscordApi, DiscordAuthError, DiscordRateLimited
from tests.fakes.discord_server import FakeDiscord

TOKEN = "bot-token-for-tests"
ASKER = {"id": "100000000000000001", "username": "sam"}


@pytest.fixture
def fake():
    server = FakeDiscord(TOKEN).start()
    yield server
    server.stop()


class Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 1_000.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _api(fake: FakeDiscord, clock: Clock, token: str = TOKEN) -> DiscordApi:
    return DiscordApi(token, fake.url, now_s=clock, sleep=clock.sleep, timeout_s=10.0)


def test_a_wrong_token_is_refused(fake):
    channel = fake.add_channel("1")
    with pytest.raises(DiscordAuthError, match="401"):
        _api(fake, Clock(), "not-the-token").channel(channel)


def test_after_returns_only_newer_messages_newest_first(fake):
    channel = fake.add_channel("1")
    ids = [fake.post(channel, ASKER, f"message {n}") for n in range(5)]
    api = _api(fake, Clock())
    assert [m["id"] for m in api.messages(channel, None)] == ids[::-1]
    assert [m["id"] for m in api.messages(channel, ids[2])] == [ids[4], ids[3]]
    assert api.messages(channel, ids[4]) == []


def test_a_short_429_is_waited_out_and_retried(fake):
    channel = fake.add_channel("1")
    fake.rate_limits.append((0.25, False))
    clock = Clock()
    assert _api(fake, clock).channel(channel)["id"] == channel
    assert clock.sleeps == [0.25]


def test_a_long_429_raises_with_retry_after_and_its_scope(fake):
    channel = fake.add_channel("1")
    fake.rate_limits.append((42.5, True))
    with pytest.raises(DiscordRateLimited) as raised:
        _api(fake, Clock()).channel(channel)
    assert (raised.value.retry_after_s, raised.value.is_global) == (42.5, True)


def test_a_spent_bucket_is_not_called_before_its_reset(fake):
    """After a 429, X-RateLimit-Remaining 0 and Reset-After: the next call waits first."""
    channel = fake.add_channel("1")
    fake.rate_limits.extend([(3.0, False), (3.0, False)])
    clock = Clock()
    api = _api(fake, clock)
    with pytest.raises(DiscordRateLimited):
        api.channel(channel)  # 429, slept 3 s, 429 again: gives up
    calls = len(fake.requests)
    assert api.channel(channel)["id"] == channel
    assert clock.sleeps == [3.0, 3.0] and len(fake.requests) == calls + 1


def test_a_nonce_enforced_post_is_made_once(fake):
    channel = fake.add_channel("1")
    api = _api(fake, Clock())
    first = api.post_message(channel, "hello", nonce="n1")
    again = api.post_message(channel, "hello", nonce="n1")
    assert first["id"] == again["id"] and len(fake.bot_messages(channel)) == 1
