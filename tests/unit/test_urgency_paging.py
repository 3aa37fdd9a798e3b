"""Two-tier P0 on the on-call side: a possible P0 (low urgency) pages at the rulebook's low
severity on its own PagerDuty key; confirming it, or a sure report of the same problem,
pages at high urgency on the incident's key and resolves the low alert; downgrading it
resolves it with a reason. The triage job, the service functions, the API and the page,
over fakeredis, with the page jobs run as a worker runs them and a pager that records what
it would send to PagerDuty."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
from rq import Queue
from rq.serializers import JSONSerializer

import web
from hark.rulebook_files import read_rulebook
from monitor.mention import make_mention
from oncall.incidents import RECORD, IncidentError, IncidentStore
from oncall.pagerduty import PageEvent
from oncall.records import Incident
from rules import Engine, parse_rulebook
from services.context import Services
from services.incidents import (
    InvalidReason,
    UnknownIncident,
    apply_pagerduty_event,
    confirm_incident,
    downgrade_incident,
)
from services.jobs import PAGING_QUEUE
from services.paging import page_incident
from services.triage import triage_mention
from web.users import load_users

RULEBOOK = Path(__file__).resolve().parents[1] / "data" / "rulebooks" / "urgency.yaml"
NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)
SURE = "caro crashes on launch, every single time"
POSSIBLE = "caro crashes on launch. it would be great to have a dark mode"


class RecordingPager:
    """Sends nothing; keeps every event a worker would have sent to PagerDuty."""

    dry_run = False

    def __init__(self) -> None:
        self.events: list[PageEvent] = []

    def send(self, event: PageEvent) -> str:
        self.events.append(event)
        return event.dedup_key


def _engine(text: str | None = None) -> Engine:
    if text is None:
        return read_rulebook(RULEBOOK)
    return Engine(parse_rulebook(text, str(RULEBOOK)))


@pytest.fixture
def pager() -> RecordingPager:
    return RecordingPager()


@pytest.fixture
def services(pager) -> Services:
    engine = _engine()
    return Services(
        connection=fakeredis.FakeRedis(), pager=pager, clock=lambda: NOW, engine=lambda: engine
    )


def _triage(services: Services, number: int, text: str) -> dict:
    mention = make_mention(
        channel="x", native_id=str(number), text=text, now=NOW, url=f"https://x.com/u/{number}"
    )
    return triage_mention(services, mention.model_dump(mode="json"))


def _paging(services: Services) -> Queue:
    return Queue(PAGING_QUEUE, connection=services.connection, serializer=JSONSerializer)


def _run_pages(services: Services) -> list[str]:
    """Run the queued page jobs in order, as a worker would; their actions."""
    queue, actions = _paging(services), []
    for job in queue.jobs:
        page_incident(services, *job.args)
        actions.append(job.args[1])
        job.delete()
    return actions


def _incident(services: Services, incident_id: str) -> Incident:
    found = IncidentStore(services.connection).get(incident_id)
    assert found is not None
    return found


def _possible_p0(services: Services, pager: RecordingPager) -> Incident:
    filed = _triage(services, 1, POSSIBLE)["incident"]
    assert filed["outcome"] == "opened"
    assert _run_pages(services) == ["trigger"]
    pager.events.clear()
    return _incident(services, filed["id"])


# ------------------------------------------------------------------ what is paged, and how


def test_a_possible_p0_pages_at_the_low_severity_on_its_own_key(services, pager):
    filed = _triage(services, 1, POSSIBLE)
    assert filed["priority"] == "P0"
    incident = _incident(services, filed["incident"]["id"])
    assert (incident.urgency, incident.dedup_key) == ("low", f"hark-{incident.id}-low")
    assert _run_pages(services) == ["trigger"]
    (event,) = pager.events
    assert (event.action, event.severity) == ("trigger", "warning")
    assert event.dedup_key == f"hark-{incident.id}-low"
    assert event.summary.startswith("[Caro possible P0] caro crashes on launch")
    assert event.custom_details["urgency"] == "low"
    (sent,) = _incident(services, incident.id).pages
    assert (sent.severity, sent.dedup_key) == ("warning", f"hark-{incident.id}-low")


def test_a_sure_p0_pages_at_high_severity_on_the_incident_key(services, pager):
    incident = _incident(services, _triage(services, 1, SURE)["incident"]["id"])
    assert incident.urgency == "high"
    _run_pages(services)
    (event,) = pager.events
    assert (event.severity, event.dedup_key) == ("critical", f"hark-{incident.id}")
    assert event.summary.startswith("[Caro P0] caro crashes on launch")


def test_the_severities_are_the_rulebooks(pager):
    text = RULEBOOK.read_text(encoding="utf-8")
    text = text.replace("low_severity: warning", "low_severity: info")
    text = text.replace("page_severity: critical, clock", "page_severity: error, clock")
    engine = _engine(text)
    services = Services(
        connection=fakeredis.FakeRedis(), pager=pager, clock=lambda: NOW, engine=lambda: engine
    )
    incident_id = _triage(services, 1, POSSIBLE)["incident"]["id"]
    _run_pages(services)
    confirm_incident(services, incident_id, "Rosa")
    _run_pages(services)
    triggers = [e for e in pager.events if e.action == "trigger"]
    assert [(e.severity, e.summary.split("]")[0]) for e in triggers] == [
        ("info", "[Caro possible P0"),
        ("error", "[Caro P0"),
    ]


def test_an_incident_stored_before_urgency_loads_and_pages_as_high(services, pager):
    incident = _incident(services, _triage(services, 1, SURE)["incident"]["id"])
    stored = json.loads(services.connection.get(RECORD.format(id=incident.id)))
    del stored["urgency"]
    services.connection.set(RECORD.format(id=incident.id), json.dumps(stored))
    old = _incident(services, incident.id)
    assert old.urgency == "high" and old.public()["urgency"] == "high"
    _run_pages(services)
    assert [(e.severity, e.dedup_key) for e in pager.events] == [
        ("critical", f"hark-{incident.id}")
    ]


# ------------------------------------------------------------------ confirm and downgrade


def test_confirming_pages_a_new_high_alert_and_resolves_the_low_one(services, pager):
    incident = _possible_p0(services, pager)
    confirmed = confirm_incident(services, incident.id, "Rosa")
    assert (confirmed.urgency, confirmed.dedup_key) == ("high", f"hark-{incident.id}")
    assert confirmed.status == "triggered"
    assert confirmed.timeline[-1].event == "confirmed"
    assert "by Rosa" in confirmed.timeline[-1].detail
    assert _run_pages(services) == ["trigger", "resolve-low"]
    trigger, resolve = pager.events
    assert (trigger.action, trigger.severity) == ("trigger", "critical")
    assert trigger.dedup_key == f"hark-{incident.id}"
    assert trigger.summary.startswith("[Caro P0]")
    assert (resolve.action, resolve.dedup_key) == ("resolve", f"hark-{incident.id}-low")
    pages = _incident(services, incident.id).pages
    assert [(p.action, p.dedup_key) for p in pages[-2:]] == [
        ("trigger", f"hark-{incident.id}"),
        ("resolve-low", f"hark-{incident.id}-low"),
    ]


def test_confirming_a_sure_p0_changes_and_pages_nothing(services, pager):
    incident = _incident(services, _triage(services, 1, SURE)["incident"]["id"])
    _run_pages(services)
    before = _incident(services, incident.id)
    assert confirm_incident(services, incident.id, "Rosa") == before
    assert _incident(services, incident.id) == before
    assert _paging(services).count == 0


def test_confirming_twice_pages_once(services, pager):
    incident = _possible_p0(services, pager)
    confirm_incident(services, incident.id, "Rosa")
    again = confirm_incident(services, incident.id, "Ben")
    assert [e.event for e in again.timeline].count("confirmed") == 1
    assert _run_pages(services) == ["trigger", "resolve-low"]


def test_a_resolved_or_unknown_incident_cannot_be_confirmed(services, pager):
    incident = _possible_p0(services, pager)
    downgrade_incident(services, incident.id, "Rosa", "a joke")
    _run_pages(services)
    with pytest.raises(IncidentError, match="resolved"):
        confirm_incident(services, incident.id, "Ben")
    with pytest.raises(UnknownIncident):
        confirm_incident(services, "inc-nope", "Ben")
    assert _incident(services, incident.id).urgency == "low"
    assert _paging(services).count == 0


def test_downgrading_resolves_with_the_reason_and_tells_pagerduty(services, pager):
    incident = _possible_p0(services, pager)
    downgraded = downgrade_incident(services, incident.id, "Rosa", "  a joke tweet,\n not a bug ")
    assert downgraded.status == "resolved"
    last = downgraded.timeline[-1]
    assert (last.event, last.detail) == ("downgraded", "by Rosa: a joke tweet, not a bug")
    assert _run_pages(services) == ["resolve"]
    (resolve,) = pager.events
    assert (resolve.action, resolve.dedup_key) == ("resolve", f"hark-{incident.id}-low")


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "why " * 251])
def test_a_downgrade_without_a_reason_is_refused_and_changes_nothing(services, pager, reason):
    incident = _possible_p0(services, pager)
    with pytest.raises(InvalidReason, match="reason") as refused:
        downgrade_incident(services, incident.id, "Rosa", reason)
    assert isinstance(refused.value, ValueError)
    assert _incident(services, incident.id) == incident
    assert _paging(services).count == 0


# ------------------------------------------------------------------ reports of one problem


def test_a_sure_report_joining_a_possible_p0_raises_it(services, pager):
    incident = _possible_p0(services, pager)
    filed = _triage(services, 2, SURE)["incident"]
    assert filed == {"id": incident.id, "outcome": "raised"}
    raised = _incident(services, incident.id)
    assert (raised.urgency, raised.dedup_key) == ("high", f"hark-{incident.id}")
    assert raised.mentions == ("x:1", "x:2")
    assert raised.timeline[-1].event == "raised"
    assert _run_pages(services) == ["trigger", "resolve-low"]
    trigger, resolve = pager.events
    assert (trigger.action, trigger.severity) == ("trigger", "critical")
    assert trigger.dedup_key == f"hark-{incident.id}"
    assert (resolve.action, resolve.dedup_key) == ("resolve", f"hark-{incident.id}-low")
    notes = [(e.event, e.detail) for e in _incident(services, incident.id).timeline[-3:]]
    assert notes[0][0] == "raised" and f"hark-{incident.id}" in notes[0][1]
    assert notes[1:] == [("page-sent", "trigger sent"), ("page-sent", "resolve-low sent")]


def test_a_possible_report_joining_a_sure_p0_leaves_it_high_and_pages_nothing(services, pager):
    incident_id = _triage(services, 1, SURE)["incident"]["id"]
    _run_pages(services)
    filed = _triage(services, 2, POSSIBLE)["incident"]
    assert filed == {"id": incident_id, "outcome": "joined"}
    assert _incident(services, incident_id).urgency == "high"
    assert _run_pages(services) == []


def test_a_rerun_of_the_triage_job_raises_nothing_twice(services, pager):
    incident = _possible_p0(services, pager)
    mention = make_mention(channel="x", native_id="2", text=SURE, now=NOW)
    triage_mention(services, mention.model_dump(mode="json"))
    again = triage_mention(services, mention.model_dump(mode="json"))
    assert again["incident"] == {"id": incident.id, "outcome": "known"}
    assert _run_pages(services) == ["trigger", "resolve-low"]


def test_a_downgraded_incident_reopens_at_the_urgency_of_the_new_report(services, pager):
    incident = _possible_p0(services, pager)
    downgrade_incident(services, incident.id, "Rosa", "a joke")
    _run_pages(services)
    pager.events.clear()
    filed = _triage(services, 2, SURE)["incident"]
    assert filed == {"id": incident.id, "outcome": "reopened"}
    reopened = _incident(services, incident.id)
    assert (reopened.status, reopened.urgency) == ("triggered", "high")
    _run_pages(services)
    assert [(e.severity, e.dedup_key) for e in pager.events] == [
        ("critical", f"hark-{incident.id}")
    ]


def test_pagerduty_resolving_the_replaced_low_alert_leaves_the_incident_open(services, pager):
    incident = _possible_p0(services, pager)
    acked = apply_pagerduty_event(services, f"hark-{incident.id}-low", "acknowledge", "Ana")
    assert acked is not None and acked.status == "acknowledged"
    confirm_incident(services, incident.id, "Rosa")
    with pytest.raises(IncidentError, match="replaced"):
        apply_pagerduty_event(services, f"hark-{incident.id}-low", "resolve", "Ana")
    assert _incident(services, incident.id).status == "acknowledged"
    resolved = apply_pagerduty_event(services, f"hark-{incident.id}", "resolve", "Ana")
    assert resolved is not None and resolved.status == "resolved"


# ------------------------------------------------------------------ the JSON API

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def api(services):
    return web.create_app(redis=services.connection, services=services, api_token="t")


def test_api_confirm_and_downgrade(api, services, pager):
    client = api.test_client()
    incident = _possible_p0(services, pager)
    listed = client.get("/api/incidents", headers=AUTH).get_json()["items"]
    assert [item["urgency"] for item in listed] == ["low"]
    confirmed = client.post(
        f"/api/incidents/{incident.id}/confirm", json={"by": "Rosa"}, headers=AUTH
    )
    assert confirmed.status_code == 200
    body = confirmed.get_json()
    assert (body["urgency"], body["dedup_key"]) == ("high", f"hark-{incident.id}")
    assert "by Rosa (API)" in body["timeline"][-1]["detail"]
    assert client.post(f"/api/incidents/{incident.id}/confirm", headers=AUTH).status_code == 200
    downgraded = client.post(
        f"/api/incidents/{incident.id}/downgrade", json={"reason": "a duplicate"}, headers=AUTH
    )
    assert downgraded.status_code == 200 and downgraded.get_json()["status"] == "resolved"
    assert _run_pages(services) == ["trigger", "resolve-low", "resolve"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("inc-nope/confirm", None, 404),
        ("inc-nope/downgrade", {"reason": "not a P0"}, 404),
        ("{id}/downgrade", {"reason": ""}, 400),
        ("{id}/downgrade", {"reason": "  "}, 400),
        ("{id}/downgrade", {}, 400),
        ("{id}/downgrade", {"reason": 42}, 400),
        ("{id}/downgrade", None, 400),
        ("{id}/frobnicate", None, 404),
    ],
)
def test_api_refusals_change_nothing(api, services, pager, path, body, status):
    client = api.test_client()
    incident = _possible_p0(services, pager)
    answer = client.post(f"/api/incidents/{path.format(id=incident.id)}", json=body, headers=AUTH)
    assert answer.status_code == status
    error = answer.get_json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    assert _incident(services, incident.id) == incident
    assert _paging(services).count == 0


def test_api_needs_the_token(api, services, pager):
    client = api.test_client()
    incident = _possible_p0(services, pager)
    for action in ("confirm", "downgrade"):
        answer = client.post(f"/api/incidents/{incident.id}/{action}", json={"reason": "x"})
        assert answer.status_code == 401
    assert _incident(services, incident.id) == incident


# ------------------------------------------------------------------ the page


@pytest.fixture
def page_app(services, write_users):
    users = write_users({"vera": ("viewer", "vera-pw"), "rosa": ("responder", "rosa-pw")})
    application = web.create_app(
        redis=services.connection,
        services=services,
        api_token="t",
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users),
        insecure_cookies=True,
    )
    return application


@pytest.fixture
def sign_in(page_app, log_in, csrf_token_of):
    def client_of(name: str):
        client = page_app.test_client()
        assert log_in(client, name, f"{name}-pw").status_code == 303
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_of(client.get("/").text)
        return client

    return client_of


def test_the_page_asks_a_responder_to_confirm_or_downgrade(sign_in, services, pager):
    incident = _possible_p0(services, pager)
    page = sign_in("rosa").get(f"/incidents/{incident.id}").text
    assert "Possible P0 — confirm or downgrade" in page
    assert f'action="/incidents/{incident.id}/confirm"' in page
    downgrade_form = page[page.index(f'action="/incidents/{incident.id}/downgrade"') :]
    downgrade_form = downgrade_form[: downgrade_form.index("</form>")]
    assert 'name="csrf_token"' in downgrade_form
    assert 'name="reason"' in downgrade_form and "required" in downgrade_form
    viewer_page = sign_in("vera").get(f"/incidents/{incident.id}").text
    assert "Possible P0 — confirm or downgrade" in viewer_page
    assert "/confirm" not in viewer_page and "/downgrade" not in viewer_page


def test_the_log_and_the_overview_show_possible_p0s(sign_in, services, pager):
    possible = _possible_p0(services, pager)
    later = replace(services, clock=lambda: NOW + timedelta(hours=3))  # past the window
    sure = _incident(services, _triage(later, 2, SURE)["incident"]["id"])
    assert sure.id != possible.id and sure.urgency == "high"
    client = sign_in("vera")
    log, overview = client.get("/incidents").text, client.get("/partials/overview").text
    for page, item in ((log, "tr"), (overview, "li")):
        assert page.count("possible P0") == 1
        assert "possible P0" in _item_of(page, possible.id, item)
        assert "possible P0" not in _item_of(page, sure.id, item)


def _item_of(page: str, incident_id: str, tag: str) -> str:
    """The table row or list item of a page that links to the incident."""
    link = page.index(f"/incidents/{incident_id}")
    return page[page.rindex(f"<{tag}", 0, link) : page.index(f"</{tag}>", link)]


def test_a_responder_confirms_on_the_page(sign_in, services, pager):
    incident = _possible_p0(services, pager)
    client = sign_in("rosa")
    answer = client.post(f"/incidents/{incident.id}/confirm", follow_redirects=True)
    assert answer.status_code == 200 and "at high urgency" in answer.text
    confirmed = _incident(services, incident.id)
    assert confirmed.urgency == "high" and "by rosa" in confirmed.timeline[-1].detail
    assert "Possible P0 — confirm or downgrade" not in answer.text
    assert _run_pages(services) == ["trigger", "resolve-low"]


def test_a_responder_downgrades_on_the_page_only_with_a_reason(sign_in, services, pager):
    incident = _possible_p0(services, pager)
    client = sign_in("rosa")
    refused = client.post(
        f"/incidents/{incident.id}/downgrade", data={"reason": " "}, follow_redirects=True
    )
    assert "Could not downgrade" in refused.text and "needs a reason" in refused.text
    assert _incident(services, incident.id) == incident
    done = client.post(
        f"/incidents/{incident.id}/downgrade", data={"reason": "a joke"}, follow_redirects=True
    )
    assert "not a P0" in done.text
    downgraded = _incident(services, incident.id)
    assert downgraded.status == "resolved"
    assert downgraded.timeline[-1].detail == "by rosa: a joke"


def test_page_actions_need_a_responder_and_the_csrf_token(sign_in, page_app, services, pager):
    incident = _possible_p0(services, pager)
    viewer = sign_in("vera")
    assert viewer.post(f"/incidents/{incident.id}/confirm").status_code == 403
    assert viewer.post(f"/incidents/{incident.id}/downgrade", data={"reason": "x"}).status_code == (
        403
    )
    no_token = sign_in("rosa")
    del no_token.environ_base["HTTP_X_CSRF_TOKEN"]
    assert no_token.post(f"/incidents/{incident.id}/confirm").status_code == 400
    assert _incident(services, incident.id) == incident
