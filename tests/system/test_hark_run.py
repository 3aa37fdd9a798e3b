"""``hark run`` as a newcomer runs it: from a clean directory, on embedded defaults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from hark.embedded_redis import free_port
from tests.integration.test_triage_quality import hark


def _get(port: int, path: str, token: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _ours(directory: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
            if process.info["cwd"] == str(directory) or str(directory) in cmdline:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return [p for p in found if p.pid != os.getpid()]


def _start(directory: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    process = subprocess.Popen(
        [hark(), "run", "--port", str(port), "--speed", "3600"],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "API token:" in line:
            return process, line.split("API token:")[1].split()[0]
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError("hark run printed no API token")


def _workers_of(supervisor: subprocess.Popen) -> list[psutil.Process]:
    """The ``hark worker`` processes ``hark run`` started (not the RQ scheduler they fork)."""
    workers = []
    for child in psutil.Process(supervisor.pid).children():
        try:
            if "worker" in " ".join(child.cmdline()):
                workers.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):  # the sample replay, done
            continue
    return workers


def _wait_for(check, timeout_s: float = 90.0):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out; last answer: {last}")


def _stop(process: subprocess.Popen, directory: Path) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert _wait_for(lambda: not _ours(directory), 20) is True or not _ours(directory)


def _healthz_with_workers(port: int, token: str, count: int) -> dict | None:
    """/healthz's answer if it counts ``count`` live workers, else None."""
    answer = _get(port, "/healthz", token)
    return answer if answer["workers"]["count"] == count else None


def _worker_names(port: int, token: str) -> set[str]:
    return {item["name"] for item in _get(port, "/healthz", token)["workers"]["items"]}


# Startup, the kill and its restart, a stop and a second run, each waited for on a loaded
# machine: well past pytest's 120 s default.
@pytest.mark.timeout(300)
def test_hark_run_from_a_clean_directory(tmp_path):
    port = free_port()
    process, token = _start(tmp_path, port)
    try:
        mentions = _wait_for(lambda: _get(port, "/api/mentions?limit=200", token)["items"])
        assert all(item["triage"]["priority"] in {"P0", "P1", "P2", "P3"} for item in mentions)
        incidents = _wait_for(
            lambda: [i for i in _get(port, "/api/incidents", token)["items"] if i["pages"]]
        )
        assert incidents[0]["pages"][0]["dry_run"] is True  # no PagerDuty key: the dry-run pager
        assert _wait_for(lambda: _get(port, "/api/queue", token)["items"])  # drafted after triage
        assert _get(port, "/api/rotation", token)["on_call"]
        # /healthz is 200 once one worker is alive: wait for the second to register too
        health = _wait_for(lambda: _healthz_with_workers(port, token, 2))
        assert health["status"] == "ok" and health["workers"]["count"] == 2
        names_before = {item["name"] for item in health["workers"]["items"]}

        # kill -9 of a worker, as the kernel's OOM killer would: it is started again. The
        # dead worker's RQ key lingers until it expires (worker_ttl + 60 s = 90 s), so the
        # count may read 3 for a while: look for the new worker, not for the key's expiry.
        victim = _workers_of(process)[0]
        victim.kill()
        _wait_for(lambda: len([w for w in _workers_of(process) if w != victim]) == 2)
        assert _wait_for(lambda: _worker_names(port, token) - names_before)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as login_page:
            assert login_page.url.endswith("/login?next=/")  # the page renders, behind a login
            assert b"Log in" in login_page.read()
    finally:
        _stop(process, tmp_path)
    said = process.stdout.read()
    assert "stopped (exit code -9)" in said and "Starting it again" in said, said
    assert (tmp_path / "var" / "redis" / "appendonly.aof").exists() or any(
        (tmp_path / "var" / "redis").glob("appendonly*")
    )

    again, token = _start(tmp_path, port)  # a second run keeps the data
    try:
        kept = _wait_for(lambda: _get(port, "/api/mentions?limit=200", token)["items"])
        assert len(kept) >= len(mentions)
    finally:
        _stop(again, tmp_path)


def test_port_in_use_is_a_clear_error(tmp_path):
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [hark(), "run", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} is in use" in result.stderr
    assert not _ours(tmp_path)


def test_a_bad_setting_stops_everything_with_the_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env["HARK_NO_REPLY"] = "praise"  # not channel:kind
    result = subprocess.run(
        [hark(), "run", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "HARK_NO_REPLY: 'praise' is not channel:kind" in result.stderr
    assert _wait_for(lambda: not _ours(tmp_path), 20)
