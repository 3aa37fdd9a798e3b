"""Grouping P0 reports into incidents (fakeredis: the logic, not the server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from oncall.incidents import IncidentError, IncidentStore

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)
WINDOW = timedelta(hours=2)


@pytest.fixture
def store():
    return IncidentStore(fakeredis.FakeRedis())


def _report(
    number: int, text: str, rule: str = "crash-for-everyone", category="command-generation"
):
    mention = {"id": f"x:{number}", "channel": "x", "text": text, "url": None}
    triage = {
        "priority": "P0",
        "category": category,
        "rules": [{"id": rule, "weight": 1.0, "levels": ["P0"], "matches": []}],
    }
    return mention, triage


def test_same_rule_joins_different_problem_opens(store):
    first, outcome = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    assert outcome == "opened"
    joined, outcome = store.record_report(
        *_report(2, "segfault at startup, every time"), NOW, WINDOW
    )
    assert (joined["id"], outcome) == (first["id"], "joined")
    other, outcome = store.record_report(
        *_report(3, "my API key leaked to telemetry", "secret-or-pii-leaked", "privacy"),
        NOW,
        WINDOW,
    )
    assert outcome == "opened" and other["id"] != first["id"]


def test_same_category_joins_only_with_similar_words(store):
    a, _ = store.record_report(
        *_report(1, "telemetry uploads my shell history", "r1", "privacy"), NOW, WINDOW
    )
    b, outcome = store.record_report(
        *_report(2, "telemetry uploads shell history without consent", "r2", "privacy"), NOW, WINDOW
    )
    assert (b["id"], outcome) == (a["id"], "joined")
    c, outcome = store.record_report(
        *_report(3, "password printed in debug logs", "r3", "privacy"), NOW, WINDOW
    )
    assert outcome == "opened" and c["id"] != a["id"]


def test_outside_the_window_opens_a_new_incident(store):
    a, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    b, outcome = store.record_report(
        *_report(2, "caro crashes on launch"), NOW + WINDOW * 2, WINDOW
    )
    assert outcome == "opened" and b["id"] != a["id"]


def test_a_rerun_job_files_the_same_mention_once(store):
    a, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    again, outcome = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    assert (again["id"], outcome, len(again["mentions"])) == (a["id"], "known", 1)


def test_an_incident_and_its_page_are_written_together_or_not_at_all(store):
    """A job dying between filing a report and queueing its page must not leave an incident
    that the re-run sees as known and never pages."""

    def crash(pipeline, incident):
        pipeline.set("page-queued", incident["id"])
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW, on_opened=crash)
    assert store.connection.keys("*") == []  # nothing half-written
    queued = []
    incident, outcome = store.record_report(
        *_report(1, "caro crashes on launch"),
        NOW,
        WINDOW,
        on_opened=lambda pipeline, incident: queued.append(incident["id"]),
    )
    assert outcome == "opened" and queued == [incident["id"]]


def test_transitions_follow_the_state_machine(store):
    incident, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    store.transition(incident["id"], "acknowledged", NOW, "acknowledged")
    with pytest.raises(IncidentError, match="cannot become escalated"):
        store.transition(incident["id"], "escalated", NOW, "escalated")
    resolved = store.transition(incident["id"], "resolved", NOW, "resolved")
    assert [e["event"] for e in resolved["timeline"]] == ["opened", "acknowledged", "resolved"]
    reopened, outcome = store.record_report(*_report(2, "still crashing on launch"), NOW, WINDOW)
    assert (reopened["id"], outcome, reopened["status"]) == (
        incident["id"],
        "reopened",
        "triggered",
    )


def test_titles_and_timeline_are_redacted(store):
    text = "caro crashes on launch, mail me at sam@example.com, key sk-abcdefghijklmnopqrstu"
    incident, _ = store.record_report(*_report(1, text), NOW, WINDOW)
    assert "sam@example.com" not in incident["title"] and "sk-abc" not in incident["title"]
    assert "sam@example.com" not in str(incident["timeline"])


def test_the_log_pages_incidents_opened_in_the_same_second_exactly_once(store):
    for number in range(7):  # seven problems reported in the same second
        rule = f"rule-{number}"
        store.record_report(
            *_report(number, f"problem {number}", rule, f"cat{number}"), NOW, WINDOW
        )
    seen, cursor = [], None
    while True:
        items, cursor = store.list(None, 3, cursor)
        seen += [item["id"] for item in items]
        if cursor is None:
            break
    assert len(seen) == 7 and len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["nan:x", "inf:x", "-inf:x", "soon:x"])
def test_a_cursor_that_is_not_a_finite_score_is_refused(store, cursor):
    with pytest.raises(ValueError):
        store.list(None, 10, cursor)
