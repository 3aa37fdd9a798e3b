"""The support playbook's Success Metrics for a period, computed from Hark's records.

Pure: the desk's records in (stored mentions, reply-queue items) and what the metrics
read of each incident (``IncidentFacts``), a JSON-ready dict out, the clock passed in. A
record belongs to the period when it was received in ``[since, until)`` (an incident:
opened in it).

Conventions:
- durations are seconds (``*_s``), percentages are 0-100 (``*_pct``), rates are 0-1
  (``*_rate``); a figure with nothing to measure is ``None``, never a division by zero;
- an SLA is met when the clock stopped at or before its due time; an item still waiting
  at or after its due time (at ``now``, as the working view says overdue) is a miss; one
  still waiting before it is ``pending``; an item with no due time is left out of the SLA
  percentage (but is in the averages);
- a dismissed item that was never answered is neither answered nor waiting;
- hours are bucketed on the team's clock (``zone``, default UTC), so that a volume chart's
  hours are the team's even in a zone half an hour off UTC; naive timestamps are read as UTC.

The period's problems (top issues, KB candidates) are ``desk.issues``; the targets and
their verdicts ``desk.targets``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from desk.issues import IncidentFacts, kb_candidates, top_issues
from desk.records import WAITING, QueueItem, StoredMention
from desk.targets import targets
from vocabulary.channels import CHANNELS

__all__ = ["PRIORITIES", "IncidentFacts", "compute_metrics"]

PRIORITIES = ("P0", "P1", "P2", "P3")


def compute_metrics(
    mentions: Iterable[StoredMention],
    items: Iterable[QueueItem],
    incidents: Iterable[IncidentFacts],
    since: datetime,
    until: datetime,
    *,
    now: datetime | None = None,
    zone: tzinfo = UTC,
) -> dict[str, Any]:
    """The period's metrics. ``now`` (default ``until``) decides what is past due;
    ``zone``, the team's, which hours the volume is counted in."""
    since, until = _utc(since), _utc(until)
    now = until if now is None else _utc(now)
    in_window = _window(since, until)
    received = [mention for mention in mentions if in_window(mention.received_at)]
    items = list(items)
    in_period = [item for item in items if in_window(item.received_at)]
    opened = sorted(
        (incident for incident in incidents if in_window(incident.opened_at)),
        key=lambda incident: _utc(incident.opened_at),
    )
    first_response = _first_response(in_period, now)
    resolution = _clock(in_period, now, RESOLUTION)
    reopened = _reopened(in_period)
    escalation = _incidents(opened)
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat(), "now": now.isoformat()},
        "first_response": first_response,
        "resolution": resolution,
        "resolution_by_priority": _resolution_by_priority(in_period, now),
        "escalation_rate": escalation["rate"],
        "incidents": escalation,
        "reopened_rate": reopened["rate"],
        "reopened": reopened,
        "queue": _queue(items, until, now),
        "volume": _volume(received, since, until, zone),
        "top_issues": top_issues(received, opened),
        "kb_candidates": kb_candidates(received, opened),
        "overrides": _overrides(received),
        "targets": targets(first_response, resolution, reopened, escalation),
    }


# --- time ---------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment is not None else None


def _hour(moment: datetime, zone: tzinfo) -> datetime:
    """The start of the hour holding ``moment`` on ``zone``'s clock, as a UTC instant."""
    local = moment.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def _window(since: datetime, until: datetime) -> Callable[[datetime], bool]:
    return lambda moment: since <= _utc(moment) < until


# --- arithmetic ---------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _timing(durations: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(durations),
        "average_s": statistics.fmean(durations) if durations else None,
        "median_s": statistics.median(durations) if durations else None,
        "max_s": max(durations) if durations else None,
    }


def _priority_keys(values: Iterable[str]) -> list[str]:
    return [*PRIORITIES, *sorted(set(values) - set(PRIORITIES))]


# --- SLA clocks: first response and resolution -----------------------------------------


@dataclass(frozen=True)
class Clock:
    """An SLA clock: from received_at to when it stopped, due at its due time."""

    stopped: Callable[[QueueItem], datetime | None]
    due: Callable[[QueueItem], datetime | None]


FIRST_RESPONSE = Clock(lambda item: item.first_response_at, lambda item: item.due_at)
RESOLUTION = Clock(lambda item: item.resolved_at, lambda item: item.resolution_due_at)


def _clock(items: Iterable[QueueItem], now: datetime, clock: Clock) -> dict[str, Any]:
    """One SLA clock over ``items``."""
    durations: list[float] = []
    verdicts: list[bool] = []
    pending = overdue = 0
    for item in items:
        stopped, due_at = _maybe_utc(clock.stopped(item)), _maybe_utc(clock.due(item))
        if stopped is not None:
            durations.append(max(0.0, (stopped - _utc(item.received_at)).total_seconds()))
            if due_at is not None:
                verdicts.append(stopped <= due_at)
        elif item.status == "dismissed":
            continue
        elif due_at is not None and now >= due_at:
            verdicts.append(False)
            overdue += 1
        else:
            pending += 1
    return {
        **_timing(durations),
        "within_sla": sum(verdicts),
        "sla_counted": len(verdicts),
        "within_sla_pct": _pct(sum(verdicts), len(verdicts)),
        "overdue": overdue,
        "pending": pending,
    }


