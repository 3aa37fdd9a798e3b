"""``make run`` takes the port as ``hark run --port`` does (issue 14, item 14)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make_run(*variables: str) -> str:
    make = shutil.which("make")
    assert make, "make is not installed"
    result = subprocess.run(
        [make, "-n", "-C", str(ROOT), "run", *variables],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},  # no PORT from the caller's environment
    )
    return result.stdout


def test_make_run_passes_port_to_hark_run():
    assert "hark run --port 8001" in _make_run("PORT=8001")


def test_make_run_keeps_the_usual_port_by_default():
    assert "hark run --port 8000" in _make_run()
