"""Launch-day awareness: mentions counted per window as they are triaged, spikes found
against the rolling baseline (``desk.volume``), and, on launch day, a spike sent to the
on-call as a low-urgency page.

``VolumeWatch`` is one of ``Services.bots`` (``services.bots.tell_bots`` hands it each
triaged mention); it counts in Redis and returns. Counting is idempotent: a window's count
is the number of distinct mention ids in a set, so a re-run triage job counts nothing
twice. A spike is recorded once per scope and window (``SET NX``) and paged once per
window (its own ``SET NX``, and a job id and PagerDuty dedup key made from the window).

The page is an event, not an incident: a surge is news for the on-call, but nothing to
acknowledge or resolve in Hark. It goes at severity "warning", like a possible P0, so that
PagerDuty notifies with the low-urgency rules, on the paging queue with the same retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from desk.records import StoredMention
from desk.volume import (
    ALL,
    UNFLAGGED,
    Spike,
    SpikeRule,
    detect,
    is_unflagged,
    window_starts,
)
from oncall.pager_health import PagerHealth
from oncall.pagerduty import PageEvent, PagingError
from services.context import Services
from services.jobs import PAGING_QUEUE
from services.paging import PAGE_TIMEOUT_S

COUNT = "hark:volume:{window_s}:{scope}:{start}"  # a set of mention ids
WINDOW_KEY = "hark:volume:window-s"  # the window length the counter uses, for the overview
SPIKES = "hark:volume:spikes"  # sorted set of spikes as JSON; score: the window's start
SPIKE_SEEN = "hark:volume:spike:{window_s}:{scope}:{start}"
PAGED = "hark:volume:paged:{window_s}:{start}"  # "queued", then "sent", "dry run" or an error
KEPT_WINDOWS = 36  # six hours of ten-minute windows: the sparkline's span and the baseline
SPIKES_KEPT = 200
SPIKE_SEVERITY = "warning"  # low urgency, like a possible P0
SUMMARY_PREFIX = "[Caro volume spike]"


def scopes_of(mention: StoredMention) -> list[str]:
    """What a mention counts towards: all mentions, its channel, and unflagged reports."""
    scopes = [ALL, mention.channel]
    if is_unflagged(mention.triage.priority, mention.triage.kind):
        scopes.append(UNFLAGGED)
    return scopes


def counted_at(mention: StoredMention) -> datetime:
    """When a mention counts: when it was posted (a late read counts where it belongs)."""
    return mention.created_at


@dataclass(frozen=True)
class VolumeWatch:
    """Counts each triaged mention and looks for spikes; pages them when ``page_spikes``
    (``HARK_LAUNCH_DAY``). A ``ChannelBot`` by shape (``services.context``)."""

    page_spikes: bool = False
    rule: SpikeRule = field(default_factory=SpikeRule)
    name: str = "volume"

    def after_triage(
        self, services: Services, mention: StoredMention, incident_id: str | None
    ) -> None:
        connection, rule = services.connection, self.rule
        window_s = int(rule.window.total_seconds())
        starts = window_starts(counted_at(mention), rule.baseline + 1, rule.window)
        scopes = scopes_of(mention)
        ttl = window_s * KEPT_WINDOWS
        pipe = connection.pipeline(transaction=False)
        pipe.set(WINDOW_KEY, window_s)
        for scope in scopes:
            key = _count_key(window_s, scope, starts[-1])
            pipe.sadd(key, mention.id)
            pipe.expire(key, ttl)
        pipe.execute()
        for scope in scopes:
            counts = read_counts(connection, window_s, scope, starts)
            spike = detect(scope, counts, starts, rule)
            if spike is not None:
                self._found(services, spike, window_s)

    def after_correction(self, services: Services, mention: StoredMention) -> None:
        """Nothing: a window counts mentions as they arrived."""

    def _found(self, services: Services, spike: Spike, window_s: int) -> None:
        """Record a spike once per scope and window; page once per window when asked and
        the window is the current or the one before (a backlog read late pages nothing)."""
        connection = services.connection
        start = int(spike.window_start.timestamp())
        seen = SPIKE_SEEN.format(window_s=window_s, scope=spike.scope, start=start)
        if not connection.set(seen, 1, nx=True, ex=window_s * KEPT_WINDOWS):
            return
        connection.zadd(SPIKES, {spike_json(spike, window_s): start})
        connection.zremrangebyrank(SPIKES, 0, -SPIKES_KEPT - 1)
        recent = services.clock() - spike.window_start < self.rule.window * 2
        if self.page_spikes and recent:
            enqueue_spike_page(services, spike, window_s)


def _count_key(window_s: int, scope: str, start: datetime) -> str:
    return COUNT.format(window_s=window_s, scope=scope, start=int(start.timestamp()))


def read_counts(connection: Redis, window_s: int, scope: str, starts: list[datetime]) -> list[int]:
    """The count of each window (0 for one nobody wrote in), in the order of ``starts``."""
    pipe = connection.pipeline(transaction=False)
    for start in starts:
        pipe.scard(_count_key(window_s, scope, start))
    return [int(n) for n in pipe.execute()]


def spike_json(spike: Spike, window_s: int) -> str:
    return json.dumps(
        {
            "scope": spike.scope,
            "window_start": spike.window_start.isoformat(),
            "window_s": window_s,
            "count": spike.count,
            "baseline_mean": round(spike.baseline_mean, 2),
            "threshold": spike.threshold,
        },
        sort_keys=True,
    )


def spike_from_json(raw: bytes | str) -> tuple[Spike, int]:
    data = json.loads(raw)
    spike = Spike(
        scope=data["scope"],
        window_start=datetime.fromisoformat(data["window_start"]),
        count=int(data["count"]),
        baseline_mean=float(data["baseline_mean"]),
        threshold=int(data["threshold"]),
    )
    return spike, int(data["window_s"])


def recent_spikes(connection: Redis, since: datetime) -> list[tuple[Spike, int]]:
    """Spikes whose window started at ``since`` or later, oldest first."""
    raw = cast(list[bytes], connection.zrangebyscore(SPIKES, since.timestamp(), "+inf"))
    return [spike_from_json(item) for item in raw]


def page_state(connection: Redis, window_s: int, start: datetime) -> str | None:
    """What became of a window's spike page: queued, sent, dry run, or the error."""
    raw = connection.get(PAGED.format(window_s=window_s, start=int(start.timestamp())))
    return raw.decode() if isinstance(raw, bytes) else cast(str | None, raw)


