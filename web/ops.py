"""Operations endpoints: ``GET /healthz`` for load balancers and the on-call, and
``GET /metrics`` in the Prometheus text format.

``/healthz`` needs no login and never raises: Redis is probed first on a connection of
its own with a short timeout, and when it does not answer nothing else is asked (503,
"redis unreachable"). It is 200 only when Redis answers, at least one RQ worker is alive
and every source is healthy; otherwise 503 with every reason listed.

``/metrics`` needs the API bearer token unless ``HARK_METRICS_PUBLIC`` is set (volumes
are business data). prometheus-client writes it, from a registry of the app's own, in the
text format (or OpenMetrics, when the scraper's ``Accept`` asks for it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, Worker
from rq.serializers import JSONSerializer
from rq.suspension import is_suspended

from desk.mentions import BY_TIME as MENTIONS_BY_TIME
from desk.reply_queue import BY_DUE
from monitor.store import MonitorState
from oncall.incidents import BY_STATUS, STATUSES
from oncall.pager_health import PagerHealth
from services.jobs import WORKER_QUEUES
from web.auth import require_token

bp = Blueprint("ops", __name__)

QUEUES = WORKER_QUEUES  # the order workers serve them
PING_TIMEOUT_S = 1.0
REGISTRY = "hark_metrics_registry"
TRUTHY = {"1", "true", "yes", "on"}


def register_ops(app: Flask) -> None:
    """Add ``/healthz`` and ``/metrics`` to ``app`` (calling it twice is harmless)."""
    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
        app.extensions[REGISTRY] = metrics_registry(app)


# ---------------------------------------------------------------------------- health


@bp.get("/healthz")
def healthz() -> Response:
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


class RedisCollector:
    """prometheus-client's custom collector for Hark: everything is read from the app's
    Redis at each scrape (``config`` is the app's, read then, not when registered).
    When Redis does not answer, only ``hark_redis_up 0``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    def collect(self) -> Iterable[Metric]:
        connection = self.config["REDIS"]
        families: list[Metric] = []
        if ping(connection)["ok"]:
            try:
                families = collect(connection, self.config["CLOCK"]())
            except redis.RedisError:
                families = []
        up = GaugeMetricFamily("hark_redis_up", "1 when Redis answered PING within the timeout")
        up.add_metric([], 1 if families else 0)
        return [up, *families]


def metrics_registry(app: Flask) -> CollectorRegistry:
    """The app's own registry (never prometheus-client's global one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(app.config))
    return registry


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    if str(current_app.config.get("HARK_METRICS_PUBLIC") or "").strip().lower() not in TRUTHY:
        require_token(lambda: None)()  # raises ApiError (401, or 503 without a token)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(encode(current_app.extensions[REGISTRY]), content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def collect(connection: redis.Redis, now: datetime) -> list[Metric]:
    queued = GaugeMetricFamily("hark_queue_jobs", "Jobs waiting in the RQ queue", labels=["queue"])
    failed = GaugeMetricFamily(
        "hark_failed_jobs", "Jobs in the RQ queue's failed-job registry", labels=["queue"]
    )
    for name in QUEUES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        queued.add_metric([name], queue.count)
        failed.add_metric([name], queue.failed_job_registry.get_job_count(cleanup=False))
    workers = GaugeMetricFamily(
        "hark_workers", "Live RQ workers", value=len(Worker.all(connection=connection))
    )
    healthy = GaugeMetricFamily(
        "hark_source_healthy", "1 when the source succeeded recently", labels=["source"]
    )
    last = GaugeMetricFamily(
        "hark_source_last_success_timestamp_seconds",
        "Unix time of the source's last successful poll",
        labels=["source"],
    )
    for source in MonitorState(connection).health(now):
        healthy.add_metric([source["source"]], 1 if source["healthy"] else 0)
        stamp = _timestamp(source["last_success"]) if source["last_success"] else None
        if stamp is not None:
            last.add_metric([source["source"]], stamp)
    with connection.pipeline(transaction=False) as pipe:
        for status in STATUSES:
            pipe.zcard(BY_STATUS.format(status=status))
        pipe.zcard(BY_DUE)
        pipe.zcard(MENTIONS_BY_TIME)
        *per_status, reply_items, mentions = pipe.execute()
    incidents = GaugeMetricFamily("hark_incidents", "Incidents by status", labels=["status"])
    for status, count in zip(STATUSES, per_status, strict=True):
        incidents.add_metric([status], count)
    return [
        queued,
        failed,
        workers,
        healthy,
        last,
        incidents,
        GaugeMetricFamily(
            "hark_reply_queue_items", "Open and claimed items in the reply queue", value=reply_items
        ),
        CounterMetricFamily("hark_mentions_total", "Mentions triaged and stored", value=mentions),
    ]


def _timestamp(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
