"""Triage quality, measured through the installed ``hark`` command as a user runs it.

Fails when a P0 is missed on the project's corpus or on the development set of real issues
(``tests/data/corpus/real-dev.jsonl``, their text paraphrased).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA

CORPORA = {
    "project": DATA / "corpus" / "caro-support.jsonl",
    "real-dev": DATA / "corpus" / "real-dev.jsonl",
}


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
    assert report["total"] >= (200 if name == "project" else 20)
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


# Real issues about neighbouring tools, gathered and labelled blind to the rules (see
# tests/data/corpus/README.md). The rules miss many of them, so these are floors a little
# under the figures measured on 2026-11-29 (exact accuracy, P0 recall: 0.622 and 0.818 on the
# first set, 0.511 and 0.55 on the second, 0.618 and 0.812 on the third, 0.566 and 0.529 on
# the fourth, which no rule was changed for); they catch a change that makes the rules
# generalize worse. Not targets.
HELD_OUT_FLOORS = {
    "real-heldout.jsonl": {"accuracy": 0.58, "p0_recall": 0.77},
    "real-heldout-2.jsonl": {"accuracy": 0.47, "p0_recall": 0.50},
    "real-heldout-3.jsonl": {"accuracy": 0.57, "p0_recall": 0.75},
    "real-heldout-4.jsonl": {"accuracy": 0.52, "p0_recall": 0.47},
}


@pytest.mark.parametrize("name", HELD_OUT_FLOORS)
def test_real_issues_beyond_the_development_set_stay_above_their_floor(name):
    floors = HELD_OUT_FLOORS[name]
    _, report = rules_test(DATA / "corpus" / name)
    assert report["total"] >= 80
    p0_recall = report["per_priority"]["P0"]["recall"]
    print(f"\n{name}: accuracy {report['accuracy']}, P0 recall {p0_recall}")
    assert report["accuracy"] >= floors["accuracy"], report["misses"]
    assert p0_recall >= floors["p0_recall"], report["missed_p0"]
