"""The local on-call schedule's YAML format: its models, and ``parse_schedule`` to read it.

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

How ``oncall.rotation.LocalRotation`` reads it (turns, daylight-saving gaps and folds,
layers, overrides, shifts) is described in ``oncall.rotation``.

The YAML is read YAML 1.2-style: ``9:00`` stays a string (YAML 1.1 reads it as the base-60
number 540) and only true/false are booleans (a person may be called ``no``). Problems are
reported all at once as ``path:line: -: field: message``, raised as ``ScheduleError``.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
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
from rules.yaml_lines import (
    BoundedLoader,
    Path,
    UnusableYaml,
    field_name,
    index_lines,
    load_mapping,
    locate,
)

__all__ = [
    "Layer",
    "Level",
    "Override",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


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
    day = value if isinstance(value, date) else None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(value.strip())
    if day is None:
        raise ValueError(f"{value!r} is not a date such as 2026-03-02")
    if not 1970 <= day.year <= 2999:  # rotation arithmetic runs past it by weeks
        raise ValueError(f"{value!r} is out of range: give a date between 1970 and 2999")
    return day


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
    """One escalation level; see ``oncall.rotation`` for how its layers combine."""

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


class _ScheduleLoader(BoundedLoader):
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


def parse_schedule(text: str, source: str = "<schedule>") -> Schedule:
    """Validate schedule YAML; raise ``ScheduleError`` listing every problem."""
    try:
        root, data = load_mapping(text, "schedule", _ScheduleLoader)
    except UnusableYaml as error:
        raise ScheduleError([Problem(source, error.line, "-", error.field, str(error))]) from None

    lines, duplicates = index_lines(root)
    locator = _Locator(source, lines)
    problems = [
        locator.problem(path, f"duplicate key {path[-1]!r}: the later one would silently win", line)
        for path, line in duplicates
    ]
    problems += _override_levels(data, locator)
    try:
        schedule = Schedule.model_validate(data)
    except ValidationError as error:
        problems += _validation_problems(error, locator)
    if problems:
        raise ScheduleError(problems)
    return schedule


class _Locator:
    def __init__(self, source: str, lines: dict[Path, int]) -> None:
        self.source, self.lines = source, lines

    def problem(self, path: Path, message: str, line: int | None = None) -> Problem:
        found_line, path = locate(path, self.lines)
        return Problem(self.source, line or found_line, "-", field_name(path), message)


def _override_levels(data: dict, locator: _Locator) -> list[Problem]:
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
        problems.append(locator.problem(("overrides", index, "level"), message))
    return problems


def _model_at(path: Path) -> type[BaseModel] | None:
    if len(path) == 1:
        return Schedule
    if path[0] == "overrides" and len(path) == 3:
        return Override
    if path[0] == "levels":
        by_depth: dict[int, type[BaseModel]] = {3: Level, 5: Layer}
        return by_depth.get(len(path))
    return None


def _validation_problems(error: ValidationError, locator: _Locator) -> list[Problem]:
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
        problem = locator.problem(path, message)
        where = (problem.line, problem.field)
        if where not in seen:
            seen.add(where)
            problems.append(problem)
    return problems
