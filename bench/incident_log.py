"""``python -m bench.incident_log``: does the incident log stay flat as it grows?

Stores 1,000, then 10,000, then 100,000 incidents in a real ``redis-server`` and times
``GET /api/incidents?limit=50`` (Flask test client, bearer token) at the first page and
at the last page (the cursor is walked first, which also checks that the walk returns
every incident exactly once). Prints p50/p95 per size and the ratios last/first and
100k/1k; it asserts nothing. When the app has the ``/incidents`` HTML page and it answers
200 (it needs a login when the web issue wires it), that page is timed too.

Incidents are written the way the workers write them: records opened by
``oncall.incident_changes.open_incident`` (from the launch-day sample's P0 reports, classified by
the shipped rulebook), then grown with reports, pages and status changes by the record's
own methods, then stored by ``IncidentStore._save`` itself; only its per-incident MULTI/EXEC
round trip is batched into one pipeline per few thousand incidents, so the keys and values
are the same.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from hark.embedded_redis import EmbeddedRedis
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from oncall.incident_changes import open_incident
from oncall.incidents import BY_TIME, IncidentStore
from oncall.records import Incident, IncidentReport, PageFacts, Status
from rules.result import TriageRecord
from web import create_app

SAMPLE = Path(__file__).resolve().parents[1] / "hark" / "data" / "launch_day.jsonl"
HEADERS = {"Authorization": "Bearer t"}
START = datetime(2024, 1, 1, tzinfo=UTC)
# How incidents end up: most get resolved; the rest are what the on-call sees open.
OUTCOMES = (
    ("resolved", 0.88),
    ("acknowledged", 0.04),
    ("triggered", 0.03),
    ("escalated", 0.03),
    ("page-failed", 0.02),
)


# ------------------------------------------------------------------------ the incidents


def templates() -> list[tuple[IncidentReport, TriageRecord]]:
    """(report, triage) pairs: the launch-day sample's paging reports, really classified."""
    engine = read_rulebook(shipped_rulebook_path())
    pairs = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        triage = engine.classify(row["text"], row["channel"]).record()
        if triage.priority in ("P0", "P1"):
            report = IncidentReport(
                mention_id=f"{row['channel']}:{row['id']}",
                channel=row["channel"],
                text=row["text"],
                url=row.get("url"),
            )
            pairs.append((report, triage))
    return pairs


class IncidentFactory:
    """Incidents as ``open_incident`` opens them (it runs once per template; the rest are
    copies with their own id, times, reports and history)."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.bases = [
            (report, open_incident(report, triage, START)) for report, triage in templates()
        ]
        self.opened = START
        self.number = 0

    def __next__(self) -> Incident:
        rng, self.number = self.rng, self.number + 1
        self.opened += timedelta(seconds=rng.randint(60, 600))  # strictly increasing
        opened = self.opened
        first, base = self.bases[self.number % len(self.bases)]
        incident_id = f"inc-{opened:%Y%m%d}-{self.number:08x}"
        incident = base.model_copy(
            update={
                "id": incident_id,
                "dedup_key": f"hark-{incident_id}",
                "opened_at": opened,
                "updated_at": opened,
                "last_report_at": opened,
                "mentions": (f"{first.channel}:bench-{self.number}",),
                "timeline": (base.timeline[0].model_copy(update={"at": opened}),),
            }
        )
        now = opened
        for report in range(rng.choice((0, 0, 0, 1, 2, 5, 12))):  # grouped reports
            now += timedelta(seconds=rng.randint(5, 900))
            joined = IncidentReport(
                mention_id=f"x:bench-{self.number}-{report}", channel="x", text=""
            )
            incident = incident.with_report(joined, now)
        now += timedelta(seconds=2)
        page = PageFacts(action="trigger", dedup_key=incident.dedup_key, dry_run=False)
        incident = incident.noted(now, "page-sent", "trigger sent", page)
        for event, status in _path_to(self._outcome()):
            now += timedelta(seconds=rng.randint(30, 3600))
            if status is None:
                incident = incident.noted(now, event, "from Hark")
            else:
                incident = incident.moved(status, now, event, "from Hark")
        return incident

    def _outcome(self) -> str:
        draw, total = self.rng.random(), 0.0
        for status, share in OUTCOMES:
            total += share
            if draw < total:
                return status
        return OUTCOMES[0][0]

    def take(self, count: int) -> Iterator[Incident]:
        for _ in range(count):
            yield next(self)


def _path_to(status: str) -> tuple[tuple[str, Status | None], ...]:
    """The timeline events that lead to ``status``, each with the status it moves to (None:
    a note)."""
    paths: dict[str, tuple[tuple[str, Status | None], ...]] = {
        "triggered": (),
        "acknowledged": (("acknowledged", "acknowledged"),),
        "resolved": (("acknowledged", "acknowledged"), ("resolved", "resolved")),
        "escalated": (("escalated", "escalated"), ("escalation-summary", None)),
        "page-failed": (("page-error", None), ("page-failed", "page-failed")),
    }
    return paths[status]


class _Deferred:
    """What ``_save``'s ``with connection.pipeline(transaction=True) as pipe`` gets: the
    bench's open pipeline, whose execute waits for the end of the batch."""

    def __init__(self, pipe) -> None:
        self._pipe = pipe

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self._pipe, name)

    def execute(self) -> list:
        return []


