"""``python -m bench.paging``: a burst of 1,000 mentions, 5% of them P0, through ``hark
replay`` and two ``hark worker`` processes, paging a local fake PagerDuty through the real
pdpyras client: p50/p99 from a P0 mention's arrival (received_at) to its trigger arriving
at PagerDuty. Grouping is off (window 0) so that every P0 opens its own incident and pages:
with grouping on, a burst of one problem pages once and there is one latency to measure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.workload import message_mix
from desk.mentions import MentionStore
from hark.embedded_redis import EmbeddedRedis
from oncall.incidents import IncidentStore
from tests.fakes.pagerduty_server import FakePagerDuty

HARK = str(Path(sys.executable).parent / "hark")
ROUTING_KEY = "BENCHROUTINGKEY0123456789abcdefX"
P0_TEXTS = [
    "Caro crashes on launch every time since the update",
    "caro panics on every single command now",
    "Caro generated rm -rf ~/ and it was not blocked",
    "caro sends my OPENAI_API_KEY to the telemetry endpoint",
    "I found a command injection vulnerability in caro",
]


def _feed(path: Path, count: int, p0_share: float) -> int:
    rng = random.Random(5)
    p0 = 0
    with path.open("w", encoding="utf-8") as feed:
        for number, (text, channel) in enumerate(message_mix(count, seed=33)):
            if rng.random() < p0_share:
                text, p0 = f"{rng.choice(P0_TEXTS)} (report {number})", p0 + 1
            elif "crash" in text.lower() or "rm -rf" in text:
                text = "how do I set the default model?"  # keep the P0 count exact
            feed.write(json.dumps({"channel": channel, "id": f"b{number}", "text": text}) + "\n")
    return p0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paging")
    parser.add_argument("--mentions", type=int, default=1000)
    parser.add_argument("--p0-share", type=float, default=0.05)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hark-paging-"))
    server = EmbeddedRedis(workdir / "redis").start()
    pagerduty = FakePagerDuty().start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARK_")},
        "HARK_REDIS_URL": server.url,
        "HARK_PD_ROUTING_KEY": ROUTING_KEY,
        "HARK_PD_EVENTS_URL": pagerduty.url,
        "HARK_GROUP_WINDOW_MINUTES": "0",
    }
    workers = []
    try:
        feed = workdir / "feed.jsonl"
        expected = _feed(feed, args.mentions, args.p0_share)
        workers = [
            subprocess.Popen(
                [HARK, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(2)
        ]
        time.sleep(1.0)  # let the workers register before the burst
        started = time.perf_counter()
        subprocess.run([HARK, "replay", str(feed)], env=env, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while len(pagerduty.triggers()) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        connection = redis.Redis.from_url(server.url)
        incidents, mentions = IncidentStore(connection), MentionStore(connection)
        arrivals = {request.body: request.at for request in pagerduty.requests}
        latencies = []
        for trigger in pagerduty.triggers():
            incident = incidents.by_dedup_key(trigger["dedup_key"])
            mention = mentions.get(incident.mentions[0])
            body = next(b for b in arrivals if trigger["dedup_key"].encode() in b)
            received = mention.received_at.timestamp()
            latencies.append(arrivals[body] - received)
        latencies.sort()
        print(f"{args.mentions:,} mentions, {expected} P0, two workers, grouping off")
        print(f"  {len(latencies)} triggers received by PagerDuty; burst done in {elapsed:.1f} s")
        if latencies:
            p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
            p50 = statistics.median(latencies)
            print(
                f"  P0 arrival -> trigger at PagerDuty: p50 {p50 * 1000:,.0f} ms, "
                f"p99 {p99 * 1000:,.0f} ms, max {latencies[-1] * 1000:,.0f} ms"
            )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        pagerduty.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
