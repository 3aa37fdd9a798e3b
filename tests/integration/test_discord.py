"""Discord #help end to end: the real poller reads a local fake Discord forum into a real
Redis, a real worker in burst mode triages and runs the bot's jobs, and the fake shows what
the bot wrote: priority tags, one off-hours answer, the escalation of an unanswered post,
and a ✅ from the team resolving its queue item. Redelivered messages and re-run jobs
change nothing."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from desk.config import DeskConfig
from desk.drafts import load_templates
from desk.reply_queue import ReplyQueue
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.discord_api import DiscordApi
from monitor.discord_poller import DiscordPoller
from monitor.discord_threads import DiscordThreads
from monitor.store import MonitorState
from services.context import utc_now
from services.discord_bot import DiscordBot, DiscordResolutions
from services.intake import Intake
from services.jobs import WRITE_BACK_QUEUE
from tests.fakes.discord_server import FakeDiscord

TOKEN = "bot-token-for-tests"
GUILD = "200000000000000001"
ASKER = {"id": "100000000000000001", "username": "sam"}
STAFF = {"id": "300000000000000001", "username": "caro-team"}


def _last(weekday: int) -> str:
    """The latest past ``weekday`` (0: Monday) at 15:00 UTC, within the poller's watch."""
    now = datetime.now(UTC)
    day = now - timedelta(days=(now.weekday() - weekday) % 7)
    moment = day.replace(hour=15, minute=0, second=0, microsecond=0)
    return (moment if moment < now else moment - timedelta(days=7)).isoformat()


SATURDAY = _last(5)  # off-hours in New York
MONDAY = _last(0)  # 10:00 or 11:00 in New York: business hours


@pytest.fixture
def fake():
    server = FakeDiscord(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def desk():
    def build(redis_conn, shipped_rules, fake: FakeDiscord, forum: str):
        api = DiscordApi(TOKEN, fake.url, now_s=time.time, sleep=time.sleep)
        poller = DiscordPoller(
            api,
            Intake(redis_conn, shipped_rules.current),
            MonitorState(redis_conn),
            DiscordThreads(redis_conn),
            DiscordResolutions(redis_conn),
            utc_now,
            [forum],
            frozenset({STAFF["id"]}),
            answers=DiscordResolutions(redis_conn),
        )
        bot = DiscordBot(
            api, (STAFF["id"],), unanswered_after=timedelta(0), read_grace=timedelta(0)
        )
        services = replace(
            worker_services(redis_conn, shipped_rules, desk=DeskConfig(replies=load_templates())),
            bots=(bot,),
        )
        return poller, services

    return build


def _post(fake: FakeDiscord, forum: str, title: str, at: str) -> str:
    thread = fake.add_post(forum, title, ASKER, "")
    fake.messages[thread][0]["timestamp"] = at
    return thread


def _run_scheduler_once(connection) -> None:
    """What a worker's scheduler does each second: move due jobs to their queue."""
    scheduler = RQScheduler([WRITE_BACK_QUEUE], connection=connection, serializer=JSONSerializer)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()


def _tags(fake: FakeDiscord, forum: str, thread: str) -> list[str]:
    names = {t["id"]: t["name"] for t in fake.channels[forum]["available_tags"]}
    return [names[tag] for tag in fake.channels[thread]["applied_tags"]]


def test_the_forum_is_read_tagged_answered_escalated_and_resolved(
    redis_conn, shipped_rules, fake, desk
):
    forum = fake.add_channel(GUILD, forum=True, tags=("question",))
    crash = _post(fake, forum, "caro crashes on start every time, nothing works", SATURDAY)
    question = _post(fake, forum, "how do I change the default model?", MONDAY)
    fake.post(question, STAFF, "caro config set model <name>", at=MONDAY)
    poller, services = desk(redis_conn, shipped_rules, fake, forum)

    report = poller.poll_once()
    assert (report.submitted, report.errors) == (2, [])
    assert run_worker(services, burst=True)

    queue = ReplyQueue(redis_conn)
    for thread in (crash, question):
        assert _tags(fake, forum, thread) == [queue.get(f"discord:{thread}").priority]
    assert queue.get(f"discord:{crash}").priority == "P0"
    (off_hours,) = fake.bot_messages(crash)  # Saturday: answered once
    assert "within 2 hours" in off_hours["content"]
    assert fake.bot_messages(question) == []  # Monday 10:00 in New York
    answered = queue.get(f"discord:{question}")  # the team's message was its first response
    assert answered.status == "replied" and answered.first_response_at.isoformat() == MONDAY

    # Redelivery and re-runs: polled again, worked again, nothing is done twice.
    assert poller.poll_once().submitted == 0
    assert run_worker(services, burst=True)
    assert len(fake.bot_messages(crash)) == 1

    # An hour on (the bot's window and grace are 0 here): the unanswered post is escalated, once.
    _run_scheduler_once(redis_conn)
    assert run_worker(services, burst=True)
    escalation = fake.bot_messages(crash)[-1]
    assert f"<@{STAFF['id']}>" in escalation["content"] and len(fake.bot_messages(crash)) == 2
    assert "escalated" in [e.event for e in queue.get(f"discord:{crash}").history]
    assert fake.bot_messages(question) == []  # the team answered it

    # A ✅ from the team on the question resolves its item at the next poll.
    fake.react(question, question, "✅", STAFF["id"])
    poller.poll_once()
    assert run_worker(services, burst=True)
    item = queue.get(f"discord:{question}")
    assert item.status == "replied" and item.resolved_at is not None
    assert item.replied_by == f"discord:{STAFF['id']}"


def test_a_rate_limited_write_back_is_retried_without_posting_twice(
    redis_conn, shipped_rules, fake, desk
):
    forum = fake.add_channel(GUILD, forum=True)
    thread = _post(fake, forum, "install fails on arch linux", SATURDAY)
    poller, services = desk(redis_conn, shipped_rules, fake, forum)
    assert poller.poll_once().submitted == 1
    fake.rate_limits.append((0.1, False))  # a short 429: waited out by the client
    assert run_worker(services, burst=True)
    assert len(fake.bot_messages(thread)) == 1
    assert _tags(fake, forum, thread)
