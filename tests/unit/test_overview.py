"""What the overview says of the pager: a dry run in plain words, with its pages counted by
what they were (triggers, escalations) and the incidents escalated (services.pager_report)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oncall.incident_changes import open_incident
from oncall.records import Incident, IncidentReport, PageAction, PageFacts
from rules.result import TriageRecord
from services.pager_report import (
    PageTally,
    dry_run_text,
    escalated_text,
    pages_in_words,
    tally_pages,
)

NOW = datetime(2026, 1, 24, 15, 30, tzinfo=UTC)
DAY_AGO = NOW - timedelta(hours=24)
TRIAGE = TriageRecord.model_validate(
    {
        "priority": "P0",
        "category": "command-generation",
        "kind": "bug",
        "score": 2.0,
        "pages": True,
        "scores": {"P0": 2.0},
        "rules": [],
    }
)


def incident(number: int, opened: datetime) -> Incident:
    report = IncidentReport(mention_id=f"x:{number}", channel="x", text=f"crash {number}")
    return open_incident(report, TRIAGE, opened)


def paged(record: Incident, at: datetime, action: PageAction, dry_run: bool = True) -> Incident:
    facts = PageFacts(action=action, dry_run=dry_run)
    return record.noted(at, "page-sent", f"{action} sent", facts)


def escalated(record: Incident, at: datetime) -> Incident:
    return paged(record.moved("escalated", at, "escalated", "not acknowledged"), at, "escalate")


def test_four_dry_run_triggers_and_two_escalations_are_counted_as_what_they_are():
    opened = NOW - timedelta(hours=2)
    records = [paged(incident(n, opened), opened, "trigger") for n in range(4)]
    records[0] = escalated(records[0], opened + timedelta(minutes=15))
    records[1] = escalated(records[1], opened + timedelta(minutes=15))
    records[2] = records[2].noted(opened, "page-retry", "trigger: 500 (retrying)")  # not a page
    tally = tally_pages(records, DAY_AGO)
    assert tally.dry_run == {"trigger": 4, "escalate": 2} and tally.sent == {}
    assert tally.escalated_incidents == 2
    assert dry_run_text(tally) == (
        "Dry run: no PagerDuty key is set (HARK_PD_ROUTING_KEY); 6 pages recorded in the last "
        "24 hours, not sent (4 triggers, 2 escalations)."
    )
    assert escalated_text(tally) == (
        "2 incidents escalated in the last 24 hours: nobody acknowledged in time"
    )


def test_pages_sent_to_pagerduty_are_not_dry_run_pages_and_old_pages_are_left_out():
    sent = paged(incident(1, NOW - timedelta(hours=1)), NOW - timedelta(hours=1), "trigger", False)
    old = paged(incident(2, NOW - timedelta(hours=30)), NOW - timedelta(hours=30), "trigger")
    tally = tally_pages([sent, escalated(old, NOW - timedelta(hours=29))], DAY_AGO)
    assert tally.sent == {"trigger": 1} and tally.dry_run == {}
    assert tally.escalated_incidents == 0 and escalated_text(tally) == ""


def test_a_dry_run_with_no_page_yet_says_so():
    assert dry_run_text(PageTally()) == (
        "Dry run: no PagerDuty key is set (HARK_PD_ROUTING_KEY); "
        "no page recorded in the last 24 hours."
    )
    one = PageTally(dry_run={"trigger": 1})
    assert "1 page recorded in the last 24 hours, not sent (1 trigger)." in dry_run_text(one)


def test_actions_in_words_and_the_tally_puts_triggers_first():
    assert pages_in_words({"escalate": 1, "resolve-low": 2, "trigger": 3}) == (
        "1 escalation, 2 low-urgency resolves, 3 triggers"
    )
    ordered = tally_pages(
        [paged(paged(incident(1, NOW), NOW, "escalate"), NOW, "trigger")], DAY_AGO
    )
    assert list(ordered.dry_run) == ["trigger", "escalate"]


def test_the_dry_run_is_judged_by_the_pages_the_workers_recorded():
    from services.pager_report import PageTally

    assert PageTally(dry_run={"trigger": 4}).is_dry_run(pager_is_dry=True)
    assert not PageTally(dry_run={"trigger": 4}).is_dry_run(pager_is_dry=False)  # key now set
    assert not PageTally(sent={"trigger": 2}).is_dry_run(pager_is_dry=True)  # workers have one
    assert PageTally().is_dry_run(pager_is_dry=True)
