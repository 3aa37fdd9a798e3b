"""The result of triage: a priority, a category, a kind, a score, and why.

Named tuples rather than dataclasses: the engine builds these for every rule that fires
on every message, and tuples are the cheapest immutable records Python has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from rules.schema import Level


class Match(NamedTuple):
    """Where a condition matched, as offsets into the normalized text."""

    condition: str  # e.g. "match[0].keyword"
    pattern: str
    text: str
    start: int
    end: int


class FiredRule(NamedTuple):
    id: str
    description: str
    levels: tuple[str, ...]
    weight: float
    category: str | None
    kind: str | None
    matches: tuple[Match, ...]


class Triage(NamedTuple):
    priority: Level
    category: str
    kind: str
    score: float
    pages: bool
    scores: dict[str, float]
    rules: tuple[FiredRule, ...]

    def record(self) -> TriageRecord:
        """The result as a typed record, the form it takes once it leaves the engine."""
        return TriageRecord.model_validate(self.to_dict())

    def to_dict(self) -> dict:
        """The JSON shape used by ``hark rules explain --json`` and the API."""
        return {
            "priority": self.priority,
            "category": self.category,
            "kind": self.kind,
            "score": self.score,
            "pages": self.pages,
            "scores": dict(self.scores),
            "rules": [
                {
                    **rule._asdict(),
                    "levels": list(rule.levels),
                    "matches": [match._asdict() for match in rule.matches],
                }
                for rule in self.rules
            ],
        }


class MatchRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    condition: str
    pattern: str
    text: str
    start: int
    end: int


class FiredRuleRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    description: str
    levels: tuple[str, ...]
    weight: float
    category: str | None
    kind: str | None
    matches: tuple[MatchRecord, ...]


class TriageRecord(BaseModel):
    """A triage as it is stored with its mention and its incident, and as the API shows it:
    the same fields as ``Triage``, typed and immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: str
    category: str
    kind: str
    score: float
    pages: bool
    scores: dict[str, float]
    rules: tuple[FiredRuleRecord, ...]
