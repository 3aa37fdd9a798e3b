"""``hark classify`` as a process: it streams (answers before input ends) and its memory
stays flat however long the input is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.test_triage_quality import hark

LINE = {"channel": "github", "text": "Caro crashes on launch on macOS 14. " + "details " * 60}


def test_answers_each_line_while_input_is_still_open():
    process = subprocess.Popen(
        [hark(), "classify"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        for number in range(3):
            process.stdin.write(json.dumps({"id": number, "text": "caro crashes on launch"}) + "\n")
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())  # would block forever if buffered
            assert (answer["id"], answer["priority"]) == (number, "P0")
    finally:
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def _peak_rss_kib(lines: int, tmp_path: Path) -> int:
    """Peak memory of one ``hark classify`` run over ``lines`` lines, in KiB (Linux)."""
    script = tmp_path / f"measure_{lines}.py"
    script.write_text(
        "import resource, subprocess, sys, threading\n"
        "p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)\n"
        f"line = {json.dumps(json.dumps(LINE) + chr(10))}.encode()\n"
        f"for _ in range({lines}):\n"
        "    p.stdin.write(line)\n"
        "p.stdin.close()\n"
        "assert p.wait() == 0\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script), hark(), "classify"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return int(out.stdout.strip())


def test_memory_does_not_grow_with_input(tmp_path):
    small = _peak_rss_kib(100, tmp_path)
    large = _peak_rss_kib(40_000, tmp_path)  # about 24 MB of input
    input_kib = 40_000 * len(json.dumps(LINE)) // 1024
    print(f"\npeak RSS: {small} KiB for 100 lines, {large} KiB for 40,000 ({input_kib} KiB input)")
    assert large - small < input_kib // 4, (small, large, input_kib)
