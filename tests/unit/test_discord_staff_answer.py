"""The poller hands the team's first message in a conversation on (the bot marks the item
answered on Discord), once, whatever page re-reads it; later staff messages do not."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import fakeredis

from monitor.discord_api import DiscordApi
from monitor.discord_poller import DiscordPoller
from monitor.discord_threads import DiscordThreads
from monitor.mention import Mention
from monitor.store import CURSOR, MonitorState
from tests.fakes.discord_server import FakeDiscord

TOKEN = "bot-token-for-tests"
GUILD = "200000000000000001"
ASKER = {"id": "100000000000000001", "username": "sam"}
STAFF = {"id": "300000000000000001", "username": "caro-team"}


class Recorder:
    """The intake, the ✅ sink and the answer sink at once: keeps what it is told."""

    def __init__(self) -> None:
        self.mentions: list[Mention] = []
        self.answers: list[tuple[str, str, datetime]] = []

    def submit(self, mention: Mention) -> bool:
        self.mentions.append(mention)
        return True

    def resolved(self, mention_id: str, staff_id: str) -> None:
        raise AssertionError("no ✅ here")

    def answered(self, mention_id: str, staff_id: str, at: datetime) -> None:
        self.answers.append((mention_id, staff_id, at))


def test_the_teams_first_message_in_a_post_is_handed_on_once():
    fake = FakeDiscord(TOKEN).start()
    try:
        forum = fake.add_channel(GUILD, forum=True)
        post = fake.add_post(forum, "how do I change the default model?", ASKER, "?")
        fake.post(post, STAFF, "caro config set model <name>")
        connection, recorder = fakeredis.FakeRedis(), Recorder()
        poller = DiscordPoller(
            DiscordApi(TOKEN, fake.url, now_s=time.time, sleep=lambda s: None),
            recorder,
            MonitorState(connection),
            DiscordThreads(connection),
            recorder,
            lambda: datetime.now(UTC),
            [forum],
            frozenset({STAFF["id"]}),
            answers=recorder,
        )
        poller.poll_once()
        fake.post(post, STAFF, "and the docs have a page on it")
        connection.delete(CURSOR.format(feed=f"discord:{post}"))  # the page is read again
        poller.poll_once()
        ((mention_id, staff_id, at),) = recorder.answers
        assert (mention_id, staff_id) == (f"discord:{post}", STAFF["id"])
        assert at.isoformat() == fake.messages[post][1]["timestamp"]
    finally:
        fake.stop()
