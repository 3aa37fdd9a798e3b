"""The result of triage: a priority, a category, a kind, a score, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Match:
    """Where a condition matched, as offsets into the normalized text."""

    condition: str  # e.g. "match[0].keyword"
    pattern: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class FiredRule:
    id: str
    description: str
    levels: tuple[str, ...]
    weight: float
    category: str | None
    kind: str | None
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Triage:
    priority: str
    category: str
    kind: str
    score: float
    pages: bool
    scores: dict[str, float]
    rules: tuple[FiredRule, ...]

    def to_dict(self) -> dict:
        """The JSON shape used by ``hark classify`` and the API."""
        return {
            "priority": self.priority,
            "category": self.category,
            "kind": self.kind,
            "score": self.score,
            "pages": self.pages,
            "scores": self.scores,
            "rules": [
                {
                    **asdict(rule),
                    "levels": list(rule.levels),
                    "matches": [asdict(match) for match in rule.matches],
                }
                for rule in self.rules
            ],
        }
