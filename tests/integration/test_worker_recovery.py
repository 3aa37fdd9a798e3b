"""The worker's repairs to RQ 2.12's bookkeeping, on a real Redis."""

from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from hark.worker import forget_lost_executions
from services.context import Services


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


# Jobs for the burst-exit tests below, run by a real worker in this process; like every
# Hark job, each takes the worker's services first.
def fails_once_then_passes(services: Services, counter_key: str) -> str:
    if services.connection.incr(counter_key) == 1:
        raise RuntimeError("the first attempt fails")
    return "passed"


def always_fails(services: Services) -> None:
    raise RuntimeError("this job always fails")


def another_worker_fails_meanwhile(services: Services) -> None:
    """Stands for another worker whose job fails for good while this run goes on."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    connection = services.connection
    other = Job.create(
        len,
        args=["x"],
        id="other-workers-job",
        connection=connection,
        origin="triage",
        serializer=JSONSerializer,
    )
    other.save()
    FailedJobRegistry("triage", connection=connection, serializer=JSONSerializer).add(other)


def _burst(redis_conn) -> bool:
    from hark.rulebook_files import shipped_rulebook_path
    from hark.wiring import worker_services
    from hark.worker import run_worker

    return run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)


@pytest.fixture
def triage_queue(redis_conn):
    return Queue("triage", connection=redis_conn, serializer=JSONSerializer)


def test_a_burst_passes_when_a_failed_job_passes_on_retry(redis_conn, triage_queue):
    from rq import Retry

    job = triage_queue.enqueue(fails_once_then_passes, "attempts", retry=Retry(max=1))
    assert _burst(redis_conn) is True
    assert job.get_status(refresh=True) == "finished"


def test_a_burst_fails_when_its_own_job_fails_for_good(redis_conn, triage_queue):
    from rq import Retry

    triage_queue.enqueue(always_fails, retry=Retry(max=1))
    assert _burst(redis_conn) is False


def test_another_workers_failure_during_the_run_is_not_this_runs(redis_conn, triage_queue):
    triage_queue.enqueue(another_worker_fails_meanwhile)
    assert _burst(redis_conn) is True
    assert "other-workers-job" in triage_queue.failed_job_registry.get_job_ids()
