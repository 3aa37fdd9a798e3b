"""``hark worker``: RQ workers that triage mentions with the configured rulebook."""

from __future__ import annotations

from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from hark.rulebook_files import RulebookReloader
from monitor.intake import TRIAGE_QUEUE
from oncall import triage


def run_worker(connection: Redis, rules_path: Path, *, burst: bool = False) -> bool:
    """Work the triage queue; with ``burst``, until it is empty. True if all jobs passed."""
    reloader = RulebookReloader(rules_path)

    def current_engine():
        reloader.reload_if_changed()  # a stat() per job; keeps the last good rulebook
        return reloader.engine

    triage.use_rulebook(current_engine)
    queue = Queue(TRIAGE_QUEUE, connection=connection, serializer=JSONSerializer)
    # SimpleWorker runs jobs in this process rather than a fork per job: the compiled
    # rulebook (and RE2's warm DFA cache) stays loaded, and a reload sticks.
    worker = SimpleWorker([queue], connection=connection, serializer=JSONSerializer)
    return worker.work(burst=burst, with_scheduler=not burst)
