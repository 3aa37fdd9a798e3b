"""The Discord #help bot: what Hark writes back on Discord, and the queue changes Discord's
signals make. Each step runs in its own RQ job, on the worker, never inside triage.

- **Tag** a forum post with its priority (a forum tag named P0-P3, created when the forum
  lacks it), once per post; other P-tags on it are replaced, any other tag kept.
- **Answer off-hours**: a message posted outside the rulebook's business hours gets one
  answer per conversation, promising a reply within 2 hours (the playbook's auto-responder).
- **Escalate** a conversation still unanswered an hour after its first message: no staff
  message in it (``monitor.discord_threads``) and its queue item still waiting. The item's
  history gets an ``escalated`` entry (the inbox shows it), and the team is pinged in the
  thread. Not a page: the pager wakes the on-call for P0s, which the incident path already
  pages; a P2 question an hour old is the support team's, in the place they work.
- A post already **closed** (archived: read from the archive, or closed before its job ran)
  is not written in, as a message would reopen it: it is not tagged or answered off-hours,
  and its escalation flags the queue item without pinging the team in the thread.
- **Answered on Discord**: the team's first message in a conversation (found by the
  poller, handed to ``DiscordResolutions``) marks its first message's item replied, with
  the message's time as the first response, so its SLA clock stops; a message of the
  conversation triaged after that answer, and posted before it, is marked so by its
  write-back job.
- **Resolve** on a ✅ from a staff member (found by the poller, handed to
  ``DiscordResolutions``): the item is marked answered on Discord if it was still waiting,
  then resolved.

Every step is done once: a per-conversation record in Redis (``hark:discord:done:<id>``)
is written after the step succeeds, and a message is posted with an enforced ``nonce``
(Discord returns the message already posted with it in the last minutes), so a retry after
a crash between the post and the record does not post twice. Without a token and channel
ids the bot is a dry run: each step is recorded (``hark:discord:dry-run`` and the item's
history) instead of sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from desk.business_hours import BusinessCalendar
from desk.mentions import MentionStore
from desk.queue_actions import Change, QueueError
from desk.records import WAITING, QueueItem, StoredMention
from desk.reply_queue import ReplyQueue
from monitor.discord_api import DiscordApi
from monitor.discord_threads import DiscordThreads
from monitor.sources.discord import CHANNEL, PLACE_KEY
from services import queue as queue_services
from services.context import Services
from services.jobs import WRITE_BACK_QUEUE

_log = logging.getLogger(__name__)

BOT_NAME = "discord"
PRIORITY_TAGS = ("P0", "P1", "P2", "P3")
UNANSWERED_AFTER = timedelta(hours=1)  # the playbook: "if unsolved after 1 hour, escalate"
# A post read late is checked no sooner than this after it was read: time for the poller to
# read the rest of its thread (a staff answer among it) before the check runs.
READ_GRACE = timedelta(minutes=2)
DONE = "hark:discord:done:{conversation}"  # step -> when it was done
DRY_RUN = "hark:discord:dry-run"  # newest first, capped: what the bot would have sent
DRY_RUN_KEPT = 500
# Within Discord's nonce window (a few minutes), so a retried post is deduplicated.
RETRIES = Retry(max=3, interval=[5, 30, 90])
JOB_TIMEOUT_S = 60
OFF_HOURS_TEXT = (
    "Thanks for posting! The Caro team is outside its working hours right now ({hours}), "
    "and we'll respond here within 2 hours. Meanwhile, your Caro version and OS help us "
    "get you unstuck faster."
)
CLOSED = "the post is closed (archived on Discord)"
STAFF_ANSWER = "answered on Discord (a message from the team)"
TICK = "answered on Discord (✅ from the team)"
ESCALATION_TEXT = (
    "{pings} this post has waited over an hour without an answer from the team: "
    "escalated (priority {priority})."
)


@dataclass(frozen=True)
class DiscordBot:
    """``api`` None: the dry run (the token or the channel ids are not set)."""

    api: DiscordApi | None
    staff_ids: tuple[str, ...] = ()
    unanswered_after: timedelta = UNANSWERED_AFTER
    read_grace: timedelta = READ_GRACE
    name: str = BOT_NAME

    def after_triage(
        self, services: Services, mention: StoredMention, incident_id: str | None
    ) -> None:
        """Queue the write-back of a message read by the poller and, for a conversation's
        first message, the check an hour after it was posted; returns at once."""
        place = place_of(mention)
        if place is None:  # relayed through the API, not read by the poller: nowhere to write
            return
        queue = _queue(services.connection)
        key = _job_key(mention.id)
        queue.enqueue(
            discord_write_back,
            mention.id,
            job_id=f"discord-write-{key}",
            description=f"discord write-back {mention.native_id}",
            **_job_options(),
        )
        if place.get("starter"):
            queue.enqueue_at(
                self.check_due(mention.created_at, services.clock()),
                discord_check_unanswered,
                mention.id,
                job_id=f"discord-unanswered-{key}",
                description=f"discord unanswered check {mention.native_id}",
                **_job_options(),
            )

    def check_due(self, posted_at: datetime, read_at: datetime) -> datetime:
        """When to check that a post was answered: an hour after it was posted (not after
        Hark read it, which is later when Hark was down or the thread was read from the
        archive), but no sooner than ``read_grace`` after it was read."""
        return max(posted_at + self.unanswered_after, read_at + self.read_grace)

    def after_correction(self, services: Services, mention: StoredMention) -> None:
        """Queue the re-tagging of a forum post whose priority a person changed."""
        place = place_of(mention)
        if place is None or not (place.get("starter") and place.get("forum_id")):
            return
        _queue(services.connection).enqueue(
            discord_retag,
            mention.id,
            job_id=f"discord-retag-{_job_key(mention.id)}-{mention.triage.priority}",
            description=f"discord re-tag {mention.native_id}",
            **_job_options(),
        )


class DiscordResolutions:
    """The poller's ``ResolutionSink`` and ``AnswerSink``: a ✅ from the team becomes a
    resolve job, the team's first message in a conversation an "answered" job."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def answered(self, mention_id: str, staff_id: str, at: datetime) -> None:
        _queue(self.connection).enqueue(
            discord_staff_answered,
            mention_id,
            staff_id,
            at.isoformat(),
            job_id=f"discord-answered-{_job_key(mention_id)}",
            description="discord answered by a staff message",
            **_job_options(),
        )

    def resolved(self, mention_id: str, staff_id: str) -> None:
        _queue(self.connection).enqueue(
            discord_resolved,
            mention_id,
            staff_id,
            job_id=f"discord-resolved-{_job_key(mention_id)}",
            description="discord resolved by a staff reaction",
            **_job_options(),
        )


