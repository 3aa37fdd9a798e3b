"""The launch-day sample replayed at speed through real triage, with the volume watch as a
bot: the launch burst is found as a spike within its first window, recorded once, and on
launch day paged once, at low urgency, through the paging queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.serializers import JSONSerializer

from desk.volume import ALL, SpikeRule, window_start
from hark.replay import launch_day_sample, replay_lines
from hark.worker import run_worker
from monitor.mention import Mention
from oncall.pagerduty import PageEvent
from services.awareness import SUMMARY_PREFIX, VolumeWatch, page_state, recent_spikes
from services.context import Services
from services.jobs import PAGING_QUEUE
from services.triage import triage_mention

SPEED = 60.0  # launch day's twelve hours in twelve minutes
LAUNCH = datetime(2026, 1, 24, 13, 0, 3, tzinfo=UTC)
# Ten minutes of the recording, at the replay's pace
RULE = SpikeRule(window=timedelta(minutes=10) / SPEED)


class RecordingPager:
    dry_run = False

    def __init__(self) -> None:
        self.sent: list[PageEvent] = []

    def send(self, event: PageEvent) -> str:
        self.sent.append(event)
        return event.dedup_key


def _replay(redis_conn, shipped_rules, *, page_spikes: bool, pager=None):
    """Replay the sample at SPEED on a simulated clock, each mention triaged as it comes;
    returns the services and when (seconds into the replay) the first "all" spike was seen."""
    elapsed = [0.0]

    def now() -> datetime:
        return LAUNCH + timedelta(seconds=elapsed[0])

    def sleep(seconds: float) -> None:
        elapsed[0] += seconds

    services = Services(
        connection=redis_conn,
        engine=shipped_rules.current,
        clock=now,
        bots=(VolumeWatch(page_spikes=page_spikes, rule=RULE),),
        **({"pager": pager} if pager else {}),
    )
    first_seen: list[float] = []

    def submit(mention: Mention) -> bool:
        triage_mention(services, mention.model_dump(mode="json"))
        spikes = recent_spikes(redis_conn, LAUNCH - timedelta(hours=1))
        if not first_seen and any(spike.scope == ALL for spike, _ in spikes):
            first_seen.append(elapsed[0])
        return True

    lines = launch_day_sample().read_text("utf-8").splitlines()
    counts = replay_lines(
        lines, submit, speed=SPEED, sleep=sleep, clock=lambda: elapsed[0], now=now
    )
    assert counts["enqueued"] == len([line for line in lines if line.strip()])
    return services, first_seen


def test_the_launch_burst_is_a_spike_within_its_first_window(redis_conn, shipped_rules):
    _, first_seen = _replay(redis_conn, shipped_rules, page_spikes=False)

    assert first_seen, "the launch burst was not seen as a spike"
    assert first_seen[0] <= RULE.window.total_seconds()  # within one window of the start
    spikes = recent_spikes(redis_conn, LAUNCH - timedelta(hours=1))
    overall = [spike for spike, _ in spikes if spike.scope == ALL]
    assert overall[0].window_start == window_start(LAUNCH, RULE.window)
    assert overall[0].count >= 10
    # the burst is news; the rest of the day (lunch included) is the baseline moving
    assert len(overall) <= 2, [spike.describe(RULE.window) for spike in overall]
    scopes = {spike.scope for spike, _ in spikes}
    assert {"discord", "x"} <= scopes  # the two channels the burst is on
    # not launch day: nothing to page
    paging = Queue(PAGING_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    assert paging.count > 0  # the P0 incidents' pages
    assert not [job for job in paging.job_ids if job.startswith("page-spike-")]


def test_on_launch_day_a_spike_pages_once_at_low_urgency(redis_conn, shipped_rules):
    pager = RecordingPager()
    services, _ = _replay(redis_conn, shipped_rules, page_spikes=True, pager=pager)
    spikes = recent_spikes(redis_conn, LAUNCH - timedelta(hours=1))
    windows = {spike.window_start for spike, _ in spikes}

    assert run_worker(replace(services, clock=lambda: datetime.now(UTC)), burst=True)

    spike_pages = [event for event in pager.sent if event.summary.startswith(SUMMARY_PREFIX)]
    assert spike_pages, "no spike page was sent"
    assert len(spike_pages) == len({event.dedup_key for event in spike_pages})  # once a window
    assert len(spike_pages) <= len(windows)
    first = spike_pages[0]
    assert first.severity == "warning" and first.action == "trigger"
    assert first.custom_details["count"] >= 5
    window_s = int(RULE.window.total_seconds())
    assert page_state(redis_conn, window_s, window_start(LAUNCH, RULE.window)) == "sent"
