"""How good the model is alone: stratified k-fold cross-validation on training corpora (a
development figure, not a blind one), or a trained model scored on a held-out corpus.

The figures are ``rules.evaluation.Evaluation``'s, the ones ``hark rules test`` prints, so
the model's can be read beside the rules'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

from classifier.model_file import RulebookVocabulary, TriageModel
from classifier.train import LabelledRow, train
from rules.evaluation import Evaluation, Outcome

DEFAULT_FOLDS = 5


class ScoredRow(LabelledRow, Protocol):
    """A labelled row with an id, to name it in a report."""

    @property
    def id(self) -> str: ...


def cross_validated(
    rows: Sequence[ScoredRow],
    *,
    vocabulary: RulebookVocabulary,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    **train_options: Any,
) -> list[Outcome]:
    """Each row's outcome when predicted by a model trained on the other folds. The folds
    are stratified by priority and shuffled with ``seed``: the same call, the same split."""
    labels = np.array([row.priority for row in rows])
    smallest = min(int(np.sum(labels == level)) for level in vocabulary.levels)
    if smallest < folds:
        raise ValueError(
            f"{folds} folds need at least {folds} messages of each priority; the fewest is"
            f" {smallest}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    outcomes: list[Outcome | None] = [None] * len(rows)
    for train_index, test_index in splitter.split(np.zeros(len(rows)), labels):
        model = train([rows[i] for i in train_index], seed, vocabulary=vocabulary, **train_options)
        held_out = [rows[i] for i in test_index]
        for index, outcome in zip(test_index, scored(model, held_out), strict=True):
            outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def scored(model: TriageModel, rows: Sequence[ScoredRow]) -> list[Outcome]:
    """The model's most probable priority for each row, as outcomes against its label."""
    table = model.probabilities_batch([row.text for row in rows])
    return [
        Outcome(
            id=row.id,
            expected=row.priority,
            predicted=max(probabilities, key=lambda level: probabilities[level]),
            expected_category=None,
            predicted_category="",
            rules=(),
            text=row.text,
        )
        for row, probabilities in zip(rows, table, strict=True)
    ]


def evaluation_of(outcomes: Sequence[Outcome]) -> Evaluation:
    evaluation = Evaluation()
    for outcome in outcomes:
        evaluation.add(outcome)
    return evaluation


def figures(evaluation: Evaluation) -> dict[str, Any]:
    """The model-only figures: P0 caught (recall), P0 precision, exact accuracy, and each
    priority's precision and recall."""
    per_level = evaluation.per_level()
    actual_p0 = sum(1 for outcome in evaluation.outcomes if outcome.expected == "P0")
    caught_p0 = sum(
        1 for outcome in evaluation.outcomes if outcome.expected == outcome.predicted == "P0"
    )
    return {
        "messages": evaluation.total,
        "p0_caught": evaluation.p0_caught(),
        "p0_caught_count": [caught_p0, actual_p0],
        "p0_precision": per_level["P0"]["precision"] if "P0" in per_level else None,
        "exact": evaluation.accuracy(),
        "per_priority": per_level,
        "confusion": evaluation.confusion(),
    }


def format_figures(title: str, evaluation: Evaluation) -> str:
    """``figures`` as text: a headline, the per-priority table and the confusion matrix."""
    found = figures(evaluation)
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
    return "\n".join(lines)


def _figure(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.2f}"
