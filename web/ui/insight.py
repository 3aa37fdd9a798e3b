"""Insight: the support metrics (volume, SLA, time to first response) and the rules explainer."""

from __future__ import annotations

from flask import render_template, request

from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from desk.report import humanize
from desk.targets import MIN_JUDGED, verdict_text
from rules import RulebookError
from services.support_report import LENGTH, period_metrics
from vocabulary.channels import CHANNELS
from web import charts
from web.api import app_engine
from web.ui import _now, _redis, bp, duration_text, requires, team_zone

TARGET_LABELS = {
    "average_first_response": "Average first response",
    "first_response_within_sla": "First responses within SLA",
    "p0_first_response": "P0 first responses within 1 h",
    "resolved_within_sla": "Resolved within SLA",
    "reopened_rate": "Reopened issues",
    "escalation_rate": "Escalation rate",
}
HISTOGRAM_BUCKETS = (
    ("< 15 min", 15 * 60),
    ("15-30 min", 30 * 60),
    ("30-60 min", 3600),
    ("1-2 h", 2 * 3600),
    ("2-4 h", 4 * 3600),
    ("4-8 h", 8 * 3600),
    ("8-24 h", 24 * 3600),
    ("24-48 h", 48 * 3600),
    ("> 48 h", None),
)


def _target_text(name: str, row: dict) -> tuple[str, str]:
    """(target, value) of a metrics target row, in words."""
    value = row.get("value")
    if "target_pct" in row:  # a share within SLA (P0's also names its time: 100% within 1 h)
        shown = "—" if value is None else f"{value:.1f}%"
        if "target_s" in row:
            return f"{row['target_pct']:g}% within {humanize(row['target_s'])}", shown
        return f"> {row['target_pct']:g}%", shown
    if "target_s" in row:
        return f"< {humanize(row['target_s'])}", duration_text(value)
    shown = "—" if value is None else f"{100 * value:.1f}%"
    return f"< {100 * row['target_rate']:g}%", shown


def _target_row(name: str, row: dict) -> dict[str, str]:
    """A row of the page's targets table: the target, the value, the verdict and why."""
    target, value = _target_text(name, row)
    return {
        "label": TARGET_LABELS.get(name, name.replace("_", " ").capitalize()),
        "target": target,
        "value": value,
        "verdict": row["verdict"],
        "because": verdict_text(name, row),
    }


def _histogram_buckets(items: list[QueueItem]) -> list[tuple[str, int]]:
    counts = [0] * len(HISTOGRAM_BUCKETS)
    for item in items:
        if item.first_response_at is None:
            continue
        seconds = max(0.0, (item.first_response_at - item.received_at).total_seconds())
        for index, (_, upper) in enumerate(HISTOGRAM_BUCKETS):
            if upper is None or seconds < upper:
                counts[index] += 1
                break
    return [(label, n) for (label, _), n in zip(HISTOGRAM_BUCKETS, counts, strict=True)]


@bp.get("/support-metrics")  # /metrics is Prometheus (web/ops.py)
@requires("viewer")
def metrics():
    period = request.args.get("period", "day")
    if period not in LENGTH:
        period = "day"
    now = _now()
    data = period_metrics(_redis(), period, now, team_zone())
    since = now - LENGTH[period]
    items = ReplyQueue(_redis()).items(since, now)  # received in [since, now)
    first = data["first_response"]
    targets = [_target_row(name, row) for name, row in data["targets"].items()]
    return render_template(
        "metrics.html",
        active="metrics",
        period=period,
        data=data,
        volume_chart=charts.stacked_volume_chart(data["volume"]["per_hour"]),
        sla_chart=charts.sla_chart(
            [
                ("All priorities", first["within_sla_pct"], 95.0),
                ("P0", first["p0"]["within_sla_pct"], 100.0),
            ]
        ),
        histogram=charts.histogram(
            _histogram_buckets(items), "Time to first response (messages received this period)"
        ),
        targets=targets,
        min_judged=MIN_JUDGED,
        duration_text=duration_text,
    )


@bp.route("/rules", methods=["GET", "POST"])
@requires("viewer")
def rules():
    """The rulebook, and "explain this text". The text is posted, not put in the URL: a
    pasted message may carry personal data, and URLs go to access logs and history."""
    try:
        engine = app_engine()
    except RulebookError as error:  # read on first use: its model file may be broken
        return render_template("rules.html", active="rules", engine=None, problem=str(error))
    text = request.form.get("text", "")
    channel = request.form.get("channel") if request.form.get("channel") in CHANNELS else None
    result = None
    if engine is not None and text.strip():
        result = engine.classify(text, channel)
    return render_template(
        "rules.html",
        active="rules",
        engine=engine,
        rulebook=getattr(engine, "rulebook", None),
        text=text,
        channel=channel or "",
        channels=CHANNELS,
        result=result,
        duration_text=duration_text,
    )
