"""Redis restarted in the middle of a run (append-only file on): the workers wait for it
and carry on, the API and the pages say the store is down rather than fail with a trace,
and once it is back every mention is triaged once and every P0 paged once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from rq import Worker
from rq.serializers import JSONSerializer

from services.intake import Intake
from tests.fakes.pagerduty_server import FakePagerDuty
from tests.reliability.conftest import ARTIFACTS
from tests.reliability.harness import (
    API_TOKEN,
    corpus_mentions,
    nothing_lost,
    settled,
    signed_in_client,
    wait_until,
)

WORKERS = ("worker-1", "worker-2")
READY_S, MID_PAGE_S, DONE_S = 30, 60, 150


class HeldAnswers:
    """The fake PagerDuty's answers held back (the request has arrived and been acted on)
    until ``release``: a worker whose page is held is in the middle of its job.

    A worker runs one job at a time, in its own process (RQ's SimpleWorker), and a page job
    sends one request at a time: two answers held at once are two workers mid-page. An
    answer is held ``longest_s`` at most, well within the pager's 10 s timeout, unless
    ``keep_when`` has found enough held and keeps them until ``release``."""

    def __init__(self, fake: FakePagerDuty, longest_s: float = 5.0) -> None:
        self.held = 0
        self._kept = self._released = False
        self._changed = threading.Condition()
        answer = fake._answer

        def held_answer(*args):
            result = answer(*args)
            deadline = time.monotonic() + longest_s
            with self._changed:
                self.held += 1
                self._changed.notify_all()
                while not self._released and (self._kept or time.monotonic() < deadline):
                    self._changed.wait(0.05)
                self.held -= 1
            return result

        fake._answer = held_answer

    def keep_when(self, count: int, timeout_s: float) -> None:
        """Wait until ``count`` answers are held at once, and keep them held."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout_s):
                raise AssertionError(f"{count} pages in flight at once: not within {timeout_s} s")
            self._kept = True

    def release(self) -> None:
        with self._changed:
            self._released = True
            self._changed.notify_all()


@pytest.fixture
def held_answers(fake_pd) -> Iterator[HeldAnswers]:
    held = HeldAnswers(fake_pd)
    yield held
    held.release()  # a failed test leaves no request of a worker hanging


# Every inner wait, the 3 s outage, and starting workers and checking the figures.
@pytest.mark.long_running(35)
@pytest.mark.timeout(READY_S + MID_PAGE_S + DONE_S + 90)
def test_a_redis_restart_mid_run_loses_nothing(
    processes, aof_redis, aof_conn, fake_pd, held_answers
):
    for name in WORKERS:
        processes.start(name, "worker")
    # Both connected (a worker that cannot reach Redis at start-up exits) and listening.
    wait_until(
        lambda: len(Worker.all(connection=aof_conn, serializer=JSONSerializer)) == len(WORKERS),
        READY_S,
        "both workers registered with RQ",
    )
    mentions = corpus_mentions(600, "restart")
    intake = Intake(aof_conn)
    for mention in mentions[:300]:
        intake.submit(mention)
    pages = signed_in_client(aof_conn)
    # Both workers in the middle of a page when Redis goes: each finds it gone as its job
    # ends, and ``run_worker`` starts a fresh worker once it is back.
    held_answers.keep_when(len(WORKERS), MID_PAGE_S)

    aof_redis.stop()  # SIGTERM: Redis writes its append-only file and exits
    down_since = time.monotonic()
    held_answers.release()  # the pages' answers reach workers that have lost Redis
    refused = pages.post(
        "/api/mentions",
        json={"channel": "discord", "id": "during-restart", "text": "caro crashes on launch"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "store_unavailable"
    assert "retry" in refused.get_json()["error"]["message"]
    overview = pages.get("/")
    assert overview.status_code == 503
    assert "Redis is unreachable" in overview.get_data(as_text=True)
    assert "Traceback" not in overview.get_data(as_text=True)
    health = pages.get("/healthz").get_json()
    assert "redis unreachable" in health["reasons"]
    unsent = []
    for mention in mentions[300:400]:  # a poller's submissions while Redis is down fail...
        try:
            intake.submit(mention)
        except redis.ConnectionError:
            unsent.append(mention)
    assert unsent == mentions[300:400]
    time.sleep(max(0.0, 3 - (time.monotonic() - down_since)))

    aof_redis.start()
    downtime_s = time.monotonic() - down_since
    for mention in unsent + mentions[400:]:  # ...and are made again: its cursor did not move
        intake.submit(mention)
    wait_until(lambda: len(fake_pd.incidents) > 0 and settled(aof_conn), DONE_S, "all work done")
    figures = nothing_lost(aof_conn, fake_pd, [m.id for m in mentions])
    assert pages.get("/").status_code == 200
    for name in WORKERS:
        assert processes.running[name].poll() is None, f"{name} exited on the restart"
        # Redis lost mid-job ends RQ's loop; run_worker (hark/worker.py) waits for it and
        # starts a fresh worker. (An idle worker would retry inside RQ's loop instead.)
        assert "Redis answers: starting a fresh worker" in processes.log(name), name
    figures["redis_down_s"] = round(downtime_s, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "redis-restart.json").write_text(json.dumps(figures, indent=2))
    print(figures)
