"""The triage model and its file: gzip JSON (or plain JSON), never a serialized Python object.

A model file is data a user may have written, so it is parsed and checked like a rulebook:
nothing in it is executed. It holds the feature settings (``classifier.features``), the
logistic regression's classes, intercepts and nonzero coefficients, the rulebook vocabulary
(levels and categories) it was trained for, and the corpora it was trained on. Inference
runs on scikit-learn objects rebuilt from those arrays.

Any problem with a file is a ``ModelFileError`` whose text is one line naming the file and
saying what to do.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import stat
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError, model_validator
from sklearn import config_context  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from classifier.features import Features, FeatureSettings

FORMAT = "hark-triage-model"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 50_000_000  # compressed or not; the shipped model is far smaller
MAX_JSON_BYTES = 200_000_000  # after gunzip: a small file cannot unpack into all memory
GZIP_MAGIC = b"\x1f\x8b"
SHIPPED_MODEL = "triage-model.json.gz"


def shipped_model_path() -> Path:
    """The model shipped beside the shipped rulebook, trained on the repository's corpora."""
    return Path(str(resources.files("rules") / "data" / SHIPPED_MODEL))


class ModelFileError(ValueError):
    """A model file that cannot be used; ``str()`` is one line: file, problem, remedy."""


@dataclass(frozen=True)
class RulebookVocabulary:
    """The levels and categories of the rulebook a model was trained for."""

    levels: tuple[str, ...]
    categories: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        text = json.dumps(
            {"levels": list(self.levels), "categories": list(self.categories)},
            separators=(",", ":"),
        )
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        return f"levels {', '.join(self.levels)}; categories {', '.join(self.categories)}"


class TrainingCorpus(BaseModel):
    """One corpus a model was trained on, by name, content hash and number of rows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=0)


class TrainingRecord(BaseModel):
    """How a model was trained: corpora, regularization, class weights, pruning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corpora: tuple[TrainingCorpus, ...] = ()
    seed: int = 0
    C: FiniteFloat = 10.0
    class_weight: dict[str, FiniteFloat] = Field(default_factory=dict)
    pruned_below: FiniteFloat = 0.0