# -- the jobs ------------------------------------------------------------------------------


def discord_write_back(services: Services, mention_id: str) -> dict[str, Any]:
    """Job: tag the forum post with its priority, and answer off-hours; each once."""
    stored = MentionStore(services.connection).get(mention_id)
    bot = _bot(services)
    place = place_of(stored) if stored else None
    if stored is None or bot is None or place is None:
        return {"mention": mention_id, "done": []}
    conversation = stored.thread_id or stored.native_id
    done = []
    first = DiscordThreads(services.connection).answer(conversation)
    if (  # the team answered after this message was posted, before this job ran
        first is not None
        and first[1] >= stored.created_at
        and _mark_answered(services, mention_id, first[0], first[1], STAFF_ANSWER)
    ):
        done.append("answered")
    if place.get("starter") and place.get("forum_id"):
        priority = stored.priority

        def tag() -> str:
            if bot.api is not None:
                if _closed(bot.api, place["location_id"]):
                    return f"not tagged {priority}: {CLOSED}"
                _tag_post(bot.api, place["forum_id"], place["location_id"], priority)
            return f"tagged {priority}"

        if _once(services, bot, stored, conversation, "tagged", tag):
            done.append("tagged")
    calendar = BusinessCalendar(services.engine().rulebook.business_hours)
    if first is None and not calendar.is_open(stored.created_at):  # the team is not here
        text = OFF_HOURS_TEXT.format(hours=calendar.describe())

        def answer() -> str:
            if bot.api is not None:
                if _closed(bot.api, place["location_id"]):
                    return f"not answered off-hours: {CLOSED}"
                bot.api.post_message(
                    place["location_id"], text, nonce=_nonce("off-hours", conversation)
                )
            return "answered off-hours"

        if _once(services, bot, stored, conversation, "off-hours", answer):
            done.append("off-hours")
    return {"mention": mention_id, "done": done}


