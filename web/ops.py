"""Operations endpoints: ``GET /healthz`` for load balancers and the on-call, and
``GET /metrics`` in the Prometheus text format.

``/healthz`` needs no login and never raises: Redis is probed first on a connection of
its own with a short timeout, and when it does not answer nothing else is asked (503,
"redis unreachable"). It is 200 only when Redis answers, at least one RQ worker is alive
and every source is healthy; otherwise 503 with every reason listed.

``/metrics`` needs the API bearer token unless ``HARK_METRICS_PUBLIC`` is set (volumes
are business data). The formatter is our own: gauges and one counter, with ``# HELP`` and
``# TYPE`` lines and label values escaped as the exposition format requires.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.serializers import JSONSerializer
from rq.suspension import is_suspended

from desk.mentions import BY_TIME as MENTIONS_BY_TIME
from desk.reply_queue import BY_DUE
from monitor.intake import TRIAGE_QUEUE
from monitor.store import MonitorState
from oncall.incidents import BY_STATUS, STATUSES
from oncall.pager_health import PagerHealth
from oncall.paging import PAGING_QUEUE
from web.auth import require_token

bp = Blueprint("ops", __name__)

QUEUES = (TRIAGE_QUEUE, PAGING_QUEUE)
PING_TIMEOUT_S = 1.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TRUTHY = {"1", "true", "yes", "on"}


def register_ops(app: Flask) -> None:
    """Add ``/healthz`` and ``/metrics`` to ``app`` (calling it twice is harmless)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)


# ---------------------------------------------------------------------------- health


@bp.get("/healthz")
def healthz():
    connection = current_app.config["REDIS"]
    reasons: list[str] = []
    report: dict[str, Any] = {
        "status": "ok",
        "reasons": reasons,
        "redis": ping(connection),
        "workers": {"ok": False, "count": 0, "suspended": None, "items": []},
        "sources": [],
        "queues": {},
        "pagerduty": None,
    }
    if not report["redis"]["ok"]:
        reasons.append("redis unreachable")
    else:
        try:
            report["workers"] = workers_report(connection)
            report["sources"] = MonitorState(connection).health(current_app.config["CLOCK"]())
            report["queues"] = {name: queue_report(connection, name) for name in QUEUES}
            report["pagerduty"] = PagerHealth(connection).report()
        except redis.RedisError as error:
            reasons.append(f"redis error while checking: {type(error).__name__}")
        workers = report["workers"]
        if workers["count"] == 0 and not reasons:
            reasons.append("no RQ workers alive")
        if workers["suspended"]:
            reasons.append("RQ workers are suspended")
        pagerduty = report["pagerduty"]
        if pagerduty and not pagerduty["ok"]:
            reasons.append(
                f"pages failing since {pagerduty['failing_since']}: {pagerduty['last_error']}"
            )
        reasons.extend(
            _source_reason(source) for source in report["sources"] if not source["healthy"]
        )
    report["status"] = "degraded" if reasons else "ok"
    response = jsonify(report)
    response.status_code = 503 if reasons else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _source_reason(source: dict[str, Any]) -> str:
    if source["paused_until"]:
        return f"source {source['source']} paused until {source['paused_until']} (rate limited)"
    return f"source {source['source']} unhealthy (last success: {source['last_success']})"


def ping(connection: redis.Redis) -> dict[str, Any]:
    """PING on a fresh connection with a short timeout and no retries; never raises."""
    start = time.perf_counter()
    try:
        probe = _probe_connection(connection)
        if probe is None:
            connection.ping()
        else:
            try:
                probe.send_command("PING")
                probe.read_response()
            finally:
                probe.disconnect()
    except Exception as error:  # any failure to answer is "unreachable", whatever the client
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 3)}


def _probe_connection(connection: redis.Redis):
    """A single connection like the app's, but bounded: the app's may have no timeout."""
    pool = getattr(connection, "connection_pool", None)
    if pool is None or not hasattr(pool, "connection_class"):
        return None
    try:
        return pool.connection_class(
            **{
                **pool.connection_kwargs,
                "socket_timeout": PING_TIMEOUT_S,
                "socket_connect_timeout": PING_TIMEOUT_S,
                "retry": Retry(NoBackoff(), 0),
            }
        )
    except Exception:  # an unusual pool: fall back to the client's own ping
        return None


