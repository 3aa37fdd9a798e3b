"""Server-rendered inline SVG charts for the metrics page: pure functions, data in, markup out.

Every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` (named by
``aria-labelledby``), and every bar has its own ``<title>`` with the exact figure, so the
numbers are never told by colour alone. No JavaScript is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import count

from markupsafe import Markup, escape

PRIORITIES = ("P0", "P1", "P2", "P3")
# At least 3:1 against white (WCAG 1.4.11, graphical objects); labels are text, not colour.
COLORS = {"P0": "#b00020", "P1": "#a04a00", "P2": "#1f5fa8", "P3": "#555555"}
BAR_COLOR = "#1f5fa8"
TARGET_COLOR = "#1a1a1a"

_ids = count(1)


def _chart_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _open(prefix: str, width: int, height: int, title: str, desc: str) -> tuple[str, str]:
    chart = _chart_id(prefix)
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart}-title {chart}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart}-title">{escape(title)}</title>'
        f'<desc id="{chart}-desc">{escape(desc)}</desc>'
    )
    return chart, head


def _hour_label(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%H:00")
    except ValueError:
        return iso


def _day_hour_label(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%a %H:00")
    except ValueError:
        return iso


def stacked_volume_chart(per_hour: Sequence[Mapping]) -> Markup:
    """Messages per hour, one bar per hour stacked by priority (``metrics["volume"]
    ["per_hour"]``: ``{"hour": iso, "P0": n, ...}``). Each hour is a ``<g class="bar">``."""
    width, height, left, bottom, top = 720, 260, 40, 40, 30
    hours = list(per_hour)
    totals = [sum(int(row.get(p, 0)) for p in PRIORITIES) for row in hours]
    peak = max(totals, default=0) or 1
    total = sum(totals)
    desc = (
        f"{total} messages over {len(hours)} hours, busiest hour {max(totals, default=0)}."
        " Stacked by priority: P0 at the bottom, then P1, P2, P3."
    )
    _, svg = _open("volume", width, height, "Messages per hour by priority", desc)
    plot_w, plot_h = width - left - 10, height - top - bottom
    slot = plot_w / max(len(hours), 1)
    bar_w = max(slot * 0.8, 1)
    parts = [svg]
    # axis and a peak gridline
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#1a1a1a" stroke-width="1"/>'
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="axis">{peak}</text>'
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="axis">0</text>'
    )
    label_every = max(1, len(hours) // 12)
    weekly = len(hours) > 26
    for index, (row, row_total) in enumerate(zip(hours, totals, strict=True)):
        x = left + index * slot + (slot - bar_w) / 2
        when = (_day_hour_label if weekly else _hour_label)(str(row.get("hour", "")))
        counts = ", ".join(f"{p} {int(row.get(p, 0))}" for p in PRIORITIES)
        parts.append(f'<g class="bar"><title>{escape(when)}: {row_total} ({counts})</title>')
        y: float = top + plot_h  # the bottom of the next segment up
        for priority in PRIORITIES:
            value = int(row.get(priority, 0))
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect class="seg seg-{priority}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[priority]}"/>'
            )
        parts.append("</g>")
        if index % label_every == 0:
            parts.append(
                f'<text class="axis xlabel" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle">{escape(when if not weekly else when[:3])}</text>'
            )
    # legend, in text
    for index, priority in enumerate(PRIORITIES):
        lx = left + index * 90
        parts.append(
            f'<rect x="{lx}" y="6" width="12" height="12" fill="{COLORS[priority]}"/>'
            f'<text class="legend" x="{lx + 16}" y="16">{priority}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _pct_text(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f}%"


def sla_chart(rows: Sequence[tuple[str, float | None, float]]) -> Markup:
    """Horizontal attainment bars: ``(label, percent or None, target percent)`` per row,
    each with a target marker and the figure written beside it."""
    width, row_h, left, right = 720, 44, 190, 90
    height = 20 + row_h * len(rows)
    desc = "; ".join(
        f"{label}: {_pct_text(value)} (target {target:g}%)" for label, value, target in rows
    )
    _, svg = _open("sla", width, height, "First responses within SLA", desc)
    parts = [svg]
    plot_w = width - left - right
    for index, (label, value, target) in enumerate(rows):
        y = 10 + index * row_h
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {_pct_text(value)}, target {target:g}%</title>'
            f'<text class="legend" x="{left - 8}" y="{y + 20}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y + 6}" width="{plot_w}" height="20" fill="#e8e8e8" '
            'stroke="#555555"/>'
        )
        if value is not None:
            filled = plot_w * max(0.0, min(value, 100.0)) / 100
            met = value >= target
            parts.append(
                f'<rect x="{left}" y="{y + 6}" width="{filled:.1f}" height="20" '
                f'fill="{BAR_COLOR if met else COLORS["P0"]}"/>'
            )
        tx = left + plot_w * target / 100
        parts.append(
            f'<line x1="{tx:.1f}" y1="{y + 2}" x2="{tx:.1f}" y2="{y + 30}" '
            f'stroke="{TARGET_COLOR}" stroke-width="2" stroke-dasharray="4 2"/>'
            f'<text class="legend" x="{left + plot_w + 8}" y="{y + 20}">'
            f"{escape(_pct_text(value))}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(buckets: Sequence[tuple[str, int]], title: str) -> Markup:
    """Vertical bars, one per ``(label, count)`` bucket, labelled under each bar and with
    the count above it."""
    width, height, left, bottom, top = 720, 240, 40, 40, 24
    peak = max((n for _, n in buckets), default=0) or 1
    total = sum(n for _, n in buckets)
    desc = f"{total} first responses. " + "; ".join(f"{label}: {n}" for label, n in buckets)
    _, svg = _open("histogram", width, height, title, desc)
    plot_w, plot_h = width - left - 10, height - top - bottom
    slot = plot_w / max(len(buckets), 1)
    bar_w = slot * 0.75
    parts = [
        svg,
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#1a1a1a" stroke-width="1"/>',
    ]
    for index, (label, n) in enumerate(buckets):
        x = left + index * slot + (slot - bar_w) / 2
        h = plot_h * n / peak
        y = top + plot_h - h
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {n}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{BAR_COLOR}"/>'
            f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" '
            f'text-anchor="middle">{n}</text>'
            f'<text class="axis xlabel" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(
    starts: Sequence[datetime],
    counts: Sequence[int],
    spike_starts: Sequence[datetime],
    title: str,
    *,
    width: int = 240,
    height: int = 40,
) -> Markup:
    """A small bar per window, a spike's bar marked (``class="spark-bar spike"``, a darker
    colour and a dot above it, and "spike" in its ``<title>``), so a spike is told by more
    than colour. The description gives the figures in words."""
    marked = set(spike_starts)
    peak = max(counts, default=0) or 1
    spikes = [start for start in starts if start in marked]
    desc = (
        f"{sum(counts)} over {len(counts)} windows; latest {counts[-1] if counts else 0}, "
        f"busiest {max(counts, default=0)}; "
        + (
            "spikes at " + ", ".join(f"{start:%H:%M}" for start in spikes) + " UTC"
            if spikes
            else "no spike"
        )
    )
    _, svg = _open("spark", width, height, title, desc)
    parts = [svg.replace('class="chart"', 'class="chart sparkline"', 1)]
    top, plot_h = 6, height - 8
    slot = width / max(len(counts), 1)
    bar_w = max(slot - 1, 1)
    for index, (start, value) in enumerate(zip(starts, counts, strict=True)):
        x, h = index * slot, plot_h * value / peak
        spike = start in marked
        label = f"{start:%H:%M} UTC: {value}{' (spike)' if spike else ''}"
        parts.append(
            f'<g class="spark-bar{" spike" if spike else ""}"><title>{escape(label)}</title>'
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{max(h, 0.5):.1f}" fill="{COLORS["P0"] if spike else BAR_COLOR}"/>'
        )
        if spike:
            parts.append(f'<circle cx="{x + bar_w / 2:.1f}" cy="3" r="2.5" fill="{COLORS["P0"]}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
