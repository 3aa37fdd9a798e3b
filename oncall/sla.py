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

Business time (``BusinessCalendar``) is counted on local business days: each business day
is open from the local wall-clock ``start`` to ``end``, converted to an instant with
zoneinfo for that very day, so a daylight-saving change moves the opening in UTC but never
on the wall clock (09:00 stays 09:00). Holidays (``"YYYY-MM-DD"``) are whole local days off.
Boundaries:

* An instant is inside business hours when opening <= instant < closing; a message received
  exactly at closing starts counting at the next opening, one received exactly at opening
  starts counting at once.
* ``add(start, d)`` is the earliest instant by which ``d`` of business time has elapsed: a
  target that runs out exactly at closing is due at closing, not at the next opening, and
  ``add(start, 0)`` is ``start``. "Within" is inclusive: a response at ``Due.at`` is on time;
  ``status`` says "overdue" only after it.
* If the local opening or closing time does not exist that day (skipped by a clock change),
  the business day opens or closes when the clock jumps past it; if it occurs twice (the
  repeated hour when clocks go back), the first occurrence counts. Neither happens with the
  shipped hours (New York changes clocks at 02:00 on a Sunday).

Everything here is pure: the current time is always passed in, and times must be
timezone-aware (a naive datetime raises ``ValueError``). Instants returned are in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

_WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


