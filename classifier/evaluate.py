"""How good the model is alone: stratified k-fold cross-validation on training corpora (a
development figure, not a blind one), or a trained model scored on a held-out corpus.

The figures are ``rules.evaluation.Evaluation``'s, the ones ``hark rules test`` prints, so
the model's can be read beside the rules'. The model's verdict is its most probable
priority; since the rulebook gives the model its say through a P0 probability threshold
(``model: {priority: P0, min_probability: ...}``), the P0 figures at a few thresholds are
given too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from classifier.model_file import RulebookVocabulary, TriageModel
from classifier.train import LabelledRow, train
from rules.evaluation import Evaluation, Outcome

DEFAULT_FOLDS = 5
P0_THRESHOLDS = (0.2, 0.35, 0.5)


class ScoredRow(LabelledRow, Protocol):
    """A labelled row with an id, to name it in a report."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Prediction:
    """What the model said about one labelled row."""

    row: ScoredRow
    probabilities: Mapping[str, float]

    @property
    def priority(self) -> str:
        """The most probable priority (the first level on a tie)."""
        return max(self.probabilities, key=lambda level: self.probabilities[level])


def cross_validated(
    rows: Sequence[ScoredRow],
    *,
    vocabulary: RulebookVocabulary,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    **train_options: Any,
) -> list[Prediction]:
    """Each row's prediction by a model trained on the other folds, in row order. The
    folds are stratified by priority and shuffled with ``seed``: the same call, the same
    split, the same figures."""
    labels = np.array([row.priority for row in rows])
    smallest = min(int(np.sum(labels == level)) for level in vocabulary.levels)
    if smallest < folds:
        raise ValueError(
            f"{folds} folds need at least {folds} messages of each priority; the fewest is"
            f" {smallest}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    found: dict[int, Prediction] = {}
    for train_index, test_index in splitter.split(np.zeros(len(rows)), labels):
        model = train([rows[i] for i in train_index], seed, vocabulary=vocabulary, **train_options)
        held_out = predicted(model, [rows[i] for i in test_index])
        found.update(zip(test_index.tolist(), held_out, strict=True))
    return [found[index] for index in range(len(rows))]


def predicted(model: TriageModel, rows: Sequence[ScoredRow]) -> list[Prediction]:
    """The model's probabilities for each row, in one batch."""
    table = model.probabilities_batch([row.text for row in rows])
    return [Prediction(row, probabilities) for row, probabilities in zip(rows, table, strict=True)]


def evaluation_of(predictions: Sequence[Prediction]) -> Evaluation:
    """The model alone as an ``Evaluation``: its most probable priority against the label."""
    evaluation = Evaluation()
    for prediction in predictions:
        evaluation.add(
            Outcome(
                id=prediction.row.id,
                expected=prediction.row.priority,
                predicted=prediction.priority,
                expected_category=None,
                predicted_category="",
                rules=(),
                text=prediction.row.text,
            )
        )
    return evaluation


def p0_at_thresholds(
    predictions: Sequence[Prediction], thresholds: Sequence[float] = P0_THRESHOLDS
) -> dict[str, dict[str, Any]]:
    """For each threshold: the share of P0s whose P0 probability reaches it (caught), and
    of the messages that reach it, the share that are P0 (precision)."""
    actual = [p.row.priority == "P0" for p in predictions]
    found = {}
    for threshold in thresholds:
        flagged = [p.probabilities["P0"] >= threshold for p in predictions]
        hits = sum(f and a for f, a in zip(flagged, actual, strict=True))
        found[f"{threshold:g}"] = {
            "caught": round(hits / sum(actual), 3) if any(actual) else None,
            "precision": round(hits / sum(flagged), 3) if any(flagged) else None,
            "flagged": sum(flagged),
        }
    return found


def figures(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """The model-only figures: P0 caught (recall), P0 precision, exact accuracy, each
    priority's precision and recall, the confusion matrix, and P0 at thresholds."""
    evaluation = evaluation_of(predictions)
    per_level = evaluation.per_level()
    actual_p0 = sum(1 for p in predictions if p.row.priority == "P0")
    caught_p0 = sum(1 for p in predictions if p.row.priority == p.priority == "P0")
    return {
        "messages": evaluation.total,
        "p0_caught": evaluation.p0_caught(),
        "p0_caught_count": [caught_p0, actual_p0],
        "p0_precision": per_level["P0"]["precision"],
        "exact": evaluation.accuracy(),
        "per_priority": per_level,
        "confusion": evaluation.confusion(),
        "p0_probability_at_least": p0_at_thresholds(predictions),
    }


def format_figures(title: str, predictions: Sequence[Prediction]) -> str:
    """``figures`` as text: a headline, the per-priority table, the confusion matrix and
    P0 at thresholds."""
    found = figures(predictions)
    caught, actual = found["p0_caught_count"]
    lines = [
        f"{title}: {found['messages']} messages",
        f"  P0 caught {_figure(found['p0_caught'])} ({caught} of {actual})"
        f"  P0 precision {_figure(found['p0_precision'])}  exact {found['exact']:.3f}",
        "  priority  precision  recall  support",
    ]
    for level, stats in found["per_priority"].items():
        lines.append(
            f"    {level:<8}{_figure(stats['precision']):>9}{_figure(stats['recall']):>8}"
            f"{stats['support']:>9}"
        )
    levels = list(found["confusion"])
    lines.append("  confusion (rows: expected, columns: predicted)")
    lines.append("          " + "".join(f"{level:>5}" for level in levels))
    for expected, row in found["confusion"].items():
        lines.append(f"    {expected:<6}" + "".join(f"{row[level]:>5}" for level in levels))
    lines.append("  P0 probability at least:  caught  precision  flagged")
    for threshold, stats in found["p0_probability_at_least"].items():
        lines.append(
            f"    {threshold:<22}{_figure(stats['caught']):>8}{_figure(stats['precision']):>11}"
            f"{stats['flagged']:>9}"
        )
    return "\n".join(lines)


def _figure(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.2f}"
