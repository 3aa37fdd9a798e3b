"""Grouping P0 reports into incidents, and incidents as typed records in Redis (fakeredis:
the logic, not the server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from pydantic import ValidationError

from oncall.incidents import RECORD, IncidentError, IncidentStore
from oncall.records import IncidentReport, PageFacts
from rules.result import TriageRecord

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)
WINDOW = timedelta(hours=2)


@pytest.fixture
def store():
    return IncidentStore(fakeredis.FakeRedis())


def _report(
    number: int, text: str, rule: str = "crash-for-everyone", category="command-generation"
) -> tuple[IncidentReport, TriageRecord]:
    report = IncidentReport(mention_id=f"x:{number}", channel="x", text=text)
    fired = {
        "id": rule,
        "description": rule,
        "levels": ["P0"],
        "weight": 1.0,
        "category": category,
        "kind": "bug",
        "matches": [],
    }
    triage = TriageRecord.model_validate(
        {
            "priority": "P0",
            "category": category,
            "kind": "bug",
            "score": 1.0,
            "pages": True,
            "scores": {"P0": 1.0},
            "rules": [fired],
        }
    )
    return report, triage


def test_same_rule_joins_different_problem_opens(store):
    first, outcome = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    assert outcome == "opened"
    joined, outcome = store.record_report(
        *_report(2, "segfault at startup, every time"), NOW, WINDOW
    )
    assert (joined.id, outcome) == (first.id, "joined")
    other, outcome = store.record_report(
        *_report(3, "my API key leaked to telemetry", "secret-or-pii-leaked", "privacy"),
        NOW,
        WINDOW,
    )
    assert outcome == "opened" and other.id != first.id


def test_same_category_joins_only_with_similar_words(store):
    a, _ = store.record_report(
        *_report(1, "telemetry uploads my shell history", "r1", "privacy"), NOW, WINDOW
    )
    b, outcome = store.record_report(
        *_report(2, "telemetry uploads shell history without consent", "r2", "privacy"), NOW, WINDOW
    )
    assert (b.id, outcome) == (a.id, "joined")
    c, outcome = store.record_report(
        *_report(3, "password printed in debug logs", "r3", "privacy"), NOW, WINDOW
    )
    assert outcome == "opened" and c.id != a.id


def test_outside_the_window_opens_a_new_incident(store):
    a, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    b, outcome = store.record_report(
        *_report(2, "caro crashes on launch"), NOW + WINDOW * 2, WINDOW
    )
    assert outcome == "opened" and b.id != a.id


def test_a_rerun_job_files_the_same_mention_once(store):
    a, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    again, outcome = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    assert (again.id, outcome, len(again.mentions)) == (a.id, "known", 1)


def test_an_incident_and_its_page_are_written_together_or_not_at_all(store):
    """A job dying between filing a report and queueing its page must not leave an incident
    that the re-run sees as known and never pages."""

    def crash(pipeline, incident):
        pipeline.set("page-queued", incident.id)
        raise SystemExit("worker killed")

    with pytest.raises(SystemExit):
        store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW, on_opened=crash)
    assert store.connection.keys("*") == []  # nothing half-written
    queued = []
    incident, outcome = store.record_report(
        *_report(1, "caro crashes on launch"),
        NOW,
        WINDOW,
        on_opened=lambda pipeline, incident: queued.append(incident.id),
    )
    assert outcome == "opened" and queued == [incident.id]


def test_transitions_follow_the_state_machine(store):
    incident, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    store.transition(incident.id, "acknowledged", NOW, "acknowledged")
    with pytest.raises(IncidentError, match="cannot become escalated"):
        store.transition(incident.id, "escalated", NOW, "escalated")
    resolved = store.transition(incident.id, "resolved", NOW, "resolved")
    assert [e.event for e in resolved.timeline] == ["opened", "acknowledged", "resolved"]
    reopened, outcome = store.record_report(*_report(2, "still crashing on launch"), NOW, WINDOW)
    assert (reopened.id, outcome, reopened.status) == (
        incident.id,
        "reopened",
        "triggered",
    )


def test_titles_and_timeline_are_redacted(store):
    text = "caro crashes on launch, mail me at sam@example.com, key sk-abcdefghijklmnopqrstu"
    incident, _ = store.record_report(*_report(1, text), NOW, WINDOW)
    assert "sam@example.com" not in incident.title and "sk-abc" not in incident.title
    assert "sam@example.com" not in str(incident.timeline)


def test_the_log_pages_incidents_opened_in_the_same_second_exactly_once(store):
    for number in range(7):  # seven problems reported in the same second
        rule = f"rule-{number}"
        store.record_report(
            *_report(number, f"problem {number}", rule, f"cat{number}"), NOW, WINDOW
        )
    seen, cursor = [], None
    while True:
        items, cursor = store.list(None, 3, cursor)
        seen += [item.id for item in items]
        if cursor is None:
            break
    assert len(seen) == 7 and len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["nan:x", "inf:x", "-inf:x", "soon:x"])
def test_a_cursor_that_is_not_a_finite_score_is_refused(store, cursor):
    with pytest.raises(ValueError):
        store.list(None, 10, cursor)


# An incident as the store wrote it before incidents were typed records: JSON with
# isoformat times, page facts only where a note gave them.
OLD_SHAPE = {
    "id": "inc-20260124-0a1b2c3d",
    "status": "triggered",
    "priority": "P0",
    "category": "command-generation",
    "rule": "crash-for-everyone",
    "dedup_key": "hark-inc-20260124-0a1b2c3d",
    "title": "caro crashes on launch",
    "opened_at": "2026-01-24T14:00:00+00:00",
    "updated_at": "2026-01-24T14:05:00.250000+00:00",
    "last_report_at": "2026-01-24T14:05:00+00:00",
    "mentions": ["x:1", "discord:2"],
    "channels": ["x", "discord"],
    "links": ["https://x.com/u/status/1"],
    "explanation": [
        {"rule": "crash-for-everyone", "weight": 1.0, "levels": ["P0"], "matched": ["crashes"]}
    ],
    "words": ["caro", "crashes", "launch"],
    "escalations": 0,
    "pages": [
        {"at": "2026-01-24T14:00:02+00:00", "event": "page-error", "action": "trigger",
         "config_error": True},
        {"at": "2026-01-24T14:05:00.250000+00:00", "event": "page-sent", "action": "trigger",
         "dedup_key": "hark-inc-20260124-0a1b2c3d", "dry_run": False,
         "summary": "[Caro P0] caro crashes on launch (1 report: x)", "severity": "critical"},
    ],
    "timeline": [
        {"at": "2026-01-24T14:00:00+00:00", "event": "opened",
         "detail": "x report: caro crashes on launch"},
        {"at": "2026-01-24T14:00:02+00:00", "event": "page-error",
         "detail": "trigger: PagerDuty answered 400", "action": "trigger", "config_error": True},
        {"at": "2026-01-24T14:05:00+00:00", "event": "report", "detail": "discord report 2"},
        {"at": "2026-01-24T14:05:00.250000+00:00", "event": "page-sent",
         "detail": "trigger sent", "action": "trigger",
         "dedup_key": "hark-inc-20260124-0a1b2c3d", "dry_run": False,
         "summary": "[Caro P0] caro crashes on launch (1 report: x)", "severity": "critical"},
    ],
}  # fmt: skip


def _store_old_shape(store: IncidentStore) -> str:
    incident_id = OLD_SHAPE["id"]
    store.connection.set(RECORD.format(id=incident_id), json.dumps(OLD_SHAPE))
    return incident_id


def test_an_incident_stored_in_the_old_json_shape_loads_and_changes(store):
    incident = store.get(_store_old_shape(store))
    # stored before incidents had an urgency: every one then paged at high urgency; nor
    # the versions of its reports, nor incidents merged into it
    new_defaults = {"urgency": "high", "versions": [], "absorbed": []}
    shown = {k: v for k, v in OLD_SHAPE.items() if k != "words"} | new_defaults
    assert incident.public() == shown
    assert incident.pages[0].config_error is True and incident.pages[1].dry_run is False
    assert incident.opened_at == datetime(2026, 1, 24, 14, 0, tzinfo=UTC)

    later = datetime(2026, 1, 24, 14, 30, tzinfo=UTC)
    store.transition(incident.id, "acknowledged", later, "acknowledged", "by Rosa from Hark")
    store.note(incident.id, later, "page-sent", "acknowledge sent", PageFacts(action="acknowledge"))
    saved = json.loads(store.connection.get(RECORD.format(id=incident.id)))
    assert saved["timeline"][:4] == OLD_SHAPE["timeline"] and saved["words"] == OLD_SHAPE["words"]
    assert saved["timeline"][4:] == [
        {"at": later.isoformat(), "event": "acknowledged", "detail": "by Rosa from Hark"},
        {"at": later.isoformat(), "event": "page-sent", "detail": "acknowledge sent",
         "action": "acknowledge"},
    ]  # fmt: skip
    assert saved["pages"][-1] == {"at": later.isoformat(), "event": "page-sent",
                                  "action": "acknowledge"}  # fmt: skip
    assert (saved["status"], saved["updated_at"]) == ("acknowledged", later.isoformat())


def test_a_stored_incident_in_a_shape_hark_never_wrote_is_refused(store):
    incident_id = _store_old_shape(store)
    odd = {**OLD_SHAPE, "status": "snoozed"}
    store.connection.set(RECORD.format(id=incident_id), json.dumps(odd))
    with pytest.raises(ValidationError, match="status"):
        store.get(incident_id)


def test_a_change_returns_a_new_record_and_leaves_the_one_read_as_it_was(store):
    incident, _ = store.record_report(*_report(1, "caro crashes on launch"), NOW, WINDOW)
    with pytest.raises(ValidationError, match="frozen"):
        incident.status = "resolved"
    acknowledged = store.transition(incident.id, "acknowledged", NOW, "acknowledged")
    assert (incident.status, len(incident.timeline)) == ("triggered", 1)
    assert (acknowledged.status, len(acknowledged.timeline)) == ("acknowledged", 2)
    assert store.get(incident.id) == acknowledged


def _launch_day_incidents(shipped_rules) -> dict[str, list[str]]:
    """The launch-day sample's P0 reports filed in order, as the workers file them: each
    incident's texts by its id."""
    from hark.replay import launch_day_sample

    engine, store = shipped_rules.engine, IncidentStore(fakeredis.FakeRedis())
    start = datetime(2026, 1, 24, 13, 0, tzinfo=UTC)
    lines = [json.loads(line) for line in launch_day_sample().read_text("utf-8").splitlines()]
    filed: dict[str, list[str]] = {}
    for number, message in enumerate(sorted(lines, key=lambda m: m["offset_s"])):
        triage = engine.classify(message["text"], message["channel"]).record()
        if not triage.pages:
            continue
        report = IncidentReport(
            mention_id=f"{message['channel']}:{number}",
            channel=message["channel"],
            text=message["text"],
        )
        now = start + timedelta(seconds=message["offset_s"])
        incident, _ = store.record_report(report, triage, now, WINDOW)
        filed.setdefault(incident.id, []).append(message["text"])
    return filed


def test_the_launch_crash_is_one_incident_and_three_other_bugs_are_not(shipped_rules):
    filed = _launch_day_incidents(shipped_rules)

    def incident_of(words: str) -> str:
        (found,) = [i for i, texts in filed.items() if any(words in t for t in texts)]
        return found

    crash = incident_of("segfaults on launch (macOS 14, Homebrew)")
    same_crash = [
        "1.2.0 crashes on launch for me too",
        "caro se cierra nada más abrirlo",
        "Caro fecha ao iniciar",
        "stürzt beim Start sofort ab",
        "won't start on our Linux machines",
        "+1 to the crash",
    ]
    assert {incident_of(words) for words in same_crash} == {crash}
    assert len(filed[crash]) >= 19
    apple_silicon = incident_of("DOA on apple silicon")
    config_panic = incident_of("src/config/loader.rs")
    sw_vers_panic = incident_of("sw_vers")
    assert len({crash, apple_silicon, config_panic, sw_vers_panic}) == 4
