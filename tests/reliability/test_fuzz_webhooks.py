"""Bad input for the GitHub and PagerDuty webhooks (hypothesis), against a real Redis.

Validly signed, any body gets past the door and is handled without a 5xx: the documented
GitHub deliveries with places deleted, retyped or replaced, any event name and delivery id,
PagerDuty v3 events for a real incident with fields retyped or missing, any JSON value and
bytes that are not JSON. An error is the one JSON shape of ``web.errors`` with a message
that says what is wrong, and a refused delivery leaves Redis exactly as it was (every key
compared with DUMP). A handled GitHub delivery writes only its marker and the mention it
queues; a PagerDuty event moves the incident, or (ignored, a duplicate) writes at most its
marker. Randomly signed, every delivery is refused with 401 and changes nothing.

``test_webhook_replay.py`` covers near-miss signatures, rotated secrets and replays.
"""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from rq.job import Job
from rq.serializers import JSONSerializer

from monitor.mention import Mention
from oncall.incidents import IncidentStore
from services.intake import SEEN_KEY, triage_job_id
from tests.reliability.fuzz_support import (
    DELIVERIES,
    NOW,
    Snapshot,
    assert_not_a_crash,
    assert_unchanged,
    build_app,
    changed_keys,
    dumps,
    error_of,
    fuzz,
    github_signature,
    header_text,
    json_paths,
    json_values,
    mostly,
    note_outcome,
    pagerduty_signature,
    seed_incident,
    snapshot,
)
from web.webhooks import DELIVERY_KEY, DELIVERY_TTL_S, PD_EVENT_KEY


@pytest.fixture
def client(redis_conn):
    return build_app(redis_conn).test_client()


# ---------------------------------------------------------------------- POST /webhooks/github

DOCUMENTED = {
    name: json.loads((DELIVERIES / f"{name}.json").read_text())
    for name in ("issues.opened", "issues.edited", "issues.reopened", "issue_comment.created")
}
# Where the handler looks, so that mutations land there more often than in the noise.
HOT_PATHS = [
    ("action",),
    ("issue",),
    ("comment",),
    ("issue", "id"),
    ("issue", "title"),
    ("issue", "body"),
    ("issue", "html_url"),
    ("issue", "created_at"),
    ("issue", "updated_at"),
    ("issue", "user"),
    ("issue", "user", "login"),
    ("comment", "id"),
    ("comment", "body"),
    ("comment", "html_url"),
    ("comment", "created_at"),
    ("comment", "user"),
]
type_confusers = st.sampled_from(
    [
        None,
        "",
        "x" * 201,
        0,
        -1,
        2**64,
        1.5,
        True,
        [],
        {},
        ["opened"],
        {"login": 5},
        "\ud800",
        "a\x00b",
        "2026-13-45T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "not a time",
    ]
)