def workers_report(connection: redis.Redis) -> dict[str, Any]:
    """Live RQ workers (a worker whose key expired, i.e. stopped heartbeating, is gone)."""
    workers = Worker.all(connection=connection)
    items = [
        {
            "name": worker.name,
            "state": str(getattr(worker.get_state(), "value", worker.get_state())),
            "queues": worker.queue_names(),
            "current_job": worker.get_current_job_id(),
            "last_heartbeat": worker.last_heartbeat.isoformat() if worker.last_heartbeat else None,
        }
        for worker in sorted(workers, key=lambda w: w.name)
    ]
    suspended = bool(is_suspended(connection))
    return {
        "ok": bool(items) and not suspended,
        "count": len(items),
        "suspended": suspended,
        "items": items,
    }


def queue_report(connection: redis.Redis, name: str) -> dict[str, int]:
    """Job counts, read-only (no registry cleanup: workers do that on their schedule)."""
    queue = Queue(name, connection=connection, serializer=JSONSerializer)
    return {
        "queued": queue.count,
        "started": queue.started_job_registry.get_job_count(cleanup=False),
        "scheduled": queue.scheduled_job_registry.get_job_count(cleanup=False),
        "failed": queue.failed_job_registry.get_job_count(cleanup=False),
    }


# --------------------------------------------------------------------------- metrics


@dataclass
class Metric:
    name: str
    kind: str  # "gauge" or "counter"
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Metric:
        self.samples.append((labels, value))
        return self


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(metrics: Iterable[Metric]) -> str:
    """The text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            label_text = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in labels.items())
            name = f"{metric.name}{{{label_text}}}" if label_text else metric.name
            lines.append(f"{name} {format_value(value)}")
    return "\n".join(lines) + "\n"


@bp.get("/metrics")
def prometheus_metrics():
    if str(current_app.config.get("HARK_METRICS_PUBLIC") or "").strip().lower() not in TRUTHY:
        require_token(lambda: None)()  # raises ApiError (401, or 503 without a token)
    connection = current_app.config["REDIS"]
    up = Metric("hark_redis_up", "gauge", "1 when Redis answered PING within the timeout")
    metrics = [up]
    if ping(connection)["ok"]:
        try:
            metrics += collect(connection, current_app.config["CLOCK"]())
            up.add(1)
        except redis.RedisError:
            metrics = [up]
            up.add(0)
    else:
        up.add(0)
    response = Response(render(metrics), content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def collect(connection: redis.Redis, now: datetime) -> list[Metric]:
    queued = Metric("hark_queue_jobs", "gauge", "Jobs waiting in the RQ queue")
    failed = Metric("hark_failed_jobs", "gauge", "Jobs in the RQ queue's failed-job registry")
    for name in QUEUES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        queued.add(queue.count, queue=name)
        failed.add(queue.failed_job_registry.get_job_count(cleanup=False), queue=name)
    workers = Metric("hark_workers", "gauge", "Live RQ workers").add(
        len(Worker.all(connection=connection))
    )
    healthy = Metric("hark_source_healthy", "gauge", "1 when the source succeeded recently")
    last = Metric(
        "hark_source_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the source's last successful poll",
    )
    for source in MonitorState(connection).health(now):
        healthy.add(1 if source["healthy"] else 0, source=source["source"])
        if source["last_success"]:
            stamp = _timestamp(source["last_success"])
            if stamp is not None:
                last.add(stamp, source=source["source"])
    with connection.pipeline(transaction=False) as pipe:
        for status in STATUSES:
            pipe.zcard(BY_STATUS.format(status=status))
        pipe.zcard(BY_DUE)
        pipe.zcard(MENTIONS_BY_TIME)
        *per_status, reply_items, mentions = pipe.execute()
    incidents = Metric("hark_incidents", "gauge", "Incidents by status")
    for status, count in zip(STATUSES, per_status, strict=True):
        incidents.add(count, status=status)
    return [
        queued,
        failed,
        workers,
        healthy,
        last,
        incidents,
        Metric("hark_reply_queue_items", "gauge", "Open and claimed items in the reply queue").add(
            reply_items
        ),
        Metric("hark_mentions_total", "counter", "Mentions triaged and stored").add(mentions),
    ]


def _timestamp(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