def _first_response(items: list[QueueItem], now: datetime) -> dict[str, Any]:
    p0 = [item for item in items if item.priority == "P0"]
    return {**_clock(items, now, FIRST_RESPONSE), "p0": _clock(p0, now, FIRST_RESPONSE)}


def _resolution_by_priority(items: list[QueueItem], now: datetime) -> dict[str, Any]:
    keys = _priority_keys(item.priority for item in items)
    return {
        priority: _clock([item for item in items if item.priority == priority], now, RESOLUTION)
        for priority in keys
    }


# --- quality: reopened items, escalated incidents ------------------------------------


def _reopened(items: list[QueueItem]) -> dict[str, Any]:
    """Items reopened over items ever resolved (a reopened item was resolved once)."""
    reopened = sum(1 for item in items if item.reopened > 0)
    resolved = sum(1 for item in items if item.resolved_at is not None or item.reopened > 0)
    return {"count": reopened, "resolved": resolved, "rate": _ratio(reopened, resolved)}


def _incidents(incidents: list[IncidentFacts]) -> dict[str, Any]:
    escalated = sum(1 for incident in incidents if incident.escalated)
    statuses = Counter(incident.status for incident in incidents)
    return {
        "count": len(incidents),
        "escalated": escalated,
        "open": len(incidents) - statuses.get("resolved", 0),
        "by_status": dict(sorted(statuses.items())),
        "rate": _ratio(escalated, len(incidents)),
    }


# --- the live queue -------------------------------------------------------------------


def _queue(items: list[QueueItem], until: datetime, now: datetime) -> dict[str, Any]:
    """Items waiting for a first response (open or claimed) among those received before
    ``until`` (whatever ``since``): the daily report's queue status."""
    waiting = [item for item in items if item.status in WAITING and _utc(item.received_at) < until]
    past_due = [
        item
        for item in waiting
        if item.first_response_at is None and item.due_at is not None and now >= _utc(item.due_at)
    ]
    oldest = min((_utc(item.received_at) for item in waiting), default=None)
    counts = Counter(item.priority for item in waiting)
    return {
        "waiting": len(waiting),
        "claimed": sum(1 for item in waiting if item.status == "claimed"),
        "by_priority": {key: counts.get(key, 0) for key in _priority_keys(counts)},
        "past_due": len(past_due),
        "oldest_waiting_s": (now - oldest).total_seconds() if oldest else None,
    }


# --- volume ---------------------------------------------------------------------------


def _mention_priority(mention: StoredMention) -> str:
    return mention.triage.priority


def _tally(values: Iterable[str], known: Sequence[str]) -> dict[str, int]:
    counts = Counter(values)
    return {key: counts.get(key, 0) for key in [*known, *sorted(set(counts) - set(known))]}


def _per_hour(
    mentions: list[StoredMention], since: datetime, until: datetime, zone: tzinfo
) -> list[dict[str, Any]]:
    """Every hour of ``zone``'s clock from the one holding ``since`` up to ``until``, empty
    hours included, each named by its start in ``zone`` ("2026-01-24T08:00:00-05:00")."""
    buckets: dict[datetime, dict[str, int]] = {}
    hour = _hour(since, zone)
    while hour < until:
        buckets[hour] = dict.fromkeys(PRIORITIES, 0)
        hour += timedelta(hours=1)
    for mention in mentions:
        bucket = buckets.get(_hour(_utc(mention.received_at), zone))
        priority = _mention_priority(mention)
        if bucket is not None and priority in bucket:
            bucket[priority] += 1
    return [
        {"hour": hour.astimezone(zone).isoformat(), **counts} for hour, counts in buckets.items()
    ]


def _volume(
    mentions: list[StoredMention], since: datetime, until: datetime, zone: tzinfo
) -> dict[str, Any]:
    return {
        "total": len(mentions),
        "by_channel": _tally((mention.channel for mention in mentions), CHANNELS),
        "by_priority": _tally((_mention_priority(mention) for mention in mentions), PRIORITIES),
        "per_hour": _per_hour(mentions, since, until, zone),
    }


# --- overrides: the team's corrections to triage ---------------------------------------


def _overridden(mention: StoredMention) -> bool:
    """A person changed its priority and it stands changed (a correction put back to what
    the rules said is not an override)."""
    return mention.correction is not None and mention.priority != mention.engine_priority


def _overrides(mentions: list[StoredMention]) -> dict[str, Any]:
    """Of the mentions received in the period, per priority the rules gave them: how many,
    how many the team re-prioritized (and to what), and the share. In production this
    is the measure of how far the team trusts the triage."""

    def block(group: list[StoredMention]) -> dict[str, Any]:
        changed = [mention for mention in group if _overridden(mention)]
        return {
            "mentions": len(group),
            "corrected": len(changed),
            "pct": _pct(len(changed), len(group)),
            "to": _tally((mention.priority for mention in changed), PRIORITIES),
        }

    keys = _priority_keys(mention.engine_priority for mention in mentions)
    by_priority = {
        key: block([mention for mention in mentions if mention.engine_priority == key])
        for key in keys
    }
    return {"total": block(mentions), "by_priority": by_priority}
