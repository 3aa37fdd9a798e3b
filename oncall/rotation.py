"""Who is on call: a local YAML schedule, or PagerDuty's ``GET /oncalls``, behind one API.

A local schedule::

    timezone: America/New_York        # IANA name; this is the default
    levels:                           # escalation levels, level 1 first
      - layers:
          - name: primary
            rotation: weekly          # daily or weekly
            handoff: "09:00"          # local wall-clock time of every handoff
            handoff_day: mon          # weekly only: mon .. sun
            start: 2026-03-02         # members[0]'s first turn begins then (a mon here)
            members: [alice, bob, carol]
      - layers:
          - name: managers
            rotation: daily
            handoff: "09:00"
            start: 2026-03-01
            members: [dana, erin]
    overrides:                        # local times; [start, end); the later one wins
      - {level: 1, person: bob, start: "2026-03-08T09:00", end: "2026-03-09T09:00"}

Semantics, kept deliberately simple:

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

The YAML is read YAML 1.2-style: ``9:00`` stays a string (YAML 1.1 reads it as the base-60
number 540) and only true/false are booleans (a person may be called ``no``). Problems are
reported all at once as ``path:line: -: field: message``, raised as ``ScheduleError``.

Every function takes the time it works on; nothing here reads the clock or does I/O.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from oncall.pagerduty import RotationError
from rules.loader import Problem

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

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Source = Literal["local", "pagerduty"]
_TICK = timedelta(microseconds=1)
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


class ScheduleError(RotationError, ValueError):
    """A schedule that cannot be used, with every problem found in it (a ``RotationError``
    too, so the web layer can show it like any other reason the rotation is unavailable)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# ----------------------------------------------------------------------------- schema

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> object:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (found := _HHMM.match(value.strip())):
        return time(int(found[1]), int(found[2]))
    raise ValueError(f'{value!r} is not a time of day such as "09:00" (24-hour HH:MM)')


def _calendar_date(value: object) -> object:
    if isinstance(value, datetime):
        raise ValueError(f"{value} has a time; write only the date, such as 2026-03-02")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date such as 2026-03-02")


def _local_datetime(value: object) -> object:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is not a local date and time such as 2026-03-08T09:00"
            ) from None
    else:
        raise ValueError(f"{value!r} is not a local date and time such as 2026-03-08T09:00")
    if parsed.tzinfo is not None:
        raise ValueError(
            f"{value} has a UTC offset: write the local time without one "
            "(it is read in the schedule's timezone)"
        )
    return parsed


ClockTime = Annotated[time, BeforeValidator(_clock_time)]
CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Strict):
    """A rotation of ``members`` in order, handing off at ``handoff`` local time every day
    (daily) or every ``handoff_day`` (weekly), members[0]'s first turn beginning on
    ``start`` (for a weekly layer, ``start`` must be a ``handoff_day``)."""

    name: Name
    rotation: Literal["daily", "weekly"]
    handoff: ClockTime
    handoff_day: Weekday | None = Field(None, validate_default=True)
    start: CalendarDate
    members: list[Name] = Field(min_length=1)

    @field_validator("handoff_day")
    @classmethod
    def _day_fits_rotation(cls, value: str | None, info: ValidationInfo) -> str | None:
        rotation = info.data.get("rotation")
        if rotation == "weekly" and value is None:
            raise ValueError("a weekly layer needs handoff_day (mon .. sun)")
        if rotation == "daily" and value is not None:
            raise ValueError("handoff_day is for weekly layers; a daily layer hands off daily")
        return value

    @field_validator("start")
    @classmethod
    def _starts_on_handoff_day(cls, value: date, info: ValidationInfo) -> date:
        day = info.data.get("handoff_day")
        if info.data.get("rotation") != "weekly" or day is None:
            return value
        if WEEKDAYS[value.weekday()] != day:
            before = value - timedelta(days=(value.weekday() - WEEKDAYS.index(day)) % 7)
            after = before + timedelta(days=7)
            raise ValueError(
                f"{value} is a {WEEKDAYS[value.weekday()]}, but the first turn of a weekly "
                f"layer begins on its handoff_day {day}: use {before} or {after}"
            )
        return value