class TriageModel:
    """A trained priority model: ``rules.second_opinion.SecondOpinion``.

    Reads at most the first ``features.max_chars`` characters of a message, so a 1 MB text
    costs what a short one does. ``probabilities_batch`` vectorizes many texts in one pass
    and is much faster per message than calling ``probabilities`` for each.
    """

    def __init__(
        self,
        *,
        settings: FeatureSettings,
        classes: Sequence[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        vocabulary: RulebookVocabulary,
        training: TrainingRecord,
    ) -> None:
        self.settings = settings
        self.features = Features(settings)
        self.vocabulary = vocabulary
        self.training = training
        self.classes: tuple[str, ...] = tuple(classes)
        self.classifier = LogisticRegression(solver="newton-cg")
        self.classifier.classes_ = np.array(self.classes)
        # Column-major, so that ``coef_.T`` (what the sparse product multiplies by) is
        # row-major: otherwise scipy copies the whole array on every call.
        self.classifier.coef_ = np.asfortranarray(coef, dtype=np.float64)
        self.classifier.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.classifier.n_features_in_ = settings.n_features

    def probabilities(self, text: str) -> Mapping[str, float]:
        return self.probabilities_batch([text])[0]

    def probabilities_batch(self, texts: Sequence[str]) -> list[Mapping[str, float]]:
        if not texts:
            return []
        with config_context(assume_finite=True):
            table = self.classifier.predict_proba(self.features.transform(texts))
        return [dict(zip(self.classes, map(float, row), strict=True)) for row in table]

    def reasons(self, text: str, level: str, limit: int = 8) -> list[tuple[str, float]]:
        """The words of ``text`` (or n-grams, where spaces do not split words) that moved
        ``level``'s score most, signed, strongest first.

        A word's contribution is the sum of its n-grams' coefficient x feature value (an
        n-gram that occurs several times shares its contribution among them), so all the
        pieces' contributions add up to the level's score less its intercept. Of n-grams
        that overlap with the same sign (``启动``, ``启动就``), only the strongest is shown.
        """
        row = self.classes.index(level)
        pieces = self.features.pieces(text)
        distinct = sorted({ngram for piece in pieces for ngram in piece.ngrams})
        column_of = dict(zip(distinct, self.features.columns(distinct), strict=True))
        occurrences = Counter(column_of[ngram] for piece in pieces for ngram in piece.ngrams)
        values = self.features.transform([text])
        value_of = dict(zip(values.indices.tolist(), values.data.tolist(), strict=True))
        coef = self.classifier.coef_[row]
        scores: dict[tuple[str, bool], float] = defaultdict(float)
        for piece in pieces:
            for ngram in piece.ngrams:
                column = column_of[ngram]
                contribution = coef[column] * value_of[column] / occurrences[column]
                scores[piece.shown, piece.is_word] += contribution
        ranked = sorted(
            ((key, float(score)) for key, score in scores.items() if score != 0.0),
            key=lambda item: (-abs(item[1]), item[0]),
        )
        chosen: list[tuple[str, float]] = []
        shown_ngrams: list[tuple[str, float]] = []
        for (shown, is_word), contribution in ranked:
            if len(chosen) >= limit:
                break
            if not is_word:
                if any(_overlaps(shown, contribution, other) for other in shown_ngrams):
                    continue
                shown_ngrams.append((shown, contribution))
            chosen.append((shown, contribution))
        return chosen

    def to_document(self) -> dict[str, Any]:
        """The model as the JSON object its file holds (only nonzero coefficients)."""
        columns = np.flatnonzero(np.any(self.classifier.coef_ != 0.0, axis=0))
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "predicts": "priority",
            "rulebook": {
                "levels": list(self.vocabulary.levels),
                "categories": list(self.vocabulary.categories),
                "fingerprint": self.vocabulary.fingerprint,
            },
            "features": self.settings.model_dump(mode="json"),
            "classifier": {
                "estimator": "LogisticRegression",
                "classes": list(self.classes),
                "intercept": self.classifier.intercept_.tolist(),
                "coefficients": {
                    "columns": columns.tolist(),
                    "values": self.classifier.coef_[:, columns].tolist(),
                },
            },
            "training": self.training.model_dump(mode="json"),
        }


def _overlaps(ngram: str, contribution: float, chosen: tuple[str, float]) -> bool:
    other, other_contribution = chosen
    same_sign = (contribution > 0) == (other_contribution > 0)
    return same_sign and (ngram in other or other in ngram)


