"""``hark worker``: RQ workers that triage mentions and page, with the RQ scheduler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from hark.rulebook_files import RulebookReloader
from monitor.intake import TRIAGE_QUEUE
from oncall import runtime
from oncall.paging import PAGING_QUEUE
from oncall.runtime import OncallConfig


def run_worker(
    connection: Redis,
    rules_path: Path,
    *,
    burst: bool = False,
    oncall: OncallConfig | None = None,
    with_scheduler: bool = True,
) -> bool:
    """Work the paging and triage queues (paging first); with ``burst``, until they are
    empty. True if every job passed."""
    reloader = RulebookReloader(rules_path)

    def current_engine():
        reloader.reload_if_changed()  # a stat() per job; keeps the last good rulebook
        return reloader.engine

    runtime.configure(current_engine, oncall or OncallConfig())
    queues = [
        Queue(name, connection=connection, serializer=JSONSerializer)
        for name in (PAGING_QUEUE, TRIAGE_QUEUE)
    ]
    # SimpleWorker runs jobs in this process rather than a fork per job: the compiled
    # rulebook (and RE2's warm DFA cache) stays loaded, and a reload sticks.
    worker = SimpleWorker(queues, connection=connection, serializer=JSONSerializer)
    return worker.work(burst=burst, with_scheduler=with_scheduler and not burst)


def escalation_window(minutes: float, launch_day: bool) -> timedelta:
    """The playbook's acknowledgement window: 15 minutes, 5 on launch day."""
    return timedelta(minutes=5 if launch_day else minutes)
