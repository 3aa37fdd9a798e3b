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
- hours are bucketed in UTC; naive timestamps are read as UTC.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from desk.records import WAITING, QueueItem, StoredMention
from rules.result import TriageRecord
from vocabulary.channels import CHANNELS

PRIORITIES = ("P0", "P1", "P2", "P3")
TOP_ISSUES = 10
KB_MIN_REPORTS = 3  # playbook, KB Update Process: "Issue reported 3+ times"
KB_EXAMPLES = 3
KB_SIMILAR = 0.3  # Jaccard similarity of signatures that makes two reports one problem
KB_WORDS = 6

# Success Metrics: the targets, and the direction each is met in.
TARGETS: dict[str, dict[str, float]] = {
    "average_first_response": {"target_s": 7200},  # < 2 h
    "first_response_within_sla": {"target_pct": 95.0},  # > 95 %
    "p0_first_response": {"target_s": 3600, "target_pct": 100.0},  # < 1 h, 100 %
    "resolved_within_sla": {"target_pct": 90.0},  # > 90 %
    "reopened_rate": {"target_rate": 0.05},  # < 5 %
    "escalation_rate": {"target_rate": 0.10},  # < 10 %
}

_URL_OR_HANDLE = re.compile(r"https?://\S+|\S+@\S+|@\w+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORDS = frozenset(
    """
    the and for with that this these those from have has had not but are was were been
    being you your yours our ours they them their its can cant could would should will
    wont just any all some what when where which who whom why how does did doesnt dont
    didnt isnt arent wasnt get got gets getting into onto out about after before then than
    there here also very too still even again please thank thanks help anyone someone hey
    hello caro now today like know need want since only more most much many yes yet ever
    because while been really something anything nothing way
    """.split()
)


@dataclass(frozen=True)
class IncidentFacts:
    """What the metrics read of an incident (the desk does not know on-call's records:
    ``services.support_report`` fills these in)."""

    opened_at: datetime
    status: str
    escalations: int = 0  # times it was escalated to the next level
    events: tuple[str, ...] = ()  # its timeline's event names, oldest first

    @property
    def escalated(self) -> bool:
        return self.escalations > 0 or self.status == "escalated" or "escalated" in self.events


def compute_metrics(
    mentions: Iterable[StoredMention],
    items: Iterable[QueueItem],
    incidents: Iterable[IncidentFacts],
    since: datetime,
    until: datetime,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The period's metrics. ``now`` (default ``until``) decides what is past due."""
    since, until = _utc(since), _utc(until)
    now = until if now is None else _utc(now)
    in_window = _window(since, until)
    received = [mention for mention in mentions if in_window(mention.received_at)]
    items = list(items)
    in_period = [item for item in items if in_window(item.received_at)]
    opened = [incident for incident in incidents if in_window(incident.opened_at)]
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
        "volume": _volume(received, since, until),
        "top_issues": _top_issues(received),
        "kb_candidates": _kb_candidates(received),
        "overrides": _overrides(received),
        "targets": _targets(first_response, resolution, reopened, escalation),
    }


# --- time ---------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment is not None else None


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


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


def _rank(priority: str | None) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


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
    mentions: list[StoredMention], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Every hour from the one holding ``since`` up to ``until``, empty hours included."""
    buckets: dict[datetime, dict[str, int]] = {}
    hour = _hour(since)
    while hour < until:
        buckets[hour] = dict.fromkeys(PRIORITIES, 0)
        hour += timedelta(hours=1)
    for mention in mentions:
        bucket = buckets.get(_hour(_utc(mention.received_at)))
        priority = _mention_priority(mention)
        if bucket is not None and priority in bucket:
            bucket[priority] += 1
    return [{"hour": hour.isoformat(), **counts} for hour, counts in buckets.items()]


def _volume(mentions: list[StoredMention], since: datetime, until: datetime) -> dict[str, Any]:
    return {
        "total": len(mentions),
        "by_channel": _tally((mention.channel for mention in mentions), CHANNELS),
        "by_priority": _tally((_mention_priority(mention) for mention in mentions), PRIORITIES),
        "per_hour": _per_hour(mentions, since, until),
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


# --- top issues -----------------------------------------------------------------------


def _mode(priorities: Counter[str]) -> str:
    """The most common priority; a tie goes to the more severe one."""
    return min(priorities, key=lambda priority: (-priorities[priority], _rank(priority)))


def _top_issues(mentions: list[StoredMention]) -> list[dict[str, Any]]:
    """The positive-weight rules that fired on most mentions (once per mention), with the
    priority those mentions were most often triaged at."""
    seen: dict[str, Counter[str]] = {}
    for mention in mentions:
        fired = {rule.id for rule in mention.triage.rules if rule.weight > 0}
        for rule_id in fired:
            seen.setdefault(rule_id, Counter())[_mention_priority(mention)] += 1
    ranked = sorted(
        seen.items(),
        key=lambda entry: (-entry[1].total(), _rank(_mode(entry[1])), entry[0]),
    )
    return [
        {"rule": rule_id, "count": counts.total(), "priority": _mode(counts)}
        for rule_id, counts in ranked[:TOP_ISSUES]
    ]


# --- KB candidates --------------------------------------------------------------------


def top_rule(triage: TriageRecord) -> str | None:
    """The rule behind the chosen priority: the highest positive weight among the rules
    naming that priority (the first on a tie), as incidents group by."""
    rules = [rule for rule in triage.rules if triage.priority in rule.levels and rule.weight > 0]
    return max(rules, key=lambda rule: rule.weight).id if rules else None


def _stem(word: str) -> str:
    """A crude English stem: crashes, crashed, crashing -> crash."""
    for suffix in ("ing", "ed", "es", "s"):
        stem = word.removesuffix(suffix)
        if stem != word and len(stem) >= 3:
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                continue  # issues -> issue (by "s"), fixes -> fix
            if suffix == "s" and stem.endswith(("s", "u", "i", "o")):
                continue  # class, status, analysis, macos
            return stem
    return word


def signature(text: str) -> frozenset[str]:
    """The content words of a report: NFKC, case folded, links, addresses and handles
    dropped, letters-only words of 3+ characters, stop words removed, crudely stemmed."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    text = _URL_OR_HANDLE.sub(" ", text.replace("n't", "nt"))
    words = (_stem(word) for word in _WORD.findall(text) if word not in _STOPWORDS)
    return frozenset(word for word in words if word not in _STOPWORDS)


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