def save_model(model: TriageModel, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path``: gzip JSON when the name ends in ``.gz``, else JSON.

    The bytes depend only on the model (sorted keys, no timestamp in the gzip header), so
    the same training gives the same file. Written to a temporary file, then renamed.
    """
    path = Path(path)
    text = json.dumps(model.to_document(), sort_keys=True, separators=(",", ":"))
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def load_model(
    path: str | os.PathLike, *, levels: Sequence[str], categories: Sequence[str]
) -> TriageModel:
    """Read the model at ``path`` for a rulebook with these levels and categories.

    Raises ``ModelFileError`` (one line: the file, what is wrong, what to do) for a file
    that is missing, unreadable, not (gzip) JSON, of another format or version, damaged
    (wrong shapes, NaN or infinite numbers) or trained for another rulebook.
    """
    path = Path(path)
    document = _read_document(path)
    try:
        parsed = ModelDocument.model_validate(document)
    except ValidationError as error:
        raise _error(path, f"damaged model file: {_first_problem(error)}") from None
    expected = RulebookVocabulary(tuple(levels), tuple(categories))
    trained_for = RulebookVocabulary(
        tuple(parsed.rulebook.levels), tuple(parsed.rulebook.categories)
    )
    if trained_for != expected:
        raise ModelFileError(
            f"{path}: trained for another rulebook ({trained_for.describe()}; this rulebook"
            f" has {expected.describe()}): retrain it with"
            f" `hark model train CORPUS... --rules RULEBOOK --out {path}`"
        )
    return parsed.build(trained_for)


def _error(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: {problem}: retrain it with `hark model train CORPUS... --out {path}`"
    )


def _read_document(path: Path) -> dict[str, Any]:
    raw = _file_bytes(path)
    gzipped = raw[:2] == GZIP_MAGIC
    if path.name.endswith(".gz") and not gzipped:
        raise _error(path, "not a Hark model file (not gzip JSON)")
    if gzipped:
        raw = _gunzip(path, raw)
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except _NotANumber as error:
        raise _error(path, f"damaged model file: {error} is not a number") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        kind = "gzip JSON" if gzipped else "JSON"
        raise _error(path, f"not a Hark model file (not {kind})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _error(path, f'not a Hark model file (no "format": "{FORMAT}")')
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise _error(
            path, f"model file format version {version!r}; this Hark reads {FORMAT_VERSION}"
        )
    return document


def _file_bytes(path: Path) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise OSError(errno.EFBIG, f"over {MAX_FILE_BYTES // 1_000_000} MB")
        return path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise _error(path, f"cannot read the model file ({reason})") from None


def _gunzip(path: Path, raw: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
    try:
        data = inflater.decompress(raw, MAX_JSON_BYTES + 1)
    except zlib.error:
        raise _error(path, "not a Hark model file (not gzip JSON)") from None
    if len(data) > MAX_JSON_BYTES:
        raise _error(path, f"over {MAX_JSON_BYTES // 1_000_000} MB once unpacked")
    if not inflater.eof:
        raise _error(path, "not a Hark model file (a truncated gzip file)")
    return data


class _NotANumber(ValueError):
    """NaN or Infinity in a model file: Python's JSON parser would accept them."""


def _refuse_constant(name: str) -> None:
    raise _NotANumber(name)


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    return f"{where}: {first['msg']}"


class _Rulebook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[str] = Field(min_length=2)
    categories: list[str]
    fingerprint: str

    @model_validator(mode="after")
    def _fingerprint_matches(self) -> _Rulebook:
        vocabulary = RulebookVocabulary(tuple(self.levels), tuple(self.categories))
        if self.fingerprint != vocabulary.fingerprint:
            raise ValueError("the fingerprint does not match the levels and categories")
        return self


class _Coefficients(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[int]
    values: list[list[FiniteFloat]]


class _Classifier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    estimator: Literal["LogisticRegression"]
    classes: list[str]
    intercept: list[FiniteFloat]
    coefficients: _Coefficients


class ModelDocument(BaseModel):
    """A model file's JSON, checked: types, shapes, finite numbers, columns in range."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["hark-triage-model"]
    format_version: Literal[1]
    predicts: Literal["priority"]
    rulebook: _Rulebook
    features: FeatureSettings
    classifier: _Classifier
    training: TrainingRecord

    @model_validator(mode="after")
    def _shapes_agree(self) -> ModelDocument:
        classes = self.classifier.classes
        if classes != self.rulebook.levels:
            raise ValueError(f"classes {classes} are not the levels {self.rulebook.levels}")
        if len(self.classifier.intercept) != len(classes):
            raise ValueError(f"{len(self.classifier.intercept)} intercepts, {len(classes)} classes")
        columns = self.classifier.coefficients.columns
        values = self.classifier.coefficients.values
        if len(values) != len(classes) or any(len(row) != len(columns) for row in values):
            raise ValueError(
                f"coefficients must be {len(classes)} rows of {len(columns)} values, one a column"
            )
        if any(b <= a for a, b in pairwise(columns)):
            raise ValueError("coefficient columns must be strictly increasing")
        if columns and not 0 <= columns[0] <= columns[-1] < self.features.n_features:
            raise ValueError(f"coefficient columns must be in 0..{self.features.n_features - 1}")
        return self

    def build(self, vocabulary: RulebookVocabulary) -> TriageModel:
        coefficients = self.classifier.coefficients
        coef = np.zeros((len(self.classifier.classes), self.features.n_features))
        if coefficients.columns:
            coef[:, coefficients.columns] = np.array(coefficients.values, dtype=np.float64)
        return TriageModel(
            settings=self.features,
            classes=self.classifier.classes,
            coef=coef,
            intercept=np.array(self.classifier.intercept, dtype=np.float64),
            vocabulary=vocabulary,
            training=self.training,
        )
