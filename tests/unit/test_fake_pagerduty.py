"""The fake PagerDuty enforces the Events API v2 and ``GET /oncalls`` contract, driven
through the real pdpyras client (raw ``requests`` only to send what pdpyras would not)."""

from __future__ import annotations

import threading
import time

import pdpyras
import pytest
import requests

from tests.fakes.pagerduty_server import FakePagerDuty, oncall_entry

ROUTING_KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "u+rest-token-for-tests"


@pytest.fixture
def fake():
    server = FakePagerDuty(TOKEN).start()
    yield server
    server.stop()


def events_session(fake: FakePagerDuty, routing_key: str = ROUTING_KEY, **attrs):
    session = pdpyras.EventsAPISession(routing_key)
    session.url = fake.url
    session.timeout = 5
    for name, value in attrs.items():
        setattr(session, name, value)
    return session


def rest_session(fake: FakePagerDuty, token: str = TOKEN) -> pdpyras.APISession:
    session = pdpyras.APISession(token)
    session.url = fake.url
    session.max_network_attempts = 0
    return session


def valid_trigger(**changes) -> dict:
    event = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "hark-incident-1",
        "payload": {
            "summary": "P0: install script deletes /home",
            "source": "hark",
            "severity": "critical",
        },
    }
    event.update(changes)
    return event


def post(fake: FakePagerDuty, **kwargs) -> requests.Response:
    return requests.post(f"{fake.url}/v2/enqueue", timeout=5, **kwargs)


# --- accepted events -------------------------------------------------------------------


def test_valid_trigger_is_accepted_and_recorded(fake):
    session = events_session(fake)
    key = session.trigger(
        "P0: install script deletes /home",
        "hark",
        dedup_key="hark-incident-1",
        severity="critical",
        custom_details={"report": "https://github.com/acme/hark/issues/7"},
        links=[{"href": "https://hark.example/incidents/1", "text": "Hark incident"}],
    )
    assert key == "hark-incident-1"
    [event] = fake.events
    assert event["routing_key"] == ROUTING_KEY
    assert event["payload"] == {
        "summary": "P0: install script deletes /home",
        "source": "hark",
        "severity": "critical",
        "custom_details": {"report": "https://github.com/acme/hark/issues/7"},
    }
    assert event["links"] == [{"href": "https://hark.example/incidents/1", "text": "Hark incident"}]
    [request] = fake.requests
    assert (request.method, request.path, request.status) == ("POST", "/v2/enqueue", 202)
    assert request.headers["Content-Type"] == "application/json"
    assert b'"routing_key"' in request.body
    assert fake.triggers("hark-incident-1") == [event]


def test_trigger_without_dedup_key_gets_a_generated_one(fake):
    key = events_session(fake).trigger("disk full", "hark")
    assert len(key) == 32 and fake.events[0]["dedup_key"] == key
    assert [incident.dedup_key for incident in fake.open_incidents()] == [key]


def test_success_body_and_every_optional_field(fake):
    event = valid_trigger(
        client="Hark",
        client_url="https://hark.example",
        images=[
            {
                "src": "https://hark.example/chart.png",
                "href": "https://hark.example",
                "alt": "chart",
            }
        ],
    )
    event["payload"].update(
        {
            "component": "installer",
            "group": "cli",
            "class": "safety",
            "timestamp": "2015-07-17T08:42:58.315+0000",
        }
    )
    response = post(fake, json=event)
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "hark-incident-1",
    }


def test_limits_are_inclusive(fake):
    event = valid_trigger(dedup_key="k" * 255)
    event["payload"]["summary"] = "s" * 1024
    assert post(fake, json=event).status_code == 202
    almost_512_kb = valid_trigger(
        payload={**event["payload"], "custom_details": {"log": "x" * 500_000}}
    )
    assert post(fake, json=almost_512_kb).status_code == 202


# --- refused events ----------------------------------------------------------------------


def _without(mapping: dict, name: str) -> dict:
    return {key: value for key, value in mapping.items() if key != name}


