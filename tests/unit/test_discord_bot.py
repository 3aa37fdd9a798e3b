"""The Discord bot's jobs against the local fake Discord: a forum post tagged with its
priority once, one off-hours answer per conversation, an hour-old unanswered post escalated
once, a ✅ from the team resolving the queue item, and the dry run when it is off."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from desk.config import DeskConfig
from desk.drafts import load_templates
from desk.reply_queue import ReplyQueue
from hark.discord_wiring import discord_bot_from, discord_poller_from
from hark.redis_connection import ConfigError
from hark.settings import Settings
from monitor.discord_api import DiscordApi
from monitor.discord_threads import DiscordThreads
from monitor.mention import make_mention
from monitor.sources.discord import mention_from_message
from monitor.store import MonitorState
from services import queue as queue_services
from services.bots import tell_bots_of_correction
from services.context import Services
from services.corrections import correct_priority
from services.discord_bot import (
    DRY_RUN,
    READ_GRACE,
    DiscordBot,
    discord_check_unanswered,
    discord_resolved,
    discord_retag,
    discord_staff_answered,
    discord_write_back,
)
from services.jobs import WRITE_BACK_QUEUE
from services.triage import triage_mention
from tests.fakes.discord_server import FakeDiscord

TOKEN = "bot-token-for-tests"
GUILD = "200000000000000001"
ASKER = {"id": "100000000000000001", "username": "sam"}
STAFF_ID = "300000000000000001"
SATURDAY = "2026-01-24T15:00:00.000000+00:00"  # off-hours in New York
MONDAY = "2026-01-26T15:00:00.000000+00:00"  # 10:00 in New York: business hours
NOW = datetime(2026, 1, 26, 16, 30, tzinfo=UTC)


@pytest.fixture
def fake():
    server = FakeDiscord(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def desk_config() -> DeskConfig:
    return DeskConfig(replies=load_templates())


@pytest.fixture
def world(fake, shipped, desk_config):
    """A forum with a "bug" tag; ``post`` opens a post, triages it, and returns its id."""
    connection = fakeredis.FakeRedis()
    forum = fake.add_channel(GUILD, forum=True, tags=("bug",))

    def services(*, dry_run: bool = False) -> Services:
        api = DiscordApi(TOKEN, fake.url, now_s=lambda: 0.0, sleep=lambda s: None)
        return Services(
            connection=connection,
            desk=desk_config,
            engine=lambda: shipped,
            clock=lambda: NOW,
            bots=(DiscordBot(None if dry_run else api, (STAFF_ID,)),),
        )

    def post(title: str, at: str = MONDAY, *, dry_run: bool = False) -> str:
        thread = fake.add_post(forum, title, ASKER, "")
        fake.messages[thread][0]["timestamp"] = at
        triage_in(thread, fake.messages[thread][0], services(dry_run=dry_run))
        return thread

    def triage_in(thread: str, message: dict, with_services: Services) -> None:
        mention = mention_from_message(
            message,
            conversation_id=thread,
            location_id=thread,
            guild_id=GUILD,
            forum_id=forum,
            title=fake.channels[thread]["name"] if message["id"] == thread else None,
            now=NOW,
        )
        triage_mention(with_services, mention.model_dump(mode="json"))

    world = {"forum": forum, "connection": connection, "services": services, "post": post}
    world["triage_in"] = triage_in
    return world


def _tag_names(fake: FakeDiscord, forum: str, thread: str) -> list[str]:
    names = {t["id"]: t["name"] for t in fake.channels[forum]["available_tags"]}
    return [names[tag] for tag in fake.channels[thread]["applied_tags"]]


def test_triage_queues_the_write_back_and_the_hour_check(world):
    thread = world["post"]("how do I change the default model?")
    queue = Queue(WRITE_BACK_QUEUE, connection=world["connection"], serializer=JSONSerializer)
    assert [job.func_name for job in queue.jobs][-1] == "services.discord_bot.discord_write_back"
    scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert len(scheduled) == 1 and "unanswered" in scheduled[0]
    assert thread


def _check_due(world) -> datetime:
    queue = Queue(WRITE_BACK_QUEUE, connection=world["connection"], serializer=JSONSerializer)
    registry = ScheduledJobRegistry(queue=queue)
    (job_id,) = registry.get_job_ids()
    return registry.get_scheduled_time(job_id)


def test_the_hour_is_counted_from_the_post_not_from_when_hark_read_it(world):
    """Read 90 minutes late (Hark was down, or the post was archived and read late): the
    check is due as soon as the rest of the thread had time to be read, not an hour on."""
    world["post"]("caro hangs when I run it in tmux", at=MONDAY)  # NOW - 90 minutes
    assert _check_due(world) == NOW + READ_GRACE


def test_a_fresh_post_is_checked_an_hour_after_it_was_posted(world):
    world["post"]("caro hangs when I run it in tmux", at=(NOW - timedelta(minutes=5)).isoformat())
    assert _check_due(world) == NOW + timedelta(minutes=55)


def test_a_forum_post_is_tagged_with_its_priority_once(fake, world):
    thread = world["post"]("how do I change the default model?")
    services = world["services"]()
    result = discord_write_back(services, f"discord:{thread}")
    assert result["done"] == ["tagged"]  # Monday 10:00 in New York: no off-hours answer
    priority = ReplyQueue(world["connection"]).get(f"discord:{thread}").priority
    assert _tag_names(fake, world["forum"], thread) == [priority]
    assert discord_write_back(services, f"discord:{thread}")["done"] == []
    names = [t["name"] for t in fake.channels[world["forum"]]["available_tags"]]
    assert names.count(priority) == 1 and "bug" in names
    assert fake.bot_messages(thread) == []


def test_a_tag_someone_set_is_kept_beside_the_priority(fake, world):
    thread = world["post"]("caro suggests the wrong flag for tar")
    bug = fake.channels[world["forum"]]["available_tags"][0]["id"]
    fake.channels[thread]["applied_tags"] = [bug]
    discord_write_back(world["services"](), f"discord:{thread}")
    names = _tag_names(fake, world["forum"], thread)
    assert names[0] == "bug" and names[1] in ("P0", "P1", "P2", "P3") and len(names) == 2


def test_a_priority_a_person_corrects_retags_the_post_in_place_of_the_old_tag(fake, world):
    thread = world["post"]("how do I change the default model?")
    services, mention_id = world["services"](), f"discord:{thread}"
    discord_write_back(services, mention_id)
    before = _tag_names(fake, world["forum"], thread)
    assert before != ["P0"]
    queue = Queue(WRITE_BACK_QUEUE, connection=world["connection"], serializer=JSONSerializer)
    queue.empty()
    correct_priority(services, mention_id, "P0", "it ran rm -rf on the user's home", "rosa")
    (told,) = queue.jobs  # the correction tells the worker's bots through a job
    assert told.func is tell_bots_of_correction
    tell_bots_of_correction(services, *told.args)
    (retag,) = [job for job in queue.jobs if job.func is discord_retag]
    assert discord_retag(services, *retag.args)["done"] == ["re-tagged P0"]
    assert _tag_names(fake, world["forum"], thread) == ["P0"]  # the old priority tag is gone
    history = ReplyQueue(world["connection"]).get(mention_id).history
    assert history[-1].event == "discord-re-tagged" and history[-1].detail == "re-tagged P0"
    assert discord_retag(services, *retag.args)["done"] == ["re-tagged P0"]  # a retry: same
    assert _tag_names(fake, world["forum"], thread) == ["P0"]


def test_a_correction_in_the_dry_run_is_recorded_not_sent(fake, world):
    thread = world["post"]("how do I change the default model?", dry_run=True)
    services = world["services"](dry_run=True)
    correct_priority(services, f"discord:{thread}", "P1", "every model fails", "rosa")
    assert discord_retag(services, f"discord:{thread}")["done"] == ["re-tagged P1 (dry run)"]
    logged = [json.loads(entry) for entry in world["connection"].lrange(DRY_RUN, 0, -1)]
    assert logged[0]["step"] == "re-tagged" and logged[0]["detail"] == "re-tagged P1"
    assert fake.channels[thread]["applied_tags"] == []


def test_off_hours_get_one_answer_per_conversation(fake, world):
    thread = world["post"]("install fails on arch linux", at=SATURDAY)
    services = world["services"]()
    follow_up = fake.post(thread, ASKER, "still failing", at=SATURDAY)
    world["triage_in"](thread, fake.messages[thread][-1], services)
    assert discord_write_back(services, f"discord:{thread}")["done"] == ["tagged", "off-hours"]
    assert discord_write_back(services, f"discord:{follow_up}")["done"] == []
    (answer,) = fake.bot_messages(thread)
    assert "within 2 hours" in answer["content"]
    history = ReplyQueue(world["connection"]).get(f"discord:{thread}").history
    assert "discord-off-hours" in [entry.event for entry in history]


def test_a_retry_after_a_crash_between_post_and_record_does_not_post_twice(fake, world):
    thread = world["post"]("install fails on arch linux", at=SATURDAY)
    services = world["services"]()
    discord_write_back(services, f"discord:{thread}")
    world["connection"].delete(f"hark:discord:done:{thread}")  # as if it died before recording
    discord_write_back(services, f"discord:{thread}")
    assert len(fake.bot_messages(thread)) == 1  # Discord returned the first, by its nonce


def test_an_unanswered_post_is_escalated_once_in_the_queue_and_the_thread(fake, world):
    thread = world["post"]("caro hangs when I run it in tmux")
    services = world["services"]()
    assert discord_check_unanswered(services, f"discord:{thread}")["escalated"]
    assert not discord_check_unanswered(services, f"discord:{thread}")["escalated"]
    item = ReplyQueue(world["connection"]).get(f"discord:{thread}")
    (entry,) = [e for e in item.history if e.event == "escalated"]
    assert "within an hour" in entry.detail
    (ping,) = fake.bot_messages(thread)
    assert f"<@{STAFF_ID}>" in ping["content"]
    assert ping["allowed_mentions"] == {"parse": [], "users": [STAFF_ID]}


def test_an_answered_post_is_not_escalated(fake, world):
    answered = world["post"]("caro hangs when I run it in tmux")
    DiscordThreads(world["connection"]).answered(answered, STAFF_ID, NOW)
    replied = world["post"]("how do I change the default model?")
    services = world["services"]()
    queue_services.replied(services, f"discord:{replied}", "ana")
    for thread in (answered, replied):
        assert not discord_check_unanswered(services, f"discord:{thread}")["escalated"]
        assert fake.bot_messages(thread) == []


def test_a_post_closed_before_the_bot_got_to_it_is_not_reopened(fake, world):
    """Read from the archive (its author closed it): writing in it would reopen it, so it is
    neither tagged nor answered there; an escalation still flags its queue item."""
    thread = world["post"]("install fails on arch linux", at=SATURDAY)
    fake.archive(thread)
    services = world["services"]()
    assert discord_write_back(services, f"discord:{thread}")["done"] == ["tagged", "off-hours"]
    assert discord_check_unanswered(services, f"discord:{thread}")["escalated"]
    assert fake.bot_messages(thread) == [] and fake.channels[thread]["applied_tags"] == []
    assert fake.channels[thread]["thread_metadata"]["archived"]
    history = ReplyQueue(world["connection"]).get(f"discord:{thread}").history
    details = {e.event: e.detail for e in history if e.actor == "Hark"}
    assert "the post is closed" in details["discord-tagged"]
    assert "the post is closed" in details["discord-off-hours"]
    assert "the post is closed" in details["escalated"]


def test_the_teams_first_message_on_discord_is_the_items_first_response(fake, world):
    thread = world["post"]("how do I change the default model?")
    answered_at = NOW - timedelta(minutes=20)
    services = world["services"]()
    done = discord_staff_answered(services, f"discord:{thread}", STAFF_ID, answered_at.isoformat())
    assert done["answered"]
    item = ReplyQueue(world["connection"]).get(f"discord:{thread}")
    assert item.status == "replied" and item.first_response_at == answered_at
    assert item.replied_by == f"discord:{STAFF_ID}" and item.sla_state_at(NOW) == "ok"
    assert item.history[-1].detail == "answered on Discord (a message from the team)"
    again = discord_staff_answered(services, f"discord:{thread}", STAFF_ID, NOW.isoformat())
    assert not again["answered"]  # replied already: unchanged
    assert discord_resolved(services, f"discord:{thread}", STAFF_ID)["resolved"]  # then ✅


def test_an_answer_noted_before_the_write_back_marks_the_item_and_stops_the_auto_answer(
    fake, world
):
    """The team answered a Saturday post before its write-back ran (both on one page): the
    item is answered, and the "we'll respond within 2 hours" answer is not sent."""
    thread = world["post"]("install fails on arch linux", at=SATURDAY)
    DiscordThreads(world["connection"]).answered(thread, STAFF_ID, NOW - timedelta(hours=40))
    services = world["services"]()
    assert discord_write_back(services, f"discord:{thread}")["done"] == ["answered", "tagged"]
    assert fake.bot_messages(thread) == []
    item = ReplyQueue(world["connection"]).get(f"discord:{thread}")
    assert item.status == "replied" and item.first_response_at == NOW - timedelta(hours=40)


def test_a_follow_up_after_the_teams_answer_still_waits(fake, world):
    thread = world["post"]("how do I change the default model?", at=MONDAY)
    DiscordThreads(world["connection"]).answered(thread, STAFF_ID, NOW - timedelta(minutes=60))
    fake.post(thread, ASKER, "and per project?", at=(NOW - timedelta(minutes=10)).isoformat())
    follow_up = fake.messages[thread][-1]
    services = world["services"]()
    world["triage_in"](thread, follow_up, services)
    assert "answered" not in discord_write_back(services, f"discord:{follow_up['id']}")["done"]
    assert ReplyQueue(world["connection"]).get(f"discord:{follow_up['id']}").waiting


def test_a_tick_from_the_team_resolves_the_item(world):
    thread = world["post"]("how do I change the default model?")
    services = world["services"]()
    assert discord_resolved(services, f"discord:{thread}", STAFF_ID)["resolved"]
    item = ReplyQueue(world["connection"]).get(f"discord:{thread}")
    assert item.status == "replied" and item.resolved_at == NOW
    assert item.replied_by == f"discord:{STAFF_ID}" and item.first_response_at == NOW
    assert not discord_resolved(services, f"discord:{thread}", STAFF_ID)["resolved"]


def test_a_dismissed_item_is_not_resolved_by_a_tick(world):
    thread = world["post"]("how do I change the default model?")
    services = world["services"]()
    queue_services.dismiss(services, f"discord:{thread}", "ana", "answered in the docs")
    assert not discord_resolved(services, f"discord:{thread}", STAFF_ID)["resolved"]
    assert ReplyQueue(world["connection"]).get(f"discord:{thread}").status == "dismissed"


def test_the_dry_run_records_and_sends_nothing(fake, world):
    thread = world["post"]("install fails on arch linux", at=SATURDAY, dry_run=True)
    services = world["services"](dry_run=True)
    assert discord_write_back(services, f"discord:{thread}")["done"] == ["tagged", "off-hours"]
    assert discord_check_unanswered(services, f"discord:{thread}")["escalated"]
    assert fake.bot_messages(thread) == [] and fake.channels[thread]["applied_tags"] == []
    steps = [entry for entry in world["connection"].lrange(DRY_RUN, 0, -1)]
    assert len(steps) == 3
    history = ReplyQueue(world["connection"]).get(f"discord:{thread}").history
    assert all("(dry run)" in e.detail for e in history if e.actor == "Hark")


def test_a_relayed_discord_message_gets_no_write_back(world):
    relayed = make_mention(channel="discord", native_id="r1", text="caro crashes", now=NOW)
    services = world["services"]()
    triage_mention(services, relayed.model_dump(mode="json"))
    queue = Queue(WRITE_BACK_QUEUE, connection=world["connection"], serializer=JSONSerializer)
    assert queue.jobs == []
    assert discord_write_back(services, relayed.id)["done"] == []


def test_off_until_the_token_and_channels_are_set():
    state = MonitorState(fakeredis.FakeRedis())
    assert discord_poller_from(Settings(discord_channel_ids="1"), None, state) is None
    assert discord_bot_from(Settings(discord_bot_token="t")).api is None
    enabled = Settings(discord_bot_token="t", discord_channel_ids="1, 2", discord_staff_ids="3")
    poller = discord_poller_from(enabled, None, state)
    assert poller.channel_ids == ["1", "2"] and poller.staff_ids == {"3"}
    assert poller.answers is not None  # the team's answers on Discord reach the queue
    assert discord_bot_from(enabled).api is not None
    with pytest.raises(ConfigError, match="HARK_DISCORD_STAFF_IDS"):
        discord_bot_from(Settings(discord_staff_ids="kim"))
