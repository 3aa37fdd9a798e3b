"""Triage quality against a labelled corpus: confusion matrix, precision and recall."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from rules.engine import Engine
from rules.schema import LEVELS
from rules.second_opinion import SecondOpinion


@dataclass(frozen=True)
class Outcome:
    id: str
    expected: str
    predicted: str
    expected_category: str | None
    predicted_category: str
    rules: tuple[str, ...]
    text: str
    urgency: str | None = None  # of a predicted P0: "high" or "low"


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

    def p0_caught(self) -> float | None:
        """The share of P0s predicted P0, at either urgency (a low-urgency page still
        reaches someone)."""
        actual = [o for o in self.outcomes if o.expected == "P0"]
        if not actual:
            return None
        return round(sum(o.predicted == "P0" for o in actual) / len(actual), 3)

    def high_urgency_precision(self) -> float | None:
        """Of the P0s paged at high urgency (the ones that wake someone), the share that
        are P0."""
        paged = [o for o in self.outcomes if o.predicted == "P0" and o.urgency != "low"]
        if not paged:
            return None
        return round(sum(o.expected == "P0" for o in paged) / len(paged), 3)

    def low_urgency(self) -> int:
        return sum(1 for o in self.outcomes if o.predicted == "P0" and o.urgency == "low")

    def headline(self) -> dict[str, float | int | None]:
        """The figures the triage is judged on."""
        return {
            "p0_caught": self.p0_caught(),
            "p0_high_urgency_precision": self.high_urgency_precision(),
            "p0_low_urgency": self.low_urgency(),
            "exact": self.accuracy(),
        }

    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected != o.predicted]

    def missed_p0(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected == "P0" and o.predicted != "P0"]

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "accuracy": self.accuracy(),
            **self.headline(),
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


class Verdict(NamedTuple):
    """What one way of judging said about a message."""

    priority: str
    category: str
    urgency: str | None
    rules: tuple[str, ...]


Judge = Callable[[str, str | None], Verdict]


def judges(engine: Engine) -> dict[str, Judge]:
    """The ways to judge a corpus with ``engine``: "combined" (the rulebook as it is) and,
    when its rulebook asks a model, "rules only" (its ``model`` rules left out: every P0
    is then high urgency) and "model only" (the model's most probable priority)."""
    found: dict[str, Judge] = {}
    if engine.second_opinion is not None and engine.rulebook.model_rules():
        found["rules only"] = _verdict_of(rules_only(engine))
        category = engine.rulebook.defaults.category
        found["model only"] = _model_verdict(engine.second_opinion, category)
    found["combined"] = _verdict_of(engine)
    return found


def rules_only(engine: Engine) -> Engine:
    """``engine``'s rulebook without its ``model`` rules: what the rules say alone (every
    P0 high urgency unless a counter-signal was set aside)."""
    book = engine.rulebook
    plain = [rule for rule in book.rules if rule.model is None]
    return Engine(book.model_copy(update={"rules": plain}))


def _verdict_of(engine: Engine) -> Judge:
    def judge(text: str, channel: str | None) -> Verdict:
        triage = engine.classify(text, channel)
        rules = tuple(rule.id for rule in triage.rules)
        return Verdict(triage.priority, triage.category, triage.urgency, rules)

    return judge


def _model_verdict(model: SecondOpinion, category: str) -> Judge:
    def judge(text: str, channel: str | None) -> Verdict:
        probabilities = model.probabilities(text)
        priority = max(LEVELS, key=lambda level: probabilities.get(level, 0.0))
        return Verdict(priority, category, "high" if priority == "P0" else None, ())

    return judge