class _Batched:
    def __init__(self, pipe) -> None:
        self._pipe = pipe

    def pipeline(self, transaction: bool = True) -> _Deferred:
        return _Deferred(self._pipe)


def store(connection: redis.Redis, incidents: Iterator[Incident], batch: int = 2000) -> int:
    stored = 0
    pipe = connection.pipeline(transaction=False)
    saver = IncidentStore(_Batched(pipe))
    for incident in incidents:
        saver._save(incident)
        stored += 1
        if stored % batch == 0:
            pipe.execute()
    pipe.execute()
    return stored


# ---------------------------------------------------------------------------- timing


def timed(client, urls: list[str], repeat: int, headers: dict | None = None) -> list[list[float]]:
    """Milliseconds per request for each url, the urls taken in turn (so a slow moment of
    the machine hits them alike); every answer must be a 200."""
    for _ in range(30):  # warm-up
        for url in urls:
            client.get(url, headers=headers)
    times: list[list[float]] = [[] for _ in urls]
    for _ in range(repeat):
        for url, series in zip(urls, times, strict=True):
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            series.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
    return times


def last_cursor(client, expected: int) -> tuple[str | None, int, float]:
    """Walk every page; the last page's cursor, the page count and the walk's seconds."""
    start = time.perf_counter()
    cursor, pages, seen, ids = None, 0, 0, set()
    while True:
        url = "/api/incidents?limit=50" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=HEADERS).get_json()
        pages += 1
        seen += len(body["items"])
        ids.update(item["id"] for item in body["items"])
        if body["next"] is None:
            break
        if body["next"] == cursor:
            raise RuntimeError(f"the cursor did not move at page {pages}: {cursor}")
        cursor = body["next"]
    if seen != expected or len(ids) != expected:
        raise RuntimeError(f"the walk saw {seen} items ({len(ids)} distinct), not {expected}")
    return cursor, pages, time.perf_counter() - start


def percentiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), cuts[94]


def _bench_users(directory: Path):
    from web.users import hash_password, load_users

    path = directory / "users.yaml"
    path.write_text(
        f"users:\n  - {{name: bench, role: viewer, password_hash: "
        f"'{hash_password('bench-password')}'}}\n"
    )
    return load_users(path)


def _log_in(client) -> None:
    import re

    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", data={"name": "bench", "password": "bench-password", "csrf_token": token})


def _last_page_url(client) -> str:
    """Follow the page's own "next" links to the last page of the log."""
    import html
    import re

    url = "/incidents"
    while True:
        body = client.get(url).get_data(as_text=True)
        found = re.search(r'href="(/incidents\?[^"]*cursor=[^"]+)"', body)
        if not found:
            return url
        url = html.unescape(found.group(1))