@st.composite
def mutated_deliveries(draw) -> tuple[str, dict]:
    """A documented delivery with one to three places deleted, retyped or replaced."""
    name = draw(st.sampled_from(sorted(DOCUMENTED)))
    document = copy.deepcopy(DOCUMENTED[name])
    for _ in range(draw(st.integers(1, 3))):
        every = json_paths(document)
        hot = [path for path in HOT_PATHS if path in every]
        if not every:
            break
        anywhere = st.sampled_from(every)
        path = draw((st.sampled_from(hot) | anywhere) if hot else anywhere)
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        operation = draw(st.sampled_from(["delete", "replace", "confuse", "stringify"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(json_values)
        elif operation == "confuse":
            # a copy: sampled_from hands out the same [] and {} to every test case, and a
            # later step of this loop may edit inside what it placed here
            parent[path[-1]] = copy.deepcopy(draw(type_confusers))
        else:
            parent[path[-1]] = json.dumps(parent[path[-1]])
    return name.split(".")[0], document


events = st.sampled_from(["issues", "issue_comment", "ping", "push", "pull_request"]) | header_text
documented_bodies = mutated_deliveries().map(lambda delivery: dumps(delivery[1]))
github_bodies = mostly(
    documented_bodies,
    st.one_of(
        json_values.map(dumps),
        st.binary(max_size=200),
        st.sampled_from([5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n),
        st.just(b"payload=%7B%22action%22%3A%22opened%22%7D"),  # a form-encoded hook
    ),
)


def _deliver(client, body: bytes, event: str | None, delivery: str | None, signature: str | None):
    headers = {"Content-Type": "application/json"}
    for name, value in (
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("X-Hub-Signature-256", signature),
    ):
        if value is not None:
            headers[name] = value
    return client.post("/webhooks/github", data=body, headers=headers)


def assert_delivery_handled(connection, before: Snapshot, response, delivery: str) -> None:
    """A 202: the delivery is marked (with its TTL) and its mention, if any, is queued."""
    answer = response.get_json()
    assert sorted(answer) == ["delivery", "enqueued", "mention"] and answer["delivery"] == delivery
    marker = DELIVERY_KEY.format(id=delivery)
    assert 0 < connection.ttl(marker) <= DELIVERY_TTL_S
    allowed = {marker.encode()}
    if answer["mention"] is not None:
        seen = SEEN_KEY.format(id=answer["mention"]).encode()
        job_id = triage_job_id(answer["mention"])
        allowed |= {seen, f"rq:job:{job_id}".encode(), b"rq:queues"}
        allowed |= {b"rq:queue:triage", b"rq:queue:p0-triage"}  # a P0 takes the fast lane
        assert answer["enqueued"] == (seen not in before)
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
        mention = Mention.model_validate(job.args[0])
        assert mention.channel == "github" and mention.raw is not None
        if answer["enqueued"]:
            assert mention.id == answer["mention"]
    else:
        assert answer["enqueued"] is False
    changed = changed_keys(before, snapshot(connection))
    assert changed <= allowed, sorted(changed - allowed)


FRESH = "<a new delivery id>"
# The event a documented delivery is for, or any event with any body.
github_cases = mostly(
    mutated_deliveries().map(lambda delivery: (delivery[0], dumps(delivery[1]))),
    st.tuples(events, github_bodies),
)


@fuzz(250)
@given(
    case=github_cases,
    delivery=mostly(st.sampled_from([FRESH, FRESH, FRESH, "d-1", "d-2"]), st.none() | header_text),
)
def test_signed_github_deliveries_of_any_shape(client, redis_conn, case, delivery):
    """A valid signature gets the body past the door: from there any shape is handled."""
    event, body = case
    delivery = str(uuid.uuid4()) if delivery == FRESH else delivery
    before = snapshot(redis_conn)
    response = _deliver(client, body, event, delivery, github_signature(body))
    assert_not_a_crash(response)
    note_outcome(response)
    if response.status_code >= 400:
        code, message = error_of(response, 400, 422)
        assert_unchanged(before, redis_conn, f"a refused delivery ({message})")
        if code == "missing_header":
            assert not event or not delivery
        elif code == "invalid_json":
            assert "JSON" in message
        else:
            assert code == "invalid_payload" and message.startswith(f"{event}: ")
            assert event in ("issues", "issue_comment") or "'action'" in message, message
        return
    if response.status_code == 200:  # a ping, or a delivery handled before: nothing written
        assert_unchanged(before, redis_conn, "a ping or a redelivery")
        answer = response.get_json()
        assert answer.get("ok") is True or answer == {"duplicate": True, "delivery": delivery}
        assert event == "ping" or DELIVERY_KEY.format(id=delivery).encode() in before
        return
    assert response.status_code == 202
    assert_delivery_handled(redis_conn, before, response, delivery)


@fuzz(100)
@given(
    body=github_bodies,
    signature=st.one_of(
        header_text,
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256={h}"),
        st.sampled_from(["", "sha256=", "sha1=0", "SHA256=" + "0" * 64]),
    ),
    event=events,
)
def test_github_deliveries_with_random_signatures_are_refused(
    client, redis_conn, body, signature, event
):
    assume(signature != github_signature(body))
    before = snapshot(redis_conn)
    response = _deliver(client, body, event, str(uuid.uuid4()), signature)
    code, message = error_of(response, 401)
    assert code == "bad_signature" and "X-Hub-Signature-256" in message
    assert_unchanged(before, redis_conn, "a delivery with a bad signature")


# ------------------------------------------------------------------- POST /webhooks/pagerduty


@st.composite
def pagerduty_events(draw, dedup_key: str) -> dict:
    """A v3 webhook body for the incident, or a new or replayed event id; now and then
    with one field retyped or missing, in the event or in its data."""
    event = {
        "id": draw(st.sampled_from([FRESH, FRESH, FRESH, "E-1", "E-2"])),
        "event_type": draw(
            st.sampled_from(["incident.acknowledged", "incident.resolved", "incident.annotated"])
        ),
        "resource_type": "incident",
        "occurred_at": NOW.isoformat(),
        "agent": {"summary": "Ana On-Call", "type": "user_reference"},
        "data": {
            "id": "Q1",
            "type": "incident",
            "incident_key": draw(st.sampled_from([dedup_key, dedup_key, "hark-inc-nope", ""])),
        },
    }
    if event["id"] == FRESH:
        event["id"] = str(uuid.uuid4())
    how = draw(st.sampled_from(["as is", "as is", "as is", "retype", "delete"]))
    if how != "as is":
        holder = draw(st.sampled_from([event, event["data"]]))
        key = draw(st.sampled_from(sorted(holder)))
        if how == "delete":
            del holder[key]
        else:
            holder[key] = draw(json_values)
    return {"event": event}


@pytest.fixture
def seeded() -> list[str]:
    """The incidents a test has filed, newest last."""
    return []


@fuzz(150)
@given(data=st.data())
def test_signed_pagerduty_events_of_any_shape(client, redis_conn, seeded, shipped, data):
    # a new incident now and then: the examples acknowledge and resolve it along the way
    if data.draw(st.sampled_from([False] * 6 + [True]), label="new incident") or not seeded:
        seeded.append(seed_incident(redis_conn, shipped, len(seeded)).id)
    incident_id = seeded[-1]
    dedup_key = f"hark-{incident_id}"
    body = data.draw(
        mostly(
            pagerduty_events(dedup_key).map(dumps),
            st.one_of(
                json_values.map(dumps),
                st.binary(max_size=100),
                st.sampled_from([5_000, 200_000]).map(lambda n: b"[" * n + b"]" * n),
            ),
        ),
        label="body",
    )
    before = snapshot(redis_conn)
    status_before = IncidentStore(redis_conn).get(incident_id).status
    response = client.post(
        "/webhooks/pagerduty",
        data=body,
        headers={"X-PagerDuty-Signature": pagerduty_signature(body)},
    )
    assert_not_a_crash(response)
    note_outcome(response)
    event(f"incident was {status_before}")
    if response.status_code >= 400:
        code, message = error_of(response, 400, 409, 422)
        expected = {400: "invalid_json", 409: "conflict", 422: "invalid_payload"}
        assert code == expected[response.status_code]
        if code == "conflict":
            assert incident_id in message and status_before in message
        assert_unchanged(before, redis_conn, f"a refused PagerDuty event ({message})")
        return
    assert response.status_code == 200
    answer = response.get_json()
    status_after = IncidentStore(redis_conn).get(incident_id).status
    if "incident" in answer:
        assert answer == {"incident": incident_id, "status": status_after}
        event_id = json.loads(body)["event"].get("id")
        if event_id:  # handled: a replay of it is a duplicate
            assert redis_conn.ttl(PD_EVENT_KEY.format(id=event_id)) > 0
    else:
        assert status_after == status_before
        assert sorted(answer) in (["ignored"], ["duplicate"])
        changed = changed_keys(before, snapshot(redis_conn))  # at most the event's marker
        assert all(key.startswith(PD_EVENT_KEY.format(id="").encode()) for key in changed)


@fuzz(60)
@given(
    body=st.binary(max_size=100) | json_values.map(dumps),
    signature=st.one_of(
        header_text,
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"v1={h}"),
        st.sampled_from(["", "v1=", "v0=" + "0" * 64, ",", "v1=,v1="]),
    ),
)
def test_pagerduty_events_with_random_signatures_are_refused(client, redis_conn, body, signature):
    assume(pagerduty_signature(body) not in signature)
    before = snapshot(redis_conn)
    response = client.post(
        "/webhooks/pagerduty", data=body, headers={"X-PagerDuty-Signature": signature}
    )
    code, message = error_of(response, 401)
    assert code == "bad_signature" and "X-PagerDuty-Signature" in message
    assert_unchanged(before, redis_conn, "an event with a bad signature")
