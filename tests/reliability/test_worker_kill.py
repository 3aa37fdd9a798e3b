"""kill -9 of a worker in the middle of a page and in the middle of a triage: nothing
lost, nothing paged twice.

Two real ``hark worker`` processes work a stream of labelled mentions; PagerDuty takes a
second a request, so pages are in flight long enough to catch. A worker is killed with
SIGKILL while RQ shows it running a page, another while it runs a triage; a supervisor
would start replacements, and so does the test. RQ's registry cleaning then finds the
dead workers' jobs abandoned and runs them again.

A triage takes a few milliseconds, too short to catch by polling alone. So the test
pauses every client's writes (``CLIENT PAUSE ... WRITE``) while it looks: each worker
stops at its next write, the one recording its job's end included, and the worker RQ
shows running a job is still running it when SIGKILL lands.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest
from rq import Worker
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from oncall.incidents import IncidentStore
from services.intake import Intake
from services.jobs import PAGING_QUEUE, TRIAGE_QUEUE
from tests.reliability.conftest import ARTIFACTS, scaled
from tests.reliability.harness import corpus_mentions, nothing_lost, settled, wait_until

KILL_WAIT_S = 60  # for a worker running the job sought, per kill
DONE_WAIT_S = scaled(150, 400)  # for every job done after the kills


def _worker_running(connection, prefix: str, pids: dict[int, str]) -> tuple[str, str] | None:
    """(process name, job id) of one of our workers that RQ shows running a job whose id
    starts with ``prefix``."""
    for worker in Worker.all(connection=connection, serializer=JSONSerializer):
        job_id = worker.get_current_job_id()
        if job_id and job_id.startswith(prefix) and worker.pid in pids:
            return pids[worker.pid], job_id
    return None


@contextlib.contextmanager
def _writes_paused(connection) -> Iterator[None]:
    """No client's write runs in here (10 s at most, should the test itself die)."""
    connection.client_pause(10_000, all=False)
    try:
        yield
    finally:
        connection.client_unpause()


def _kill_one_running(processes, connection, prefix: str, pids: dict[int, str]):
    """SIGKILL one of our workers that RQ shows running a ``prefix`` job, with writes
    paused so that it cannot finish the job between the look and the kill. Returns
    (process name, job id), or None when none runs such a job."""
    with _writes_paused(connection):
        found = _worker_running(connection, prefix, pids)
        if found:
            processes.kill9(found[0])
    return found


def _kill_mid_job(processes, connection, prefix: str, queue: str, replacement: str) -> str:
    """SIGKILL a worker while it runs a ``prefix`` job, until one dies with its job still
    in RQ's started registry (the job was cut off, not finished); start a replacement.
    Returns the id of the job that was cut off."""
    for attempt in range(20):
        pids = {p.pid: name for name, p in processes.running.items() if "worker" in name}
        _killed, job_id = wait_until(
            lambda pids=pids: _kill_one_running(processes, connection, prefix, pids),
            KILL_WAIT_S,
            f"a worker running a {prefix}job",
            every_s=0.005,
        )
        processes.start(f"{replacement}-{attempt}", "worker")
        started = StartedJobRegistry(queue, connection=connection, serializer=JSONSerializer)
        entries = connection.zrange(started.key, 0, -1)  # not get_job_ids(): it cleans
        if any(entry.decode().startswith(job_id) for entry in entries):
            return job_id
    raise AssertionError(f"could not kill a worker in the middle of a {prefix}job")


# Two kills, the wait for the end, and starting workers and submitting mentions.
@pytest.mark.long_running(55)
@pytest.mark.timeout(int(2 * KILL_WAIT_S + DONE_WAIT_S + scaled(90, 380)))
def test_workers_killed_mid_page_and_mid_triage_lose_nothing(processes, aof_conn, fake_pd):
    fake_pd.delay_s = 1.0
    processes.start("worker-1", "worker")
    processes.start("worker-2", "worker")
    # Half before the page kill, half (a quarter of them 100 kB pasted logs) before the
    # triage kill: enough that both kinds of job are in flight to be cut off.
    mentions = corpus_mentions(int(scaled(300, 3000)), "kill")
    intake = Intake(aof_conn)
    for mention in mentions[: len(mentions) // 2]:
        intake.submit(mention)

    cut_page = _kill_mid_job(processes, aof_conn, "page-", PAGING_QUEUE, "replacement-a")
    for number, mention in enumerate(mentions[len(mentions) // 2 :]):
        if number % 4 == 0:  # a pasted log, 100 kB
            text = (mention.text + "\n") * (100_000 // (len(mention.text) + 1))
            mention = mentions[len(mentions) // 2 + number] = mention.model_copy(
                update={"text": text}
            )
        intake.submit(mention)
    cut_triage = _kill_mid_job(processes, aof_conn, "triage-", TRIAGE_QUEUE, "replacement-b")

    ids = [mention.id for mention in mentions]
    wait_until(lambda: settled(aof_conn), DONE_WAIT_S, "every job done after the kills")
    figures = nothing_lost(aof_conn, fake_pd, ids)
    incident_of_cut_page = cut_page.split("-trigger-")[0].removeprefix("page-")
    assert any(e["dedup_key"] == f"hark-{incident_of_cut_page}" for e in fake_pd.triggers()), (
        "the page cut off by the kill never reached PagerDuty"
    )
    timeline = IncidentStore(aof_conn).get(incident_of_cut_page).timeline
    assert any(
        e.event == "page-retry" and "the worker sending it stopped" in e.detail for e in timeline
    ), "the incident's timeline does not say its page was cut off and sent again"
    figures |= {"cut_off": [cut_page, cut_triage], "kills": len(processes.peaks_kib)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "worker-kill.json").write_text(json.dumps(figures, indent=2))
    print(figures)
