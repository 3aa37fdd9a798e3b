"""``hark worker``: RQ workers that triage mentions and page, with the RQ scheduler.

A worker serves its queues in the order of ``services.jobs.WORKER_QUEUES``: paging, then
the P0 lane (mentions the intake classified P0), then the normal triage queue. RQ takes the
first queue that has a job each time it picks one, so a P0 and its page wait for the jobs
already in hand and for other P0 work, never for a burst of ordinary triage.

Departures from RQ's defaults, so that a dead worker or a Redis restart costs seconds,
not minutes, and never a page (docs/RELIABILITY.md has the tests and figures):

- A job's entry in RQ's started registry outlives the job's timeout by 5 s, not 60, and
  every worker cleans the registries every 15 s (idle ones too), not every 10 minutes. A
  worker killed mid-job (SIGKILL, a lost machine) leaves its job there; the next cleaning
  finds it abandoned and requeues it (every Hark job has retries and is idempotent). This
  is safe because a job cannot outlive its timeout: RQ stops it with SIGALRM.
- When Redis goes away mid-job (a restart), RQ's worker loop gives up; ``run_worker``
  waits for Redis to come back and starts a fresh worker instead of exiting.
- Executions cut short are forgotten before a job runs again (``forget_lost_executions``).
"""

from __future__ import annotations

import contextlib
import logging
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer

from hark.scheduler import ParentBoundScheduler
from services.context import Services
from services.jobs import WORKER_QUEUES, ServiceJob
from vocabulary.loggable import install_log_redaction

MAINTENANCE_INTERVAL_S = 15
ABANDONED_GRACE_S = 5
_log = logging.getLogger("hark.worker")


def run_worker(services: Services, *, burst: bool = False, with_scheduler: bool = True) -> bool:
    """Work the paging, P0 triage and triage queues, in that order, with ``services``
    (built by ``hark.wiring``); with ``burst``, until they are empty. True if every job
    passed.

    Every log record the process makes from here on is redacted (``vocabulary.loggable``):
    RQ logs each job's description and a failed job's traceback, and both can quote what a
    sender wrote (a mention id is the sender's choice)."""
    install_log_redaction()
    connection = services.connection
    while True:
        queues = [
            Queue(name, connection=connection, serializer=JSONSerializer, job_class=ServiceJob)
            for name in WORKER_QUEUES
        ]
        try:  # RQ's constructor talks to Redis (CLIENT SETNAME): it can lose it too
            worker = HarkWorker(
                queues,
                services=services,
                connection=connection,
                serializer=JSONSerializer,
                job_class=ServiceJob,
                maintenance_interval=MAINTENANCE_INTERVAL_S,
                # An idle worker blocks in BLPOP for worker_ttl - 15 s and cleans only
                # between waits: RQ's 420 s default would leave a dead worker's job for 7 min.
                worker_ttl=MAINTENANCE_INTERVAL_S + 15,
            )
        except (RedisConnectionError, RedisTimeoutError) as error:
            if burst:
                raise
            _log.warning("Redis went away as the worker started: %s; waiting for it", error)
            _wait_for_redis(connection)
            time.sleep(1.0)
            continue
        try:
            # RQ's work() says whether any job ran, not whether they passed: this worker
            # counts its own jobs that failed for good (another worker's do not count).
            worker.work(burst=burst, with_scheduler=with_scheduler and not burst)
            passed = worker.terminal_failures == 0
        except (RedisConnectionError, RedisTimeoutError) as error:  # raised by its teardown
            _log.warning("lost Redis while stopping the worker: %s", error)
            with contextlib.suppress(Exception):
                worker.unsubscribe()
            passed = False
        if burst or worker._shutdown_requested_date is not None:  # done, or SIGTERM/SIGINT
            return passed
        # RQ's loop quits on an error it cannot handle, most often Redis going away in
        # the middle of a job: a fresh worker takes over once Redis answers.
        _wait_for_redis(connection)
        time.sleep(1.0)  # never a tight loop, whatever stopped the last one


class HarkWorker(SimpleWorker):
    """RQ's SimpleWorker: jobs run in this process rather than a fork per job, so the
    compiled rulebook (and RE2's warm DFA cache) stays loaded and a reload sticks; each job
    gets this worker's ``services`` (``services.jobs.ServiceJob``); with a started-registry
    entry that expires ``ABANDONED_GRACE_S`` after the job's timeout."""

    def __init__(self, *args, services: Services, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.terminal_failures = 0  # this worker's jobs that failed with no retry left

    def handle_job_failure(self, job: Job, queue: Queue, *args, **kwargs) -> None:
        will_retry = job.should_retry and self._stopped_job_id != job.id
        super().handle_job_failure(job, queue, *args, **kwargs)
        if not will_retry:
            self.terminal_failures += 1

    def get_heartbeat_ttl(self, job: Job) -> int:
        if not job.timeout or job.timeout < 0:
            return super().get_heartbeat_ttl(job)
        return int(job.timeout) + ABANDONED_GRACE_S

    def execute_job(self, job: Job, queue: Queue) -> None:
        forget_lost_executions(job)
        if isinstance(job, ServiceJob):
            job.services = self.services
        super().execute_job(job, queue)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's own (rq 2.12's ``Worker._start_scheduler``, which names its class), with a
        scheduler that stops with this worker (``hark.scheduler``)."""
        self.scheduler = ParentBoundScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()


def forget_lost_executions(job: Job) -> None:
    """Drop from the job's execution registry the executions whose record is gone.

    rq 2.12 keeps the id of an execution cut short (its worker killed, Redis restarted
    in the middle) for about 100 s after its record has gone. When the job is run again
    and succeeds, RQ's clean-up fetches every execution, raises "Execution ... not found
    in Redis", and counts the success as a failure: a page that went out is retried and
    sent again. Later rq versions heal this themselves (rq#2435).
    """
    registry = job.execution_registry
    connection = job.connection
    ids = [raw.decode() for raw in connection.zrange(registry.key, 0, -1)]
    if not ids:
        return
    with connection.pipeline(transaction=False) as pipe:
        for execution_id in ids:
            pipe.exists(Execution(execution_id, job.id, connection).key)
        present = pipe.execute()
    lost = [execution_id for execution_id, found in zip(ids, present, strict=True) if not found]
    if lost:
        connection.zrem(registry.key, *lost)
        _log.info("job %s: forgot %d execution(s) cut short earlier", job.id, len(lost))


def _redis_is_up(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except (RedisConnectionError, RedisTimeoutError):
        return False


def _wait_for_redis(connection: Redis, longest_wait_s: float = 10.0) -> None:
    """Block until Redis answers again, logging while it does not."""
    wait_s = 0.5
    while not _redis_is_up(connection):
        _log.warning("Redis is unreachable; the worker resumes when it is back")
        time.sleep(wait_s)
        wait_s = min(wait_s * 2, longest_wait_s)
    _log.info("Redis answers: starting a fresh worker")
