"""Triage quality, measured through the installed ``hark`` command as a user runs it.

Fails when a P0 is missed on the project's corpus, or when the rules generalize worse on
real issues (floors under today's figures on the paraphrased real sets).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA

# Each test runs `hark rules test` as a user would, a whole process reading the rulebook and
# the model: the system tier (make test), not make check's loop.
pytestmark = pytest.mark.system

CORPORA = {"project": DATA / "corpus" / "caro-support.jsonl"}


def hark() -> str:
    executable = shutil.which("hark", path=str(Path(sys.executable).parent))
    assert executable, "the hark console script is not installed in this environment"
    return executable


def rules_test(corpus: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """``hark rules test CORPUS --json`` as a user runs it: the process and its report."""
    result = subprocess.run(
        [hark(), "rules", "test", str(corpus), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, json.loads(result.stdout)[str(corpus)]


@pytest.mark.parametrize("name", CORPORA)
def test_no_p0_is_missed(name):
    corpus = CORPORA[name]
    assert corpus.exists(), f"{corpus} is missing"
    result, report = rules_test(corpus)
    assert report["missed_p0"] == [], f"P0 missed in {name}: {report['missed_p0']}"
    assert result.returncode == 0, result.stderr
    assert report["total"] >= 200
    # Figures for the closing note: `hark rules test <corpus>` prints them in full.
    per = report["per_priority"]
    print(
        f"\n{name}: accuracy {report['accuracy']}, "
        + ", ".join(
            f"{level} p={stats['precision']} r={stats['recall']}" for level, stats in per.items()
        )
    )


def test_a_missed_p0_fails_the_command(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": "nothing alarming", "priority": "P0"}) + "\n")
    result = subprocess.run([hark(), "rules", "test", str(corpus)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "MISSED P0" in result.stdout


# Real issues, labelled by the playbook, their text paraphrased in our own words
# (tests/data/corpus/README.md). DEVELOPMENT FIGURES, not blind ones: since 2026-12-07 the
# shipped model is trained on every one of these sets (the blind set of the day is gathered
# and measured outside the repository), so the combined figures measure nothing but a
# regression. Floors a little under `hark rules test` with the shipped rulebook and model on
# 2026-12-07: exact accuracy, P0 caught at either urgency and the precision of high-urgency
# P0s, combined; and the rules alone (exact and P0 caught), which the model cannot flatter.
# The honest estimate of what they do on new messages is the blind figures in the README and
# the cross-validated ones in classifier/README.md. Not targets.
HELD_OUT_FLOORS = {
    "real-dev.jsonl": {
        "accuracy": 0.85,
        "p0_caught": 0.95,
        "high_precision": 0.95,
        "rules_exact": 0.85,
        "rules_p0_caught": 0.80,
    },
    "real-heldout.jsonl": {
        "accuracy": 0.68,
        "p0_caught": 0.92,
        "high_precision": 0.85,
        "rules_exact": 0.55,
        "rules_p0_caught": 0.65,
    },
    "real-heldout-2.jsonl": {
        "accuracy": 0.75,
        "p0_caught": 0.85,
        "high_precision": 0.95,
        "rules_exact": 0.53,
        "rules_p0_caught": 0.48,
    },
    "real-heldout-3.jsonl": {
        "accuracy": 0.69,
        "p0_caught": 0.95,
        "high_precision": 0.83,
        "rules_exact": 0.58,
        "rules_p0_caught": 0.78,
    },
    "real-heldout-4.jsonl": {
        "accuracy": 0.77,
        "p0_caught": 0.95,
        "high_precision": 0.87,
        "rules_exact": 0.54,
        "rules_p0_caught": 0.55,
    },
    "real-heldout-5.jsonl": {
        "accuracy": 0.74,
        "p0_caught": 0.83,
        "high_precision": 0.95,
        "rules_exact": 0.54,
        "rules_p0_caught": 0.45,
    },
    "real-train-6.jsonl": {
        "accuracy": 0.74,
        "p0_caught": 0.88,
        "high_precision": 0.92,
        "rules_exact": 0.54,
        "rules_p0_caught": 0.60,
    },
    # The blind set of 2026-12-07 (never trained on, never read while tuning): floors a
    # little under its end figures on the paraphrase, a guard against regression only.
    "real-heldout-6.jsonl": {
        "accuracy": 0.62,
        "p0_caught": 0.85,
        "high_precision": 0.83,
        "rules_exact": 0.53,
        "rules_p0_caught": 0.57,
    },
}


@pytest.fixture(scope="module")
def held_out_reports() -> dict[str, dict]:
    """One ``hark rules test --json`` over every real set, as a user would run it: each
    set's report, by file name."""
    corpora = [str(DATA / "corpus" / name) for name in HELD_OUT_FLOORS]
    result = subprocess.run(
        [hark(), "rules", "test", *corpora, "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr  # 1: a P0 missed, as these sets do
    return {Path(corpus).name: report for corpus, report in json.loads(result.stdout).items()}


@pytest.mark.parametrize("name", HELD_OUT_FLOORS)
def test_real_issues_beyond_the_development_set_stay_above_their_floor(name, held_out_reports):
    floors = HELD_OUT_FLOORS[name]
    report = held_out_reports[name]
    assert report["total"] >= (25 if name == "real-dev.jsonl" else 80)
    rules = report["by_judge"]["rules only"]
    print(
        f"\n{name} (development figures): exact {report['accuracy']}, P0 caught"
        f" {report['p0_caught']}, high-urgency P0 precision"
        f" {report['p0_high_urgency_precision']}; rules only: exact {rules['exact']},"
        f" P0 caught {rules['p0_caught']}"
    )
    assert report["accuracy"] >= floors["accuracy"], report["misses"]
    assert report["p0_caught"] >= floors["p0_caught"], report["missed_p0"]
    assert report["p0_high_urgency_precision"] >= floors["high_precision"]
    assert rules["exact"] >= floors["rules_exact"]
    assert rules["p0_caught"] >= floors["rules_p0_caught"]


def test_rules_test_judges_three_ways_and_flags_a_corpus_the_model_learned(
    held_out_reports, tmp_path
):
    """The figures say which are a measure: the model was trained on the development set
    (flagged), not on messages it never saw; each is judged by the rules alone, the model
    alone and both."""
    unseen = tmp_path / "unseen.jsonl"
    unseen.write_text(
        json.dumps({"text": "caro crashes on launch, even caro --version", "priority": "P0"})
        + "\n"
        + json.dumps({"text": "How do I change the default backend?", "priority": "P3"})
        + "\n"
    )
    result, fresh = rules_test(unseen)
    assert result.returncode == 0, result.stdout
    reports = {"real-dev.jsonl": held_out_reports["real-dev.jsonl"], "unseen.jsonl": fresh}
    learned = {"real-dev.jsonl": True, "unseen.jsonl": False}
    for name, trained_on_it in learned.items():
        assert reports[name]["model_trained_on_it"] is trained_on_it
        assert set(reports[name]["by_judge"]) == {"rules only", "model only", "combined"}
    development_set = str(DATA / "corpus" / "real-dev.jsonl")
    printed = subprocess.run(
        [hark(), "rules", "test", development_set], capture_output=True, text=True
    )
    assert "judged three ways" in printed.stdout
    assert "the model was trained on this corpus" in printed.stdout
