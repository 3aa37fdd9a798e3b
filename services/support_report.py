"""The support metrics and report for a period, read from the stores (the computing is in
``desk.metrics`` and the Markdown in ``desk.report``, both pure; the override rate's
section is written here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from redis import Redis

from desk.mentions import MentionStore
from desk.metrics import IncidentFacts, compute_metrics
from desk.reply_queue import ReplyQueue
from desk.report import render_report
from oncall.incidents import IncidentStore
from oncall.records import Incident
from rules.schema import BusinessHours

Period = Literal["day", "week"]
LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7)}


QUEUE_LOOKBACK = timedelta(days=30)  # items still waiting from before the period count too
# The shipped rulebook's business hours' zone: the team's, unless the caller names its own.
DEFAULT_ZONE = BusinessHours().timezone


def period_metrics(
    connection: Redis, period: Period, now: datetime, zone: tzinfo | str = DEFAULT_ZONE
) -> dict:
    """The period's metrics, its hours counted on ``zone``'s clock (the team's)."""
    since = now - LENGTH[period]
    # Mentions are indexed by creation time and counted by arrival: read a day earlier.
    return compute_metrics(
        MentionStore(connection).between(since - timedelta(days=1), now),
        ReplyQueue(connection).items(since - QUEUE_LOOKBACK, now),
        [incident_facts(incident) for incident in IncidentStore(connection).between(since, now)],
        since,
        now,
        zone=as_zone(zone),
    )


def as_zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def incident_facts(incident: Incident) -> IncidentFacts:
    """What the metrics read of an incident."""
    return IncidentFacts(
        opened_at=incident.opened_at,
        status=incident.status,
        escalations=incident.escalations,
        events=tuple(entry.event for entry in incident.timeline),
        id=incident.id,
        title=incident.title,
        priority=incident.priority,
        category=incident.category,
        mention_ids=incident.mentions,
    )


def period_report(
    connection: Redis, period: Period, now: datetime, zone: tzinfo | str = DEFAULT_ZONE
) -> str:
    """The playbook's report in Markdown, its times on ``zone``'s clock (the team's: the
    rulebook's business hours' zone)."""
    team_zone = as_zone(zone)
    metrics = period_metrics(connection, period, now, team_zone)
    report = render_report(metrics, period, now, zone=team_zone)
    return report + "\n" + override_section(metrics["overrides"])


TRUST = (
    "The share of mentions the team re-prioritized, by the priority the rules gave them: "
    "in production, the measure of how far the team trusts the triage."
)


def override_text(block: Mapping[str, Any]) -> str:
    """E.g. "3 of 40 re-prioritized (7.5%); now P1: 2, P3: 1", or "none received"."""
    if not block["mentions"]:
        return "none received"
    share = f"{block['pct']:.1f}".removesuffix(".0")
    text = f"{block['corrected']} of {block['mentions']} re-prioritized ({share}%)"
    now = ", ".join(f"{level}: {count}" for level, count in block["to"].items() if count)
    return f"{text}; now {now}" if now else text


def override_section(overrides: Mapping[str, Any]) -> str:
    """The report's override-rate section, in Markdown."""
    lines = [
        f"- {priority}: {override_text(block)}"
        for priority, block in overrides["by_priority"].items()
    ]
    lines.append(f"- All: {override_text(overrides['total'])}")
    return "## Override rate\n\n" + TRUST + "\n\n" + "\n".join(lines) + "\n"
