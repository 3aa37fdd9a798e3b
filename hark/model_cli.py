"""``hark model train | evaluate``: the learned second opinion, trained and measured alone.

Corpora are the JSON Lines of ``tests/data/corpus`` (text, priority, and optionally id,
channel, category); label exports have the same shape. A bad line stops the command with
exit 2 and ``file:line: what is wrong``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import NoReturn

import click

from classifier.evaluate import (
    DEFAULT_FOLDS,
    Prediction,
    cross_validated,
    figures,
    format_figures,
    predicted,
)
from classifier.model_file import (
    ModelFileError,
    RulebookVocabulary,
    TrainingCorpus,
    load_model,
    save_model,
    shipped_model_path,
)
from classifier.train import TrainingError, train
from hark.cli_errors import say_error
from hark.corpus import CorpusError, LabelledMessage, read_corpus
from hark.rules_cli import load_engine
from rules.schema import LEVELS

CV_HEADING = "cross-validated on training data: a development figure, not blind"
corpora_argument = click.argument(
    "corpora", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The rulebook whose levels and categories the model is for"
    " (default: $HARK_RULES, else the shipped rulebook).",
)


@click.group()
def model() -> None:
    """Train and evaluate the learned second opinion (the rulebook's `model:` rules)."""


@model.command(name="train")
@corpora_argument
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model (default: the shipped rules/data/triage-model.json.gz).",
)
@rules_option
def train_command(corpora: tuple[Path, ...], out: Path | None, rules_path: Path | None) -> None:
    """Train a model on labelled CORPORA, deterministically (the same corpora give the same
    file); write gzip JSON when OUT ends in .gz, else JSON."""
    vocabulary = _vocabulary(rules_path)
    rows, trained_on = _read_corpora(corpora)
    try:
        trained = train(rows, vocabulary=vocabulary, corpora=trained_on)
    except TrainingError as error:
        _fail(str(error))
    destination = out or shipped_model_path()
    try:
        save_model(trained, destination)
    except OSError as error:
        _fail(f"{destination}: cannot write the model: {error.strerror or error}")
    counts = Counter(row.priority for row in rows)
    click.echo(
        f"wrote {destination}: {len(rows)} messages from {len(corpora)} corpora ("
        + ", ".join(f"{level} {counts[level]}" for level in vocabulary.levels)
        + f"), {destination.stat().st_size:,} bytes"
    )


@model.command()
@corpora_argument
@click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Score this trained model on the corpora instead of cross-validating.",
)
@click.option("--folds", type=click.IntRange(2, 20), default=DEFAULT_FOLDS, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffles the folds.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@rules_option
def evaluate(
    corpora: tuple[Path, ...],
    model_path: Path | None,
    folds: int,
    seed: int,
    as_json: bool,
    rules_path: Path | None,
) -> None:
    """The model alone on labelled CORPORA: P0 caught, P0 precision, exact accuracy, and
    each priority's precision and recall.

    Without --model: stratified k-fold cross-validation on the corpora taken together (a
    development figure, not blind), with each corpus's share of it. With --model: that
    model scored on each corpus.
    """
    vocabulary = _vocabulary(rules_path)
    if model_path is None:
        report = _cross_validation(corpora, vocabulary, folds, seed)
    else:
        report = _held_out(corpora, vocabulary, model_path)
    if as_json:
        click.echo(
            json.dumps(
                {title: figures(found) for title, found in report.items()},
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    for title, found in report.items():
        click.echo(format_figures(title, found))


def _cross_validation(
    corpora: tuple[Path, ...], vocabulary: RulebookVocabulary, folds: int, seed: int
) -> dict[str, list[Prediction]]:
    rows, described = _read_corpora(corpora)
    try:
        predictions = cross_validated(rows, vocabulary=vocabulary, folds=folds, seed=seed)
    except (TrainingError, ValueError) as error:
        _fail(str(error))
    click.echo(f"{CV_HEADING} ({folds} stratified folds, seed {seed})")
    report = {"model only, all corpora": predictions}
    start = 0
    for corpus, about in zip(corpora, described, strict=True):
        report[f"model only, {corpus}"] = predictions[start : start + about.rows]
        start += about.rows
    return report


def _held_out(
    corpora: tuple[Path, ...], vocabulary: RulebookVocabulary, model_path: Path
) -> dict[str, list[Prediction]]:
    try:
        trained = load_model(model_path, levels=vocabulary.levels, categories=vocabulary.categories)
    except ModelFileError as error:
        _fail(str(error))
    trained_on = {corpus.sha256 for corpus in trained.training.corpora}
    report = {}
    for corpus in corpora:
        rows = _rows_of(corpus)
        seen = _sha256(corpus) in trained_on
        note = "IN THE MODEL'S TRAINING DATA: not blind" if seen else "not in its training data"
        report[f"model only, {model_path} on {corpus} ({note})"] = predicted(trained, rows)
    return report


def _vocabulary(rules_path: Path | None) -> RulebookVocabulary:
    engine = load_engine(rules_path)
    return RulebookVocabulary(tuple(LEVELS), tuple(engine.rulebook.categories))


def _read_corpora(
    corpora: tuple[Path, ...],
) -> tuple[list[LabelledMessage], list[TrainingCorpus]]:
    rows: list[LabelledMessage] = []
    described = []
    for corpus in corpora:
        found = _rows_of(corpus)
        rows.extend(found)
        described.append(TrainingCorpus(name=corpus.name, sha256=_sha256(corpus), rows=len(found)))
    return rows, described


def _rows_of(corpus: Path) -> list[LabelledMessage]:
    try:
        rows = list(read_corpus(corpus))
    except CorpusError as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"{corpus}: cannot read the corpus: {error.strerror or error}")
    except UnicodeDecodeError:
        _fail(f"{corpus}: not UTF-8 text")
    if not rows:
        _fail(f"{corpus}: no labelled messages in it")
    return rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fail(message: str) -> NoReturn:
    say_error(f"{message}")
    sys.exit(2)
