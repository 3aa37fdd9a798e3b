"""The P0 fast lane with a real redis-server, real RQ workers and the real pdpyras client
paging the fake PagerDuty: with 200 ordinary mentions queued first and a P0 last, the P0 is
triaged and paged before the ordinary ones are done. Only the order of events is asserted
(when each mention was triaged, when PagerDuty received the trigger), never a duration."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime

import pytest

from desk.mentions import MentionStore
from hark.rulebook_files import RulebookReloader, shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import make_mention
from oncall.pagerduty import PagerDutyEvents
from services.intake import Intake
from tests.fakes.pagerduty_server import FakePagerDuty
from tests.integration.test_triage_quality import hark

ROUTING_KEY = "FASTLANEK3Y0123456789abcdefABCDE"  # 32 characters, as the contract requires
ORDINARY = 200
P0_TEXT = "Caro crashes on launch every time since the update"
ORDINARY_TEXTS = [
    "how do I set the default model?",
    "would be great to have fish shell completions",
    "thanks for caro, it saved my afternoon",
    "is there a way to run it offline?",
]


@pytest.fixture
def fake_pd():
    server = FakePagerDuty().start()
    yield server
    server.stop()


def _order(redis_conn, fake_pd) -> tuple[datetime, datetime, list[datetime]]:
    """When the P0 was triaged, when PagerDuty received its trigger, and when each ordinary
    mention was triaged."""
    store = MentionStore(redis_conn)
    p0 = store.get("x:p0")
    assert p0 is not None and p0.triage.priority == "P0"
    ordinary = [store.get(f"x:{number}") for number in range(ORDINARY)]
    assert all(m is not None and m.triage.priority != "P0" for m in ordinary)
    (trigger,) = [r for r in fake_pd.requests if b'"trigger"' in r.body and r.status == 202]
    paged_at = datetime.fromtimestamp(trigger.at, UTC)
    return p0.triaged_at, paged_at, [m.triaged_at for m in ordinary if m is not None]


@pytest.mark.parametrize("lane", [True, False], ids=["fast-lane", "one-queue"])
def test_a_p0_queued_behind_200_mentions_is_triaged_and_paged_first(redis_conn, fake_pd, lane):
    engine = RulebookReloader(shipped_rulebook_path()).current
    intake = Intake(redis_conn, engine if lane else None)
    for number in range(ORDINARY):
        text = ORDINARY_TEXTS[number % len(ORDINARY_TEXTS)]
        intake.submit(make_mention(channel="x", native_id=str(number), text=text, now=_now()))
    intake.submit(make_mention(channel="x", native_id="p0", text=P0_TEXT, now=_now()))

    pager = PagerDutyEvents(ROUTING_KEY, fake_pd.url, timeout_s=10)
    assert run_worker(worker_services(redis_conn, shipped_rulebook_path(), pager=pager), burst=True)

    p0_triaged, paged, ordinary_triaged = _order(redis_conn, fake_pd)
    if lane:
        assert p0_triaged < min(ordinary_triaged)
        assert paged < min(ordinary_triaged)  # the page, too, went before the queue
    else:  # the same burst on one queue: the P0 waits for all 200 (what the lane is for)
        assert p0_triaged > max(ordinary_triaged)


@pytest.mark.system  # a whole `hark` process
def test_hark_replay_puts_the_p0_ahead_for_hark_worker(redis_url, redis_conn, fake_pd, tmp_path):
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"channel": "x", "id": str(number), "text": ORDINARY_TEXTS[number % len(ORDINARY_TEXTS)]}
        for number in range(ORDINARY)
    ]
    rows.append({"channel": "x", "id": "p0", "text": P0_TEXT})
    feed.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARK_")},
        "HARK_REDIS_URL": redis_url,
        "HARK_PD_ROUTING_KEY": ROUTING_KEY,
        "HARK_PD_EVENTS_URL": fake_pd.url,
    }
    replayed = subprocess.run(
        [hark(), "replay", str(feed)], env=env, capture_output=True, text=True
    )
    assert replayed.returncode == 0, replayed.stderr
    assert f"{ORDINARY + 1} enqueued" in replayed.stdout
    worked = subprocess.run([hark(), "worker", "--burst"], env=env, capture_output=True, text=True)
    assert worked.returncode == 0, worked.stderr

    p0_triaged, paged, ordinary_triaged = _order(redis_conn, fake_pd)
    assert p0_triaged < min(ordinary_triaged)
    assert paged < min(ordinary_triaged)


def _now() -> datetime:
    return datetime.now(UTC)
