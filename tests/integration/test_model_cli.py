"""``hark model train | evaluate`` as a user runs them, on real files: through click's runner
in this process (scikit-learn is imported once, not once a test), and the installed
console script once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from classifier.model_file import load_model
from hark.cli import cli
from rules.schema import LEVELS
from tests.conftest import DATA
from tests.integration.test_triage_quality import hark

PROJECT = DATA / "corpus" / "caro-support.jsonl"
CATEGORIES = ["command-generation", "safety", "installation", "documentation", "privacy", "other"]


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def _run(*args: str) -> Ran:
    result = CliRunner().invoke(cli, ["model", *args])
    return Ran(result.exit_code, result.stdout, result.stderr)


def _small_corpus(tmp_path: Path, lines: int = 80) -> Path:
    """Every third line of the project corpus (which is in priority order): all levels."""
    path = tmp_path / "small.jsonl"
    every_third = PROJECT.read_text(encoding="utf-8").splitlines(keepends=True)[::3]
    assert len(every_third) >= lines
    path.write_text("".join(every_third[:lines]), encoding="utf-8")
    return path


@pytest.mark.system  # a whole `hark` process
def test_train_writes_a_model_that_loads(tmp_path):
    corpus = _small_corpus(tmp_path)
    out = tmp_path / "model.json.gz"
    result = subprocess.run(
        [hark(), "model", "train", str(corpus), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}: 80 messages from 1 corpora" in result.stdout
    model = load_model(out, levels=LEVELS, categories=CATEGORIES)
    assert [corpus.name for corpus in model.training.corpora] == ["small.jsonl"]
    assert set(model.probabilities("caro crashes on launch")) == set(LEVELS)


def test_a_bad_corpus_line_stops_training_with_its_file_and_line(tmp_path):
    corpus = _small_corpus(tmp_path, lines=5)
    with corpus.open("a", encoding="utf-8") as lines:
        lines.write(json.dumps({"text": "caro is down", "priority": "P7"}) + "\n")
    out = tmp_path / "model.json.gz"
    result = _run("train", str(corpus), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"Error: {corpus}:6: 'priority' must be one of P0, P1, P2, P3")
    assert not out.exists()


def test_a_missing_corpus_is_a_usage_error(tmp_path):
    result = _run("train", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "m.json"))
    assert result.returncode == 2
    assert "absent.jsonl" in result.stderr


def test_evaluate_scores_a_trained_model_on_a_held_out_corpus(tmp_path):
    out = tmp_path / "model.json.gz"
    assert _run("train", str(_small_corpus(tmp_path)), "--out", str(out)).returncode == 0
    result = _run("evaluate", "--model", str(out), str(DATA / "corpus" / "real-dev.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "not in its training data" in result.stdout
    assert "P0 caught" in result.stdout and "P0 precision" in result.stdout


def test_cross_validation_is_labelled_as_a_development_figure(tmp_path):
    result = _run("evaluate", "--folds", "3", "--json", str(_small_corpus(tmp_path, 84)))
    assert result.returncode == 0, result.stderr
    heading, _, report = result.stdout.partition("\n")
    assert heading == (
        "cross-validated on training data: a development figure, not blind"
        " (3 stratified folds, seed 0)"
    )
    figures = json.loads(report)
    assert figures["model only, all corpora"]["messages"] == 84
    assert set(figures["model only, all corpora"]["per_priority"]) == set(LEVELS)


def test_a_bad_model_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "model.json.gz"
    bad.write_text("not a model", encoding="utf-8")
    result = _run("evaluate", "--model", str(bad), str(PROJECT))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: {bad}: not a Hark model file")
