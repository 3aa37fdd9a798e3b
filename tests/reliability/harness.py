"""The reliability suite's moving parts: real ``hark`` processes that can be killed with
SIGKILL, their logs, their peak memory, RQ's registries, and waiting with a deadline.

Every process is a real subprocess running the installed console script, as a supervisor
(the Procfile, ``hark run``) would start it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask.testing import FlaskClient
from redis import Redis
from rq import Worker
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer
from werkzeug.security import generate_password_hash

from desk.mentions import MentionStore
from monitor.mention import Mention, make_mention
from oncall.incidents import OF_MENTION, IncidentStore
from tests.conftest import DATA
from tests.fakes.pagerduty_server import FakePagerDuty
from tests.integration.test_triage_quality import hark
from web import create_app
from web.ops import QUEUES, queue_report
from web.users import UserEntry, Users

API_TOKEN = "reliability-api-token"


def hark_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a hark process: this one's, minus any HARK_ setting, plus these."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    return {**clean, "HARK_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", **extra}


class Processes:
    """Named ``hark`` subprocesses with their output in ``log_dir/<name>.log``."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.running: dict[str, subprocess.Popen] = {}
        self.peaks_kib: dict[str, int] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str, **extra_env: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("a")
        process = subprocess.Popen(
            [hark(), *args],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running[name] = process
        return process

    def kill9(self, name: str) -> None:
        """SIGKILL: no handler runs, nothing is flushed, as when the kernel's OOM killer or
        a lost machine stops a process."""
        process = self.running.pop(name)
        self._record_peak(name, process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def peak_rss_mib(self, name: str) -> float:
        """The peak resident memory of a running process (``VmHWM``), in MiB."""
        self._record_peak(name, self.running[name])
        return self.peaks_kib[name] / 1024

    def _record_peak(self, name: str, process: subprocess.Popen) -> None:
        peak = vm_hwm_kib(process.pid)
        if peak is not None:
            self.peaks_kib[name] = max(self.peaks_kib.get(name, 0), peak)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        """SIGTERM to each process group: a worker's forked RQ scheduler goes too."""
        for name, process in list(self.running.items()):
            self._record_peak(name, process)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.running.clear()


def vm_hwm_kib(pid: int | str) -> int | None:
    """A process's peak resident memory (VmHWM) in KiB; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) if line else None


def vm_hwm_mib(pid: int | str) -> float | None:
    peak = vm_hwm_kib(pid)
    return round(peak / 1024, 1) if peak is not None else None


def wait_until(
    predicate: Callable[[], object], timeout_s: float, what: str, every_s: float = 0.1
) -> object:
    """Poll ``predicate`` until it returns something true; fail naming ``what`` if not."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = predicate()
        except Exception as error:  # Redis down during a restart: keep waiting
            value, last_error = None, error
        else:
            last_error = None
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s{detail}")
        time.sleep(every_s)


def registries(connection: Redis) -> dict[str, dict[str, int]]:
    """How many jobs each of RQ's registries holds, per queue: where a job could be lost."""
    counts = {}
    for name in QUEUES:
        # Read without cleaning (as the page does): the workers, not the test, must find
        # abandoned jobs.
        deferred = DeferredJobRegistry(name, connection=connection, serializer=JSONSerializer)
        counts[name] = {
            **queue_report(connection, name),
            "deferred": connection.zcard(deferred.key),
        }
    return counts


def drained(connection: Redis, due_within_s: float = 30.0) -> bool:
    """Nothing queued, running, failed or deferred, and nothing scheduled to run within
    ``due_within_s``: an escalation minutes away may wait, but a page's retry due now is
    work still to do (it was once counted as done, and then ran under the test's eyes)."""
    idle = all(
        counts["queued"] == counts["started"] == counts["failed"] == counts["deferred"] == 0
        for counts in registries(connection).values()
    )
    return idle and not any(
        connection.zcount(
            ScheduledJobRegistry(name, connection=connection, serializer=JSONSerializer).key,
            "-inf",
            time.time() + due_within_s,
        )
        for name in QUEUES
    )


def jobs_ended(connection: Redis) -> int:
    """How many jobs the registered workers have ended, passed or failed (RQ counts them in
    the same transaction as it takes the job out of the started registry)."""
    return sum(
        worker.successful_job_count + worker.failed_job_count
        for worker in Worker.all(connection=connection, serializer=JSONSerializer)
    )


def settled(connection: Redis, quiet_s: float = 1.0, due_within_s: float = 30.0) -> bool:
    """``drained``, and still drained ``quiet_s`` later, with no job ended in between: the
    end of the work, not a gap in it.

    ``drained`` alone can hold while a job is in flight: a worker listening on two queues
    dequeues with BLPOP, and from the BLPOP until RQ's ``prepare_job_execution`` the job is
    in no queue and no registry, for a few Redis round trips. Such a job is in the started
    registry (or has ended, which moves the workers' job counts) a moment later."""
    ended = jobs_ended(connection)
    if not drained(connection, due_within_s):
        return False
    time.sleep(quiet_s)
    return drained(connection, due_within_s) and jobs_ended(connection) == ended


def corpus_mentions(count: int, tag: str, most_p0: int | None = None) -> list[Mention]:
    """``count`` mentions cycling through the labelled corpus (every channel, every
    priority), each with an id of its own; with ``most_p0``, only the corpus's first
    ``most_p0`` messages labelled P0 (fewer incidents to page)."""
    lines = (DATA / "corpus" / "caro-support.jsonl").read_text(encoding="utf-8").splitlines()
    messages = [json.loads(line) for line in lines if line.strip()]
    if most_p0 is not None:
        p0 = [message for message in messages if message["priority"] == "P0"]
        dropped = {id(message) for message in p0[most_p0:]}
        messages = [message for message in messages if id(message) not in dropped]
    now = datetime.now(UTC)
    return [
        make_mention(
            channel=message["channel"],
            native_id=f"{tag}-{number}",
            now=now,
            text=message["text"],
            author="reliability",
        )
        for number, message in zip(range(count), itertools.cycle(messages), strict=False)
    ]


def replaced_low_alerts(fake_pd: FakePagerDuty, keys: set[str]) -> set[str]:
    """The keys of PagerDuty's incidents that were the low-urgency alert ("hark-<id>-low")
    of an incident whose alert is now ``hark-<id>`` (one of ``keys``): a possible P0 that a
    sure report joined, raised by ``services.paging.page_raised``. Checks that each was
    resolved, so the on-call is not left with two alerts for one problem.

    Whether a possible P0 opens an incident before a sure report joins it depends on the
    order in which the workers triage reports of one problem: any run may see it."""
    replaced = {
        incident.dedup_key
        for incident in fake_pd.incidents
        if incident.dedup_key.endswith("-low") and incident.dedup_key.removesuffix("-low") in keys
    }
    unresolved = {
        incident.dedup_key
        for incident in fake_pd.incidents
        if incident.dedup_key in replaced and incident.status != "resolved"
    }
    assert not unresolved, f"low-urgency alerts left open beside their raised one: {unresolved}"
    return replaced


def nothing_lost(connection: Redis, fake_pd: FakePagerDuty, mention_ids: list[str]) -> dict:
    """Check the suite's promises and return what was counted:

    - every mention stored once (no id missing, none extra);
    - every mention that pages is filed in an incident, once;
    - every incident reached PagerDuty as exactly one incident (by ``dedup_key``), and
      PagerDuty holds no other but the resolved low-urgency alert of a possible P0 that
      was raised (``replaced_low_alerts``);
    - no job left queued, running, failed or deferred in RQ's registries.
    """
    store = MentionStore(connection)
    missing = [mention_id for mention_id in mention_ids if store.get(mention_id) is None]
    assert not missing, f"{len(missing)} mentions never triaged, e.g. {missing[:3]}"
    assert store.count() == len(mention_ids), "mentions stored that were never submitted"
    paging = [i for i in mention_ids if store.get(i).triage.pages]
    incident_ids = {}
    for mention_id in paging:
        filed = connection.get(OF_MENTION.format(mention=mention_id))
        assert filed, f"{mention_id} pages but is in no incident"
        incident_ids[mention_id] = filed.decode()
    incidents = IncidentStore(connection)
    filed_counts = Counter(
        mention for i in set(incident_ids.values()) for mention in incidents.get(i).mentions
    )
    assert set(filed_counts) == set(paging) and max(filed_counts.values(), default=1) == 1
    keys = {incidents.get(i).dedup_key for i in set(incident_ids.values())}
    replaced = replaced_low_alerts(fake_pd, keys)
    at_pagerduty = Counter(
        incident.dedup_key for incident in fake_pd.incidents if incident.dedup_key not in replaced
    )
    assert set(at_pagerduty) == keys, (
        f"PagerDuty lacks {sorted(keys - set(at_pagerduty))}, "
        f"has unknown {sorted(set(at_pagerduty) - keys)}"
    )
    twice = {key: n for key, n in at_pagerduty.items() if n > 1}
    assert not twice, f"incidents opened more than once at PagerDuty: {twice}"
    counts = registries(connection)
    assert drained(connection), f"jobs left in RQ's registries: {counts}"
    return {
        "mentions": len(mention_ids),
        "paging_mentions": len(paging),
        "incidents": len(keys),
        "trigger_events": len(fake_pd.triggers()),
    }


def signed_in_client(connection: Redis) -> FlaskClient:
    """The web app on ``connection``, as a viewer signed in through the real login form."""
    password = "correct horse battery staple"
    hashed = generate_password_hash(password, method="pbkdf2:sha256:1000")
    users = Users([UserEntry(name="vera", role="viewer", password_hash=hashed)])
    app = create_app(
        redis=connection,
        api_token=API_TOKEN,
        secret_key="reliability-secret-key-0123456789abcdef",
        users=users,
        insecure_cookies=True,
    )
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = client.post(
        "/login", data={"name": "vera", "password": password, "csrf_token": token}
    )
    assert signed_in.status_code in (302, 303), signed_in.get_data(as_text=True)[:500]
    return client
