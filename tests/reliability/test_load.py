"""Load: launch day a hundred times over, 5,000 mentions in 60 s across the four channels
(``make chaos``; ``make test`` sends 1,000 in 12 s, the same rate), into two real ``hark
worker`` processes on an append-only Redis, paging a fake PagerDuty.

Asserted, behaviour only: every mention triaged exactly once (stored once, one successful
triage job each), every P0 in an incident, every incident triggered at PagerDuty with
exactly one PagerDuty incident per dedup_key, the queues drained and nothing failed.

Measured, never asserted (speed is measured, not asserted): the mention-to-page latency of
each incident (the submit time of its earliest report to the fake PagerDuty's receipt of
its first accepted trigger; reports of one problem within the grouping window share an
incident and page once), the submit-to-stored triage latency of every mention, the wall
times, and the peak resident memory (VmHWM) of each process: the workers (and the RQ
scheduler a worker forks), redis-server, and this process, the load generator (which also
serves the fake PagerDuty). Printed, and written to ``ARTIFACTS/load.json`` (one entry per
form, bounded and long, so a ``make test`` run keeps the long form's figures).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rq import Worker

from desk.mentions import RECORD, MentionStore
from monitor.mention import incoming_mention
from oncall.incidents import BY_TIME as INCIDENTS_BY_TIME
from oncall.incidents import OF_MENTION, IncidentStore
from oncall.records import Incident
from services.intake import Intake, triage_job_id
from tests.reliability.conftest import ARTIFACTS, LONG, scaled
from tests.reliability.harness import (
    drained,
    registries,
    replaced_low_alerts,
    settled,
    vm_hwm_mib,
    wait_until,
)
from tests.reliability.load_workload import channel_counts, load_messages

MENTIONS = int(scaled(1_000, 5_000))
WINDOW_S = scaled(12.0, 60.0)
WORKERS = ("worker-1", "worker-2")
TRIAGE_OK = re.compile(r"Job OK\S*\s+\((triage-[\w-]+)\)")
READY_S = 60  # for both workers to register
STORED_S = scaled(180, 600)  # for every mention stored, after the load
SETTLED_S = scaled(180, 600)  # then for every incident paged and the queues drained
LOGGED_S = 10  # then for every triage's "Job OK" in the worker logs


# Grouped: the shipped 2-hour window, so reports of one problem share an incident (a
# handful of pages). One page per P0: grouping off, every P0 mention pages, which gives a
# mention-to-page latency over hundreds of pages rather than a handful.
GROUPING = {"grouped": {}, "one-page-per-p0": {"HARK_GROUP_WINDOW_MINUTES": "0"}}

# Over several xdist workers (``make test``), both forms run on one, one after the other
# (``XDIST_GROUPS`` in conftest.py).
pytestmark = pytest.mark.long_running(25)


@pytest.mark.parametrize("grouping", GROUPING)
# Every inner wait, the load's window, and starting workers and checking the figures.
@pytest.mark.timeout(int(READY_S + WINDOW_S + STORED_S + SETTLED_S + LOGGED_S + scaled(90, 180)))
def test_launch_day_load_is_triaged_and_paged_once(
    aof_redis, aof_conn, fake_pd, processes, grouping
):
    messages = load_messages(MENTIONS)
    log_offsets = {name: _log_length(processes, name) for name in WORKERS}
    began = time.monotonic()
    for name in WORKERS:
        processes.start(name, "worker", **GROUPING[grouping])
    wait_until(
        lambda: len(Worker.all(connection=aof_conn)) == len(WORKERS), READY_S, "both workers ready"
    )

    # The load: evenly paced, each mention's submit time recorded (epoch seconds, the
    # clock the fake PagerDuty stamps requests with).
    intake, submitted = Intake(aof_conn), {}
    start = time.monotonic()
    for number, message in enumerate(messages):
        pause = start + number * WINDOW_S / MENTIONS - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        at = time.time()
        mention = incoming_mention(message, datetime.fromtimestamp(at, UTC))
        assert intake.submit(mention), f"{mention.id} was taken for a duplicate"
        submitted[mention.id] = at
    submit_s = time.monotonic() - start

    store = MentionStore(aof_conn)
    wait_until(lambda: store.count() >= MENTIONS, STORED_S, "every mention stored")
    stored_s = time.monotonic() - start

    def paged_and_settled() -> bool:
        """Paged and settled, or something failed (asserted below, with details)."""
        if any(counts["failed"] for counts in registries(aof_conn).values()):
            return True
        if not settled(aof_conn):
            return False
        triggered = fake_pd.first_trigger_times()
        return all(incident.dedup_key in triggered for incident in _incidents(aof_conn))

    wait_until(paged_and_settled, SETTLED_S, "every incident paged and the queues drained")
    paged_s = time.monotonic() - start
    peaks = _peak_memory(processes, aof_redis)

    # Every mention triaged exactly once.
    records = _records(aof_conn, list(submitted))
    missing = [mention_id for mention_id, record in records.items() if record is None]
    assert not missing, f"{len(missing)} mentions not stored, e.g. {missing[:3]}"
    assert store.count() == MENTIONS
    expected_jobs = {triage_job_id(mention_id) for mention_id in submitted}
    runs = _triage_runs_logged(processes, log_offsets, expected_jobs, LOGGED_S)
    assert set(runs) == expected_jobs, (
        f"{len(expected_jobs - set(runs))} triage jobs never succeeded, "
        f"{len(set(runs) - expected_jobs)} unexpected ones ran"
    )
    twice = [job_id for job_id, count in runs.items() if count > 1]
    assert not twice, f"{len(twice)} mentions triaged more than once, e.g. {twice[:3]}"

    # Every P0 in an incident, in exactly one.
    p0 = {i for i, record in records.items() if record["triage"]["priority"] == "P0"}
    incidents = _incidents(aof_conn)
    filed = Counter(mention_id for incident in incidents for mention_id in incident.mentions)
    assert not [i for i in p0 if aof_conn.get(OF_MENTION.format(mention=i)) is None]
    assert p0 <= set(filed), f"{len(p0 - set(filed))} P0 mentions in no incident"
    assert all(count == 1 for count in filed.values()), "a mention filed twice"

    # Every incident paged: one PagerDuty incident per dedup_key, retries or not (and the
    # low-urgency alert of a possible P0 that was raised resolved, beside its new one).
    keys = [incident.dedup_key for incident in incidents]
    replaced = replaced_low_alerts(fake_pd, set(keys))
    pd_keys = [i.dedup_key for i in fake_pd.incidents if i.dedup_key not in replaced]
    assert len(pd_keys) == len(incidents)
    assert sorted(pd_keys) == sorted(keys) and len(set(keys)) == len(keys)
    assert all(fake_pd.triggers(key) for key in keys)
    not_triggered = [i.id for i in incidents if i.status != "triggered"]
    assert not not_triggered, f"incidents not in status triggered: {not_triggered}"

    # Nothing lost or failed in RQ.
    counts = registries(aof_conn)
    assert all(queue["failed"] == 0 for queue in counts.values()), counts
    assert drained(aof_conn), counts

    first_trigger = fake_pd.first_trigger_times()
    page_latencies = [
        first_trigger[i.dedup_key] - min(submitted[m] for m in i.mentions) for i in incidents
    ]
    triage_latencies = {
        mention_id: datetime.fromisoformat(record["triaged_at"]).timestamp() - submitted[mention_id]
        for mention_id, record in records.items()
    }
    figures = {
        "form": f"{'long' if LONG else 'bounded'}, {grouping}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workers": len(WORKERS),
        "mentions": MENTIONS,
        "channels": channel_counts(messages),
        "p0_mentions": len(p0),
        "incidents": len(incidents),
        "mentions_per_incident_top10": sorted(len(i.mentions) for i in incidents)[::-1][:10],
        "trigger_events": len(fake_pd.triggers()),
        "submit_window_s": round(submit_s, 2),
        "all_stored_after_s": round(stored_s, 2),
        "all_paged_and_drained_after_s": round(paged_s, 2),
        "wall_s": round(time.monotonic() - began, 2),
        "mention_to_page_ms": _summary(page_latencies),
        "submit_to_stored_ms": {
            "all": _summary(triage_latencies.values()),
            "p0": _summary(triage_latencies[i] for i in p0),
        },
        "peak_rss_mib": peaks,
    }
    _report(figures)


def _log_length(processes, name: str) -> int:
    """Worker logs are appended to run after run: this run's part starts here."""
    return len(processes.log(name)) if (processes.log_dir / f"{name}.log").exists() else 0


