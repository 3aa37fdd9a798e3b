"""Who is on call: a local YAML schedule, or PagerDuty's ``GET /oncalls``, behind one API
(``Rotation``: the shifts and handoffs either answers, and the web view of them).

This module is the local rotation; PagerDuty's is ``oncall.pagerduty_rotation``. The local
schedule's YAML format is in ``oncall.schedule``. Where a layer's turns begin, and
how a local time in a daylight-saving gap or fold is read (handoff and override times alike),
is in ``oncall.shifts``. How ``LocalRotation`` combines them, kept deliberately simple:

- **Layers.** A layer has nobody before its first turn and never ends. Where a level has
  several layers, the later layer in the list wins wherever it has someone (PagerDuty's
  rule), that is: from its start on. So a new layer appended with a later ``start`` takes
  over the level from that date. Before a level's first layer starts, nobody is on call at
  that level and ``on_call`` leaves the level out (as PagerDuty's /oncalls does).
- **Overrides.** ``[start, end)`` in local time; the override's person replaces whoever the
  layers say; if overrides at one level overlap, the later one in the list wins.
- **Shifts.** A shift (``OnCall``) is a maximal stretch in which the same person is on call
  at a level with the same override flag: an override that covers a layer's handoff is one
  shift, not two. ``end`` is ``None`` when nothing will ever change (a one-person layer and
  no later layer or override). A *handoff* is a change of person; going from a person's
  own turn into an override by the same person ends a shift without being a handoff.

Every function takes the time it works on; nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from oncall.pagerduty import RotationError
from oncall.schedule import Layer, Level, Override, Schedule, ScheduleError, parse_schedule
from oncall.shifts import TICK, Turns, wall_clock_to_utc

__all__ = [
    "Handoff",
    "Layer",
    "Level",
    "LocalRotation",
    "OnCall",
    "Override",
    "Rotation",
    "RotationError",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
    "rotation_view",
]

Source = Literal["local", "pagerduty"]
WEEK_DAYS = 7

# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OnCall:
    """One person on call at one escalation level (1 = paged first), with the shift's
    bounds as aware UTC datetimes; ``None`` means unbounded (or, from PagerDuty, not given).
    """

    level: int
    person: str
    start: datetime | None
    end: datetime | None
    source: Source
    override: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "person": self.person,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "override": self.override,
        }


@dataclass(frozen=True)
class Handoff:
    """At ``at`` (aware UTC), who is on call at ``level`` changes. ``None`` is nobody; for
    PagerDuty, several people on call at one level at once are joined with ", "."""

    at: datetime
    level: int
    from_person: str | None
    to_person: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "level": self.level,
            "from": self.from_person,
            "to": self.to_person,
        }


class Rotation(Protocol):
    source: Source

    def on_call(self, at: datetime) -> list[OnCall]: ...

    def handoffs(self, after: datetime, count: int) -> list[Handoff]: ...

    def week(self, start: datetime) -> list[OnCall]: ...


# ----------------------------------------------------------------------------- UTC times


def as_utc(at: datetime) -> datetime:
    """``at`` in UTC; a ValueError for a naive datetime (whose zone nobody knows)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} is naive: pass an aware datetime (e.g. in UTC)")
    return at.astimezone(UTC)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


# ----------------------------------------------------------------------------- local rotation


@dataclass(frozen=True)
class _Override:
    start: datetime
    end: datetime
    person: str


_State = tuple[str | None, bool]  # (person or nobody, override)


