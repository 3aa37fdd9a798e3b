"""``hark replay --launch-day`` (the installed command) into a real redis-server, triaged by
a real worker: the sample fills the store, and launch day's crash reports make one incident."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from desk.mentions import MentionStore
from hark.replay import launch_day_sample
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from oncall.incidents import IncidentStore
from tests.integration.test_triage_quality import hark

# Whole `hark` processes: the system tier (make test), not make check's loop.
pytestmark = pytest.mark.system


def _replay(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HARK_REDIS_URL": redis_url}
    return subprocess.run(
        [hark(), "replay", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_launch_day_sample_through_the_pipeline(redis_url, redis_conn):
    lines = [json.loads(line) for line in launch_day_sample().read_text("utf-8").splitlines()]
    replayed = _replay(redis_url, "--launch-day")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == f"{len(lines)} enqueued, 0 duplicate, 0 refused"

    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    store = MentionStore(redis_conn)
    assert store.count() == len(lines)
    p0 = store.list({"priority": "P0"}, 500, None).items
    assert len(p0) >= 20

    incidents, _ = IncidentStore(redis_conn).list(None, 100, None)
    crash = max(incidents, key=lambda incident: len(incident.mentions))
    assert crash.rule == "crash-for-everyone"
    assert len(crash.mentions) >= 15  # one incident, one page, for the whole burst
    assert set(crash.channels) == {"x", "github", "discord", "email"}
    assert len(incidents) < len(p0) / 2

    again = _replay(redis_url, "--launch-day")
    assert again.stdout.strip() == f"0 enqueued, {len(lines)} duplicate, 0 refused"


def test_paced_replay_submits_at_offset_over_speed(redis_url, redis_conn, tmp_path):
    feed = tmp_path / "paced.jsonl"
    rows = [
        {"offset_s": 0, "channel": "discord", "id": "p1", "text": "caro crashes on launch"},
        {"offset_s": 30, "channel": "x", "id": "p2", "text": "how do I set the model?"},
        {"offset_s": 60, "channel": "email", "id": "p3", "text": "Subject: thanks\n\nlove it"},
    ]
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows))
    started = datetime.now(UTC)
    replayed = _replay(redis_url, str(feed), "--speed", "100")  # 0, 0.3 and 0.6 s
    finished = datetime.now(UTC)
    assert replayed.returncode == 0, replayed.stderr
    assert "3 enqueued, 0 duplicate, 0 refused" in replayed.stdout

    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    store = MentionStore(redis_conn)
    created = []
    for row in rows:
        stored = store.get(f"{row['channel']}:{row['id']}")
        assert stored is not None and stored.created_at is not None
        created.append(stored.created_at)
    assert all(started <= moment <= finished for moment in created)
    # What pacing guarantees, whatever the machine's load: a line is never stamped before
    # it is due (sleep never returns early, and the replay starts after ``started``), the
    # lines go in order, and the whole run keeps roughly to its 0.6 s (a stall only delays).
    due = [started + timedelta(seconds=row["offset_s"] / 100) for row in rows]
    assert all(moment >= at for moment, at in zip(created, due, strict=True)), (created, due)
    assert all(earlier < later for earlier, later in pairwise(created)), created
    assert (created[-1] - created[0]).total_seconds() <= 1.5, created
