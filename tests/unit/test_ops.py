"""``/healthz`` and ``/metrics`` (web.ops; prometheus-client writes the latter) on fakeredis."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta

import fakeredis
import prometheus_client
import pytest
import redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from desk.mentions import BY_TIME as MENTIONS_BY_TIME
from desk.reply_queue import BY_DUE
from monitor.store import MonitorState
from oncall.incidents import BY_STATUS
from web import create_app
from web.ops import register_ops

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer t"}


def make_app(connection, **config):
    app = create_app(redis=connection, api_token="t", clock=lambda: NOW)
    register_ops(app)
    app.config.update(config)
    return app


@pytest.fixture
def conn():
    return fakeredis.FakeRedis()


@pytest.fixture
def client(conn):
    return make_app(conn).test_client()


def register_worker(connection, name="worker-1"):
    worker = Worker(["triage", "paging"], connection=connection, name=name)
    worker.register_birth()
    return worker


class DownRedis:
    """A client whose every command fails as if Redis were gone."""

    def ping(self, *args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise redis.ConnectionError("Connection refused.")

        return fail


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------- healthz


def test_healthz_is_503_without_workers(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert "no RQ workers alive" in body["reasons"]
    assert body["redis"]["ok"] is True
    assert body["workers"]["count"] == 0
    assert set(body["queues"]) == {"paging", "p0-triage", "triage", "write-back"}
    assert set(body) >= {"status", "redis", "workers", "sources", "queues", "reasons"}


def test_healthz_is_200_with_a_live_worker(conn, client):
    register_worker(conn)
    queue = Queue("triage", connection=conn, serializer=JSONSerializer)
    queue.enqueue("services.triage.triage_mention", {"id": "x:1"}, job_id="triage-x-1")
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["reasons"] == []
    assert body["workers"]["count"] == 1
    assert body["workers"]["items"][0]["name"] == "worker-1"
    assert body["workers"]["items"][0]["queues"] == ["triage", "paging"]
    assert {"state", "last_heartbeat", "current_job"} <= set(body["workers"]["items"][0])
    assert body["queues"]["triage"]["queued"] == 1
    assert body["queues"]["paging"] == {"queued": 0, "started": 0, "scheduled": 0, "failed": 0}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_counts_failed_jobs_without_failing_on_them(conn, client):
    register_worker(conn)
    queue = Queue("paging", connection=conn, serializer=JSONSerializer)
    job = queue.enqueue("services.paging.page_incident", "inc-1", "trigger", job_id="page-1")
    queue.failed_job_registry.add(job, ttl=3600)
    body = client.get("/healthz").get_json()
    assert body["queues"]["paging"]["failed"] == 1
    assert body["status"] == "ok"


def test_healthz_is_503_when_redis_raises():
    response = make_app(DownRedis()).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["redis unreachable"]
    assert body["redis"] == {"ok": False, "error": "ConnectionError"}


def test_healthz_is_503_when_a_real_client_cannot_connect():
    down = redis.Redis(host="127.0.0.1", port=closed_port())
    response = make_app(down).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["reasons"] == ["redis unreachable"]


def test_healthz_is_degraded_when_a_source_is_unhealthy(conn, client):
    register_worker(conn)
    state = MonitorState(conn)
    state.record_success("github", NOW - timedelta(seconds=30), 60)
    state.record_success("x", NOW - timedelta(hours=2), 60)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert {s["source"]: s["healthy"] for s in body["sources"]} == {"github": True, "x": False}
    assert len(body["reasons"]) == 1
    assert body["reasons"][0].startswith("source x unhealthy")


def test_healthz_with_healthy_sources_is_ok(conn, client):
    register_worker(conn)
    MonitorState(conn).record_success("github", NOW - timedelta(seconds=30), 60)
    assert client.get("/healthz").status_code == 200


def test_register_ops_twice_is_harmless(conn):
    app = make_app(conn)
    register_ops(app)
    assert app.test_client().get("/healthz").status_code == 503


# ---------------------------------------------------------------------------- metrics

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse(text: str):
    """Exposition text -> ({name: (help, type)}, {(name, labels): value}); checks the grammar."""
    assert text.endswith("\n")
    meta: dict[str, dict[str, str]] = {}
    samples: dict[tuple[str, frozenset], float] = {}
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kind, name, rest = line.split(" ", 3)
            meta.setdefault(name, {})[kind] = rest
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, label_text, value = match.groups()
        assert {"HELP", "TYPE"} <= set(meta.get(name, {})), f"{name} lacks HELP/TYPE before it"
        labels = {}
        if label_text:
            consumed = "".join(m.group(0) for m in LABEL.finditer(label_text))
            assert consumed == label_text, f"bad labels: {label_text!r}"
            labels = {m.group(1): unescape(m.group(2)) for m in LABEL.finditer(label_text)}
        samples[(name, frozenset(labels.items()))] = float(value)
    return meta, samples


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def test_metrics_format_and_values(conn):
    register_worker(conn)
    triage = Queue("triage", connection=conn, serializer=JSONSerializer)
    triage.enqueue("services.triage.triage_mention", {"id": "x:1"}, job_id="triage-x-1")
    triage.enqueue("services.triage.triage_mention", {"id": "x:2"}, job_id="triage-x-2")
    paging = Queue("paging", connection=conn, serializer=JSONSerializer)
    job = paging.enqueue("services.paging.page_incident", "inc-1", "trigger", job_id="page-1")
    paging.failed_job_registry.add(job, ttl=3600)
    conn.zadd(BY_STATUS.format(status="triggered"), {"inc-1": 1.0, "inc-2": 2.0})
    conn.zadd(BY_STATUS.format(status="resolved"), {"inc-3": 3.0})
    conn.zadd(BY_DUE, {"x:1": 10.0})
    conn.zadd(MENTIONS_BY_TIME, {"x:1": 1.0, "x:2": 2.0, "x:3": 3.0})
    state = MonitorState(conn)
    ok_at = NOW - timedelta(seconds=30)
    state.record_success("github", ok_at, 60)
    state.record_success("x", NOW - timedelta(hours=2), 60)
    state.record_error("email", NOW, 60, "login failed")  # never succeeded

    response = make_app(conn).test_client().get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    meta, samples = parse(response.get_data(as_text=True))

    expected = {
        "hark_queue_jobs",
        "hark_failed_jobs",
        "hark_workers",
        "hark_source_healthy",
        "hark_source_last_success_timestamp_seconds",
        "hark_incidents",
        "hark_reply_queue_items",
        "hark_mentions_total",
        "hark_redis_up",
    }
    assert expected <= set(meta)
    assert all(meta[name]["TYPE"] in {"gauge", "counter"} for name in meta)
    assert all(meta[name]["HELP"] for name in meta)
    assert value(samples, "hark_redis_up") == 1
    assert value(samples, "hark_queue_jobs", queue="triage") == 2
    assert value(samples, "hark_queue_jobs", queue="paging") == 1
    assert value(samples, "hark_failed_jobs", queue="paging") == 1
    assert value(samples, "hark_failed_jobs", queue="triage") == 0
    assert value(samples, "hark_workers") == 1
    assert value(samples, "hark_source_healthy", source="github") == 1
    assert value(samples, "hark_source_healthy", source="x") == 0
    assert value(samples, "hark_source_healthy", source="email") == 0
    assert value(
        samples, "hark_source_last_success_timestamp_seconds", source="github"
    ) == pytest.approx(ok_at.timestamp())
    assert ("hark_source_last_success_timestamp_seconds", frozenset({("source", "email")})) not in (
        samples
    )
    assert value(samples, "hark_incidents", status="triggered") == 2
    assert value(samples, "hark_incidents", status="resolved") == 1
    assert value(samples, "hark_incidents", status="acknowledged") == 0
    assert value(samples, "hark_reply_queue_items") == 1
    assert value(samples, "hark_mentions_total") == 3


def test_metrics_escape_label_values(conn):
    odd = 'we"ird\\src\nname'
    MonitorState(conn).record_success(odd, NOW, 60)
    text = make_app(conn).test_client().get("/metrics", headers=AUTH).get_data(as_text=True)
    assert 'source="we\\"ird\\\\src\\nname"' in text
    _, samples = parse(text)
    assert value(samples, "hark_source_healthy", source=odd) == 1


def test_each_app_has_its_own_registry(conn):
    other = fakeredis.FakeRedis()
    other.zadd(MENTIONS_BY_TIME, {"x:1": 1.0})
    mine, theirs = make_app(conn).test_client(), make_app(other).test_client()
    _, samples = parse(mine.get("/metrics", headers=AUTH).get_data(as_text=True))
    assert value(samples, "hark_mentions_total") == 0
    _, samples = parse(theirs.get("/metrics", headers=AUTH).get_data(as_text=True))
    assert value(samples, "hark_mentions_total") == 1
    global_text = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "hark_" not in global_text  # nothing registered in the process-wide default


def test_a_scraper_that_asks_for_openmetrics_gets_it(client):
    accept = {**AUTH, "Accept": "application/openmetrics-text; version=1.0.0"}
    response = client.get("/metrics", headers=accept)
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = response.get_data(as_text=True)
    assert "# TYPE hark_mentions counter" in text and "hark_mentions_total 0" in text
    assert text.endswith("# EOF\n")


def test_metrics_refused_without_the_token(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_allowed_with_the_token(client):
    assert client.get("/metrics", headers=AUTH).status_code == 200


@pytest.mark.parametrize("public", [True, "1", "true", "yes"])
def test_metrics_public_when_configured(conn, public):
    app = make_app(conn, HARK_METRICS_PUBLIC=public)
    assert app.test_client().get("/metrics").status_code == 200


@pytest.mark.parametrize("public", [False, None, "", "0", "false"])
def test_metrics_not_public_when_configured_off(conn, public):
    app = make_app(conn, HARK_METRICS_PUBLIC=public)
    assert app.test_client().get("/metrics").status_code == 401


def test_metrics_off_without_a_token_configured(conn):
    app = create_app(redis=conn, api_token=None)
    register_ops(app)
    assert app.test_client().get("/metrics").status_code == 503
    app.config["HARK_METRICS_PUBLIC"] = True
    assert app.test_client().get("/metrics").status_code == 200


def test_metrics_report_redis_down_without_raising():
    response = make_app(DownRedis()).test_client().get("/metrics", headers=AUTH)
    assert response.status_code == 200
    meta, samples = parse(response.get_data(as_text=True))
    assert samples == {("hark_redis_up", frozenset()): 0.0}
    assert meta["hark_redis_up"]["TYPE"] == "gauge"