class _LevelTimeline:
    """Who is on call at one level, as a piecewise-constant function of time."""

    def __init__(self, number: int, layers: list[Turns], overrides: list[_Override]) -> None:
        self.number, self.layers, self.overrides = number, layers, overrides
        self.layer_starts = [layer.begins(0) for layer in layers]

    def _active(self, at: datetime) -> Turns | None:
        for layer, begins in zip(reversed(self.layers), reversed(self.layer_starts), strict=True):
            if begins <= at:
                return layer
        return None

    def state(self, at: datetime) -> _State:
        for override in reversed(self.overrides):
            if override.start <= at < override.end:
                return override.person, True
        layer = self._active(at)
        if layer is None:
            return None, False
        return layer.members[layer.turn_at(at) % len(layer.members)], False

    def _next_point(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` at which the state may change."""
        points = [begins for begins in self.layer_starts if begins > at]
        points += [edge for o in self.overrides for edge in (o.start, o.end) if edge > at]
        layer = self._active(at)
        if layer is not None and not layer.one_person:
            points.append(layer.begins(layer.turn_at(at) + 1))
        return min(points, default=None)

    def _previous_point(self, at: datetime) -> datetime | None:
        """The last instant at or before ``at`` at which the state may have changed."""
        points = [begins for begins in self.layer_starts if begins <= at]
        points += [edge for o in self.overrides for edge in (o.start, o.end) if edge <= at]
        layer = self._active(at)
        if layer is not None and not layer.one_person:
            points.append(layer.begins(layer.turn_at(at)))
        return max(points, default=None)

    def shift_end(self, at: datetime) -> datetime | None:
        """When the state at ``at`` changes, or None if it never does."""
        state, point = self.state(at), self._next_point(at)
        while point is not None:
            if self.state(point) != state:
                return point
            point = self._next_point(point)
        return None

    def shift_start(self, at: datetime) -> datetime | None:
        """When the state at ``at`` began, or None if it always held (nobody, before all)."""
        state, point = self.state(at), self._previous_point(at)
        while point is not None:
            if self.state(point - TICK) != state:
                return point
            point = self._previous_point(point - TICK)
        return None

    def shift(self, at: datetime) -> OnCall | None:
        person, override = self.state(at)
        if person is None:
            return None
        return OnCall(
            self.number, person, self.shift_start(at), self.shift_end(at), "local", override
        )

    def handoffs(self, after: datetime) -> Iterator[Handoff]:
        """Changes of person strictly after ``after``, in time order (lazily, maybe forever)."""
        (person, _), point = self.state(after), self.shift_end(after)
        while point is not None:
            new_person, _ = self.state(point)
            if new_person != person:
                yield Handoff(point, self.number, person, new_person)
            person, point = new_person, self.shift_end(point)


class LocalRotation:
    """The rotation from a local ``Schedule`` (see the module docstring)."""

    source: Source = "local"

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.zone = ZoneInfo(schedule.timezone)
        self._levels = [
            _LevelTimeline(
                number,
                [self._turns(layer) for layer in level.layers],
                [
                    _Override(
                        wall_clock_to_utc(o.start, self.zone),
                        wall_clock_to_utc(o.end, self.zone),
                        o.person,
                    )
                    for o in schedule.overrides
                    if o.level == number
                ],
            )
            for number, level in enumerate(schedule.levels, start=1)
        ]

    @classmethod
    def from_yaml(cls, text: str, source: str = "<schedule>") -> LocalRotation:
        return cls(parse_schedule(text, source))

    def _turns(self, layer: Layer) -> Turns:
        period = 1 if layer.rotation == "daily" else WEEK_DAYS
        return Turns(tuple(layer.members), layer.start, period, layer.handoff, self.zone)

    def on_call(self, at: datetime) -> list[OnCall]:
        """One entry per level that has someone on call at ``at``, level 1 first."""
        at = as_utc(at)
        return [shift for level in self._levels if (shift := level.shift(at)) is not None]

    def describe_layer(self, layer: Layer, now: datetime, zone: tzinfo) -> str:
        """How a layer hands off, on ``zone``'s clock (the team's), read at its next
        handoff after ``now`` so the zone's abbreviation is the one then in force:
        "weekly, handoff Monday 09:00 EST". When the schedule keeps another zone, its own
        wall-clock time follows: "(09:00 America/New_York)"."""
        turns = self._turns(layer)
        handoff = turns.begins(turns.turn_at(as_utc(now)) + 1).astimezone(zone)
        day = f"{handoff:%A} " if layer.rotation == "weekly" else ""
        text = f"{layer.rotation}, handoff {day}{handoff:%H:%M} {handoff.tzname()}"
        if getattr(zone, "key", None) != self.schedule.timezone:
            text += f" ({layer.handoff:%H:%M} {self.schedule.timezone})"
        return text

    def handoffs(self, after: datetime, count: int) -> list[Handoff]:
        """The next ``count`` changes of person strictly after ``after``, all levels merged
        in time order (level order for simultaneous ones)."""
        after = as_utc(after)
        merged = heapq.merge(
            *(level.handoffs(after) for level in self._levels),
            key=lambda handoff: (handoff.at, handoff.level),
        )
        return list(itertools.islice(merged, max(count, 0)))

    def week(self, start: datetime) -> list[OnCall]:
        """Every shift overlapping the 7 local calendar days from ``start`` (168 hours, or
        167/169 across a daylight-saving change), by level then start."""
        start = as_utc(start)
        wall = start.astimezone(self.zone).replace(tzinfo=None)
        end = wall_clock_to_utc(wall + timedelta(days=WEEK_DAYS), self.zone)
        shifts = []
        for level in self._levels:
            point: datetime | None = start
            while point is not None and point < end:
                shift = level.shift(point)
                if shift is not None:
                    shifts.append(shift)
                point = level.shift_end(point)
        return shifts


# ----------------------------------------------------------------------------- the web view


def rotation_view(rotation: Rotation, now: datetime, handoffs: int = 5) -> dict[str, Any]:
    """The JSON of ``GET /api/rotation``. A ``RotationError`` becomes ``error`` (with empty
    lists) so that the page shows why instead of breaking."""
    now = as_utc(now)
    view: dict[str, Any] = {
        "source": rotation.source,
        "now": _iso(now),
        "on_call": [],
        "next_handoffs": [],
        "error": None,
    }
    try:
        on_call = [shift.to_dict() for shift in rotation.on_call(now)]
        upcoming = [handoff.to_dict() for handoff in rotation.handoffs(now, handoffs)]
    except RotationError as error:
        view["error"] = str(error) or type(error).__name__
        return view
    view["on_call"], view["next_handoffs"] = on_call, upcoming
    return view
