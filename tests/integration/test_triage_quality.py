"""Triage quality, measured through the installed ``hark`` command as a user runs it.

Fails when a P0 is missed on the project's corpus or on the real development set in
``../shared/corpus`` (override with HARK_SHARED_DIR).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, SHARED

CORPORA = {
    "project": DATA / "corpus" / "caro-support.jsonl",
    "real-dev": SHARED / "corpus" / "real-github-issues.dev.jsonl",
}


def hark() -> str:
    executable = shutil.which("hark", path=str(Path(sys.executable).parent))
    assert executable, "the hark console script is not installed in this environment"
    return executable


@pytest.mark.parametrize("name", CORPORA)
def test_no_p0_is_missed(name):
    corpus = CORPORA[name]
    assert corpus.exists(), f"{corpus} is missing (set HARK_SHARED_DIR to the shared folder)"
    result = subprocess.run(
        [hark(), "rules", "test", str(corpus), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)[str(corpus)]
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
# tests/data/corpus/README.md). The rules miss some of them, so this is a floor under the
# measured figures (0.612 exact, P0 recall 0.773 on 2026-11-29) that catches a change making
# the rules generalize worse, not a target.
HELD_OUT = DATA / "corpus" / "real-heldout.jsonl"
HELD_OUT_FLOORS = {"accuracy": 0.58, "p0_recall": 0.72}


def test_real_issues_beyond_the_development_set_stay_above_their_floor():
    result = subprocess.run(
        [hark(), "rules", "test", str(HELD_OUT), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)[str(HELD_OUT)]
    assert report["total"] >= 90
    p0_recall = report["per_priority"]["P0"]["recall"]
    print(f"\nreal-heldout: accuracy {report['accuracy']}, P0 recall {p0_recall}")
    assert report["accuracy"] >= HELD_OUT_FLOORS["accuracy"], report["misses"]
    assert p0_recall >= HELD_OUT_FLOORS["p0_recall"], report["missed_p0"]
