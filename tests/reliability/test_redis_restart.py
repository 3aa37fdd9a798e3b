"""Redis restarted in the middle of a run (append-only file on): the workers wait for it
and carry on, the API and the pages say the store is down rather than fail with a trace,
and once it is back every mention is triaged once and every P0 paged once.
"""

from __future__ import annotations

import json
import time

import redis

from monitor.intake import Intake
from tests.reliability.conftest import ARTIFACTS
from tests.reliability.harness import (
    API_TOKEN,
    corpus_mentions,
    drained,
    nothing_lost,
    signed_in_client,
    wait_until,
)


def test_a_redis_restart_mid_run_loses_nothing(processes, aof_redis, aof_conn, fake_pd):
    fake_pd.delay_s = 0.5  # pages in flight when Redis goes
    processes.start("worker-1", "worker")
    processes.start("worker-2", "worker")
    mentions = corpus_mentions(600, "restart")
    intake = Intake(aof_conn)
    for mention in mentions[:300]:
        intake.submit(mention)
    pages = signed_in_client(aof_conn)
    wait_until(lambda: len(fake_pd.requests) >= 1, 30, "a first page on its way")

    aof_redis.stop()  # SIGTERM: Redis writes its append-only file and exits
    down_since = time.monotonic()
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
    wait_until(lambda: drained(aof_conn) and len(fake_pd.incidents) > 0, 150, "all work done")
    figures = nothing_lost(aof_conn, fake_pd, [m.id for m in mentions])
    assert pages.get("/").status_code == 200
    for name in ("worker-1", "worker-2"):
        assert processes.running[name].poll() is None, f"{name} exited on the restart"
        assert "Redis answers: starting a fresh worker" in processes.log(name)
    figures["redis_down_s"] = round(downtime_s, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "redis-restart.json").write_text(json.dumps(figures, indent=2))
    print(figures)
