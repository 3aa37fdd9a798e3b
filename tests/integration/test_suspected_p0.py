"""A suspected P0 end to end: mentions through the intake, a real RQ worker (burst) on a
real redis-server triaging with a rulebook whose P0s can be low urgency, pdpyras paging the
fake PagerDuty (which enforces the Events v2 contract and keeps PagerDuty's alerts by
dedup_key), and the JSON API and PagerDuty's webhook on the same Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import make_mention
from oncall.config import OncallConfig
from oncall.incidents import IncidentStore
from oncall.pagerduty import PagerDutyEvents
from oncall.records import Incident
from services.intake import Intake
from tests.fakes.pagerduty_server import FakePagerDuty
from tests.fakes.pagerduty_webhooks import incident_event, signature
from web import create_app

RULEBOOK = Path(__file__).resolve().parents[1] / "data" / "rulebooks" / "urgency.yaml"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
NOW = datetime.now(UTC)
SURE = "caro crashes on launch, every single time"
POSSIBLE = "caro crashes on launch. it would be great to have a dark mode"
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def fake_pd():
    server = FakePagerDuty().start()
    yield server
    server.stop()


@pytest.fixture
def work(redis_conn, fake_pd):
    """Run a worker in burst mode until the queues are empty; True if no job failed."""
    oncall = OncallConfig(
        escalate_after=timedelta(hours=1), page_retries=(0, 0), public_url="https://hark.example"
    )
    pager = PagerDutyEvents(ROUTING_KEY, fake_pd.url, timeout_s=10)

    def run() -> bool:
        services = worker_services(redis_conn, RULEBOOK, oncall=oncall, pager=pager)
        return run_worker(services, burst=True)

    return run


@pytest.fixture
def api(redis_conn):
    app = create_app(redis=redis_conn, api_token="t", pagerduty_webhook_secret="pd-secret")
    return app.test_client()


def _submit(connection, number: int, text: str) -> None:
    mention = make_mention(
        channel="x", native_id=str(number), text=text, now=NOW, url=f"https://x.com/u/{number}"
    )
    assert Intake(connection).submit(mention)


def _only_incident(connection) -> Incident:
    items, _ = IncidentStore(connection).list(None, 10, None)
    assert len(items) == 1, [i.id for i in items]
    return items[0]


def _events(fake_pd) -> list[tuple[str, str, str | None]]:
    """(action, dedup_key, severity) of every event PagerDuty accepted, in order."""
    return [
        (e["event_action"], e["dedup_key"], e.get("payload", {}).get("severity"))
        for e in fake_pd.events
    ]


def _open_alerts(fake_pd) -> list[str]:
    return [alert.dedup_key for alert in fake_pd.open_incidents()]


def _possible_p0(redis_conn, fake_pd, work) -> Incident:
    _submit(redis_conn, 1, POSSIBLE)
    assert work()
    incident = _only_incident(redis_conn)
    assert incident.urgency == "low"
    assert _events(fake_pd) == [("trigger", f"hark-{incident.id}-low", "warning")]
    (trigger,) = fake_pd.triggers()
    assert trigger["payload"]["summary"].startswith("[Caro possible P0] caro crashes on launch")
    return incident


def test_confirming_a_possible_p0_raises_a_critical_alert_and_resolves_the_low_one(
    redis_conn, fake_pd, work, api
):
    incident = _possible_p0(redis_conn, fake_pd, work)
    answer = api.post(f"/api/incidents/{incident.id}/confirm", json={"by": "Rosa"}, headers=AUTH)
    assert answer.status_code == 200 and answer.get_json()["urgency"] == "high"
    assert work()
    high, low = f"hark-{incident.id}", f"hark-{incident.id}-low"
    assert _events(fake_pd) == [
        ("trigger", low, "warning"),
        ("trigger", high, "critical"),
        ("resolve", low, None),
    ]
    assert fake_pd.triggers(high)[0]["payload"]["summary"].startswith("[Caro P0]")
    assert _open_alerts(fake_pd) == [high]
    confirmed = IncidentStore(redis_conn).get(incident.id)
    assert confirmed is not None and confirmed.dedup_key == high
    assert [e.event for e in confirmed.timeline] == [
        "opened",
        "page-sent",
        "confirmed",
        "page-sent",
        "page-sent",
    ]
    assert "by Rosa (API)" in confirmed.timeline[2].detail

    # A second confirmation pages nothing.
    assert api.post(f"/api/incidents/{incident.id}/confirm", headers=AUTH).status_code == 200
    assert work()
    assert len(fake_pd.events) == 3


def test_pagerduty_reporting_the_low_alert_resolved_leaves_the_incident_open(
    redis_conn, fake_pd, work, api
):
    """Hark resolves the low alert when it confirms; PagerDuty's webhook then reports that
    alert resolved, which must not resolve the confirmed incident."""
    incident = _possible_p0(redis_conn, fake_pd, work)
    api.post(f"/api/incidents/{incident.id}/confirm", headers=AUTH)
    assert work()
    body = incident_event(f"hark-{incident.id}-low", "incident.resolved", "E-low")
    headers = {"X-PagerDuty-Signature": signature(body, "pd-secret")}
    answer = api.post("/webhooks/pagerduty", data=body, headers=headers)
    assert answer.status_code == 200 and "ignored" in answer.get_json()
    still = IncidentStore(redis_conn).get(incident.id)
    assert still is not None and still.status == "triggered"


def test_downgrading_a_possible_p0_resolves_it_with_the_reason(redis_conn, fake_pd, work, api):
    incident = _possible_p0(redis_conn, fake_pd, work)
    answer = api.post(
        f"/api/incidents/{incident.id}/downgrade",
        json={"reason": "a joke tweet, not a bug", "by": "Ben"},
        headers=AUTH,
    )
    assert answer.status_code == 200 and answer.get_json()["status"] == "resolved"
    assert work()
    low = f"hark-{incident.id}-low"
    assert _events(fake_pd) == [("trigger", low, "warning"), ("resolve", low, None)]
    assert _open_alerts(fake_pd) == []
    downgraded = IncidentStore(redis_conn).get(incident.id)
    assert downgraded is not None
    note = next(e for e in downgraded.timeline if e.event == "downgraded")
    assert note.detail == "by Ben (API): a joke tweet, not a bug"


def test_a_sure_report_of_the_same_problem_raises_the_possible_p0(redis_conn, fake_pd, work):
    incident = _possible_p0(redis_conn, fake_pd, work)
    _submit(redis_conn, 2, SURE)
    assert work()
    raised = _only_incident(redis_conn)
    assert raised.id == incident.id and raised.mentions == ("x:1", "x:2")
    assert raised.urgency == "high"
    high, low = f"hark-{incident.id}", f"hark-{incident.id}-low"
    assert _events(fake_pd) == [
        ("trigger", low, "warning"),
        ("trigger", high, "critical"),
        ("resolve", low, None),
    ]
    assert _open_alerts(fake_pd) == [high]
    events = [e.event for e in raised.timeline]
    assert events[-3:] == ["raised", "page-sent", "page-sent"]

    _submit(redis_conn, 3, POSSIBLE + " again")  # a possible report of it now: just joins
    assert work()
    assert len(fake_pd.events) == 3 and _only_incident(redis_conn).urgency == "high"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("inc-nope/confirm", None, 404),
        ("inc-nope/downgrade", {"reason": "not a P0"}, 404),
        ("{id}/downgrade", {"reason": ""}, 400),
        ("{id}/downgrade", {"reason": " \n "}, 400),
        ("{id}/downgrade", {}, 400),
    ],
)
def test_refused_api_calls_change_nothing(redis_conn, fake_pd, work, api, path, body, status):
    incident = _possible_p0(redis_conn, fake_pd, work)
    before = IncidentStore(redis_conn).get(incident.id)
    answer = api.post(f"/api/incidents/{path.format(id=incident.id)}", json=body, headers=AUTH)
    assert answer.status_code == status
    assert set(answer.get_json()["error"]) == {"code", "message"}
    assert work()
    assert IncidentStore(redis_conn).get(incident.id) == before
    assert len(fake_pd.events) == 1
