"""The support metrics and report for a period, read from the stores (the computing is in
``desk.metrics`` and the Markdown in ``desk.report``, both pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from redis import Redis

from desk.mentions import MentionStore
from desk.metrics import IncidentFacts, compute_metrics
from desk.reply_queue import ReplyQueue
from desk.report import render_report
from oncall.incidents import IncidentStore
from oncall.records import Incident

Period = Literal["day", "week"]
LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7)}


QUEUE_LOOKBACK = timedelta(days=30)  # items still waiting from before the period count too


def period_metrics(connection: Redis, period: Period, now: datetime) -> dict:
    since = now - LENGTH[period]
    # Mentions are indexed by creation time and counted by arrival: read a day earlier.
    return compute_metrics(
        MentionStore(connection).between(since - timedelta(days=1), now),
        ReplyQueue(connection).items(since - QUEUE_LOOKBACK, now),
        [incident_facts(incident) for incident in IncidentStore(connection).between(since, now)],
        since,
        now,
    )


def incident_facts(incident: Incident) -> IncidentFacts:
    """What the metrics read of an incident."""
    return IncidentFacts(
        opened_at=incident.opened_at,
        status=incident.status,
        escalations=incident.escalations,
        events=tuple(entry.event for entry in incident.timeline),
    )


def period_report(connection: Redis, period: Period, now: datetime) -> str:
    return render_report(period_metrics(connection, period, now), period, now)
