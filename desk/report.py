"""The playbook's daily and weekly support reports, in Markdown, from ``compute_metrics``.

Tracking & Reporting: the daily report is the queue status and the P0 issues; the weekly
one the metrics summary, the top issues and the KB updates needed. Both carry the summary
table (each Success Metrics target with ✅ or ❌ and what the verdict rests on; "—" when
there was nothing to measure or too little to judge, ``desk.targets``), resolution times by
priority, the P0 section, top issues and KB candidates by name, and the volume. Every time
is on the team's clock (``zone``: the rulebook's business hours' zone).
Pure: the metrics dict, the clock and the zone in, text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

from desk.targets import verdict_text

Period = Literal["day", "week"]
TOP_ISSUES = {"day": 5, "week": 10}
NO_DATA = "—"
_TICK = timedelta(microseconds=1)  # the period ends just before ``until``


def render_report(
    metrics: Mapping[str, Any], period: Period, now: datetime, *, zone: tzinfo = UTC
) -> str:
    """The report for ``period`` ("day" or "week") generated at ``now``, its times in
    ``zone``."""
    if period not in TOP_ISSUES:
        raise ValueError(f"period must be 'day' or 'week', not {period!r}")
    sections = [
        _title(metrics, period, now, zone),
        _queue(metrics["queue"]) if period == "day" and "queue" in metrics else "",
        _summary(metrics),
        _resolution(metrics["resolution_by_priority"]),
        _p0(metrics),
        _top_issues(metrics["top_issues"], TOP_ISSUES[period]),
        _kb(metrics["kb_candidates"]),
        _volume(metrics["volume"], zone),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


# --- formatting -----------------------------------------------------------------------


def humanize(seconds: float | None) -> str:
    """A duration for people, rounded down: "45 s", "12 min", "1 h 12 min", "2 d 3 h"."""
    if seconds is None:
        return NO_DATA
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def _percent(value: float | None) -> str:
    if value is None:
        return NO_DATA
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}%"


def _rate(value: float | None) -> str:
    return _percent(None if value is None else 100.0 * value)


def _mark(met: bool | None) -> str:
    return NO_DATA if met is None else ("✅" if met else "❌")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(_cell(cell) for cell in line) + " |" for line in lines)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local(value: str | datetime, zone: tzinfo) -> datetime:
    return _utc(datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(zone)


def _moment(value: str | datetime, zone: tzinfo) -> str:
    """A moment on the team's clock with its zone's abbreviation: "2026-01-24 08:00 EST"."""
    moment = _local(value, zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def _tallies(counts: Mapping[str, int]) -> str:
    return " · ".join(f"{key} {count}" for key, count in counts.items()) or NO_DATA


# --- sections -------------------------------------------------------------------------


def _title(metrics: Mapping[str, Any], period: Period, now: datetime, zone: tzinfo) -> str:
    window = metrics.get("period") or {}
    last = _local(window["until"], zone) - _TICK if window else _local(now, zone)
    if period == "day":
        title = f"# Daily support report: {last:%a %d %b %Y}"
    elif window:
        since = _local(window["since"], zone)
        title = f"# Weekly support report: {since:%d %b} to {last:%d %b %Y}"
    else:
        title = f"# Weekly support report: week ending {last:%d %b %Y}"
    covers = (
        f"received {_moment(window['since'], zone)} to {_moment(window['until'], zone)}; "
        if window
        else ""
    )
    return f"{title}\n\n_Covers reports {covers}generated {_moment(now, zone)}._"


def _queue(queue: Mapping[str, Any]) -> str:
    if not queue["waiting"]:
        return "## Queue status\n\n**Queue:** empty, nothing is waiting for a first response. ✅"
    past_due = queue["past_due"]
    return (
        "## Queue status\n\n"
        f"**Queue:** {queue['waiting']} waiting for a first response "
        f"({_tallies(queue['by_priority'])}), {queue['claimed']} of them claimed; "
        f"{past_due} past due {'❌' if past_due else '✅'}; "
        f"oldest waiting {humanize(queue['oldest_waiting_s'])}."
    )


def _out_of(block: Mapping[str, Any]) -> str:
    if not block["sla_counted"]:
        return NO_DATA
    return f"{_percent(block['within_sla_pct'])} ({block['within_sla']} of {block['sla_counted']})"


def _summary_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target name, metric, value, target) for each row of the summary."""
    first, targets = metrics["first_response"], metrics["targets"]
    reopened, incidents = metrics["reopened"], metrics["incidents"]
    return [
        (
            "average_first_response",
            "Average first response",
            humanize(first["average_s"]),
            f"< {humanize(targets['average_first_response']['target_s'])}",
        ),
        (
            "first_response_within_sla",
            "First responses within SLA",
            _out_of(first),
            f"> {_percent(targets['first_response_within_sla']['target_pct'])}",
        ),
        (
            "p0_first_response",
            "P0 first responses within 1 h",
            _out_of(first["p0"]),
            f"{_percent(targets['p0_first_response']['target_pct'])} under "
            f"{humanize(targets['p0_first_response']['target_s'])}",
        ),
        (
            "resolved_within_sla",
            "Resolved within SLA",
            _out_of(metrics["resolution"]),
            f"> {_percent(targets['resolved_within_sla']['target_pct'])}",
        ),
        (
            "reopened_rate",
            "Reopened issues",
            _with_counts(reopened["rate"], reopened["count"], reopened["resolved"], "resolved"),
            f"< {_rate(targets['reopened_rate']['target_rate'])}",
        ),
        (
            "escalation_rate",
            "Escalation rate",
            _with_counts(
                incidents["rate"], incidents["escalated"], incidents["count"], "incidents"
            ),
            f"< {_rate(targets['escalation_rate']['target_rate'])}",
        ),
    ]