class Level(_Strict):
    """One escalation level; see the module docstring for how its layers combine."""

    layers: list[Layer] = Field(min_length=1)


class Override(_Strict):
    """``person`` replaces whoever is on call at ``level`` from ``start`` to ``end``
    (local date-times, ``end`` excluded)."""

    level: int = Field(strict=True)
    person: Name
    start: LocalDateTime
    end: LocalDateTime

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError(f"end {value.isoformat()} is not after start {start.isoformat()}")
        return value


class Schedule(_Strict):
    timezone: str = "America/New_York"
    levels: list[Level] = Field(min_length=1)
    overrides: list[Override] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"{value!r} is not an IANA time zone such as America/New_York or Europe/Paris"
            ) from None
        return value


# ----------------------------------------------------------------------------- loading


class _ScheduleLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 integers and yes/no/on/off booleans."""


_INT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool"
_ScheduleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScheduleLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ScheduleLoader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)

Path = tuple[str | int, ...]


def parse_schedule(text: str, source: str = "<schedule>") -> Schedule:
    """Validate schedule YAML; raise ``ScheduleError`` listing every problem."""
    try:
        root = yaml.compose(text, Loader=_ScheduleLoader)
        data = yaml.load(text, Loader=_ScheduleLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error)
        raise ScheduleError(
            [Problem(source, line, "-", "yaml", f"not valid YAML: {reason}")]
        ) from None
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "an empty file"
        raise ScheduleError(
            [Problem(source, 1, "-", "-", f"a schedule is a mapping; found {found}")]
        )

    lines: dict[Path, int] = {}
    duplicates: list[tuple[Path, int]] = []
    _index_lines(root, (), lines, duplicates)
    locate = _Locator(source, lines)
    problems = [
        locate.problem(path, f"duplicate key {path[-1]!r}: the later one would silently win", line)
        for path, line in duplicates
    ]
    problems += _override_levels(data, locate)
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as error:
        problems += _validation_problems(error, locate)
    if problems:
        raise ScheduleError(problems)
    return schedule


def _index_lines(
    node: yaml.Node, path: Path, lines: dict[Path, int], duplicates: list[tuple[Path, int]]
) -> None:
    """Remember the line of every key and list item; collect duplicate keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*path, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, duplicates)


class _Locator:
    def __init__(self, source: str, lines: dict[Path, int]) -> None:
        self.source, self.lines = source, lines

    def problem(self, path: Path, message: str, line: int | None = None) -> Problem:
        existing = next(
            path[:n] for n in range(len(path), -1, -1) if path[:n] in self.lines or n == 0
        )
        line = line or self.lines.get(existing, 1)
        # Past what the file holds keep only field names (pydantic adds tags such as
        # `function-before[...]` to a path).
        path = existing + tuple(
            part for part in path[len(existing) :] if isinstance(part, str) and part.isidentifier()
        )
        name = ""
        for part in path:
            name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
        return Problem(self.source, line, "-", name or "-", message)


def _override_levels(data: dict, locate: _Locator) -> list[Problem]:
    """An override must name a level the schedule has."""
    levels, overrides = data.get("levels"), data.get("overrides")
    if not isinstance(levels, list) or not isinstance(overrides, list):
        return []
    problems = []
    for index, override in enumerate(overrides):
        level = override.get("level") if isinstance(override, dict) else None
        if not isinstance(level, int) or isinstance(level, bool) or 1 <= level <= len(levels):
            continue
        have = {0: "no levels", 1: "only level 1"}.get(len(levels), f"levels 1 to {len(levels)}")
        message = f"level {level} does not exist: the schedule has {have}"
        problems.append(locate.problem(("overrides", index, "level"), message))
    return problems


