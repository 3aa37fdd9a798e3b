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
