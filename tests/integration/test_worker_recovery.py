"""The worker's repairs to RQ 2.12's bookkeeping, on a real Redis."""

from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from hark.worker import forget_lost_executions


def test_executions_whose_record_is_gone_are_forgotten_and_live_ones_kept(redis_conn):
    queue = Queue("triage", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("builtins.len", "abc", job_id="job-cut-short")
    registry = job.execution_registry
    later = time.time() + 600
    redis_conn.zadd(registry.key, {"lost-execution": later, "live-execution": later})
    live = {"created_at": time.time(), "last_heartbeat": time.time(), "worker_name": "w1"}
    redis_conn.hset("rq:execution:job-cut-short:live-execution", mapping=live)
    with pytest.raises(ValueError, match="lost-execution not found"):  # what RQ trips on
        registry.get_executions()

    forget_lost_executions(job)

    assert [raw.decode() for raw in redis_conn.zrange(registry.key, 0, -1)] == ["live-execution"]
    assert [e.id for e in registry.get_executions()] == ["live-execution"]
