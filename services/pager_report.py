"""What the pager did lately, as the overview tells it: pages recorded (sent, or only
recorded in a dry run) by what they were, and the incidents escalated.

A dry run (no ``HARK_PD_ROUTING_KEY``) sends nothing and ``PagerHealth`` never hears of
it; each page it would have sent is in its incident's ``pages`` (``dry_run`` set). So the
count comes from the incidents: read-only, no counter of its own to keep in step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis import Redis

from oncall.incidents import IncidentStore
from oncall.records import Incident

WINDOW = timedelta(hours=24)
# How the overview names each page action, and in which order.
ACTIONS = {
    "trigger": ("trigger", "triggers"),
    "escalate": ("escalation", "escalations"),
    "resolve-low": ("low-urgency resolve", "low-urgency resolves"),
    "acknowledge": ("acknowledgement", "acknowledgements"),
    "resolve": ("resolve", "resolves"),
}


@dataclass(frozen=True)
class PageTally:
    """Pages recorded in the window, by action: sent to PagerDuty, or only recorded (dry
    run); and the incidents escalated (nobody acknowledged in time)."""

    dry_run: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    escalated_incidents: int = 0

    @property
    def dry_run_total(self) -> int:
        return sum(self.dry_run.values())

    def is_dry_run(self, pager_is_dry: bool) -> bool:
        """Whether to say the pager is a dry run: this process's pager is one
        (``pager_is_dry``; the workers share its settings) and no page in the window was
        sent to PagerDuty (a worker that did send one has a key, whatever this process has)."""
        return pager_is_dry and not sum(self.sent.values())


def tally_pages(incidents: Iterable[Incident], since: datetime) -> PageTally:
    """The pages recorded at or after ``since`` in ``incidents`` (pure)."""
    dry: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    escalated = 0
    for incident in incidents:
        escalated += any(e.event == "escalated" and e.at >= since for e in incident.timeline)
        for page in incident.pages:
            if page.event != "page-sent" or page.at < since:
                continue
            (dry if page.dry_run else sent)[page.action or "trigger"] += 1
    return PageTally(_ordered(dry), _ordered(sent), escalated)


def _ordered(counts: Counter[str]) -> dict[str, int]:
    known = [action for action in ACTIONS if counts.get(action)]
    return {action: counts[action] for action in [*known, *sorted(set(counts) - set(ACTIONS))]}


def recent_pages(connection: Redis, now: datetime, window: timedelta = WINDOW) -> PageTally:
    """The pages recorded in the last ``window`` (a day), of the incidents opened in the
    last two: the overview's."""
    since = now - window
    return tally_pages(IncidentStore(connection).between(since - window, now), since)


def pages_in_words(counts: dict[str, int]) -> str:
    """ "4 triggers, 2 escalations"."""
    parts = []
    for action, count in counts.items():
        one, many = ACTIONS.get(action, (action, action))
        parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts)


def dry_run_text(tally: PageTally) -> str:
    """The overview's words for a dry run: "Dry run: no PagerDuty key is set
    (HARK_PD_ROUTING_KEY); 6 pages recorded in the last 24 hours, not sent (4 triggers,
    2 escalations)"."""
    head = "Dry run: no PagerDuty key is set (HARK_PD_ROUTING_KEY); "
    total = tally.dry_run_total
    if not total:
        return head + "no page recorded in the last 24 hours."
    pages = "1 page" if total == 1 else f"{total} pages"
    return (
        f"{head}{pages} recorded in the last 24 hours, not sent ({pages_in_words(tally.dry_run)})."
    )


def escalated_text(tally: PageTally) -> str:
    """ "2 incidents escalated in the last 24 hours: nobody acknowledged in time", or ""."""
    count = tally.escalated_incidents
    if not count:
        return ""
    incidents = "1 incident" if count == 1 else f"{count} incidents"
    return f"{incidents} escalated in the last 24 hours: nobody acknowledged in time"
