"""The rulebook as validated data: pydantic models with ``extra="forbid"``.

A rulebook is the priority table (SLA targets, which levels page), business hours, the
allowed categories and kinds, and the rules. Each rule names conditions (see
``rules.matchers`` for the registry of condition types) and one effect: a weight toward a
priority, and optionally a category and a kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rules.matchers import MATCHER_TYPES
from vocabulary.channels import Channel

Level = Literal["P0", "P1", "P2", "P3"]
LEVELS: tuple[Level, ...] = ("P0", "P1", "P2", "P3")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def _as_list(value: object) -> object:
    """Let YAML authors write one item where a list is expected."""
    return [value] if isinstance(value, str) else value


def parse_duration(value: object) -> object:
    """``30m``, ``4h``, ``3d`` or ``1w`` to a timedelta; other values pass to pydantic."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"{value!r} is not a duration such as 30m, 4h, 3d or 1w")
        try:
            return timedelta(seconds=int(found[1]) * _UNIT_SECONDS[found[2]])
        except OverflowError:
            raise ValueError(f"{value!r} is longer than any duration can be") from None
    return value


def _pattern_check(matcher: str) -> Callable[[str], str]:
    """The validator of one pattern of a matcher type, so that a problem is reported at the
    line of the pattern itself."""

    def check(pattern: str) -> str:
        MATCHER_TYPES[matcher].check(pattern)
        return pattern

    return check


KeywordPatterns: TypeAlias = Annotated[
    list[Annotated[str, AfterValidator(_pattern_check("keyword"))]],
    BeforeValidator(_as_list),
    Field(min_length=1),
]
PhrasePatterns: TypeAlias = Annotated[
    list[Annotated[str, AfterValidator(_pattern_check("phrase"))]],
    BeforeValidator(_as_list),
    Field(min_length=1),
]
RegexPatterns: TypeAlias = Annotated[
    list[Annotated[str, AfterValidator(_pattern_check("regex"))]],
    BeforeValidator(_as_list),
    Field(min_length=1),
]
ShellPatterns: TypeAlias = Annotated[
    list[Annotated[str, AfterValidator(_pattern_check("shell"))]],
    BeforeValidator(_as_list),
    Field(min_length=1),
]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityLevel(Strict):
    """One row of the playbook's SLA table."""

    label: str
    first_response: Duration
    resolution: Duration | Literal["next-release"]
    pages: bool = False
    page_severity: Literal["critical", "error", "warning", "info"] = "critical"
    clock: Literal["always", "business-hours"] = "business-hours"


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        raise ValueError(
            f"unknown timezone {name!r}: use an IANA name such as Europe/Paris"
        ) from None
    return name


def _holiday(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"holiday {text!r} is not a YYYY-MM-DD date")
    try:
        date.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"holiday {text!r}: {error}") from None
    return text