PAYLOAD = valid_trigger()["payload"]
INVALID = {
    "routing key of 31 characters": (
        valid_trigger(routing_key="a" * 31),
        "'routing_key' must be 32 characters long",
    ),
    "routing key of 33 characters": (
        valid_trigger(routing_key="a" * 33),
        "'routing_key' must be 32 characters long",
    ),
    "routing key not alphanumeric": (
        valid_trigger(routing_key="-" * 32),
        "letters and digits only",
    ),
    "no routing key": (_without(valid_trigger(), "routing_key"), "'routing_key' is missing"),
    "unknown event_action": (valid_trigger(event_action="snooze"), "'event_action'"),
    "no event_action": (_without(valid_trigger(), "event_action"), "'event_action'"),
    "missing source": (valid_trigger(payload=_without(PAYLOAD, "source")), "'payload.source'"),
    "missing summary": (valid_trigger(payload=_without(PAYLOAD, "summary")), "'payload.summary'"),
    "summary of 1025 characters": (
        valid_trigger(payload={**PAYLOAD, "summary": "s" * 1025}),
        "'summary' is too long",
    ),
    "severity urgent": (valid_trigger(payload={**PAYLOAD, "severity": "urgent"}), "severity"),
    "missing severity": (valid_trigger(payload=_without(PAYLOAD, "severity")), "severity"),
    "trigger without payload": (_without(valid_trigger(), "payload"), "'payload'"),
    "acknowledge without dedup_key": (
        _without(valid_trigger(event_action="acknowledge"), "dedup_key"),
        "'dedup_key' is required",
    ),
    "resolve without dedup_key": (
        {"routing_key": ROUTING_KEY, "event_action": "resolve"},
        "'dedup_key' is required",
    ),
    "dedup_key of 256 characters": (valid_trigger(dedup_key="k" * 256), "'dedup_key' is too long"),
    "dedup_key not a string": (valid_trigger(dedup_key=42), "'dedup_key'"),
    "custom_details not an object": (
        valid_trigger(payload={**PAYLOAD, "custom_details": "text"}),
        "custom_details",
    ),
    "component not a string": (valid_trigger(payload={**PAYLOAD, "component": 3}), "component"),
    "timestamp not ISO 8601": (
        valid_trigger(payload={**PAYLOAD, "timestamp": "yesterday"}),
        "timestamp",
    ),
    "link without href": (valid_trigger(links=[{"text": "no href"}]), "'links[0].href'"),
    "links not a list": (valid_trigger(links={"href": "https://x"}), "'links'"),
    "image without src": (valid_trigger(images=[{"alt": "no src"}]), "'images[0].src'"),
}


@pytest.mark.parametrize(("event", "error"), INVALID.values(), ids=INVALID.keys())
def test_invalid_event_is_refused_with_the_documented_400(fake, event, error):
    response = post(fake, json=event)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event" and isinstance(body["message"], str)
    assert all(isinstance(item, str) for item in body["errors"])
    assert any(error in item for item in body["errors"]), body["errors"]
    assert fake.events == [] and fake.incident_count() == 0
    assert [request.status for request in fake.requests] == [400]


