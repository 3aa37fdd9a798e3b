"""``POST /api/mentions/<id>/priority`` on a real Redis, with mentions triaged and pages
sent by a real worker (shipped rulebook) through pdpyras to the fake PagerDuty: a
responder's P0 pages at once, a P0 lowered is resolved in PagerDuty, and a refused
correction changes nothing. Then ``hark labels export`` feeds ``hark rules test``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from desk.corrections import CorrectionStore
from desk.mentions import MentionStore
from hark.cli import cli
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import make_mention
from oncall.config import OncallConfig
from oncall.incidents import OF_MENTION, IncidentStore
from oncall.pagerduty import PagerDutyEvents
from services.intake import Intake
from tests.fakes.pagerduty_server import FakePagerDuty
from web import create_app

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
NOW = datetime.now(UTC)
API = {"Authorization": "Bearer t"}
CRASH = "caro crashes on launch every time since 1.2.0"
QUESTION = "how do I change the default model? write to sam@example.com"


@pytest.fixture
def fake_pd():
    server = FakePagerDuty().start()
    yield server
    server.stop()


@pytest.fixture
def work(redis_conn, fake_pd, shipped_rules):
    """Run a worker until the queues are empty: triage, then the pages, sent to the fake."""
    services = worker_services(
        redis_conn,
        shipped_rules,
        oncall=OncallConfig(escalate_after=timedelta(hours=1), page_retries=(0, 0)),
        pager=PagerDutyEvents(ROUTING_KEY, fake_pd.url, timeout_s=10),
    )

    def run() -> None:
        assert run_worker(services, burst=True)

    return run


@pytest.fixture
def client(redis_conn, shipped):
    app = create_app(redis=redis_conn, api_token="t", rulebook=shipped)
    return app.test_client()


def arrive(redis_conn, native_id: str, text: str) -> str:
    mention = make_mention(channel="x", native_id=native_id, text=text, now=NOW)
    Intake(redis_conn).submit(mention)
    return mention.id


def correct(client, mention_id: str, **body):
    return client.post(f"/api/mentions/{mention_id}/priority", json=body, headers=API)


def everything(redis_conn) -> dict:
    """Every key and its value (strings, lists, sorted sets, hashes, sets)."""
    readers = {
        b"string": redis_conn.get,
        b"list": lambda key: redis_conn.lrange(key, 0, -1),
        b"zset": lambda key: redis_conn.zrange(key, 0, -1, withscores=True),
        b"hash": redis_conn.hgetall,
        b"set": redis_conn.smembers,
    }
    return {key: readers[redis_conn.type(key)](key) for key in redis_conn.keys("*")}


def test_raised_to_p0_through_the_api_pages_pagerduty_at_high_severity(
    redis_conn, client, work, fake_pd
):
    mention_id = arrive(redis_conn, "1", QUESTION)
    work()
    assert fake_pd.events == []

    answer = correct(client, mention_id, priority="P0", reason="it ran rm -rf for them", by="rosa")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["id"] == mention_id and body["triage"]["priority"] == "P0"
    assert body["triage"]["urgency"] == "high"
    assert body["correction"]["from_priority"] == "P3" and body["correction"]["by"] == "rosa"
    assert body["incident"]["change"] == "opened"
    listed = client.get("/api/mentions?priority=P0", headers=API).get_json()["items"]
    assert [item["id"] for item in listed] == [mention_id]

    work()
    (trigger,) = fake_pd.events
    assert trigger["event_action"] == "trigger"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["dedup_key"] == f"hark-{body['incident']['id']}"


def test_lowered_from_p0_through_the_api_resolves_in_pagerduty(redis_conn, client, work, fake_pd):
    mention_id = arrive(redis_conn, "1", CRASH)
    work()
    incident_id = redis_conn.get(OF_MENTION.format(mention=mention_id)).decode()
    answer = correct(client, mention_id, priority="P2", reason="a joke tweet", by="rosa")
    assert answer.status_code == 200
    assert answer.get_json()["incident"] == {"id": incident_id, "change": "resolved"}
    assert IncidentStore(redis_conn).get(incident_id).status == "resolved"
    work()
    assert [event["event_action"] for event in fake_pd.events] == ["trigger", "resolve"]


@pytest.mark.parametrize(
    ("mention_id", "body", "status", "code"),
    [
        ("x:404", {"priority": "P1", "reason": "wrong"}, 404, "not_found"),
        ("x:1", {"priority": "P7", "reason": "wrong"}, 400, "invalid_field"),
        ("x:1", {"priority": 1, "reason": "wrong"}, 400, "invalid_field"),
        ("x:1", {"reason": "wrong"}, 400, "invalid_field"),
        ("x:1", {"priority": "P1", "reason": "  "}, 400, "invalid_field"),
        ("x:1", {"priority": "P1"}, 400, "invalid_field"),
        ("x:1", {"priority": "P0", "reason": "it is one"}, 400, "same_priority"),
        ("x:1", {"priority": "P1", "reason": "x", "extra": 1}, 400, "invalid_field"),
        ("x:1", {"priority": "P1", "reason": "x", "by": " "}, 400, "invalid_field"),
    ],
)
def test_a_refused_correction_is_a_4xx_and_changes_nothing(
    redis_conn, client, work, mention_id, body, status, code
):
    arrive(redis_conn, "1", CRASH)
    work()
    before = everything(redis_conn)
    answer = correct(client, mention_id, **body)
    assert answer.status_code == status
    assert answer.get_json()["error"]["code"] == code
    assert answer.get_json()["error"]["message"]
    assert everything(redis_conn) == before


def test_the_correction_api_needs_the_token(redis_conn, client, work):
    mention_id = arrive(redis_conn, "1", CRASH)
    work()
    before = everything(redis_conn)
    answer = client.post(
        f"/api/mentions/{mention_id}/priority", json={"priority": "P3", "reason": "a joke"}
    )
    assert answer.status_code == 401
    assert everything(redis_conn) == before


def test_labels_exported_from_redis_are_a_corpus_hark_rules_test_takes(
    redis_conn, redis_url, client, work, tmp_path, monkeypatch
):
    raised, lowered = arrive(redis_conn, "1", QUESTION), arrive(redis_conn, "2", CRASH)
    work()
    assert correct(client, raised, priority="P0", reason="it wiped a disk").status_code == 200
    assert correct(client, lowered, priority="P3", reason="a joke", by="sam").status_code == 200
    assert CorrectionStore(redis_conn).count() == 2

    monkeypatch.setenv("HARK_REDIS_URL", redis_url)
    corpus = tmp_path / "corrections.jsonl"
    exported = CliRunner().invoke(cli, ["labels", "export", "--out", str(corpus)])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    assert [(row["id"], row["priority"], row["from"]) for row in rows] == [
        (raised, "P0", "P3"),
        (lowered, "P3", "P0"),
    ]
    assert rows[0]["source"] == "correction" and rows[0]["who"] == "api"
    assert "sam@example.com" not in corpus.read_text(encoding="utf-8")
    assert MentionStore(redis_conn).get(raised).text == QUESTION  # the record keeps its words

    tested = CliRunner().invoke(cli, ["rules", "test", str(corpus), "--json"])
    assert tested.exit_code == 1, tested.output  # the rules miss the P0 the team raised
    report = json.loads(tested.stdout)[str(corpus)]
    assert report["total"] == 2
