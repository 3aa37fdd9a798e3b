"""The volume watch (``services.awareness``) against fakeredis: counting as mentions are
triaged, once each; a spike recorded and paged once per window; and the overview's
sparklines and spike list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
from rq import Queue
from rq.serializers import JSONSerializer

from desk.records import StoredMention
from desk.volume import ALL, UNFLAGGED, window_start
from rules.result import TriageRecord
from services.awareness import (
    SUMMARY_PREFIX,
    VolumeWatch,
    page_spike,
    page_state,
    recent_spikes,
    spike_json,
    volume_view,
)
from services.context import Services
from services.jobs import PAGING_QUEUE
from tests.unit.test_pages import app, redis_server, sign_in, viewer  # noqa: F401
from vocabulary.channels import CHANNELS

NOW = datetime(2026, 1, 24, 15, 30, tzinfo=UTC)  # test_pages' clock


def _triage(priority: str = "P2", kind: str = "bug") -> TriageRecord:
    return TriageRecord(
        priority=priority,
        category="other",
        kind=kind,
        score=1.0,
        pages=False,
        scores={},
        rules=(),
    )


def _mention(number: int, at: datetime, channel: str = "discord", **triage) -> StoredMention:
    return StoredMention(
        id=f"{channel}:{number}",
        channel=channel,
        native_id=str(number),
        text=f"message {number}",
        created_at=at,
        received_at=at,
        triage=_triage(**triage),
        triaged_at=at,
    )


def _services(connection, at: datetime = NOW) -> Services:
    return Services(connection=connection, clock=lambda: at)


def _paging(connection) -> list[str]:
    queue = Queue(PAGING_QUEUE, connection=connection, serializer=JSONSerializer)
    return list(queue.job_ids)


def test_a_burst_is_recorded_once_and_paged_once_on_launch_day():
    connection = fakeredis.FakeRedis()
    watch = VolumeWatch(page_spikes=True)
    services = _services(connection)
    for number in range(14):
        watch.after_triage(services, _mention(number, NOW - timedelta(minutes=3)), None)
    spikes = recent_spikes(connection, NOW - timedelta(hours=1))
    assert sorted((s.scope, s.count) for s, _ in spikes) == [(ALL, 10), ("discord", 6)]
    assert _paging(connection) == [
        f"page-spike-600-{int(window_start(NOW - timedelta(minutes=3)).timestamp())}"
    ]  # one page for the window, whichever scope spiked first


def test_a_mention_triaged_twice_counts_once():
    connection = fakeredis.FakeRedis()
    watch, services = VolumeWatch(), _services(connection)
    for _ in range(12):
        watch.after_triage(services, _mention(1, NOW), None)
    assert recent_spikes(connection, NOW - timedelta(hours=1)) == []
    view = volume_view(connection, NOW, CHANNELS)
    assert view.series[0].scope == ALL and view.series[0].latest == 1


def test_without_launch_day_or_for_an_old_window_nothing_is_paged():
    connection = fakeredis.FakeRedis()
    for number in range(12):
        VolumeWatch().after_triage(_services(connection), _mention(number, NOW), None)
    old = NOW - timedelta(hours=2)
    for number in range(100, 112):
        VolumeWatch(page_spikes=True).after_triage(
            _services(connection), _mention(number, old, channel="x"), None
        )
    assert len(recent_spikes(connection, NOW - timedelta(hours=3))) == 4  # recorded all
    assert _paging(connection) == []


def test_unflagged_reports_have_their_own_count():
    connection = fakeredis.FakeRedis()
    for number in range(5):
        mention = _mention(number, NOW, channel="x", priority="P3", kind="other")
        VolumeWatch().after_triage(_services(connection), mention, None)
    for number in range(10, 14):  # 9 in all: under the 10 that make an overall spike
        mention = _mention(number, NOW, channel="email", priority="P3", kind="praise")
        VolumeWatch().after_triage(_services(connection), mention, None)
    scopes = [s.scope for s, _ in recent_spikes(connection, NOW - timedelta(hours=1))]
    assert scopes == [UNFLAGGED]


class _Pager:
    dry_run = True

    def __init__(self):
        self.sent = []

    def send(self, event):
        self.sent.append(event)
        return event.dedup_key


def test_the_spike_page_is_a_warning_naming_the_surge():
    connection = fakeredis.FakeRedis()
    for number in range(11):
        VolumeWatch().after_triage(_services(connection), _mention(number, NOW), None)
    (spike, window_s), *_ = [
        s for s in recent_spikes(connection, NOW - timedelta(hours=1)) if s[0].scope == ALL
    ]
    pager = _Pager()
    services = Services(connection=connection, clock=lambda: NOW, pager=pager)
    assert page_spike(services, spike_json(spike, window_s))["sent"]
    (event,) = pager.sent
    assert event.severity == "warning"
    assert event.summary == f"{SUMMARY_PREFIX} 10 mentions in 10 min from 15:30 UTC " + (
        "(usual 0.0, spike from 10)"
    )
    assert page_state(connection, window_s, spike.window_start) is None  # never queued here


def test_the_overview_shows_the_sparklines_and_the_spike(app, viewer):  # noqa: F811
    connection = app.config["REDIS"]
    services = _services(connection)
    for number in range(3):
        VolumeWatch().after_triage(services, _mention(number, NOW - timedelta(hours=1)), None)
    for number in range(10, 22):
        VolumeWatch(page_spikes=True).after_triage(
            services, _mention(number, NOW - timedelta(minutes=2), channel="x"), None
        )
    html = viewer.get("/").get_data(as_text=True)
    assert "Volume per 10 min" in html
    # found as it happened: at the 6th mention on X, and the 10th in all (one earlier)
    # the overview tells it on the team's clock (New York), PagerDuty in UTC
    assert "6 x mentions in 10 min from 2026-01-24 10:20 EST (usual 0.0, spike from 6)" in html
    assert "10 mentions in 10 min from 2026-01-24 10:20 EST (usual 0.5, spike from 10)" in html
    assert html.count("page: queued") == 2  # the one page of the window, not yet sent
    assert html.count('class="chart sparkline"') == 2 + len(CHANNELS)
    assert "15:20 UTC: 12 (spike)" in html  # the spike's bar says so in words
    assert 'data-scope="x"' in html


def test_the_overview_survives_a_window_no_worker_could_count_in():
    from datetime import UTC, datetime

    import fakeredis

    from services.awareness import WINDOW_KEY, volume_view

    connection = fakeredis.FakeRedis()
    for stored in (b"0", b"not a number"):
        connection.set(WINDOW_KEY, stored)
        view = volume_view(connection, datetime(2026, 12, 7, 12, tzinfo=UTC), ("x",))
        assert view.window.total_seconds() == 600