def _triage_runs_logged(
    processes, log_offsets: dict[str, int], expected: set[str], wait_s: float
) -> Counter:
    """How many times each triage job's "Job OK" is in this run's worker logs, once every
    expected job's is there or after ``wait_s``. RQ logs "Job OK" after the job has left
    its registries: the queues drain before the last line is written."""
    deadline = time.monotonic() + wait_s
    while True:
        runs = Counter(
            job_id
            for name in WORKERS
            for job_id in TRIAGE_OK.findall(processes.log(name)[log_offsets[name] :])
        )
        if expected <= set(runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.1)


def _incidents(connection) -> list[Incident]:
    store = IncidentStore(connection)
    ids = [raw.decode() for raw in connection.zrange(INCIDENTS_BY_TIME, 0, -1)]
    return [incident for incident in map(store.get, ids) if incident]


def _records(connection, mention_ids: list[str]) -> dict[str, dict | None]:
    records = {}
    for first in range(0, len(mention_ids), 500):
        batch = mention_ids[first : first + 500]
        raws = connection.mget([RECORD.format(id=mention_id) for mention_id in batch])
        records.update(
            (mention_id, json.loads(raw) if raw else None)
            for mention_id, raw in zip(batch, raws, strict=True)
        )
    return records


def _summary(seconds) -> dict[str, float | int]:
    """n, p50, p99 and max in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0}

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    return {"n": len(ordered), "p50": rank(0.5), "p99": rank(0.99), "max": rank(1.0)}


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _peak_memory(processes, aof_redis) -> dict[str, float | None]:
    peaks: dict[str, float | None] = {}
    for name in WORKERS:
        peaks[name] = round(processes.peak_rss_mib(name), 1)
        for child in _children(processes.running[name].pid):
            peaks[f"{name} child {child} (RQ scheduler)"] = vm_hwm_mib(child)
    peaks["redis-server"] = vm_hwm_mib(aof_redis._process.pid)
    peaks["load generator (pytest, fake PagerDuty)"] = vm_hwm_mib("self")
    return peaks


def _report(figures: dict) -> None:
    page, stored = figures["mention_to_page_ms"], figures["submit_to_stored_ms"]
    lines = [
        f"load ({figures['form']}): {figures['mentions']:,} mentions in "
        f"{figures['submit_window_s']} s {figures['channels']}, {figures['workers']} workers",
        f"  {figures['p0_mentions']} P0 mentions -> {figures['incidents']} incidents "
        f"({figures['trigger_events']} trigger events); reports per incident "
        f"{figures['mentions_per_incident_top10']}",
        f"  all stored after {figures['all_stored_after_s']} s, all paged and drained after "
        f"{figures['all_paged_and_drained_after_s']} s (wall {figures['wall_s']} s)",
        f"  mention -> page (per incident): {_line(page)}",
        f"  submit -> stored triage: all {_line(stored['all'])}; P0 {_line(stored['p0'])}",
        "  peak RSS: "
        + ", ".join(f"{name} {mib} MiB" for name, mib in figures["peak_rss_mib"].items()),
    ]
    print("\n" + "\n".join(lines))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "load.json"
    try:
        forms = json.loads(path.read_text())
    except (OSError, ValueError):
        forms = {}
    forms = forms if isinstance(forms, dict) else {}
    forms[figures["form"]] = figures
    path.write_text(json.dumps(forms, indent=2, ensure_ascii=False) + "\n")


def _line(summary: dict) -> str:
    if not summary["n"]:
        return "none"
    return (
        f"p50 {summary['p50']:,.0f} ms, p99 {summary['p99']:,.0f} ms, "
        f"max {summary['max']:,.0f} ms (n={summary['n']})"
    )