def _model_at(path: Path) -> type[BaseModel] | None:
    if len(path) == 1:
        return Schedule
    if path[0] == "overrides" and len(path) == 3:
        return Override
    if path[0] == "levels":
        return {3: Level, 5: Layer}.get(len(path))
    return None


def _validation_problems(error: ValidationError, locate: _Locator) -> list[Problem]:
    problems, seen = [], set()
    for detail in error.errors():
        path = tuple(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            key, model = str(path[-1]), _model_at(path)
            message = f"unknown key {key!r}"
            if model is not None:
                allowed = list(model.model_fields)
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                message += f": {hint}allowed keys are {', '.join(allowed)}"
        elif detail["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        elif detail["type"] == "too_short" and detail.get("input") in ([], ()):
            message = "the list is empty: give at least one"
        problem = locate.problem(path, message)
        where = (problem.line, problem.field)
        if where not in seen:
            seen.add(where)
            problems.append(problem)
    return problems


# ----------------------------------------------------------------------------- local time


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} is naive: pass an aware datetime (e.g. in UTC)")
    return at.astimezone(UTC)


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
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
    while high - low > _TICK:
        middle = low + (high - low) // 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high


# ----------------------------------------------------------------------------- local rotation


@dataclass(frozen=True)
class _Turns:
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
        return _resolve(datetime.combine(day, self.handoff), self.zone)

    def turn_at(self, at: datetime) -> int:
        """The turn holding ``at`` (negative before the layer starts)."""
        k = (at.astimezone(self.zone).date() - self.first_day).days // self.period_days
        while self.begins(k) > at:
            k -= 1
        while self.begins(k + 1) <= at:
            k += 1
        return k


@dataclass(frozen=True)
class _Override:
    start: datetime
    end: datetime
    person: str


_State = tuple[str | None, bool]  # (person or nobody, override)


class _LevelTimeline:
    """Who is on call at one level, as a piecewise-constant function of time."""

    def __init__(self, number: int, layers: list[_Turns], overrides: list[_Override]) -> None:
        self.number, self.layers, self.overrides = number, layers, overrides
        self.layer_starts = [layer.begins(0) for layer in layers]

    def _active(self, at: datetime) -> _Turns | None:
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
        state, point = self.state(at), at
        while (point := self._next_point(point)) is not None:
            if self.state(point) != state:
                return point
        return None

    def shift_start(self, at: datetime) -> datetime | None:
        """When the state at ``at`` began, or None if it always held (nobody, before all)."""
        state, point = self.state(at), at
        while (point := self._previous_point(point)) is not None:
            if self.state(point - _TICK) != state:
                return point
            point -= _TICK
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
        point, (person, _) = after, self.state(after)
        while (point := self.shift_end(point)) is not None:
            new_person, _ = self.state(point)
            if new_person != person:
                yield Handoff(point, self.number, person, new_person)
            person = new_person


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
                    _Override(_resolve(o.start, self.zone), _resolve(o.end, self.zone), o.person)
                    for o in schedule.overrides
                    if o.level == number
                ],
            )
            for number, level in enumerate(schedule.levels, start=1)
        ]

    @classmethod
    def from_yaml(cls, text: str, source: str = "<schedule>") -> LocalRotation:
        return cls(parse_schedule(text, source))

    def _turns(self, layer: Layer) -> _Turns:
        period = 1 if layer.rotation == "daily" else _WEEK_DAYS
        return _Turns(tuple(layer.members), layer.start, period, layer.handoff, self.zone)

    def on_call(self, at: datetime) -> list[OnCall]:
        """One entry per level that has someone on call at ``at``, level 1 first."""
        at = _utc(at)
        return [shift for level in self._levels if (shift := level.shift(at)) is not None]

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
        end = _resolve(wall + timedelta(days=_WEEK_DAYS), self.zone)
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
                before = sorted({s.person for s in mine if _covers(s, point - _TICK)})
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
