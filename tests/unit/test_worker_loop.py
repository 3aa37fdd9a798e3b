"""``run_worker``'s loop (hark/worker.py): losing Redis never ends a long-running worker,
not even when it is lost while RQ's worker is being built (its constructor talks to Redis).
The real-Redis restart is in tests/reliability/test_redis_restart.py; this pins the race
it can only hit by chance."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import pytest
import redis

import hark.worker
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services


class _Stopped:
    """A worker that ran and was then asked to stop (SIGTERM)."""

    _shutdown_requested_date = datetime(2026, 1, 1, tzinfo=UTC)
    terminal_failures = 0

    def work(self, **options) -> bool:
        return True


def test_redis_lost_while_the_worker_is_built_is_waited_out(monkeypatch):
    built, waited = [], []

    def build(*args, **kwargs):
        built.append(1)
        if len(built) == 1:
            raise redis.ConnectionError("Connection closed by server.")
        return _Stopped()

    monkeypatch.setattr(hark.worker, "HarkWorker", build)
    monkeypatch.setattr(hark.worker, "_wait_for_redis", lambda connection: waited.append(1))
    monkeypatch.setattr(hark.worker.time, "sleep", lambda seconds: None)
    ok = hark.worker.run_worker(worker_services(fakeredis.FakeRedis(), shipped_rulebook_path()))
    assert ok is True and len(built) == 2 and waited == [1]


def test_a_burst_run_reports_redis_going_away(monkeypatch):
    def build(*args, **kwargs):
        raise redis.ConnectionError("Connection refused.")

    monkeypatch.setattr(hark.worker, "HarkWorker", build)
    with pytest.raises(redis.ConnectionError):
        hark.worker.run_worker(
            worker_services(fakeredis.FakeRedis(), shipped_rulebook_path()), burst=True
        )