class BusinessHours(Strict):
    """What ``desk.business_hours.BusinessCalendar`` needs, checked when the rulebook
    loads rather than at the first SLA computation."""

    timezone: Annotated[str, AfterValidator(_time_zone)] = "America/New_York"
    days: list[Weekday] = Field(["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: list[Annotated[str, AfterValidator(_holiday)]] = []

    @model_validator(mode="after")
    def _closes_after_opening(self) -> BusinessHours:
        if self.end <= self.start:  # "HH:MM" strings compare as times
            raise ValueError(
                "business hours must close after they open on the same day;"
                f" got {self.start}-{self.end}"
            )
        return self


class Condition(Strict):
    """One condition: alternatives of one or more matcher types; any of them satisfies it.

    ``{keyword: [crash, segfault]}``, ``{phrase: "every command fails"}``,
    ``{regex: 'rm\\s+-rf'}``, ``{shell: [destructive]}`` (a destructive command, shell
    quoting undone: ``rules.shell``), or ``{keyword: [launch], phrase: ["on startup"]}``.
    """

    keyword: KeywordPatterns | None = None
    phrase: PhrasePatterns | None = None
    regex: RegexPatterns | None = None
    shell: ShellPatterns | None = None

    @model_validator(mode="after")
    def _at_least_one_type(self) -> Condition:
        if not self.matchers():
            raise ValueError(f"a condition needs at least one of {', '.join(MATCHER_TYPES)}")
        return self

    def matchers(self) -> list[tuple[str, list[str]]]:
        """``(matcher type, patterns)`` for each type this condition uses."""
        return [
            (name, getattr(self, name)) for name in MATCHER_TYPES if getattr(self, name) is not None
        ]


Conditions = Annotated[
    list[Condition], BeforeValidator(lambda v: [v] if isinstance(v, dict) else v)
]


class ModelCondition(Strict):
    """The learned second opinion's say: the rule fires when the model gives ``priority``
    at least ``min_probability``. ``{priority: P0, min_probability: 0.35}``."""

    priority: Level
    min_probability: float = Field(gt=0, le=1)


class Rule(Strict):
    """A rule fires when any ``match`` condition hits, every ``require`` condition hits too,
    no ``unless`` condition hits, and the channel passes the filter. A rule with ``model``
    instead of ``match`` fires on the learned second opinion (``ModelCondition``).

    A ``match`` hit preceded (within ``negation_window`` characters) by one of
    ``negated_by`` does not count: "no longer crashes" is not a crash.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    model: ModelCondition | None = None  # before ``match``, whose check reads it
    match: Annotated[Conditions, Field(min_length=1)] | None = None
    require: Conditions = []
    unless: Conditions = []
    negated_by: PhrasePatterns = []
    negation_window: int = Field(24, ge=1, le=200)
    channels: list[Channel] = []
    priority: Annotated[list[Level], BeforeValidator(_as_list), Field(min_length=1)]
    weight: float = Field(ge=-10, le=10)
    category: str | None = None
    kind: str | None = None
    # How far a counter-signal to P0 (a negative weight) reaches: "clause" undoes only a P0
    # signal in its own clause (a joke, a hypothetical, a feature-request phrase);
    # "message" speaks for the whole report (it happens only on Windows, only when ...).
    reach: Literal["clause", "message"] = "clause"

    @model_validator(mode="before")
    @classmethod
    def _given_match_or_model(cls, data: object) -> object:
        """A rule with neither gets ``match: None``, which ``match``'s own check reports
        at its name (a model condition given but invalid is reported as itself)."""
        if isinstance(data, dict) and "match" not in data and "model" not in data:
            return {**data, "match": None}
        return data

    @field_validator("match")
    @classmethod
    def _match_or_model(cls, value: list[Condition] | None, info: ValidationInfo) -> object:
        if value is None and info.data.get("model") is None:
            raise ValueError(
                "required field 'match' is missing: a rule needs 'match' (conditions)"
                " or 'model' (the second opinion)"
            )
        return _alone_with_model(value, info)

    @field_validator("require", "negated_by")
    @classmethod
    def _not_with_model(cls, value: list, info: ValidationInfo) -> object:
        return _alone_with_model(value, info)

    @property
    def levels(self) -> tuple[Level, ...]:
        """The levels this rule's weight counts toward (several for a counter-signal)."""
        return tuple(self.priority)


def _alone_with_model(value: list | None, info: ValidationInfo) -> object:
    if value and info.data.get("model") is not None:
        raise ValueError(
            f"a 'model' rule cannot also have '{info.field_name}': write it as a rule of its own"
        )
    return value


class Defaults(Strict):
    priority: Level = "P3"
    category: str = "other"
    kind: str = "other"


class Urgency(Strict):
    """How sure a P0 is: high urgency pages as critical, low as a suspected P0 to confirm.

    A P0 is high urgency when the rules reach it and the model agrees (a ``model`` rule for
    P0 fired), or when the rules alone reach ``strong_evidence``; otherwise (the model
    alone, borderline rules, or a counter-signal elsewhere in the message) it is low. A
    rulebook without ``model`` rules for P0 has no second opinion: its P0s are high."""

    strong_evidence: float = Field(2.0, gt=0, allow_inf_nan=False)
    low_severity: Literal["critical", "error", "warning", "info"] = "warning"


class Rulebook(Strict):
    version: Literal[1] = 1
    priorities: dict[Level, PriorityLevel]
    threshold: float = Field(1.0, gt=0, allow_inf_nan=False)
    urgency: Urgency = Urgency()
    # The learned second opinion's file (``hark model train``), relative to the rulebook's
    # folder; needed when a rule says ``model:``.
    model_file: str | None = None
    business_hours: BusinessHours = BusinessHours()
    categories: list[str] = Field(min_length=1)
    kinds: list[str] = Field(min_length=1)
    defaults: Defaults = Defaults()
    definitions: dict[str, object] = {}  # free space for YAML anchors shared by rules
    rules: list[Rule] = []

    @field_validator("priorities")
    @classmethod
    def _all_levels(cls, value: dict[Level, PriorityLevel]) -> dict[Level, PriorityLevel]:
        missing = [level for level in LEVELS if level not in value]
        if missing:
            raise ValueError(f"the priority table needs every level; missing {missing}")
        return value

    def model_rules(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.model is not None]

    def paging_levels(self) -> list[Level]:
        return [level for level in LEVELS if self.priorities[level].pages]