# -- the page ---------------------------------------------------------------------------------


def enqueue_spike_page(services: Services, spike: Spike, window_s: int) -> bool:
    """Queue the window's page, once (False: this window was paged already)."""
    connection, start = services.connection, int(spike.window_start.timestamp())
    marker = PAGED.format(window_s=window_s, start=start)
    if not connection.set(marker, "queued", nx=True, ex=window_s * KEPT_WINDOWS):
        return False
    retries = services.oncall.page_retries
    Queue(PAGING_QUEUE, connection=connection, serializer=JSONSerializer).enqueue(
        page_spike,
        spike_json(spike, window_s),
        job_id=f"page-spike-{window_s}-{start}",
        description=f"page volume spike {spike.window_start.isoformat()}",
        retry=Retry(max=len(retries), interval=list(retries)),
        job_timeout=PAGE_TIMEOUT_S,
        result_ttl=0,
        failure_ttl=30 * 86_400,
    )
    return True


def spike_event(spike: Spike, window_s: int, public_url: str) -> PageEvent:
    """The low-urgency page for a spike: what rose, by how much, and where to look."""
    window = timedelta(seconds=window_s)
    start = int(spike.window_start.timestamp())
    return PageEvent(
        action="trigger",
        dedup_key=f"hark-spike-{window_s}-{start}",
        summary=f"{SUMMARY_PREFIX} {spike.describe(window)}",
        source="hark",
        severity=SPIKE_SEVERITY,
        custom_details={
            "scope": spike.scope,
            "window_start": spike.window_start.astimezone(UTC).isoformat(),
            "window_minutes": window_s // 60,
            "count": spike.count,
            "usual": round(spike.baseline_mean, 1),
            "threshold": spike.threshold,
        },
        links=[{"href": public_url.rstrip("/") + "/", "text": "Hark overview"}],
    )


def page_spike(services: Services, spike_data: str) -> dict[str, Any]:
    """Job: send a spike's page. A retryable failure raises (RQ retries it)."""
    spike, window_s = spike_from_json(spike_data)
    connection, now = services.connection, services.clock()
    marker = PAGED.format(window_s=window_s, start=int(spike.window_start.timestamp()))
    event = spike_event(spike, window_s, services.oncall.public_url)
    try:
        services.pager.send(event)
    except PagingError as error:
        PagerHealth(connection).failed(now, f"spike page: {error}")
        connection.set(marker, f"failed: {error}", xx=True, keepttl=True)
        if error.retryable:
            raise
        return {"spike": event.dedup_key, "sent": False}
    if not services.pager.dry_run:
        PagerHealth(connection).succeeded(now)
    connection.set(marker, "dry run" if services.pager.dry_run else "sent", xx=True, keepttl=True)
    return {"spike": event.dedup_key, "sent": True, "dry_run": services.pager.dry_run}


# -- what the overview shows ------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeSeries:
    """One scope's counts over the overview's span, with its spikes and the bar the next
    count would have to reach."""

    scope: str
    starts: tuple[datetime, ...]
    counts: tuple[int, ...]
    spikes: tuple[Spike, ...]
    next_threshold: int

    @property
    def latest(self) -> int:
        return self.counts[-1] if self.counts else 0

    @property
    def spiking(self) -> bool:
        """The current window (or the one before) is a spike."""
        return any(spike.window_start >= self.starts[-2] for spike in self.spikes)


@dataclass(frozen=True)
class VolumeView:
    window: timedelta
    series: tuple[VolumeSeries, ...]  # "all" first, then each channel, then "unflagged"
    spikes: tuple[tuple[Spike, str | None], ...]  # newest first, with what its page did


def volume_view(
    connection: Redis, now: datetime, channels: tuple[str, ...], span: int = KEPT_WINDOWS
) -> VolumeView:
    """The counts the volume watch kept, for the overview (reads only)."""
    raw = connection.get(WINDOW_KEY)
    default_s = int(SpikeRule().window.total_seconds())
    try:
        window_s = int(raw) if raw else default_s
    except ValueError:
        window_s = default_s
    if window_s < 1:  # a window no worker can have counted in: show the default's
        window_s = default_s
    rule = SpikeRule(window=timedelta(seconds=window_s))
    starts = window_starts(now, span, rule.window)
    scopes = (ALL, *channels, UNFLAGGED)
    seen = [(s, w) for s, w in recent_spikes(connection, starts[0]) if w == window_s]
    series = []
    for scope in scopes:
        counts = read_counts(connection, window_s, scope, starts)
        history = counts[-rule.baseline :]
        series.append(
            VolumeSeries(
                scope=scope,
                starts=tuple(starts),
                counts=tuple(counts),
                spikes=tuple(spike for spike, _ in seen if spike.scope == scope),
                next_threshold=rule.threshold(scope, history),
            )
        )
    spikes = tuple(
        (spike, page_state(connection, window_s, spike.window_start)) for spike, _ in seen
    )
    return VolumeView(rule.window, tuple(series), tuple(reversed(spikes)))
