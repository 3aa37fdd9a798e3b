"""Triage quality against a labelled corpus: confusion matrix, precision and recall."""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.schema import LEVELS


@dataclass(frozen=True)
class Outcome:
    id: str
    expected: str
    predicted: str
    expected_category: str | None
    predicted_category: str
    rules: tuple[str, ...]
    text: str


@dataclass
class Evaluation:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def confusion(self) -> dict[str, dict[str, int]]:
        """``matrix[expected][predicted]`` counts."""
        matrix: dict[str, dict[str, int]] = {
            expected: {predicted: 0 for predicted in LEVELS} for expected in LEVELS
        }
        for outcome in self.outcomes:
            matrix[outcome.expected][outcome.predicted] += 1
        return matrix

    def per_level(self) -> dict[str, dict[str, float | int | None]]:
        """Precision, recall and support per priority (None where undefined)."""
        stats: dict[str, dict[str, float | int | None]] = {}
        for level in LEVELS:
            true_pos = sum(1 for o in self.outcomes if o.expected == level == o.predicted)
            predicted = sum(1 for o in self.outcomes if o.predicted == level)
            actual = sum(1 for o in self.outcomes if o.expected == level)
            stats[level] = {
                "precision": round(true_pos / predicted, 3) if predicted else None,
                "recall": round(true_pos / actual, 3) if actual else None,
                "support": actual,
            }
        return stats

    def accuracy(self) -> float:
        hits = sum(1 for o in self.outcomes if o.expected == o.predicted)
        return round(hits / self.total, 3) if self.total else 0.0

    def category_accuracy(self) -> float | None:
        labelled = [o for o in self.outcomes if o.expected_category]
        if not labelled:
            return None
        hits = sum(1 for o in labelled if o.expected_category == o.predicted_category)
        return round(hits / len(labelled), 3)

    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected != o.predicted]

    def missed_p0(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected == "P0" and o.predicted != "P0"]

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "accuracy": self.accuracy(),
            "category_accuracy": self.category_accuracy(),
            "per_priority": self.per_level(),
            "confusion": self.confusion(),
            "missed_p0": [o.id for o in self.missed_p0()],
            "misses": [
                {
                    "id": o.id,
                    "expected": o.expected,
                    "predicted": o.predicted,
                    "rules": list(o.rules),
                }
                for o in self.misses()
            ],
        }
