"""The overview: who is on call, open P0 incidents, the queue's size, the sources' health, and
the volume of mentions per window with its spikes (``services.awareness``)."""

from __future__ import annotations

from flask import current_app, render_template

from desk.reply_queue import ReplyQueue
from monitor.store import MonitorState
from oncall.incidents import IncidentStore
from oncall.pager_health import PagerHealth
from oncall.records import Incident
from services.awareness import VolumeView, volume_view
from services.pager_report import dry_run_text, escalated_text, pages_in_words, recent_pages
from vocabulary.channels import CHANNELS
from web import charts
from web.ops import QUEUES, queue_report, workers_report
from web.ui import _now, _redis, bp, duration_text, requires
from web.ui.rotation import _rotation

SCOPE_LABELS = {"all": "All mentions", "unflagged": "Unflagged (no rule's keyword)"}
OPEN_P0 = ("triggered", "escalated", "page-failed", "acknowledged")


def _open_p0() -> list[Incident]:
    store, found = IncidentStore(_redis()), []
    for status in OPEN_P0:
        items, _ = store.list(status, 50, None)
        found += [item for item in items if item.priority == "P0"]
    return sorted(found, key=lambda item: item.opened_at, reverse=True)


def _overview() -> dict:
    counts = ReplyQueue(_redis()).sla_counts(_now())  # all waiting items, not a page of them
    return {
        "rotation": _rotation(),
        "incidents": _open_p0(),
        "queue_size": counts["waiting"],
        "overdue": counts["overdue"],
        "warning": counts["warning"],
        "sources": MonitorState(_redis()).health(_now()),
        "service": _service(),
        "volume": _volume(),
    }


def _volume() -> dict:
    """Each scope's windows as a sparkline (all mentions, each channel, unflagged reports),
    and the spikes of the span, newest first, with what their page did."""
    view: VolumeView = volume_view(_redis(), _now(), CHANNELS)
    window = duration_text(view.window.total_seconds())  # "10 min"; "10 s" under `hark run`
    rows = [
        {
            "series": series,
            "label": SCOPE_LABELS.get(series.scope, series.scope),
            "chart": charts.sparkline(
                series.starts,
                series.counts,
                [spike.window_start for spike in series.spikes],
                f"{SCOPE_LABELS.get(series.scope, series.scope)} per {window}",
            ),
        }
        for series in view.series
    ]
    return {"window_text": window, "rows": rows, "spikes": view.spikes, "view": view}


def _service() -> dict:
    """What could hold up a page: workers, the queues' backlog and failures, PagerDuty
    (or the dry run that only records pages, when no routing key is set)."""
    connection = _redis()
    queues = {name: queue_report(connection, name) for name in QUEUES}
    pages = recent_pages(connection, _now())
    return {
        "workers": workers_report(connection)["count"],
        "pagerduty": PagerHealth(connection).report(),
        "dry_run": pages.is_dry_run(current_app.config["SERVICES"].pager.dry_run),
        "dry_run_text": dry_run_text(pages),
        "pages_sent": pages_in_words(pages.sent),
        "escalated": escalated_text(pages),
        "queues": queues,
        "failed_jobs": sum(counts["failed"] for counts in queues.values()),
    }


@bp.get("/")
@requires("viewer")
def overview():
    return render_template("overview.html", active="overview", **_overview())


@bp.get("/partials/overview")
@requires("viewer")
def overview_partial():
    return render_template("_overview.html", **_overview())
