"""The result of triage: a priority, a category, a kind, a score, and why.

Named tuples rather than dataclasses: the engine builds these for every rule that fires
on every message, and tuples are the cheapest immutable records Python has.
"""

from __future__ import annotations

from typing import NamedTuple


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
    priority: str
    category: str
    kind: str
    score: float
    pages: bool
    scores: dict[str, float]
    rules: tuple[FiredRule, ...]

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
