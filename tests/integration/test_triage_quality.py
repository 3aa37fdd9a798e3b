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


# Real issues, gathered and labelled blind to the rules, their text paraphrased in our own
# words (tests/data/corpus/README.md). The rules miss many of them, so these are floors a
# little under the figures measured on the paraphrases on 2026-12-07 with unchanged rules
# (exact accuracy, P0 recall: the development set 0.897 and 0.833; the held-out sets 0.571
# and 0.682, 0.544 and 0.50, 0.607 and 0.812, and the fourth, which no rule was ever changed
# for, in README "Triage quality"). They catch a change that makes the rules generalize
# worse. Not targets. The development set was once held to no missed P0; its paraphrase
# words one P0 ("every input is now read as `script`") in a way no rule catches.
HELD_OUT_FLOORS = {
    "real-dev.jsonl": {"accuracy": 0.85, "p0_recall": 0.80},
    "real-heldout.jsonl": {"accuracy": 0.55, "p0_recall": 0.63},
    "real-heldout-2.jsonl": {"accuracy": 0.50, "p0_recall": 0.45},
    "real-heldout-3.jsonl": {"accuracy": 0.57, "p0_recall": 0.75},
    "real-heldout-4.jsonl": {"accuracy": 0.52, "p0_recall": 0.47},
}


@pytest.mark.parametrize("name", HELD_OUT_FLOORS)
def test_real_issues_beyond_the_development_set_stay_above_their_floor(name):
    floors = HELD_OUT_FLOORS[name]
    _, report = rules_test(DATA / "corpus" / name)
    assert report["total"] >= (25 if name == "real-dev.jsonl" else 80)
    p0_recall = report["per_priority"]["P0"]["recall"]
    print(f"\n{name}: accuracy {report['accuracy']}, P0 recall {p0_recall}")
    assert report["accuracy"] >= floors["accuracy"], report["misses"]
    assert p0_recall >= floors["p0_recall"], report["missed_p0"]
