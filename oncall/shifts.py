"""Where a layer's turns begin, on the schedule's local calendar, across daylight saving.

- **Turns.** Turn ``k`` of a layer begins on the local date ``start + k`` days (daily) or
  ``start + 7k`` days (weekly) at the ``handoff`` wall-clock time, and belongs to
  ``members[k % len(members)]``. Boundaries are computed on the local calendar and then
  converted to UTC, never by adding 24-hour steps, so a handoff stays at 09:00 local across
  daylight-saving changes and a daily turn on a change day lasts 23 or 25 hours.
- **Gaps and folds.** A local time that does not exist (02:30 on a spring-forward day in
  America/New_York) means the first instant after the gap (03:00 EDT). A local time that
  happens twice (01:30 on a fall-back day) means its first occurrence (EDT, ``fold=0``).
  Rule of thumb: a handoff happens the first time the wall clock reaches its time that day.
  Override times follow the same rule.

Every function takes the time it works on; nothing here reads the clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["TICK", "Turns", "wall_clock_to_utc"]

TICK = timedelta(microseconds=1)  # the smallest step between two datetimes


def wall_clock_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time to an aware UTC instant: its first occurrence if it
    happens twice (fall back), the first instant after the gap if it never happens
    (spring forward)."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap, fold=0 reads the wall time with the offset from before the change (an
    # instant after it) and fold=1 with the offset from after it (an instant before it):
    # the change itself lies between; find it to the microsecond.
    low, high = wall.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > TICK:
        middle = low + (high - low) // 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class Turns:
    """One layer's turns: turn k begins on local date first_day + k*period_days."""

    members: tuple[str, ...]
    first_day: date
    period_days: int
    handoff: time
    zone: ZoneInfo

    @property
    def one_person(self) -> bool:
        return len(set(self.members)) == 1

    def begins(self, k: int) -> datetime:
        day = self.first_day + timedelta(days=k * self.period_days)
        return wall_clock_to_utc(datetime.combine(day, self.handoff), self.zone)

    def turn_at(self, at: datetime) -> int:
        """The turn holding ``at`` (negative before the layer starts)."""
        k = (at.astimezone(self.zone).date() - self.first_day).days // self.period_days
        while self.begins(k) > at:
            k -= 1
        while self.begins(k + 1) <= at:
            k += 1
        return k
