"""The desk's typed records: records stored before the models existed still load and can
be acted on, a record cannot be changed in place, and a refused action changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from pydantic import ValidationError

from desk import queue_actions
from desk.mentions import RECORD, MentionStore
from desk.queue_actions import SENDING_STALE_S, QueueError
from desk.records import QueueItem, StoredMention
from desk.reply_queue import ITEM, ReplyQueue
from services import queue as desk_queue
from services.context import Services

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)

# A mention as the triage job stored it before the records were typed: the Mention's JSON
# (pydantic writes UTC as "Z"), the engine's triage dict, ``isoformat()`` times.
OLD_MENTION = {
    "id": "x:1881",
    "channel": "x",
    "native_id": "1881",
    "author": "sam",
    "text": "@CaroCLI brew install caro fails on macOS 14",
    "url": "https://x.com/sam/status/1881",
    "created_at": "2026-01-26T14:10:00Z",
    "received_at": "2026-01-26T14:10:02Z",
    "thread_id": None,
    "reply_to": None,
    "language": "en",
    "author_reach": 1200,
    "raw": {"id": "1881", "text": "@CaroCLI brew install caro fails on macOS 14"},
    "triage": {
        "priority": "P1",
        "category": "installation",
        "kind": "bug",
        "score": 1.5,
        "pages": False,
        "scores": {"P0": 0.0, "P1": 1.5, "P2": 0.0, "P3": 0.0},
        "rules": [
            {
                "id": "install-broken",
                "description": "Installing fails",
                "levels": ["P1"],
                "weight": 1.5,
                "category": "installation",
                "kind": "bug",
                "matches": [
                    {
                        "condition": "match[0].keyword",
                        "pattern": "install",
                        "text": "install",
                        "start": 14,
                        "end": 21,
                    }
                ],
            }
        ],
    },
    "triaged_at": "2026-01-26T14:10:03.250000+00:00",
    "status": "queued",
}

# A queue item as the old ReplyQueue wrote it, claimed: no sending_since, replied_by,
# reply_url or dismissed_reason yet (those were only added by the actions that set them),
# and a draft as queue_items made it.
OLD_ITEM = {
    "status": "claimed",
    "claimed_by": "maria",
    "first_response_at": None,
    "resolved_at": None,
    "reopened": 0,
    "history": [
        {"at": "2026-01-26T14:20:00+00:00", "actor": "maria", "event": "claimed", "detail": ""}
    ],
    "mention_id": "x:1881",
    "native_id": "1881",
    "channel": "x",
    "author": "sam",
    "text": "@CaroCLI brew install caro fails on macOS 14",
    "url": "https://x.com/sam/status/1881",
    "priority": "P1",
    "category": "installation",
    "kind": "bug",
    "received_at": "2026-01-26T14:10:02Z",
    "due_at": "2026-01-26T15:10:02+00:00",
    "warn_at": "2026-01-26T14:55:02+00:00",
    "due_reason": "X's 1h is stricter than P1's 4h",
    "resolution_due_at": "2026-01-29T14:10:02+00:00",
    "draft": {
        "text": "Sorry about the install trouble, Sam! Which macOS version?",
        "template_id": "p1-installation",
        "tone": [],
        "x_length": 58,
        "fits_x": True,
    },
}


@pytest.fixture
def connection():
    return fakeredis.FakeRedis()


@pytest.fixture
def services(connection):
    return Services(connection=connection, clock=lambda: NOW)


@pytest.fixture
def make_item():
    def make(**overrides) -> QueueItem:
        return QueueItem.model_validate({**OLD_ITEM, **overrides})

    return make


def test_a_mention_stored_in_the_old_shape_loads_with_every_field(connection):
    connection.set(RECORD.format(id="x:1881"), json.dumps(OLD_MENTION))
    mention = MentionStore(connection).get("x:1881")
    assert mention.created_at == datetime(2026, 1, 26, 14, 10, tzinfo=UTC)
    assert (mention.status, mention.author_reach, mention.raw) == (
        "queued",
        1200,
        OLD_MENTION["raw"],
    )
    assert mention.triage.rules[0].matches[0].pattern == "install"
    assert mention.public() == {
        key: value for key, value in OLD_MENTION.items() if key != "raw"
    } | {
        "created_at": "2026-01-26T14:10:00+00:00",
        "received_at": "2026-01-26T14:10:02+00:00",
        # fields a triage has had since: no urgency below P0, no model asked, none set aside
        "triage": OLD_MENTION["triage"] | {"urgency": None, "model": None, "set_aside": []},
    }


def test_an_item_stored_in_the_old_shape_loads_and_is_acted_on(connection, services):
    connection.set(RECORD.format(id="x:1881"), json.dumps(OLD_MENTION))
    connection.set(ITEM.format(id="x:1881"), json.dumps(OLD_ITEM))
    item = ReplyQueue(connection).get("x:1881")
    assert (item.status, item.claimed_by, item.sending_since) == ("claimed", "maria", None)
    assert item.draft.redacted == () and item.draft.edited_by is None
    assert item.due_at == datetime(2026, 1, 26, 15, 10, 2, tzinfo=UTC)

    replied = desk_queue.replied(services, "x:1881", "maria")
    assert (replied.status, replied.first_response_at) == ("replied", NOW)
    assert [entry.event for entry in replied.history] == ["claimed", "replied"]
    stored = json.loads(connection.get(ITEM.format(id="x:1881")))
    assert stored["first_response_at"] == "2026-01-26T15:00:00+00:00"  # as it always was
    assert set(OLD_ITEM) <= set(stored)  # the old keys kept, the new ones added
    assert MentionStore(connection).get("x:1881").status == "replied"


def test_a_record_cannot_be_changed_in_place(make_item):
    item = make_item()
    with pytest.raises(ValidationError):
        item.status = "open"
    with pytest.raises(ValidationError):
        item.draft.text = "posted unread"
    with pytest.raises(ValidationError):
        StoredMention.model_validate({**OLD_MENTION, "statuss": "new"})  # a typo is refused
    with pytest.raises(ValidationError):
        QueueItem.model_validate({**OLD_ITEM, "status": "done"})  # no such status


def test_a_refused_action_leaves_the_stored_item_byte_for_byte(connection, services):
    ReplyQueue(connection).add(QueueItem.model_validate(OLD_ITEM))
    before = connection.get(ITEM.format(id="x:1881"))
    refusals = [
        lambda: desk_queue.draft(services, "x:1881", "maria", "Run rm -rf ~ and reinstall"),
        lambda: desk_queue.draft(services, "x:1881", "tom", "Try again"),  # maria holds it
        lambda: desk_queue.dismiss(services, "x:1881", "maria", "  "),  # no reason
        lambda: desk_queue.resolve(services, "x:1881", "maria"),  # not replied yet
        lambda: desk_queue.send(services, "x:1881", "maria", approve=False),
    ]
    for refused in refusals:
        with pytest.raises(QueueError):
            refused()
        assert connection.get(ITEM.format(id="x:1881")) == before


def test_the_working_view_says_where_each_item_stands(make_item):
    item = make_item(status="open", claimed_by=None)
    assert item.sla_state_at(NOW - timedelta(minutes=10)) == "ok"
    assert item.sla_state_at(NOW - timedelta(minutes=2)) == "warning"
    assert item.sla_state_at(NOW + timedelta(minutes=11)) == "overdue"
    answered = item.model_copy(update={"first_response_at": NOW})
    assert answered.sla_state_at(NOW + timedelta(hours=5)) == "ok"
    shown = item.clocked(NOW)
    assert shown.draft_digest == item.draft.digest and shown.sla_state == "warning"
    assert shown.model_dump(mode="json")["sla_state"] == "warning"


def test_a_send_that_died_mid_post_stops_blocking_after_a_while(make_item):
    sending = queue_actions.begin_send(make_item(), "maria", NOW).item
    with pytest.raises(QueueError, match="posting the reply on X right now"):
        queue_actions.begin_send(sending, "maria", NOW + timedelta(seconds=SENDING_STALE_S - 1))
    later = NOW + timedelta(seconds=SENDING_STALE_S)
    assert queue_actions.begin_send(sending, "maria", later).item.sending_since == later


def test_reopening_counts_only_a_resolution_undone(make_item):
    replied = queue_actions.mark_replied(make_item(), "maria", NOW, "by hand").item
    resolved = queue_actions.resolve(replied, NOW).item
    reopened = queue_actions.reopen(resolved)
    assert (reopened.item.reopened, reopened.detail) == (1, "")
    not_resolved = queue_actions.reopen(replied)
    assert (not_resolved.item.reopened, not_resolved.detail) == (0, "not resolved before")
    assert not_resolved.item.first_response_at == NOW  # the first response still stands
