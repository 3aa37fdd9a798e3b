"""Training the triage model: character n-grams into a multinomial logistic regression.

Deterministic: the same rows in the same order give the same coefficients, and so the same
model file byte for byte (one BLAS thread, a solver without randomness, rounded weights).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.utils.class_weight import compute_class_weight  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from classifier.features import Features, FeatureSettings
from classifier.model_file import (
    RulebookVocabulary,
    TrainingCorpus,
    TrainingRecord,
    TriageModel,
)

# The title read twice: see classifier/README.md ("What was tried").
DEFAULT_SETTINGS = FeatureSettings(title_copies=2)
DEFAULT_C = 10.0  # weak regularization: a few hundred short texts, many n-grams each
DECIMALS = 4  # coefficients are stored to 4 decimals (features are of unit length)
PRUNE_BELOW = 0.0  # coefficients smaller than this are dropped from the file
# P0 counts twice its balanced weight: a missed P0 pages nobody. Measured in the README
# (cross-validated: P0 caught 0.56 -> 0.67, P0 precision 0.55 -> 0.49, exact 0.600 -> 0.594).
P0_BOOST: Mapping[str, float] = MappingProxyType({"P0": 2.0})


class LabelledRow(Protocol):
    """A corpus row as training reads it (``hark.corpus.LabelledMessage`` is one)."""

    @property
    def text(self) -> str: ...

    @property
    def priority(self) -> str: ...


class TrainingError(ValueError):
    """Rows a model cannot be trained on (a level with no example, an unknown level)."""


def train(
    rows: Sequence[LabelledRow],
    seed: int = 0,
    *,
    vocabulary: RulebookVocabulary,
    corpora: Sequence[TrainingCorpus] = (),
    settings: FeatureSettings = DEFAULT_SETTINGS,
    C: float = DEFAULT_C,
    prune_below: float = PRUNE_BELOW,
    boost: Mapping[str, float] = P0_BOOST,
) -> TriageModel:
    """A priority model for ``vocabulary``'s levels, trained on ``rows``.

    Classes are weighted "balanced" (inverse to their frequency), so that P0, the rarest
    level in the corpora and the costliest to miss, counts as much as P3; ``boost``
    multiplies a level's weight further (by default P0's, twice). ``seed`` is recorded in
    the model; the solver (Newton-CG) draws no random numbers.
    """
    labels = np.array([row.priority for row in rows])
    _check_labels(labels, vocabulary)
    features = Features(settings)
    matrix = features.transform([row.text for row in rows])
    # Columns no training text touches would keep a zero weight: fit on the others only.
    used = np.flatnonzero(np.diff(matrix.tocsc().indptr))
    weights = compute_class_weight("balanced", classes=np.array(vocabulary.levels), y=labels)
    class_weight = {
        level: round(float(weight) * boost.get(level, 1.0), 6)
        for level, weight in zip(vocabulary.levels, weights, strict=True)
    }
    regression = LogisticRegression(
        C=C, class_weight=class_weight, solver="newton-cg", max_iter=1_000, random_state=seed
    )
    with threadpool_limits(limits=1):  # one BLAS thread: sums in one order, same weights
        regression.fit(matrix[:, used], labels)
    coef = np.zeros((len(vocabulary.levels), settings.n_features))
    coef[:, used] = np.round(regression.coef_, DECIMALS)
    coef[np.abs(coef) < prune_below] = 0.0
    record = TrainingRecord(
        corpora=tuple(corpora),
        seed=seed,
        C=C,
        class_weight=class_weight,
        pruned_below=prune_below,
    )
    return TriageModel(
        settings=settings,
        classes=[str(level) for level in regression.classes_],
        coef=coef,
        intercept=np.round(regression.intercept_, 6),
        vocabulary=vocabulary,
        training=record,
    )


def _check_labels(labels: np.ndarray, vocabulary: RulebookVocabulary) -> None:
    counts = Counter(labels.tolist())
    unknown = sorted(set(counts) - set(vocabulary.levels))
    if unknown:
        raise TrainingError(f"priorities not in the rulebook: {', '.join(unknown)}")
    missing = [level for level in vocabulary.levels if not counts[level]]
    if missing:
        raise TrainingError(f"no training example of {', '.join(missing)}: every level needs some")
