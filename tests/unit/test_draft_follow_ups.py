"""``draft_fixed_in_follow_ups``: each report of a resolved incident gets a "fixed in" draft
on its queue item, in the reporter's language; answered items are reopened; someone else's
claim is left alone; a version that is no release number changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from desk.config import DeskConfig
from desk.drafts import InvalidVersionError, load_templates
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from oncall.incidents import RECORD
from oncall.records import Incident
from services import queue
from services.context import Services
from services.follow_ups import draft_fixed_in_follow_ups
from services.incidents import UnknownIncident

NOW = datetime(2026, 1, 24, 16, 0, tzinfo=UTC)
REPORTS = {
    "discord:1": "caro падает сразу при запуске, версия 1.2.0, arch linux. ничего не работает",
    "github:2": "1.2.0 crashes on launch\n\n### Caro Version\n1.2.0\n\nsegfault every time",
    "x:3": "caro 1.2.0 一启动就崩溃 😭 完全没法用了",
    "discord:4": "da quando ho aggiornato alla 1.2.0 caro si chiude subito, non funziona niente",
}


@pytest.fixture(scope="module")
def templates():
    return load_templates()


@pytest.fixture
def services(templates) -> Services:
    connection = fakeredis.FakeRedis()
    queue_ = ReplyQueue(connection)
    for number, (mention_id, text) in enumerate(REPORTS.items()):
        channel, native = mention_id.split(":")
        queue_.add(
            QueueItem.model_validate(
                {
                    "mention_id": mention_id,
                    "native_id": str(1000 + number) if channel == "x" else native,
                    "channel": channel,
                    "author": f"user{number}",
                    "text": text,
                    "priority": "P0",
                    "category": "other",
                    "kind": "bug",
                    "received_at": NOW - timedelta(hours=2),
                    "due_at": NOW - timedelta(hours=1),
                    "draft": {"text": "Thanks, we are on it!", "template_id": "p0"},
                }
            )
        )
    incident = Incident.model_validate(
        {
            "id": "inc-1",
            "status": "resolved",
            "priority": "P0",
            "category": "other",
            "dedup_key": "hark-inc-1",
            "title": "Caro crashes on launch",
            "opened_at": NOW - timedelta(hours=2),
            "updated_at": NOW,
            "last_report_at": NOW - timedelta(hours=1),
            "mentions": [*REPORTS, "email:never-queued"],
            "channels": ["discord", "github", "x"],
            "links": [],
            "explanation": [],
            "words": ["crash", "launch"],
        }
    )
    connection.set(RECORD.format(id="inc-1"), incident.model_dump_json())
    return Services(connection, desk=DeskConfig(replies=templates), clock=lambda: NOW)


def test_each_report_gets_a_fixed_in_draft_in_its_language(services):
    queue.replied(services, "github:2", "ana")  # answered already: reopened
    queue.claim(services, "discord:4", "ben")  # someone else is on it: left alone
    results = {
        result.mention_id: result
        for result in draft_fixed_in_follow_ups(services, "inc-1", "v1.2.1", "ana")
    }
    assert {mention: result.outcome for mention, result in results.items()} == {
        "discord:1": "drafted",
        "github:2": "reopened",
        "x:3": "drafted",
        "discord:4": "claimed",
        "email:never-queued": "no-item",
    }
    assert (results["discord:1"].language, results["x:3"].language) == ("ru", "zh")
    items = ReplyQueue(services.connection)
    russian, english, chinese = (items.get(m) for m in ("discord:1", "github:2", "x:3"))
    assert "v1.2.1" in russian.draft.text and "исправлена" in russian.draft.text
    assert "fixed in v1.2.1" in english.draft.text and english.status == "claimed"
    assert "v1.2.1" in chinese.draft.text and chinese.draft.fits_x
    assert items.get("discord:4").draft.text == "Thanks, we are on it!"


@pytest.mark.parametrize("version", ["1.2", "next week", "v1.2.1 and 1.2.2", ""])
def test_a_version_that_is_no_release_number_changes_nothing(services, version):
    with pytest.raises(InvalidVersionError, match=r"1\.2\.1 or v1\.2\.1"):
        draft_fixed_in_follow_ups(services, "inc-1", version, "ana")
    assert ReplyQueue(services.connection).get("discord:1").draft.text == "Thanks, we are on it!"


def test_an_unknown_incident_is_refused(services):
    with pytest.raises(UnknownIncident):
        draft_fixed_in_follow_ups(services, "inc-404", "1.2.1", "ana")


def test_resolving_the_incident_with_a_version_drafts_the_follow_ups(services):
    from oncall.records import Incident
    from services.incidents import resolve_incident

    stored = services.connection.get(RECORD.format(id="inc-1"))
    open_again = Incident.model_validate_json(stored).model_copy(update={"status": "triggered"})
    services.connection.set(RECORD.format(id="inc-1"), open_again.model_dump_json())
    incident, changed = resolve_incident(services, "inc-1", "ana", "config loader fixed", "1.2.1")
    assert changed and incident.status == "resolved" and incident.fixed_in == "1.2.1"
    items = ReplyQueue(services.connection)
    assert "fixed in v1.2.1" in items.get("github:2").draft.text
    assert "v1.2.1" in items.get("x:3").draft.text
