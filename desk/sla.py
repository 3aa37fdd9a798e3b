"""SLA deadlines: when a first response or a resolution is due, when to warn, and why.

The targets are the playbook's (``support-strategy.md``):

* Each priority level's ``first_response`` and ``resolution`` come from the rulebook's
  priority table, which mirrors the playbook's "Response Times & SLAs" table.
* Each channel promises its own first-response time in the playbook's "Support Channels":
  Discord #help <30 minutes, Twitter/X <1 hour, GitHub Issues <24 hours, email <24 hours
  (``CHANNEL_FIRST_RESPONSE``). A message gets the stricter (shorter) of its level's and its
  channel's first-response target. Channels promise nothing about resolution.

Which clock counts, per the playbook's "Coverage Hours":

* ``clock: always`` (P0 in the shipped rulebook) runs 24/7. P0 is the only level with an
  on-call rotation ("24/7 on-call rotation, PagerDuty alerts for critical issues"), so a
  crash on launch reported on a Saturday night is due an hour later, on Sunday.
* ``clock: business-hours`` (P1-P3) counts only the support engineer's hours, Monday-Friday
  08:00-17:00 New York time by default (the rulebook's ``business_hours``). Nobody is staffed
  to answer a P1-P3 message at night, on a weekend or on a holiday (volunteers help on
  Discord, but the SLA is the support engineer's), so those hours do not count: a P1 received
  Friday 16:00 has used one of its four hours by closing and is due Monday 11:00.

Business time is counted by ``desk.business_hours.BusinessCalendar`` (re-exported here):
local business days, holidays, and daylight-saving changes on the local wall clock. "Within"
is inclusive: a response at ``Due.at`` is on time; ``status`` says "overdue" only after it.

Everything here is pure: the current time is always passed in, and times must be
timezone-aware (a naive datetime raises ``ValueError``). Instants returned are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from desk.business_hours import (
    BusinessCalendar,
    Stretch,
    as_utc,
    format_day,
    join_phrases,
)
from rules.schema import BusinessHours, PriorityLevel

__all__ = [
    "CHANNEL_FIRST_RESPONSE",
    "WARN_FRACTION",
    "BusinessCalendar",
    "Due",
    "due",
    "status",
]

# The playbook's "Support Channels": each channel's first-response target.
CHANNEL_FIRST_RESPONSE: dict[str, timedelta] = {
    "discord": timedelta(minutes=30),  # Discord #help: <30 minutes
    "x": timedelta(hours=1),  # Twitter/X mentions: <1 hour
    "github": timedelta(hours=24),  # GitHub Issues: <24 hours (acknowledgment)
    "email": timedelta(hours=24),  # support@caro-cli.dev: <24 hours
}
CHANNEL_NAMES = {"discord": "Discord", "x": "X", "github": "GitHub", "email": "email"}

# Warn when this share of the target has elapsed (on the target's own clock).
WARN_FRACTION = 0.75

Clock = Literal["always", "business-hours"]
Kind = Literal["first_response", "resolution"]
Status = Literal["ok", "warning", "overdue"]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Due:
    """When a target is due. ``at`` and ``warn_at`` are UTC instants, both None (as is
    ``target``) for a "next-release" resolution, which no clock measures."""

    at: datetime | None
    target: timedelta | None
    clock: Clock
    warn_at: datetime | None
    why: str


def due(
    priority_level: PriorityLevel,
    hours: BusinessHours,
    channel: str,
    received_at: datetime,
    kind: Kind = "first_response",
    *,
    level: str | None = None,
) -> Due:
    """When the first response (or the resolution) of a message is due.

    ``level`` names the level in ``why`` ("P2"); without it the level's label is used.
    The first-response target is the stricter of the level's and the channel's; it is
    counted on the level's clock (24/7 or business hours), and so is the warning, at
    ``WARN_FRACTION`` of the target. Resolution targets run in calendar time: the playbook's
    "P1 resolution in 3 days" counted in business hours would stretch to 8 business days.
    """
    received = as_utc(received_at, "received_at")
    if channel not in CHANNEL_FIRST_RESPONSE:
        raise ValueError(
            f"unknown channel {channel!r}; expected one of {', '.join(CHANNEL_FIRST_RESPONSE)}"
        )
    if kind not in ("first_response", "resolution"):
        raise ValueError(f"kind must be 'first_response' or 'resolution'; got {kind!r}")
    calendar = BusinessCalendar(hours)
    name = level or priority_level.label
    clock = priority_level.clock

    if kind == "first_response":
        own, promised = priority_level.first_response, CHANNEL_FIRST_RESPONSE[channel]
        target = min(own, promised)
        channel_name = CHANNEL_NAMES[channel]
        if promised < own:
            reason = f"{channel_name}'s {_span(promised)} is stricter than {name}'s {_span(own)}"
        elif own < promised:
            reason = f"{name}'s {_span(own)} is stricter than {channel_name}'s {_span(promised)}"
        else:
            reason = f"{name}'s and {channel_name}'s targets are both {_span(own)}"
        head = f"{name} first response within {_span(target)} ({reason})"
    else:
        resolution = priority_level.resolution
        if resolution == "next-release":
            return Due(
                at=None,
                target=None,
                clock=clock,
                warn_at=None,
                why=(
                    f"{name} resolution: in the next release, which no clock measures, so "
                    f"there is no deadline and no warning. Received {calendar.local(received)}."
                ),
            )
        target = resolution
        clock = "always"  # "resolution in 3 days" means calendar days, not 8 business days
        head = (
            f"{name} resolution within {_span(target)} ({name}'s resolution target, "
            "in calendar time)"
        )

    warn_target = target * WARN_FRACTION
    if clock == "always":
        at, warn_at = received + target, received + warn_target
        sentences = [
            f"{head}, counted 24/7 (clock: always; the on-call rotation covers nights, "
            f"weekends and holidays).",
            f"Received {calendar.local(received)}.",
        ]
        changes = calendar.clock_changes(received, at)
        if changes:
            sentences.append(
                f"The clocks changed {join_phrases(changes)}; "
                "the 24/7 clock counts real elapsed time."
            )
    else:
        at, used = calendar.walk(received, target)
        warn_at = calendar.add(received, warn_target)
        sentences = [
            f"{head}, counted in business hours ({calendar.describe()}).",
            _received_sentence(calendar, received, used),
        ]
        if used:
            sentences.append(_ran_sentence(calendar, used))
        changes = calendar.clock_changes(received, at)
        if changes:
            sentences.append(
                f"The clocks changed {join_phrases(changes)}; "
                "business hours follow the local wall clock."
            )
    sentences.append(
        f"Due {calendar.local(at)}; warn at {calendar.local(warn_at)} "
        f"({WARN_FRACTION:.0%} of the target)."
    )
    return Due(at=at, target=target, clock=clock, warn_at=warn_at, why=" ".join(sentences))


def status(due: Due, now: datetime) -> Status:
    """``ok`` before ``warn_at``, ``warning`` from it to ``at`` inclusive (a response at the
    due instant is on time), ``overdue`` after. A target without a deadline is always ok."""
    now = as_utc(now, "now")
    if due.at is not None and now > due.at:
        return "overdue"
    if due.warn_at is not None and now >= due.warn_at:
        return "warning"
    return "ok"


# ---------------------------------------------------------------------- why, in words


def _received_sentence(calendar: BusinessCalendar, received: datetime, used: list[Stretch]) -> str:
    where = calendar.where(received)
    sentence = f"Received {calendar.local(received)}, {where}"
    if where == "inside business hours" or not used:
        return sentence + "."
    first_day, begin, _ = used[0]
    sentence += f", so the clock started {calendar.local(begin)}"
    received_day = received.astimezone(calendar.zone).date()
    days_off = calendar.days_off(received_day, first_day - _DAY)
    if days_off:
        sentence += f" (paused {join_phrases(days_off)})"
    return sentence + "."


def _ran_sentence(calendar: BusinessCalendar, used: list[Stretch]) -> str:
    first_day, begin, end = used[0]
    if len(used) == 1:
        return f"The clock ran {_span(end - begin)} on {format_day(first_day)}."
    rest = sum((to - since for _, since, to in used[1:]), timedelta(0))
    sentence = (
        f"The clock ran {_span(end - begin)} on {format_day(first_day)} and {_span(rest)} from "
        f"{calendar.local(used[1][1])}"
    )
    if len(used) > 2:
        sentence += f" over {len(used) - 1} business days"
    pauses = ["overnight", *calendar.days_off(first_day + _DAY, used[-1][0] - _DAY)]
    return f"{sentence}, pausing {join_phrases(pauses)}."


def _span(duration: timedelta) -> str:
    """``30 min``, ``4h``, ``23h30``, ``3d = 72h``, ``1w = 168h``."""
    seconds = round(duration.total_seconds())
    if seconds >= 3 * 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        short = f"{days // 7}w" if days % 7 == 0 else f"{days}d"
        return f"{short} = {days * 24}h"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if not hours:
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    text = f"{hours}h"
    if minutes or secs:
        text += f"{minutes:02d}"
    if secs:
        text += f"m{secs:02d}s"
    return text
