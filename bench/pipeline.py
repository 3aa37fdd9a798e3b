"""``python -m bench.pipeline``: ``hark replay`` of 50,000 mentions with two ``hark worker``
processes on a real redis-server: mentions per second until all are triaged, and the
latency from enqueue (the mention's received_at) to stored triage (triaged_at)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import redis

from bench.workload import message_mix
from desk.mentions import BY_TIME, RECORD
from hark.embedded_redis import EmbeddedRedis

HARK = str(Path(sys.executable).parent / "hark")


def _feed(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as feed:
        for number, (text, channel) in enumerate(message_mix(count, seed=21)):
            feed.write(
                json.dumps({"channel": channel, "id": f"bench-{number}", "text": text}) + "\n"
            )


def _latencies(connection: redis.Redis) -> list[float]:
    ids = [member.decode() for member in connection.zrange(BY_TIME, 0, -1)]
    latencies = []
    for start in range(0, len(ids), 1000):
        records = connection.mget([RECORD.format(id=i) for i in ids[start : start + 1000]])
        for raw in records:
            record = json.loads(raw)
            received = datetime.fromisoformat(record["received_at"])
            latencies.append(
                (datetime.fromisoformat(record["triaged_at"]) - received).total_seconds()
            )
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    parser.add_argument("--mentions", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hark-bench-"))
    server = EmbeddedRedis(workdir / "redis", append_only=True).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARK_")},
        "HARK_REDIS_URL": server.url,
    }
    workers = []
    try:
        feed = workdir / "feed.jsonl"
        _feed(feed, args.mentions)
        workers = [
            subprocess.Popen(
                [HARK, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(args.workers)
        ]
        connection = redis.Redis.from_url(server.url)
        started = time.perf_counter()
        subprocess.run([HARK, "replay", str(feed)], env=env, check=True, stdout=subprocess.DEVNULL)
        replayed = time.perf_counter() - started
        while connection.zcard(BY_TIME) < args.mentions:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        latencies = sorted(_latencies(connection))
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"{args.mentions:,} mentions, {args.workers} workers, append-only Redis")
        rate = args.mentions / replayed
        print(f"  replay enqueued them in {replayed:.1f} s ({rate:,.0f}/s)")
        throughput = args.mentions / elapsed
        print(f"  all triaged and stored after {elapsed:.1f} s: {throughput:,.0f} mentions/s")
        print(f"  enqueue -> stored triage: p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
