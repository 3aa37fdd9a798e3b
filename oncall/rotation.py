"""Who is on call: a local YAML schedule, or PagerDuty's ``GET /oncalls``, behind one API.

The local schedule's YAML format is in ``oncall.schedule``. Where a layer's turns begin, and
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
from collections.abc import Iterator, Sequence
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
    "PagerDutyRotation",
    "Rotation",
    "RotationError",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
    "rotation_view",
]

Source = Literal["local", "pagerduty"]
_WEEK_DAYS = 7

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


def _utc(at: datetime) -> datetime:
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
        period = 1 if layer.rotation == "daily" else _WEEK_DAYS
        return Turns(tuple(layer.members), layer.start, period, layer.handoff, self.zone)

    def on_call(self, at: datetime) -> list[OnCall]:
        """One entry per level that has someone on call at ``at``, level 1 first."""
        at = _utc(at)
        return [shift for level in self._levels if (shift := level.shift(at)) is not None]

    def describe_layer(self, layer: Layer, now: datetime, zone: tzinfo) -> str:
        """How a layer hands off, on ``zone``'s clock (the team's), read at its next
        handoff after ``now`` so the zone's abbreviation is the one then in force:
        "weekly, handoff Monday 09:00 EST". When the schedule keeps another zone, its own
        wall-clock time follows: "(09:00 America/New_York)"."""
        turns = self._turns(layer)
        handoff = turns.begins(turns.turn_at(_utc(now)) + 1).astimezone(zone)
        day = f"{handoff:%A} " if layer.rotation == "weekly" else ""
        text = f"{layer.rotation}, handoff {day}{handoff:%H:%M} {handoff.tzname()}"
        if getattr(zone, "key", None) != self.schedule.timezone:
            text += f" ({layer.handoff:%H:%M} {self.schedule.timezone})"
        return text

    def handoffs(self, after: datetime, count: int) -> list[Handoff]:
        """The next ``count`` changes of person strictly after ``after``, all levels merged
        in time order (level order for simultaneous ones)."""
        after = _utc(after)
        merged = heapq.merge(
            *(level.handoffs(after) for level in self._levels),
            key=lambda handoff: (handoff.at, handoff.level),
        )
        return list(itertools.islice(merged, max(count, 0)))

    def week(self, start: datetime) -> list[OnCall]:
        """Every shift overlapping the 7 local calendar days from ``start`` (168 hours, or
        167/169 across a daylight-saving change), by level then start."""
        start = _utc(start)
        wall = start.astimezone(self.zone).replace(tzinfo=None)
        end = wall_clock_to_utc(wall + timedelta(days=_WEEK_DAYS), self.zone)
        shifts = []
        for level in self._levels:
            point: datetime | None = start
            while point is not None and point < end:
                shift = level.shift(point)
                if shift is not None:
                    shifts.append(shift)
                point = level.shift_end(point)
        return shifts


# ----------------------------------------------------------------------------- PagerDuty


class _OnCallsSource(Protocol):
    def oncalls(self, schedule_ids: list[str], since: datetime, until: datetime) -> list[dict]: ...


def _pd_time(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} is {value!r}, not an ISO 8601 time")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _pd_shift(entry: object) -> OnCall:
    """One ``GET /oncalls`` entry to an ``OnCall``; RotationError if it is not readable."""
    try:
        if not isinstance(entry, dict):
            raise ValueError(f"an entry is {type(entry).__name__}, not an object")
        level, user = entry["escalation_level"], entry["user"]
        if not isinstance(level, int) or isinstance(level, bool):
            raise ValueError(f"escalation_level is {level!r}")
        person = (user.get("summary") or user.get("id")) if isinstance(user, dict) else None
        if not isinstance(person, str):
            raise ValueError("the user has no summary")
        start, end = _pd_time(entry.get("start"), "start"), _pd_time(entry.get("end"), "end")
    except (KeyError, TypeError, ValueError) as error:
        reason = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise RotationError(
            f"PagerDuty /oncalls returned an entry Hark cannot read: {reason}"
        ) from None
    return OnCall(level, person, start, end, "pagerduty", False)


def _covers(shift: OnCall, at: datetime) -> bool:
    return (shift.start is None or shift.start <= at) and (shift.end is None or at < shift.end)


class PagerDutyRotation:
    """The rotation from PagerDuty's ``GET /oncalls`` for ``schedule_ids``.

    One request fetches the shifts from the minute of the asked time for ``window`` (at
    least 7 days, for ``week``); its answer is reused for calls about the same minute for
    ``cache_s`` seconds, measured with the times passed in (no clock is read). A failed
    request raises ``RotationError`` and is not cached. PagerDuty may list several people
    at one level (several schedules or escalation policies): they are all returned, and
    identical entries (one schedule in two policies) only once. PagerDuty does not say
    which shifts are overrides, so ``override`` is always False.
    """

    source: Source = "pagerduty"

    def __init__(
        self,
        rest: _OnCallsSource,
        schedule_ids: Sequence[str],
        cache_s: float = 60,
        window: timedelta = timedelta(days=7),
    ) -> None:
        self._rest, self.schedule_ids = rest, list(schedule_ids)
        self.cache_s, self.window = cache_s, max(window, timedelta(days=_WEEK_DAYS))
        self._cache: dict[datetime, tuple[datetime, datetime, list[OnCall]]] = {}

    def _fresh(self, fetched_at: datetime, at: datetime) -> bool:
        return abs((at - fetched_at).total_seconds()) < self.cache_s

    def _shifts(self, at: datetime) -> tuple[datetime, list[OnCall]]:
        """``(until, shifts)`` for the minute of ``at``, from the cache when fresh."""
        minute = at.replace(second=0, microsecond=0)
        cached = self._cache.get(minute)
        if cached is not None and self._fresh(cached[0], at):
            return cached[1], cached[2]
        until = minute + self.window + timedelta(minutes=1)
        entries = self._rest.oncalls(list(self.schedule_ids), minute, until)
        if not isinstance(entries, list):
            raise RotationError("PagerDuty /oncalls answered something other than a list")
        shifts = sorted(
            {_pd_shift(entry) for entry in entries},
            key=lambda s: (s.level, s.start or minute, s.person),
        )
        self._cache = {k: v for k, v in self._cache.items() if self._fresh(v[0], at)}
        self._cache[minute] = (at, until, shifts)
        return until, shifts

    def on_call(self, at: datetime) -> list[OnCall]:
        at = _utc(at)
        _, shifts = self._shifts(at)
        return sorted((s for s in shifts if _covers(s, at)), key=lambda s: (s.level, s.person))

    def handoffs(self, after: datetime, count: int) -> list[Handoff]:
        """Changes of the people on call at a level, at the shifts' end (and start) times
        inside the fetched window; the last shift's end is left out when PagerDuty's answer
        does not say who comes next."""
        after = _utc(after)
        until, shifts = self._shifts(after)
        found = []
        for level in sorted({s.level for s in shifts}):
            mine = [s for s in shifts if s.level == level]
            points = {p for s in mine for p in (s.start, s.end) if p is not None}
            for point in sorted(p for p in points if after < p < until):
                before = sorted({s.person for s in mine if _covers(s, point - TICK)})
                now = sorted({s.person for s in mine if _covers(s, point)})
                if before != now:
                    found.append(
                        Handoff(point, level, ", ".join(before) or None, ", ".join(now) or None)
                    )
        found.sort(key=lambda handoff: (handoff.at, handoff.level))
        return found[: max(count, 0)]

    def week(self, start: datetime) -> list[OnCall]:
        """The shifts overlapping the 168 hours from ``start``."""
        start = _utc(start)
        _, shifts = self._shifts(start)
        end = start + timedelta(days=_WEEK_DAYS)
        return [
            s
            for s in shifts
            if (s.start is None or s.start < end) and (s.end is None or s.end > start)
        ]


# ----------------------------------------------------------------------------- the web view


def rotation_view(rotation: Rotation, now: datetime, handoffs: int = 5) -> dict[str, Any]:
    """The JSON of ``GET /api/rotation``. A ``RotationError`` becomes ``error`` (with empty
    lists) so that the page shows why instead of breaking."""
    now = _utc(now)
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