def _utc(value: datetime, name: str) -> datetime:
    """An aware datetime as UTC; a naive one is refused rather than guessed."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; got naive {value.isoformat()}")
    return value.astimezone(UTC)


class BusinessCalendar:
    """Business time for one ``BusinessHours``: ``add`` a duration, or measure ``elapsed``."""

    def __init__(self, hours: BusinessHours) -> None:
        try:
            self.zone = ZoneInfo(hours.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {hours.timezone!r}") from error
        if not hours.days:
            raise ValueError("business hours need at least one business day")
        self.hours = hours
        self.days = frozenset(_WEEKDAY_KEYS.index(day) for day in hours.days)
        self.opens = time.fromisoformat(hours.start)
        self.closes = time.fromisoformat(hours.end)
        if self.closes <= self.opens:
            raise ValueError(
                f"business hours must close after they open on the same day; "
                f"got {hours.start}-{hours.end}"
            )
        holidays = set()
        for text in hours.holidays:
            if not _ISO_DATE.match(text):
                raise ValueError(f"holiday {text!r} is not a YYYY-MM-DD date")
            holidays.add(date.fromisoformat(text))
        self.holidays = frozenset(holidays)

    # ------------------------------------------------------------------ days and windows

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC opening and closing instants of a local business day, else None."""
        if not self.is_business_day(day):
            return None
        return self._instant(day, self.opens), self._instant(day, self.closes)

    def _instant(self, day: date, wall: time) -> datetime:
        """The first instant at which the local clock on ``day`` reads ``wall`` or later."""
        naive = datetime.combine(day, wall)
        first = naive.replace(tzinfo=self.zone).astimezone(UTC)  # fold=0: first occurrence
        if first.astimezone(self.zone).replace(tzinfo=None) == naive:
            return first
        # ``wall`` was skipped by a clock change. With fold=1 zoneinfo reads it with the
        # offset after the change (an instant before the jump); with fold=0, with the offset
        # before (an instant after). Find the jump between them, to the second.
        before = naive.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        low, high = 0, int((first - before).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            probe = before + timedelta(seconds=middle)
            if probe.astimezone(self.zone).replace(tzinfo=None) >= naive:
                high = middle
            else:
                low = middle
        return before + timedelta(seconds=high)

    def is_open(self, instant: datetime) -> bool:
        """Whether ``instant`` is inside business hours (opening <= instant < closing)."""
        instant = _utc(instant, "instant")
        window = self.window(instant.astimezone(self.zone).date())
        return window is not None and window[0] <= instant < window[1]

    # ------------------------------------------------------------------ arithmetic

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of business time has elapsed after
        ``start`` (which, outside business hours, starts counting at the next opening)."""
        return self._walk(start, duration)[0]

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; negative when ``end`` is before ``start``."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end < start:
            return -self.elapsed(end, start)
        total = timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            window = self.window(day)
            if window is not None:
                low, high = max(window[0], start), min(window[1], end)
                if high > low:
                    total += high - low
            day += _DAY
        return total

    def _walk(
        self, start: datetime, duration: timedelta
    ) -> tuple[datetime, list[tuple[date, datetime, datetime]]]:
        """``add``, and the stretches of business time it counted: (local day, from, to)."""
        start = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative; got {duration}")
        used: list[tuple[date, datetime, datetime]] = []
        remaining = duration
        day = start.astimezone(self.zone).date()  # earlier days' windows end before start
        while remaining:
            window = self.window(day)
            if window is not None:
                begin, closes = max(window[0], start), window[1]
                if begin < closes:
                    stretch = min(remaining, closes - begin)
                    used.append((day, begin, begin + stretch))
                    remaining -= stretch
            day += _DAY
        return (used[-1][2] if used else start), used

    # ------------------------------------------------------------------ words

    def describe(self) -> str:
        """``Mon-Fri 08:00-17:00 America/New_York``."""
        return f"{_day_ranges(self.days)} {self.hours.start}-{self.hours.end} {self.hours.timezone}"

    def local(self, instant: datetime) -> str:
        """``Friday 2026-01-16 16:30 EST``."""
        return _local(instant.astimezone(self.zone))

    def _where(self, instant: datetime) -> str:
        """Where a received instant falls: inside business hours, at night, on a day off."""
        local = instant.astimezone(self.zone)
        day = local.date()
        if day.weekday() not in self.days:
            return f"on a {_WEEKDAY_NAMES[day.weekday()]}, not a business day"
        if day in self.holidays:
            return f"on a holiday ({day.isoformat()})"
        window = self.window(day)
        assert window is not None  # a business weekday that is not a holiday
        if instant < window[0]:
            return "before opening"
        if instant >= window[1]:
            return "after closing"
        return "inside business hours"

    def _days_off(self, first: date, last: date) -> list[str]:
        """Phrases for the days off from ``first`` to ``last`` (inclusive): weekends (runs
        of non-business weekdays) and holidays."""
        runs: list[list[date]] = []
        holidays: list[date] = []
        day = first
        while day <= last:
            if day.weekday() not in self.days:
                if runs and runs[-1][-1] == day - _DAY:
                    runs[-1].append(day)
                else:
                    runs.append([day])
            elif day in self.holidays:
                holidays.append(day)
            day += _DAY
        phrases = []
        weekends = [run for run in runs if any(d.weekday() >= 5 for d in run)]
        if len(weekends) == 1:
            phrases.append("over the weekend")
        elif weekends:
            phrases.append(f"over {len(weekends)} weekends")
        other = [d for run in runs if run not in weekends for d in run]
        if other:
            names = _join([_day(d) for d in other])
            phrases.append(f"on the non-business day{'s' if len(other) > 1 else ''} {names}")
        if holidays:
            names = _join([_day(d) for d in holidays])
            phrases.append(f"on the holiday{'s' if len(holidays) > 1 else ''} {names}")
        return phrases

    def _clock_changes(self, start: datetime, end: datetime) -> list[str]:
        """Daylight-saving changes between two instants: ``from EST to EDT on Sunday ...``."""
        changes = []
        previous = start.astimezone(self.zone)
        probe = start
        while probe < end:
            probe = min(probe + _HOUR, end)
            current = probe.astimezone(self.zone)
            if current.utcoffset() != previous.utcoffset():
                changes.append(
                    f"from {previous.tzname()} to {current.tzname()} on {_day(current.date())}"
                )
            previous = current
        return changes


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
    received = _utc(received_at, "received_at")
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
        changes = calendar._clock_changes(received, at)
        if changes:
            sentences.append(
                f"The clocks changed {_join(changes)}; the 24/7 clock counts real elapsed time."
            )
    else:
        at, used = calendar._walk(received, target)
        warn_at = calendar.add(received, warn_target)
        sentences = [
            f"{head}, counted in business hours ({calendar.describe()}).",
            _received_sentence(calendar, received, used),
        ]
        if used:
            sentences.append(_ran_sentence(calendar, used))
        changes = calendar._clock_changes(received, at)
        if changes:
            sentences.append(
                f"The clocks changed {_join(changes)}; business hours follow the local wall clock."
            )
    sentences.append(
        f"Due {calendar.local(at)}; warn at {calendar.local(warn_at)} "
        f"({WARN_FRACTION:.0%} of the target)."
    )
    return Due(at=at, target=target, clock=clock, warn_at=warn_at, why=" ".join(sentences))


def status(due: Due, now: datetime) -> Status:
    """``ok`` before ``warn_at``, ``warning`` from it to ``at`` inclusive (a response at the
    due instant is on time), ``overdue`` after. A target without a deadline is always ok."""
    now = _utc(now, "now")
    if due.at is not None and now > due.at:
        return "overdue"
    if due.warn_at is not None and now >= due.warn_at:
        return "warning"
    return "ok"


# ---------------------------------------------------------------------- why, in words


def _received_sentence(
    calendar: BusinessCalendar, received: datetime, used: list[tuple[date, datetime, datetime]]
) -> str:
    where = calendar._where(received)
    sentence = f"Received {calendar.local(received)}, {where}"
    if where == "inside business hours" or not used:
        return sentence + "."
    first_day, begin, _ = used[0]
    sentence += f", so the clock started {calendar.local(begin)}"
    received_day = received.astimezone(calendar.zone).date()
    days_off = calendar._days_off(received_day, first_day - _DAY)
    if days_off:
        sentence += f" (paused {_join(days_off)})"
    return sentence + "."


def _ran_sentence(calendar: BusinessCalendar, used: list[tuple[date, datetime, datetime]]) -> str:
    first_day, begin, end = used[0]
    if len(used) == 1:
        return f"The clock ran {_span(end - begin)} on {_day(first_day)}."
    rest = sum((to - since for _, since, to in used[1:]), timedelta(0))
    sentence = (
        f"The clock ran {_span(end - begin)} on {_day(first_day)} and {_span(rest)} from "
        f"{calendar.local(used[1][1])}"
    )
    if len(used) > 2:
        sentence += f" over {len(used) - 1} business days"
    pauses = ["overnight", *calendar._days_off(first_day + _DAY, used[-1][0] - _DAY)]
    return f"{sentence}, pausing {_join(pauses)}."


def _local(local: datetime) -> str:
    clock = local.strftime("%H:%M:%S" if local.second or local.microsecond else "%H:%M")
    return f"{_day(local.date())} {clock} {local.tzname()}"


def _day(day: date) -> str:
    return f"{_WEEKDAY_NAMES[day.weekday()]} {day.isoformat()}"


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


def _day_ranges(days: frozenset[int]) -> str:
    """``Mon-Fri``; ``Mon, Wed, Fri``; ``Mon-Thu, Sun``."""
    runs: list[list[int]] = []
    for index in sorted(days):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    short = [name[:3] for name in _WEEKDAY_NAMES]
    return ", ".join(
        short[run[0]] if len(run) == 1 else f"{short[run[0]]}-{short[run[-1]]}" for run in runs
    )


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
