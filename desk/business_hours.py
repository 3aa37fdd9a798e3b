"""Business time: the support engineer's hours, counted on the local wall clock.

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
  ``add(start, 0)`` is ``start``.
* If the local opening or closing time does not exist that day (skipped by a clock change),
  the business day opens or closes when the clock jumps past it; if it occurs twice (the
  repeated hour when clocks go back), the first occurrence counts. Neither happens with the
  shipped hours (New York changes clocks at 02:00 on a Sunday).

The calendar also words what it counts (``describe``, ``local``, ``where``, ``days_off``,
``clock_changes``) for ``desk.sla``'s explanations. Everything here is pure, and times
must be timezone-aware (a naive datetime raises ``ValueError``). Instants returned are in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.schema import BusinessHours

__all__ = ["BusinessCalendar", "Stretch", "as_utc", "format_day", "join_phrases"]

# A stretch of business time counted on one local day: (local day, from, to), UTC instants.
Stretch = tuple[date, datetime, datetime]

_WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)


def as_utc(value: datetime, name: str) -> datetime:
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
        instant = as_utc(instant, "instant")
        window = self.window(instant.astimezone(self.zone).date())
        return window is not None and window[0] <= instant < window[1]

    # ------------------------------------------------------------------ arithmetic

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant by which ``duration`` of business time has elapsed after
        ``start`` (which, outside business hours, starts counting at the next opening)."""
        return self.walk(start, duration)[0]

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants; negative when ``end`` is before ``start``."""
        start, end = as_utc(start, "start"), as_utc(end, "end")
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

    def walk(self, start: datetime, duration: timedelta) -> tuple[datetime, list[Stretch]]:
        """``add``, and the stretches of business time it counted: (local day, from, to)."""
        start = as_utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative; got {duration}")
        used: list[Stretch] = []
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

    def where(self, instant: datetime) -> str:
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

    def days_off(self, first: date, last: date) -> list[str]:
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
            names = join_phrases([format_day(d) for d in other])
            phrases.append(f"on the non-business day{'s' if len(other) > 1 else ''} {names}")
        if holidays:
            names = join_phrases([format_day(d) for d in holidays])
            phrases.append(f"on the holiday{'s' if len(holidays) > 1 else ''} {names}")
        return phrases

    def clock_changes(self, start: datetime, end: datetime) -> list[str]:
        """Daylight-saving changes between two instants: ``from EST to EDT on Sunday ...``."""
        changes = []
        previous = start.astimezone(self.zone)
        probe = start
        while probe < end:
            probe = min(probe + _HOUR, end)
            current = probe.astimezone(self.zone)
            if current.utcoffset() != previous.utcoffset():
                day = format_day(current.date())
                changes.append(f"from {previous.tzname()} to {current.tzname()} on {day}")
            previous = current
        return changes


def format_day(day: date) -> str:
    """``Friday 2026-01-16``."""
    return f"{_WEEKDAY_NAMES[day.weekday()]} {day.isoformat()}"


def join_phrases(items: list[str]) -> str:
    """``a``; ``a and b``; ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _local(local: datetime) -> str:
    clock = local.strftime("%H:%M:%S" if local.second or local.microsecond else "%H:%M")
    return f"{format_day(local.date())} {clock} {local.tzname()}"


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