@dataclass
class ReportGroup:
    """Reports of one problem: under one top rule, alike in words to its first report."""

    rule: str | None
    words: frozenset[str]
    members: list[StoredMention]


def _group_reports(mentions: list[StoredMention]) -> list[ReportGroup]:
    """Oldest first, each report joins the most similar group of its top rule (compared
    with the group's first report) or starts one. Praise is not an issue."""
    groups: list[ReportGroup] = []
    ordered = sorted(mentions, key=lambda mention: (_utc(mention.received_at), mention.id))
    for mention in ordered:
        words = signature(mention.text)
        if mention.triage.kind == "praise" or not words:
            continue
        rule = top_rule(mention.triage)
        scored = [
            (similarity(words, group.words), -index, group)
            for index, group in enumerate(groups)
            if group.rule == rule
        ]
        best = max(scored, key=lambda entry: entry[:2], default=None)
        if best is not None and best[0] >= KB_SIMILAR:
            best[2].members.append(mention)
        else:
            groups.append(ReportGroup(rule, words, [mention]))
    return groups


def _common_words(members: list[StoredMention]) -> list[str]:
    """Words in at least half of the group's reports, most common first."""
    counts = Counter(word for member in members for word in signature(member.text))
    common = [word for word, n in counts.items() if 2 * n >= len(members)]
    return sorted(common, key=lambda word: (-counts[word], word))[:KB_WORDS]


def _kb_candidates(mentions: list[StoredMention]) -> list[dict[str, Any]]:
    candidates = [
        {
            "rule": group.rule,
            "count": len(group.members),
            "priority": _mode(Counter(_mention_priority(m) for m in group.members)),
            "words": _common_words(group.members),
            "example_mention_ids": [m.id for m in group.members[:KB_EXAMPLES]],
        }
        for group in _group_reports(mentions)
        if len(group.members) >= KB_MIN_REPORTS
    ]
    return sorted(
        candidates,
        key=lambda c: (-c["count"], _rank(c["priority"]), c["rule"] or "", c["words"]),
    )


# --- targets --------------------------------------------------------------------------


def _below(value: float | None, target: float) -> bool | None:
    return None if value is None else value < target


def _above(value: float | None, target: float) -> bool | None:
    return None if value is None else value > target


def _all(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _targets(
    first_response: dict[str, Any],
    resolution: dict[str, Any],
    reopened: dict[str, Any],
    escalation: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Each playbook target with the period's value and whether it is met (None: no data).
    P0's "<1 hour, 100%" is read from the P0 SLA (its first-response due time is 1 h)."""
    p0 = first_response["p0"]["within_sla_pct"]
    values = {
        "average_first_response": (first_response["average_s"], _below, "target_s"),
        "first_response_within_sla": (first_response["within_sla_pct"], _above, "target_pct"),
        "p0_first_response": (p0, _all, "target_pct"),
        "resolved_within_sla": (resolution["within_sla_pct"], _above, "target_pct"),
        "reopened_rate": (reopened["rate"], _below, "target_rate"),
        "escalation_rate": (escalation["rate"], _below, "target_rate"),
    }
    return {
        name: {**TARGETS[name], "value": value, "met": test(value, TARGETS[name][key])}
        for name, (value, test, key) in values.items()
    }
