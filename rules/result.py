"""The result of triage: a priority, a category, a kind, a score, and why.

Named tuples rather than dataclasses: the engine builds these for every rule that fires
on every message, and tuples are the cheapest immutable records Python has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

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


Urgency = Literal["high", "low"]


class Triage(NamedTuple):
    priority: Level
    category: str
    kind: str
    score: float
    pages: bool
    scores: dict[str, float]
    rules: tuple[FiredRule, ...]
    # P0 only: "high" pages as critical, "low" is a suspected P0 to confirm or downgrade
    # (``rules.schema.Urgency`` says when); None below P0.
    urgency: Urgency | None = None
    # The second opinion's probability of each priority, when the rulebook asks for it.
    model: dict[str, float] | None = None
    # Counter-signals to P0 that did not count against it: none of their matches shares a
    # clause with a P0 signal's (they make a P0 low urgency instead).
    set_aside: tuple[str, ...] = ()

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
            "urgency": self.urgency,
            "model": dict(self.model) if self.model is not None else None,
            "set_aside": list(self.set_aside),
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
    urgency: Urgency | None = None  # records stored before urgency existed have none
    model: dict[str, float] | None = None
    set_aside: tuple[str, ...] = ()