def has_page(app) -> bool:
    return any(rule.rule == "/incidents" for rule in app.url_map.iter_rules())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.incident_log")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per page")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))

    began = time.perf_counter()
    factory = IncidentFactory()
    with tempfile.TemporaryDirectory(prefix="hark-incident-log-") as workdir:
        server = EmbeddedRedis(Path(workdir), append_only=False).start()
        try:
            connection = redis.Redis.from_url(server.url)
            app = create_app(
                redis=connection,
                api_token="t",
                secret_key="b" * 40,
                users=_bench_users(Path(workdir)),
                insecure_cookies=True,
            )
            client = app.test_client()
            _log_in(client)
            page_note = None
            if not has_page(app):
                page_note = "no /incidents page in the app yet: HTML page skipped"
            rows, stored = [], 0
            for size in sizes:
                start = time.perf_counter()
                stored += store(connection, factory.take(size - stored))
                load_s = time.perf_counter() - start
                assert connection.zcard(BY_TIME) == size
                cursor, pages, walk_s = last_cursor(client, size)
                first_url = "/api/incidents?limit=50"
                last_url = f"{first_url}&cursor={cursor}" if cursor else first_url
                first, last = timed(client, [first_url, last_url], args.repeat, HEADERS)
                row = {
                    "size": size,
                    "load_s": load_s,
                    "pages": pages,
                    "walk_s": walk_s,
                    "api_first": percentiles(first),
                    "api_last": percentiles(last),
                }
                if page_note is None:
                    probe = client.get("/incidents")
                    if probe.status_code != 200:
                        page_note = (
                            f"/incidents answered {probe.status_code} (it needs a login the "
                            "bench does not make): HTML page skipped"
                        )
                    else:
                        page_last = _last_page_url(client)
                        first, last = timed(client, ["/incidents", page_last], args.repeat)
                        row["page_first"], row["page_last"] = percentiles(first), percentiles(last)
                rows.append(row)
                print(
                    f"stored {size:,} incidents (+{load_s:.1f} s); walked {pages:,} pages of "
                    f"50 in {walk_s:.1f} s",
                    flush=True,
                )
            memory = connection.info("memory")["used_memory_human"]
            connection.close()
        finally:
            server.stop()

    report(rows, page_note)
    print(f"\nredis used_memory at {sizes[-1]:,}: {memory}; run took "
          f"{time.perf_counter() - began:.0f} s")  # fmt: skip


def report(rows: list[dict], page_note: str | None) -> None:
    kinds = [("api", "GET /api/incidents?limit=50")]
    if "page_first" in rows[0]:
        kinds.append(("page", "GET /incidents (HTML)"))
    for kind, title in kinds:
        print(f"\n{title}: milliseconds per request")
        print(f"{'incidents':>10}  {'first p50':>9}  {'first p95':>9}  {'last p50':>9}  "
              f"{'last p95':>9}  {'last/first p50':>14}")  # fmt: skip
        for row in rows:
            (f50, f95), (l50, l95) = row[f"{kind}_first"], row[f"{kind}_last"]
            print(
                f"{row['size']:>10,}  {f50:>9.2f}  {f95:>9.2f}  {l50:>9.2f}  {l95:>9.2f}  "
                f"{l50 / f50:>14.2f}"
            )
        if len(rows) > 1:
            low, high = rows[0], rows[-1]
            for page in ("first", "last"):
                (lo50, lo95), (hi50, hi95) = low[f"{kind}_{page}"], high[f"{kind}_{page}"]
                print(
                    f"{page} page {high['size']:,} / {low['size']:,}: "
                    f"p50 {hi50 / lo50:.2f}x  p95 {hi95 / lo95:.2f}x"
                )
    if page_note:
        print(f"\n{page_note}")


if __name__ == "__main__":
    main()