def test_every_violation_is_listed(fake):
    event = valid_trigger(
        routing_key="short", payload={"summary": "s" * 2000, "severity": "urgent"}
    )
    assert len(post(fake, json=event).json()["errors"]) == 4  # length, source, summary, severity


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b'["a list"]', b""])
def test_a_body_that_is_not_a_json_object_is_unrecognized(fake, body):
    response = post(fake, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "unrecognized event" and isinstance(answer["message"], str)
    assert answer["errors"] and all(isinstance(error, str) for error in answer["errors"])
    assert fake.requests[0].body == body and fake.events == []


def test_an_event_over_512_kb_is_refused(fake):
    event = valid_trigger(payload={**PAYLOAD, "custom_details": {"log": "x" * (512 * 1024)}})
    response = post(fake, json=event)
    assert response.status_code == 400
    assert "too large" in response.json()["errors"][0] and fake.events == []


def test_pdpyras_raises_on_a_refused_event(fake):
    with pytest.raises(pdpyras.PDHTTPError) as caught:
        events_session(fake).trigger("summary", "hark", severity="urgent")
    assert caught.value.response.status_code == 400
    assert fake.events == []


def test_unknown_routing_key_is_refused_when_keys_are_configured():
    server = FakePagerDuty(TOKEN, routing_keys={ROUTING_KEY}).start()
    try:
        with pytest.raises(pdpyras.PDHTTPError) as caught:
            events_session(server, routing_key="f" * 32).trigger("summary", "hark")
        assert caught.value.response.json()["errors"] == ["Invalid routing key"]
        assert events_session(server).trigger("summary", "hark", dedup_key="k") == "k"
    finally:
        server.stop()


# --- incidents ---------------------------------------------------------------------------


def test_triggers_with_the_same_dedup_key_make_one_incident(fake):
    session = events_session(fake)
    session.trigger("first", "hark", dedup_key="k1")
    session.trigger("again", "hark", dedup_key="k1")
    session.trigger("other", "hark", dedup_key="k2")
    assert fake.incident_count() == 2
    assert len(fake.triggers("k1")) == 2 and len(fake.triggers()) == 3
    assert {incident.dedup_key: incident.status for incident in fake.open_incidents()} == {
        "k1": "triggered",
        "k2": "triggered",
    }


def test_life_cycle_and_a_new_incident_after_resolve(fake):
    session = events_session(fake)
    session.trigger("first", "hark", dedup_key="k1")
    assert session.acknowledge("k1") == "k1"
    session.trigger("while acknowledged", "hark", dedup_key="k1")  # joins, stays acknowledged
    assert [(i.dedup_key, i.status) for i in fake.open_incidents()] == [("k1", "acknowledged")]
    assert session.resolve("k1") == "k1"
    assert fake.open_incidents() == [] and fake.incidents[0].status == "resolved"
    session.trigger("back again", "hark", dedup_key="k1")
    assert fake.incident_count() == 2
    assert [i.number for i in fake.open_incidents()] == [2]
    assert [e["event_action"] for e in fake.incidents[0].events] == [
        "trigger",
        "acknowledge",
        "trigger",
        "resolve",
    ]


def test_acknowledge_or_resolve_of_nothing_open_is_accepted_without_effect(fake):
    session = events_session(fake)
    assert session.acknowledge("never-triggered") == "never-triggered"
    assert session.resolve("never-triggered") == "never-triggered"
    assert len(fake.events) == 2 and fake.incident_count() == 0


def test_recording_is_thread_safe(fake):
    def page() -> None:
        session = events_session(fake)
        for n in range(5):
            session.trigger(f"storm {n}", "hark", dedup_key="same")

    threads = [threading.Thread(target=page) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.events) == 40 and len(fake.requests) == 40
    assert fake.incident_count() == 1 and len(fake.incidents[0].events) == 40


# --- scripted faults ---------------------------------------------------------------------


def test_fail_next_500_three_times_then_success(fake):
    fake.fail_next(500, times=3)
    session = events_session(fake, retry={})
    for _ in range(3):
        with pytest.raises(pdpyras.PDHTTPError) as caught:
            session.trigger("summary", "hark", dedup_key="k")
        assert caught.value.response.status_code == 500
        body = caught.value.response.json()
        assert isinstance(body["status"], str) and isinstance(body["message"], str)
    assert session.trigger("summary", "hark", dedup_key="k") == "k"
    assert [request.status for request in fake.requests] == [500, 500, 500, 202]
    assert len(fake.events) == 1


@pytest.mark.parametrize("status", [502, 503])
def test_pdpyras_own_retries_ride_through_gateway_errors(fake, status):
    fake.fail_next(status, times=2)
    session = events_session(fake, sleep_timer=0.001, sleep_timer_base=1)
    assert session.trigger("summary", "hark", dedup_key="k") == "k"
    assert [request.status for request in fake.requests] == [status, status, 202]


def test_rate_limit_storm(fake):
    fake.rate_limit_storm(5)
    response = post(fake, json=valid_trigger())
    assert response.status_code == 429
    assert response.json()["status"] == "throttled"
    # pdpyras retries a 429 without limit: it gets through once the storm is over.
    session = events_session(fake, sleep_timer=0.001, sleep_timer_base=1)
    assert session.trigger("summary", "hark", dedup_key="k") == "k"
    assert [request.status for request in fake.requests] == [429] * 5 + [202]
    assert len(fake.events) == 1


def test_events_per_minute_throttle():
    server = FakePagerDuty(TOKEN, events_per_minute=2).start()
    try:
        assert [post(server, json=valid_trigger()).status_code for _ in range(3)] == [202, 202, 429]
        assert len(server.events) == 2
    finally:
        server.stop()


def test_delay_slows_every_response(fake):
    fake.delay_s = 0.3
    started = time.monotonic()
    events_session(fake).trigger("summary", "hark", dedup_key="k")
    assert time.monotonic() - started >= 0.3


def test_a_slow_fault_times_the_client_out(fake):
    fake.fail_next(503, delay_s=1.0)
    session = events_session(fake, timeout=0.2, max_network_attempts=0)
    with pytest.raises(pdpyras.PDClientError) as caught:
        session.trigger("summary", "hark", dedup_key="k")
    assert not isinstance(caught.value, pdpyras.PDHTTPError)
    assert session.trigger("summary", "hark", dedup_key="k") == "k"  # the fault is used up


# --- REST GET /oncalls -------------------------------------------------------------------


ONCALLS = [
    oncall_entry(
        "PUSER1", "Ada", "PSCHED1", start="2024-05-01T00:00:00Z", end="2024-05-08T00:00:00Z"
    ),
    oncall_entry(
        "PUSER2", "Bo", "PSCHED1", start="2024-05-08T00:00:00Z", end="2024-05-15T00:00:00Z"
    ),
    oncall_entry(
        "PUSER3", "Cy", "PSCHED2", start="2024-05-01T00:00:00Z", end="2024-05-15T00:00:00Z"
    ),
    oncall_entry(
        "PUSER4", "Di", "PSCHED2", level=2, start="2024-05-01T00:00:00Z", end="2024-06-01T00:00:00Z"
    ),
    oncall_entry("PUSER5", "Ed", None, level=3),  # always on call, no schedule
]
MAY = {"since": "2024-05-01T00:00:00+00:00", "until": "2024-05-31T00:00:00+00:00"}


def user_ids(entries: list[dict]) -> list[str]:
    return [entry["user"]["id"] for entry in entries]


def test_oncalls_through_iter_all_with_pagination(fake):
    fake.set_oncalls(ONCALLS)
    session = rest_session(fake)
    entries = list(session.iter_all("oncalls", params=MAY, page_size=2))
    assert user_ids(entries) == ["PUSER1", "PUSER2", "PUSER3", "PUSER4", "PUSER5"]
    assert entries[0] == ONCALLS[0]
    offsets = [request.path.split("offset=")[1].split("&")[0] for request in fake.requests]
    assert offsets == ["0", "2", "4"]
    request = fake.requests[0]
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["Accept"] == "application/vnd.pagerduty+json;version=2"


def test_oncalls_filters_by_schedule_and_time(fake):
    fake.set_oncalls(ONCALLS)
    session = rest_session(fake)
    params = {**MAY, "schedule_ids[]": ["PSCHED1"]}
    assert user_ids(session.iter_all("oncalls", params=params)) == ["PUSER1", "PUSER2"]
    first_week = {"since": "2024-05-02T00:00:00Z", "until": "2024-05-03T00:00:00Z"}
    assert user_ids(session.iter_all("oncalls", params=first_week)) == [
        "PUSER1",
        "PUSER3",
        "PUSER4",
        "PUSER5",
    ]
    june = {"since": "2024-06-10T00:00:00Z", "until": "2024-06-11T00:00:00Z"}
    assert user_ids(session.iter_all("oncalls", params=june)) == ["PUSER5"]


def test_oncalls_page_shape(fake):
    fake.set_oncalls(ONCALLS)
    auth = {"Authorization": f"Token token={TOKEN}"}
    url = f"{fake.url}/oncalls"
    body = requests.get(url, params={**MAY, "limit": 3}, headers=auth, timeout=5).json()
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (3, 0, True, None)
    assert len(body["oncalls"]) == 3
    body = requests.get(
        url, params={**MAY, "offset": 3, "total": "true"}, headers=auth, timeout=5
    ).json()
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (25, 3, False, 5)
    body = requests.get(url, params={**MAY, "limit": 500}, headers=auth, timeout=5).json()
    assert body["limit"] == 100
    bad = requests.get(url, params={"since": "last week"}, headers=auth, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 2001
    backwards = requests.get(
        url, params={"since": MAY["until"], "until": MAY["since"]}, headers=auth, timeout=5
    )
    assert backwards.status_code == 400


def test_oncalls_needs_the_token(fake):
    fake.set_oncalls(ONCALLS)
    with pytest.raises(pdpyras.PDHTTPError) as caught:
        list(rest_session(fake, token="wrong-token").iter_all("oncalls", params=MAY))
    assert caught.value.response.status_code == 401
    assert caught.value.response.json() == {
        "error": {"message": "Authentication required", "code": 2006}
    }
    anonymous = requests.get(f"{fake.url}/oncalls", timeout=5)
    assert anonymous.status_code == 401 and "error" in anonymous.json()


def test_oncalls_faults_use_the_rest_error_shape(fake):
    fake.fail_next(429)
    response = requests.get(
        f"{fake.url}/oncalls", headers={"Authorization": f"Token token={TOKEN}"}, timeout=5
    )
    assert response.status_code == 429
    assert response.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}


def test_set_oncalls_rejects_entries_outside_the_documented_shape(fake):
    with pytest.raises(ValueError, match="escalation_level"):
        fake.set_oncalls([{k: v for k, v in ONCALLS[0].items() if k != "escalation_level"}])
    with pytest.raises(ValueError):
        fake.set_oncalls([{**ONCALLS[0], "start": "monday"}])


def test_unknown_path_is_404(fake):
    assert requests.get(f"{fake.url}/incidents", timeout=5).status_code == 404
    assert fake.requests[0].status == 404