def discord_check_unanswered(services: Services, mention_id: str) -> dict[str, Any]:
    """Scheduled job, an hour after a conversation's first message: escalate it when no one
    of the team has answered it, on Discord or from Hark."""
    stored = MentionStore(services.connection).get(mention_id)
    bot = _bot(services)
    place = place_of(stored) if stored else None
    if stored is None or bot is None or place is None:
        return {"mention": mention_id, "escalated": False}
    conversation = stored.thread_id or stored.native_id
    item = ReplyQueue(services.connection).get(mention_id)
    answered = DiscordThreads(services.connection).answer(conversation)
    if answered is not None or item is None or item.status not in WAITING:
        return {"mention": mention_id, "escalated": False}
    if item.first_response_at is not None:  # answered once, then reopened: not unanswered
        return {"mention": mention_id, "escalated": False}
    pings = " ".join(f"<@{staff}>" for staff in bot.staff_ids) or "Team:"
    text = ESCALATION_TEXT.format(pings=pings, priority=stored.priority)

    def escalate() -> str:
        said = f"no answer from the team on Discord within {_hours(bot.unanswered_after)}"
        if bot.api is not None:
            if _closed(bot.api, place["location_id"]):
                return f"{said}; {CLOSED}, so the team is not pinged in it"
            bot.api.post_message(
                place["location_id"],
                text,
                nonce=_nonce("escalated", conversation),
                mention_user_ids=bot.staff_ids,
            )
        return said

    escalated = _once(services, bot, stored, conversation, "escalated", escalate)
    return {"mention": mention_id, "escalated": escalated}


def discord_staff_answered(
    services: Services, mention_id: str, staff_id: str, at: str
) -> dict[str, Any]:
    """Job: the team's first message in the conversation ``mention_id`` starts marks its
    item replied, if it still waits (absent: its write-back job marks it once triaged)."""
    marked = _mark_answered(
        services, mention_id, staff_id, datetime.fromisoformat(at), STAFF_ANSWER
    )
    return {"mention": mention_id, "answered": marked}


def _mark_answered(
    services: Services, mention_id: str, staff_id: str, at: datetime, detail: str
) -> bool:
    """Mark a waiting item replied on Discord by ``staff_id`` at ``at``; False when there is
    no such item or it no longer waits."""
    queue, person = ReplyQueue(services.connection), f"discord:{staff_id}"
    item = queue.get(mention_id)
    if item is None or item.status not in WAITING:
        return False
    try:
        queue.apply(
            mention_id,
            person,
            services.clock(),
            lambda current: _answered_on_discord(current, person, at, detail),
        )
    except QueueError as error:  # changed meanwhile
        _log.info("discord answer of a queue item skipped: %s", error)
        return False
    return True


def discord_resolved(services: Services, mention_id: str, staff_id: str) -> dict[str, Any]:
    """Job: a staff member's ✅ resolves the item (marked answered on Discord first when it
    was still waiting). A dismissed or already resolved item is left as it is."""
    queue, person = ReplyQueue(services.connection), f"discord:{staff_id}"
    item = queue.get(mention_id)
    if item is None:
        return {"mention": mention_id, "resolved": False}
    stored = MentionStore(services.connection).get(mention_id)
    conversation = (stored.thread_id or stored.native_id) if stored else mention_id
    answer = DiscordThreads(services.connection).answer(conversation)
    now = services.clock()
    try:
        if item.status in WAITING:
            answered_at = answer[1] if answer else now
            item = queue.apply(
                mention_id,
                person,
                now,
                lambda current: _answered_on_discord(current, person, answered_at, TICK),
            )
        if item.status == "replied" and item.resolved_at is None:
            queue_services.resolve(services, mention_id, person)
            return {"mention": mention_id, "resolved": True}
    except QueueError as error:  # changed meanwhile (dismissed, resolved): nothing to do
        _log.info("discord resolve of a queue item skipped: %s", error)
    return {"mention": mention_id, "resolved": False}


# -- the steps' parts ----------------------------------------------------------------------


def place_of(mention: StoredMention) -> dict[str, Any] | None:
    """Where the poller read the message (``monitor.sources.discord``); None for a Discord
    message that came another way (a relay to ``POST /api/mentions``)."""
    if mention.channel != CHANNEL or not mention.raw:
        return None
    place = mention.raw.get(PLACE_KEY)
    return place if isinstance(place, dict) and place.get("location_id") else None


def discord_retag(services: Services, mention_id: str) -> dict[str, Any]:
    """Job: tag the post with the priority it has now, a person having changed it. Unlike
    the first tag it is not done once per post: tagging replaces the priority tag, so a
    retry or a second correction does no harm."""
    stored = MentionStore(services.connection).get(mention_id)
    bot = _bot(services)
    place = place_of(stored) if stored else None
    if stored is None or bot is None or place is None or not place.get("forum_id"):
        return {"mention": mention_id, "done": []}
    priority = stored.triage.priority
    if bot.api is None:
        conversation = stored.thread_id or stored.native_id
        detail = f"re-tagged {priority}"
        _record_dry_run(services, conversation, "re-tagged", detail)
        detail += " (dry run)"
    elif _closed(bot.api, place["location_id"]):
        detail = f"not re-tagged {priority}: {CLOSED}"
    else:
        _tag_post(bot.api, place["forum_id"], place["location_id"], priority)
        detail = f"re-tagged {priority}"
    _note(services, stored.id, "discord-re-tagged", detail)
    return {"mention": mention_id, "done": [detail]}


