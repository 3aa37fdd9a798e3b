"""Mentions through the real pipeline: Redis, an RQ worker in burst mode, the store."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime

import pytest

from desk.mentions import MentionStore
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import make_mention
from services.intake import LOST_AFTER_S, SEEN_KEY, Intake
from tests.integration.test_triage_quality import hark

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)


@pytest.fixture
def make_mention_():
    def build(native_id: str = "1001", **overrides):
        fields = {"channel": "discord", "text": "caro crashes on launch, every time", **overrides}
        return make_mention(native_id=native_id, now=NOW, **fields)

    return build


def test_a_mention_is_triaged_and_stored_once(redis_conn, make_mention_, shipped_rules):
    intake = Intake(redis_conn)
    mention = make_mention_()
    assert intake.submit(mention) is True
    assert intake.submit(mention) is False  # a re-poll or redelivery
    assert run_worker(worker_services(redis_conn, shipped_rules), burst=True)

    store = MentionStore(redis_conn)
    record = store.get("discord:1001")
    assert record.triage.priority == "P0"
    assert record.triage.rules[0].id == "crash-for-everyone"
    assert store.count() == 1
    assert intake.submit(mention) is False  # stored: still a duplicate


def test_crash_between_marker_and_enqueue_loses_nothing(redis_conn, make_mention_, shipped_rules):
    mention = make_mention_("2002")
    marked_at = time.time() - LOST_AFTER_S  # the marker, then the process died
    redis_conn.set(SEEN_KEY.format(id=mention.id), marked_at)
    assert Intake(redis_conn).submit(mention) is True
    assert run_worker(worker_services(redis_conn, shipped_rules), burst=True)
    assert MentionStore(redis_conn).get("discord:2002").triage.priority == "P0"


def test_a_submission_in_progress_is_not_taken_for_a_lost_one(
    redis_conn, make_mention_, shipped_rules
):
    """Two relays deliver the same message at once: the second sees the first's fresh
    marker before its job exists, and must not enqueue the job a second time."""
    mention = make_mention_("2003")
    redis_conn.set(SEEN_KEY.format(id=mention.id), time.time())  # the first, mid-submit
    assert Intake(redis_conn).submit(mention) is False
    assert redis_conn.llen("rq:queue:triage") == 0


def test_running_the_same_job_twice_stores_one_mention(redis_conn, make_mention_, shipped_rules):
    intake = Intake(redis_conn)
    mention = make_mention_("3003")
    intake.submit(mention)
    assert run_worker(worker_services(redis_conn, shipped_rules), burst=True)
    redis_conn.delete(SEEN_KEY.format(id=mention.id), f"hark:mention:{mention.id}")
    intake.submit(mention)  # at-least-once delivery: the same job again
    assert run_worker(worker_services(redis_conn, shipped_rules), burst=True)
    store = MentionStore(redis_conn)
    assert store.count() == 1
    assert [item.id for item in store.list({}, 10, None).items] == ["discord:3003"]


def test_list_filters_and_pages(redis_conn, make_mention_, shipped_rules):
    intake = Intake(redis_conn)
    texts = ["caro crashes on launch every time", "love it, thanks!", "how do I set the model?"]
    for number in range(9):
        created = NOW.replace(minute=number)
        intake.submit(make_mention_(str(number), text=texts[number % 3], created_at=created))
    assert run_worker(worker_services(redis_conn, shipped_rules), burst=True)
    store = MentionStore(redis_conn)

    p0 = store.list({"priority": "P0"}, 10, None)
    assert [item.native_id for item in p0.items] == ["6", "3", "0"]
    seen, cursor = [], None
    while True:
        page = store.list({"channel": "discord"}, 4, cursor)
        seen += [item.native_id for item in page.items]
        if page.next is None:
            break
        cursor = page.next
    assert seen == [str(n) for n in range(8, -1, -1)]  # newest first, each exactly once
    assert "raw" not in p0.items[0].public()  # the API's shape leaves the payload out


@pytest.mark.system  # a whole `hark` process
def test_replay_then_worker_as_a_user_runs_them(redis_url, redis_conn, tmp_path):
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"channel": "x", "id": "1", "text": "@CaroCLI it panics on every single command"},
        {"channel": "email", "id": "<a@b>", "text": "Caro leaked my API key to the telemetry"},
        {"channel": "x", "id": "1", "text": "@CaroCLI it panics on every single command"},
        {"channel": "fax", "id": "9", "text": "unknown channel"},
    ]
    feed.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    env = {**os.environ, "HARK_REDIS_URL": redis_url}
    replayed = subprocess.run(
        [hark(), "replay", str(feed)], env=env, capture_output=True, text=True
    )
    assert replayed.returncode == 1  # one line refused
    assert "2 enqueued, 1 duplicate, 1 refused" in replayed.stdout
    assert f"{feed}:4: channel:" in replayed.stderr

    worked = subprocess.run([hark(), "worker", "--burst"], env=env, capture_output=True, text=True)
    assert worked.returncode == 0, worked.stderr
    store = MentionStore(redis_conn)
    assert store.get("x:1").triage.priority == "P0"
    assert store.get("email:<a@b>").triage.category == "privacy"


@pytest.mark.system  # a whole `hark` process
def test_worker_without_redis_url_names_the_setting():
    env = {key: value for key, value in os.environ.items() if "REDIS_URL" not in key}
    result = subprocess.run([hark(), "worker", "--burst"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "HARK_REDIS_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr
