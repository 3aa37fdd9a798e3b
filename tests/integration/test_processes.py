"""The pipeline's commands run as a user runs them: ``hark poll``, ``hark worker`` (a
long-running worker that reloads its rulebook) and ``GET /api/sources``."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime

import psutil
import pytest

from desk.mentions import MentionStore
from monitor.mention import make_mention
from services.intake import Intake
from tests.conftest import RULEBOOK_HEADER, X_FIXTURES
from tests.fakes.x_server import FakeX
from tests.integration.test_triage_quality import hark
from web import create_app

# Whole `hark` processes: the system tier (make test), not make check's loop.
pytestmark = pytest.mark.system

TOKEN = "cli-bearer-token"


@pytest.fixture
def fake_x():
    server = FakeX(TOKEN).start()
    server.users["CaroCLI"] = {"id": "4242", "username": "CaroCLI"}
    yield server
    server.stop()


def _env(redis_url: str, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    return {**clean, "HARK_REDIS_URL": redis_url, **extra}


def test_poll_once_then_worker(fake_x, redis_url, redis_conn):
    fake_x.load_recording(X_FIXTURES / "get_users_mentions.json")
    env = _env(
        redis_url, HARK_X_BEARER_TOKEN=TOKEN, HARK_X_USERNAME="CaroCLI", HARK_X_API_URL=fake_x.url
    )
    polled = subprocess.run([hark(), "poll", "--once"], env=env, capture_output=True, text=True)
    assert polled.returncode == 0, polled.stderr
    assert "x: 10 new, 0 already seen, 0 skipped" in polled.stdout
    assert TOKEN not in polled.stdout + polled.stderr

    worked = subprocess.run([hark(), "worker", "--burst"], env=env, capture_output=True, text=True)
    assert worked.returncode == 0, worked.stderr
    assert MentionStore(redis_conn).count() == 10

    app = create_app(redis=redis_conn, api_token="api")
    sources = app.test_client().get("/api/sources", headers={"Authorization": "Bearer api"})
    (x,) = sources.get_json()["items"]
    assert x["source"] == "x" and x["healthy"] is True and x["last_error"] is None


def test_worker_burst_exit_code_says_whether_jobs_failed(redis_url, redis_conn):
    env = _env(redis_url)
    idle = subprocess.run([hark(), "worker", "--burst"], env=env, capture_output=True, text=True)
    assert idle.returncode == 0, idle.stderr  # nothing to do is not a failure

    Intake(redis_conn).submit(
        make_mention(
            channel="discord",
            native_id="1",
            now=datetime.now(UTC),
            text="caro crashes on launch, every time",
        )
    )
    unreachable = {  # a P0 whose page cannot be sent, with no retry left
        "HARK_PD_ROUTING_KEY": "a" * 32,
        "HARK_PD_EVENTS_URL": "http://127.0.0.1:9/",
        "HARK_PAGE_RETRIES": "0",
    }
    failed = subprocess.run(
        [hark(), "worker", "--burst"], env={**env, **unreachable}, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "jobs failed in this run; `hark jobs list` shows them" in failed.stderr


def test_poll_with_a_bad_token_says_which_setting(fake_x, redis_url):
    env = _env(
        redis_url, HARK_X_BEARER_TOKEN="nope", HARK_X_USER_ID="4242", HARK_X_API_URL=fake_x.url
    )
    polled = subprocess.run([hark(), "poll", "--once"], env=env, capture_output=True, text=True)
    assert polled.returncode == 1
    assert "HARK_X_BEARER_TOKEN" in polled.stderr
    assert "Traceback" not in polled.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "no source to poll: set HARK_X_BEARER_TOKEN"),
        ({"HARK_X_BEARER_TOKEN": "t"}, "nothing to watch: set HARK_X_USER_ID"),
        (
            {"HARK_X_BEARER_TOKEN": "t", "HARK_X_USER_ID": "1", "HARK_X_API_URL": "notaurl"},
            "HARK_X_API_URL: 'notaurl' is not an http(s) URL",
        ),
        (
            {
                "HARK_IMAP_HOST": "127.0.0.1",
                "HARK_IMAP_USER": "u",
                "HARK_IMAP_PASSWORD": "p",
                "HARK_IMAP_CAFILE": "/nonexistent/ca.pem",
            },
            "HARK_IMAP_CAFILE: /nonexistent/ca.pem is not a readable file",
        ),
    ],
)
def test_poll_configuration_errors(redis_url, extra, message):
    result = subprocess.run(
        [hark(), "poll", "--once"], env=_env(redis_url, **extra), capture_output=True, text=True
    )
    assert result.returncode == 2
    assert message in result.stderr


def _rulebook(word: str) -> str:
    return RULEBOOK_HEADER + (
        "rules:\n  - {id: alert, description: d, match: {keyword: [" + word + "]}, "
        "priority: P0, weight: 1}\n"
    )


def _ingest_and_wait(redis_conn, client, native_id: str, text: str, timeout_s: float = 20.0):
    client.post(
        "/api/mentions",
        json={"channel": "discord", "id": native_id, "text": text},
        headers={"Authorization": "Bearer api"},
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = MentionStore(redis_conn).get(f"discord:{native_id}")
        if record:
            return record.triage.priority
        time.sleep(0.05)
    raise AssertionError(f"discord:{native_id} was not triaged within {timeout_s} s")


def test_running_worker_reloads_its_rulebook_and_keeps_the_last_good_one(
    redis_url, redis_conn, tmp_path
):
    rules = tmp_path / "rules.yaml"
    rules.write_text(_rulebook("outage"))
    env = _env(redis_url, HARK_RULES=str(rules))
    worker = subprocess.Popen(
        [hark(), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    client = create_app(redis=redis_conn, api_token="api").test_client()
    try:
        assert _ingest_and_wait(redis_conn, client, "1", "an outage!") == "P0"
        rules.write_text(_rulebook("meltdown"))
        os.utime(rules, ns=(time.time_ns() + 10**9,) * 2)
        assert _ingest_and_wait(redis_conn, client, "2", "an outage!") == "P3"
        assert _ingest_and_wait(redis_conn, client, "3", "a meltdown!") == "P0"
        rules.write_text(_rulebook("meltdown") + "    colour: red\n")  # broken YAML
        os.utime(rules, ns=(time.time_ns() + 2 * 10**9,) * 2)
        assert _ingest_and_wait(redis_conn, client, "4", "another meltdown") == "P0"
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert "keeping the last good one" in output


def test_classify_says_when_it_cannot_write():
    lines = b'{"text": "caro crashes on launch"}\n' * 2000
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [hark(), "classify"],
            input=lines,
            stdout=full,
            stderr=subprocess.PIPE,
        )
    assert result.returncode == 1
    assert b"Error: cannot write the output: No space left on device" in result.stderr
    assert b"Traceback" not in result.stderr


def test_the_scheduler_stops_with_a_worker_killed_by_sigkill(redis_url, redis_conn):
    """RQ forks the scheduler from the worker holding its lock; killed with SIGKILL, that
    worker used to leave the scheduler running as an orphan, renewing the lock for
    minutes so the worker started in its place could not take scheduling over."""
    worker = subprocess.Popen(
        [hark(), "worker"],
        env=_env(redis_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The worker takes the lock first and forks the scheduler after: wait for both, and
        # for the scheduler's birth record (rq:scheduler:<name>, holding its pid). The child
        # asks for SIGTERM on its parent's death just before RQ installs its SIGTERM handler
        # and writes that record: killed in between, it would die by the default action and
        # keep the lock.
        deadline = time.monotonic() + 30
        children: list[psutil.Process] = []
        while not (
            redis_conn.exists("rq:scheduler-lock:paging")
            and len(children) == 1
            and _scheduler_born(redis_conn, children[0].pid)
        ):
            assert time.monotonic() < deadline, "the worker never started its scheduler"
            time.sleep(0.1)
            children = psutil.Process(worker.pid).children()
        (scheduler,) = children
        worker.kill()
        worker.wait(timeout=10)
        scheduler.wait(timeout=10)  # psutil.TimeoutExpired if it lives on
        assert not redis_conn.exists("rq:scheduler-lock:paging"), "the lock was kept"
    finally:
        if worker.poll() is None:
            worker.kill()


def _scheduler_born(connection, pid: int) -> bool:
    """Whether RQ's scheduler ``pid`` has registered its birth (after its signal handlers)."""
    return any(
        connection.hget(key, "pid") in (str(pid), str(pid).encode())
        for key in connection.scan_iter(match="rq:scheduler:*")
    )