def _closed(api: DiscordApi, location_id: str) -> bool:
    """Whether the thread is archived (its author closed it, or it went idle): a message in
    it would reopen it, and Discord refuses to change its tags. A text channel never is."""
    metadata = api.channel(location_id).get("thread_metadata") or {}
    return bool(metadata.get("archived"))


def _tag_post(api: DiscordApi, forum_id: str, thread_id: str, priority: str) -> None:
    """Apply the forum's tag named ``priority`` (created if missing), replacing any other
    priority tag and keeping the post's other tags."""
    forum = api.channel(forum_id)
    tags = list(forum.get("available_tags") or [])
    wanted = next((tag for tag in tags if tag.get("name") == priority), None)
    if wanted is None:
        tags.append({"name": priority, "moderated": False})
        forum = api.set_forum_tags(forum_id, tags)
        tags = list(forum.get("available_tags") or [])
        wanted = next(tag for tag in tags if tag.get("name") == priority)
    priority_ids = {str(tag["id"]) for tag in tags if tag.get("name") in PRIORITY_TAGS}
    thread = api.channel(thread_id)
    kept = [str(t) for t in thread.get("applied_tags") or [] if str(t) not in priority_ids]
    api.apply_tags(thread_id, [*kept, str(wanted["id"])][:5])  # Discord allows 5 a post


def _once(
    services: Services,
    bot: DiscordBot,
    stored: StoredMention,
    conversation: str,
    step: str,
    do: Callable[[], str],
) -> bool:
    """Run ``do`` unless ``step`` was done for ``conversation``; then record it as done, in
    the dry-run log when the bot is off, and in the item's history. True if it ran now."""
    connection = services.connection
    key = DONE.format(conversation=conversation)
    if connection.hexists(key, step):
        return False
    detail = do()  # a DiscordError fails the job, which RQ retries: nothing is recorded
    now = services.clock()
    if bot.api is None:
        _record_dry_run(services, conversation, step, detail)
        detail += " (dry run)"
    connection.hset(key, step, now.isoformat())
    connection.expire(key, 90 * 86_400)
    _note(services, stored.id, f"discord-{step}" if step != "escalated" else "escalated", detail)
    return True


def _record_dry_run(services: Services, conversation: str, step: str, detail: str) -> None:
    """What the bot would have done, on the dry-run log (newest first, bounded)."""
    entry = {"at": services.clock().isoformat(), "conversation": conversation, "step": step}
    with services.connection.pipeline() as pipe:
        pipe.lpush(DRY_RUN, json.dumps({**entry, "detail": detail}))
        pipe.ltrim(DRY_RUN, 0, DRY_RUN_KEPT - 1)
        pipe.execute()


def _note(services: Services, mention_id: str, event: str, detail: str) -> None:
    """A history entry on the item, when it has one (what the inbox shows)."""
    queue = ReplyQueue(services.connection)
    if queue.get(mention_id) is None:
        return
    queue.apply(mention_id, "Hark", services.clock(), lambda item: Change(item, event, detail))


def _answered_on_discord(item: QueueItem, person: str, at: datetime, detail: str) -> Change:
    if item.status not in WAITING:
        raise QueueError("conflict", f"the item is {item.status}")
    replied = item.model_copy(
        update={
            "status": "replied",
            "replied_by": person,
            "claimed_by": None,
            "sending_since": None,
            "first_response_at": item.first_response_at or at,
        }
    )
    return Change(replied, "replied", detail)


def _bot(services: Services) -> DiscordBot | None:
    return next((bot for bot in services.bots if isinstance(bot, DiscordBot)), None)


def _job_options() -> dict[str, Any]:
    """Every Discord job's: retried, bounded, forgotten once done, kept 30 days if failed."""
    return {
        "retry": RETRIES,
        "job_timeout": JOB_TIMEOUT_S,
        "result_ttl": 0,
        "failure_ttl": 30 * 86_400,
    }


def _queue(connection: Redis) -> Queue:
    return Queue(WRITE_BACK_QUEUE, connection=connection, serializer=JSONSerializer)


def _job_key(mention_id: str) -> str:
    return hashlib.sha256(mention_id.encode()).hexdigest()[:32]


def _nonce(step: str, conversation: str) -> str:
    """At most 25 characters, as Discord allows: the same for a step's every retry."""
    return hashlib.sha256(f"{step}:{conversation}".encode()).hexdigest()[:25]


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return "an hour" if hours == 1 else f"{hours:g} hours"
