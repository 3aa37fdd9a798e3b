"""``hark classify`` as a process: it streams (answers before input ends) and its memory
stays flat however long the input is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_triage_quality import hark

# Whole `hark` processes: the system tier (make test), not make check's loop.
pytestmark = pytest.mark.system

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
        # in batches, as from a file: the memory of a batch is bounded too, and one message
        # at a time with the model would take a minute here
        [sys.executable, str(script), hark(), "classify", "--batch", "256"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return int(out.stdout.strip())


def test_a_file_is_classified_in_batches_as_a_pipe_is_line_by_line(tmp_path):
    """The same answers, in the same order, whether the lines come from a file (batches of
    256) or a pipe (one at a time), a refused line in its place either way."""
    lines = [
        json.dumps({"id": n, "text": text})
        for n, text in enumerate(
            ["caro crashes on launch", "love it, thanks", "it ran rm -rf ~ and wiped my home"] * 100
        )
    ]
    lines.insert(150, "{not json")
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    with feed.open("rb") as source:
        from_file = subprocess.run([hark(), "classify"], stdin=source, capture_output=True)
    from_pipe = subprocess.run([hark(), "classify"], input=feed.read_bytes(), capture_output=True)
    assert from_file.returncode == from_pipe.returncode == 1  # one line refused
    answers = from_file.stdout.decode().splitlines()
    assert answers == from_pipe.stdout.decode().splitlines() and len(answers) == 301
    assert json.loads(answers[150])["error"]["code"] == "invalid_json"
    wiped = json.loads(answers[2])
    assert (wiped["priority"], wiped["urgency"]) == ("P0", "high")


def test_memory_does_not_grow_with_input(tmp_path):
    small = _peak_rss_kib(100, tmp_path)
    # about 3 MB of input: a leak of more than about 130 bytes a line fails (2026-12-07: the
    # peak was the same at 100 lines and at 20,000)
    large = _peak_rss_kib(6_000, tmp_path)
    input_kib = 6_000 * len(json.dumps(LINE)) // 1024
    print(f"\npeak RSS: {small} KiB for 100 lines, {large} KiB for 6,000 ({input_kib} KiB input)")
    assert large - small < input_kib // 4, (small, large, input_kib)
