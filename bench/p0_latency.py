"""``python -m bench.p0_latency``: how long a P0 in a burst waits for its page, with the P0
fast lane and without it, in one run.

A real redis-server, two ``hark worker`` processes and a local fake PagerDuty (the real
pdpyras client speaks HTTP to it). Each burst is 1,000 mentions (``bench.workload``'s mix)
with 10 P0s at known, evenly spread positions; every other mention is checked with the
shipped rulebook not to be a P0, and grouping is off, so each P0 opens its own incident and
pages once. Measured for each P0: its arrival (the ``received_at`` the intake stamps) to the
moment the fake PagerDuty received its trigger.

- **fast lane**: the burst goes through ``hark replay``, whose intake classifies each
  mention and puts P0s on the P0 triage queue, which the workers serve first;
- **one queue** (the baseline, as before the lane): the same burst, through the same
  replay code, with an intake that has no rulebook, so every mention goes on one queue.

The two alternate burst by burst (new mention ids each time), with the queues drained in
between, so both see the same machine and the same warm workers. Prints p50, p99 and max
for each and their ratio; the goal is p99 at most 1 s with the lane. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from rq import Queue, Worker

from bench.workload import message_mix
from desk.mentions import MentionStore
from hark.embedded_redis import EmbeddedRedis
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from oncall.incidents import IncidentStore
from rules import Engine
from services.jobs import WORKER_QUEUES
from tests.fakes.pagerduty_server import FakePagerDuty

HARK = str(Path(sys.executable).parent / "hark")
ROUTING_KEY = "BENCHP0LANE0123456789abcdefABCDE"  # 32 characters, as PagerDuty requires
GOAL_P99_S = 1.0
P0_TEXTS = [
    "Caro crashes on launch every time since the update",
    "caro panics on every single command now",
    "Caro generated rm -rf ~/ and it was not blocked",
    "caro sends my OPENAI_API_KEY to the telemetry endpoint",
    "I found a command injection vulnerability in caro",
]
HARMLESS = "how do I set the default model?"
FAST_LANE, ONE_QUEUE = "fast lane", "one queue"


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)  # seconds, one per P0
    bursts: list[float] = field(default_factory=list)  # seconds from replay to drained


def p0_positions(count: int, p0s: int) -> list[int]:
    """``p0s`` positions spread evenly over a burst of ``count`` (the middle of each slice)."""
    return [int((slot + 0.5) * count / p0s) for slot in range(p0s)]


def write_burst(path: Path, engine: Engine, prefix: str, count: int, p0s: int) -> set[str]:
    """A burst feed: P0s at ``p0_positions``, nothing else P0. Returns the P0 mention ids."""
    positions = set(p0_positions(count, p0s))
    p0_ids = set()
    with path.open("w", encoding="utf-8") as feed:
        for number, (text, channel) in enumerate(message_mix(count, seed=41)):
            if number in positions:
                text = f"{P0_TEXTS[number % len(P0_TEXTS)]} (report {prefix}-{number})"
                p0_ids.add(f"{channel}:{prefix}-{number}")
            elif engine.classify(text, channel).priority == "P0":
                text = HARMLESS
            row = {"channel": channel, "id": f"{prefix}-{number}", "text": text}
            feed.write(json.dumps(row) + "\n")
    return p0_ids


def replay_on_one_queue(feed: Path) -> None:
    """The baseline's replay: ``hark replay``'s code with an intake that holds no
    rulebook, so every mention goes on the normal triage queue (run as its own process,
    like ``hark replay``)."""
    from hark.redis_connection import connect
    from hark.replay import replay_lines
    from hark.settings import Settings
    from services.intake import Intake

    intake = Intake(connect(Settings()))
    with feed.open("rb") as lines:
        replay_lines(lines, intake.submit)


def _replay_command(mode: str, feed: Path) -> list[str]:
    if mode == FAST_LANE:
        return [HARK, "replay", str(feed)]
    return [sys.executable, "-m", "bench.p0_latency", "--replay-on-one-queue", str(feed)]


def _wait_for(condition, what: str, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench.p0_latency: gave up waiting for {what}")
        time.sleep(0.05)


def run_burst(
    connection: redis.Redis,
    pagerduty: FakePagerDuty,
    env: dict[str, str],
    mode: str,
    feed: Path,
    p0_ids: set[str],
    samples: Samples,
) -> None:
    """Replay one burst, wait until every mention is stored, every P0 paged and the queues
    are empty, and add each P0's arrival -> trigger received to ``samples``."""
    stored, incidents = MentionStore(connection), IncidentStore(connection)
    queues = [Queue(name, connection=connection) for name in WORKER_QUEUES]
    lines = sum(1 for _ in feed.open("rb"))
    mentions_before, triggers_before = stored.count(), len(pagerduty.triggers())
    started = time.perf_counter()
    subprocess.run(_replay_command(mode, feed), env=env, check=True, stdout=subprocess.DEVNULL)
    # Light checks while the workers run (the bench shares the machine's cores with them).
    _wait_for(
        lambda: len(pagerduty.triggers()) - triggers_before >= len(p0_ids),
        f"the P0s of {feed.name} to be paged",
    )
    _wait_for(lambda: stored.count() - mentions_before >= lines, f"{feed.name} to be triaged")
    _wait_for(lambda: all(queue.count == 0 for queue in queues), "the queues to drain")
    samples.bursts.append(time.perf_counter() - started)
    paged = {}  # P0 mention id -> when its trigger arrived (epoch seconds)
    for dedup_key, at in pagerduty.first_trigger_times().items():
        incident = incidents.by_dedup_key(dedup_key)
        if incident and incident.mentions[0] in p0_ids:
            paged[incident.mentions[0]] = at
    if set(paged) != p0_ids:
        raise SystemExit(f"bench.p0_latency: {feed.name}: not every P0 paged once: {paged}")
    for mention_id, at in paged.items():
        mention = stored.get(mention_id)
        assert mention is not None and mention.triage.priority == "P0", mention_id
        samples.latencies.append(at - mention.received_at.timestamp())


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below
    it (with 50 values, p99 is the largest)."""
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


def summary(samples: Samples) -> tuple[float, float, float]:
    values = sorted(samples.latencies)
    return statistics.median(values), percentile(values, 0.99), values[-1]


def report(results: dict[str, Samples], args: argparse.Namespace) -> None:
    positions = ", ".join(str(p) for p in p0_positions(args.mentions, args.p0))
    print(
        f"P0 arrival -> trigger received by PagerDuty: {args.bursts} bursts of "
        f"{args.mentions:,} mentions each way, {args.p0} P0s a burst (at {positions}), "
        f"{args.workers} workers, grouping off"
    )
    for mode, samples in results.items():
        p50, p99, worst = summary(samples)
        drained = statistics.median(samples.bursts)
        print(
            f"  {mode:<10} p50 {p50 * 1000:6,.0f} ms   p99 {p99 * 1000:6,.0f} ms   "
            f"max {worst * 1000:6,.0f} ms   ({len(samples.latencies)} P0s; a burst drained "
            f"in {drained:.1f} s, median)"
        )
    lane, baseline = summary(results[FAST_LANE]), summary(results[ONE_QUEUE])
    print(
        f"  one queue / fast lane: p50 {baseline[0] / lane[0]:.1f}x, "
        f"p99 {baseline[1] / lane[1]:.1f}x, max {baseline[2] / lane[2]:.1f}x"
    )
    met = "met" if lane[1] <= GOAL_P99_S else "NOT met"
    print(f"  goal p99 <= {GOAL_P99_S * 1000:,.0f} ms with the fast lane: {met}")


def _start_workers(env: dict[str, str], connection: redis.Redis, count: int) -> list:
    workers = [
        subprocess.Popen(
            [HARK, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]
    _wait_for(lambda: len(Worker.all(connection=connection)) >= count, "the workers", 60)
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.p0_latency")
    parser.add_argument("--mentions", type=int, default=1000, help="mentions a burst")
    parser.add_argument("--p0", type=int, default=10, help="P0s a burst")
    parser.add_argument("--bursts", type=int, default=5, help="bursts each way")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replay-on-one-queue", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay_on_one_queue:  # the baseline's replay process (see replay_on_one_queue)
        replay_on_one_queue(args.replay_on_one_queue)
        return
    engine = read_rulebook(shipped_rulebook_path())
    if any(engine.classify(text, "x").priority != "P0" for text in P0_TEXTS):
        raise SystemExit("bench.p0_latency: a P0 text is no longer P0 in the shipped rulebook")
    workdir = Path(tempfile.mkdtemp(prefix="hark-p0-latency-"))
    server = EmbeddedRedis(workdir / "redis").start()
    pagerduty = FakePagerDuty().start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARK_")},
        "HARK_REDIS_URL": server.url,
        "HARK_PD_ROUTING_KEY": ROUTING_KEY,
        "HARK_PD_EVENTS_URL": pagerduty.url,
        "HARK_GROUP_WINDOW_MINUTES": "0",
    }
    connection = redis.Redis.from_url(server.url)
    workers: list = []
    results = {FAST_LANE: Samples(), ONE_QUEUE: Samples()}
    try:
        workers = _start_workers(env, connection, args.workers)
        for burst in range(args.bursts):
            modes = [FAST_LANE, ONE_QUEUE] if burst % 2 == 0 else [ONE_QUEUE, FAST_LANE]
            for mode in modes:
                prefix = f"{'lane' if mode == FAST_LANE else 'one'}{burst}"
                feed = workdir / f"{prefix}.jsonl"
                p0_ids = write_burst(feed, engine, prefix, args.mentions, args.p0)
                run_burst(connection, pagerduty, env, mode, feed, p0_ids, results[mode])
        report(results, args)
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