def _with_counts(rate: float | None, part: int, whole: int, noun: str) -> str:
    return NO_DATA if rate is None else f"{_rate(rate)} ({part} of {whole} {noun})"


def _verdict(name: str, row: Mapping[str, Any]) -> str:
    if "verdict" not in row:  # metrics computed before verdicts existed
        return _mark(row["met"])
    mark = "" if row["met"] is None else _mark(row["met"]) + " "
    return mark + verdict_text(name, row)


def _summary(metrics: Mapping[str, Any]) -> str:
    targets = metrics["targets"]
    rows = [
        [label, value, target, _verdict(name, targets[name])]
        for name, label, value, target in _summary_rows(metrics)
    ]
    first = metrics["first_response"]
    waiting = (
        f"Not in the averages: {first['pending']} waiting and not yet due, "
        f"{first['overdue']} waiting past due (counted as SLA misses)."
    )
    judged = (
        "A target is judged on 10 or more items (answered, resolved, incidents); "
        "a single P0 missed misses its 100%."
    )
    table = _table(["Metric", "Value", "Target", "Met"], rows)
    return f"## Summary\n\n{table}\n\n{waiting} {judged}"


def _resolution(by_priority: Mapping[str, Mapping[str, Any]]) -> str:
    rows = [
        [
            priority,
            str(block["count"]),
            humanize(block["average_s"]),
            humanize(block["median_s"]),
            _out_of(block),
        ]
        for priority, block in by_priority.items()
    ]
    header = ["Priority", "Resolved", "Average", "Median", "Within SLA"]
    return "## Resolution time by priority\n\n" + _table(header, rows)


def _p0(metrics: Mapping[str, Any]) -> str:
    block, incidents = metrics["first_response"]["p0"], metrics["incidents"]
    reports = metrics["volume"]["by_priority"].get("P0", 0)
    lines = [
        f"- Reports: {reports} P0 mention{'s' * (reports != 1)}; "
        f"incidents: {incidents['count']} ({incidents['escalated']} escalated, "
        f"{incidents['open']} not resolved)",
    ]
    if block["count"]:
        lines.append(
            f"- First response: average {humanize(block['average_s'])}, "
            f"median {humanize(block['median_s'])}, slowest {humanize(block['max_s'])}"
        )
    target = metrics["targets"]["p0_first_response"]
    lines.append(f"- Within SLA (1 h): {_out_of(block)} {_verdict('p0_first_response', target)}")
    lines.append(f"- Waiting: {block['pending']} not yet due, {block['overdue']} past due")
    return "## P0 issues\n\n" + "\n".join(lines)


def _named(row: Mapping[str, Any]) -> str:
    """A problem's name, with its incident's id when it is one."""
    incident = f" (incident {row['incident_id']})" if row.get("incident_id") else ""
    return f"{row['name']}{incident}"


def _top_issues(issues: list[Mapping[str, Any]], limit: int) -> str:
    if not issues:
        return "## Top issues\n\n_No issue was reported in this period._"
    rows = [
        [str(rank), _named(issue), str(issue["count"]), issue["priority"]]
        for rank, issue in enumerate(issues[:limit], start=1)
    ]
    header = ["#", "Problem", "Reports", "Priority"]
    return f"## Top issues (top {limit})\n\n" + _table(header, rows)


KB_LEAD = {"incident": "", "question": "Repeated question: ", "problem": "Repeated problem: "}


def _kb_line(candidate: Mapping[str, Any]) -> str:
    lead = KB_LEAD.get(candidate.get("source", "problem"), "")
    words = ", ".join(candidate.get("words") or [])
    examples = ", ".join(candidate["example_mention_ids"])
    return (
        f"- {lead}**{_named(candidate)}**: {candidate['count']} reports "
        f"({candidate['priority']})" + (f"; words: {words}" if words else "") + f"; e.g. {examples}"
    )


def _kb(candidates: list[Mapping[str, Any]]) -> str:
    if not candidates:
        return "## KB updates needed\n\n_No problem was reported 3+ times._"
    intro = (
        "Problems reported 3+ times (an incident counts all its reports) and repeated "
        "questions: candidates for a KB article."
    )
    return "## KB updates needed\n\n" + intro + "\n\n" + "\n".join(map(_kb_line, candidates))


def _busiest(per_hour: list[Mapping[str, Any]], zone: tzinfo) -> str:
    def total(bucket: Mapping[str, Any]) -> int:
        return sum(count for key, count in bucket.items() if key != "hour")

    busiest = max(per_hour, key=total, default=None)
    if busiest is None or not total(busiest):
        return ""
    return f"\n- Busiest hour: {_moment(busiest['hour'], zone)} ({total(busiest)} mentions)"


def _volume(volume: Mapping[str, Any], zone: tzinfo) -> str:
    total = volume.get("total", sum(volume["by_channel"].values()))
    return (
        f"## Volume\n\n- {total} mentions received"
        f"\n- By channel: {_tallies(volume['by_channel'])}"
        f"\n- By priority: {_tallies(volume['by_priority'])}" + _busiest(volume["per_hour"], zone)
    )
