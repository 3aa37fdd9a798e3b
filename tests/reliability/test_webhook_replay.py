"""Webhooks that are forged, stale or replayed.

- Forged: a signature that is not the HMAC of this body with this secret (random, one digit
  changed, cut short, the wrong scheme or header) is refused with 401 and Redis is left
  exactly as it was.
- Stale: a signature that was once good (made with a secret since rotated, or captured from
  another delivery and sent with a different body) is refused the same way.
- Replayed: a good delivery sent again, with the same GitHub delivery id, the same
  PagerDuty event id, even under a fresh delivery id (neither provider signs a timestamp
  or the id), in a row or at once from several threads, takes effect once: one mention,
  one triage, one page; one transition of the incident.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from rq import Queue
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from desk.mentions import MentionStore
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from oncall.incidents import IncidentStore
from oncall.pagerduty import DryRunPager
from oncall.records import Incident
from services.intake import triage_job_id
from services.jobs import P0_TRIAGE_QUEUE, PAGING_QUEUE, TRIAGE_QUEUE
from tests.fakes.pagerduty_webhooks import incident_event
from tests.reliability.fuzz_support import (
    DELIVERIES,
    GH_SECRET,
    PD_SECRET,
    assert_unchanged,
    build_app,
    changed_keys,
    error_of,
    fuzz,
    github_signature,
    pagerduty_signature,
    seed_incident,
    snapshot,
)
from web.webhooks import DELIVERY_KEY, PD_EVENT_KEY

OLD_GH_SECRET = "the-github-secret-before-rotation"
OLD_PD_SECRET = "the-pagerduty-secret-before-rotation"
BODIES = {
    name: (DELIVERIES / f"{name}.json").read_bytes()
    for name in ("issues.opened", "issues.edited", "issue_comment.created")
}
EVENT_OF = {name: name.split(".")[0] for name in BODIES}


@pytest.fixture
def client(redis_conn):
    return build_app(redis_conn).test_client()


def deliver(client, name_or_body, *, signature=None, delivery=None, event=None, headers=None):
    body = BODIES[name_or_body] if isinstance(name_or_body, str) else name_or_body
    sent = {
        "X-GitHub-Event": event or EVENT_OF.get(name_or_body, "issues"),
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": github_signature(body) if signature is None else signature,
        "Content-Type": "application/json",
        **(headers or {}),
    }
    return client.post("/webhooks/github", data=body, headers=sent)


def refused(response, header: str) -> None:
    code, message = error_of(response, 401)
    assert code == "bad_signature" and header in message


class CountingPager(DryRunPager):
    """The dry-run pager, counting what it would have sent."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, event) -> str:
        self.sent.append(event)
        return super().send(event)


TRIAGE_LANES = (P0_TRIAGE_QUEUE, TRIAGE_QUEUE)  # a P0 takes the fast lane


def waiting_triage(connection) -> list[str]:
    """The ids of triage jobs waiting, in either lane."""
    return [
        job_id
        for name in TRIAGE_LANES
        for job_id in Queue(name, connection=connection, serializer=JSONSerializer).job_ids
    ]


def work(connection) -> CountingPager:
    """Run the queued jobs (if any); none may fail."""
    pager = CountingPager()
    run_worker(worker_services(connection, shipped_rulebook_path(), pager=pager), burst=True)
    for name in (*TRIAGE_LANES, PAGING_QUEUE):
        failed = FailedJobRegistry(name, connection=connection, serializer=JSONSerializer)
        assert failed.count == 0, f"a {name} job failed"
    return pager


# ------------------------------------------------------------------------- GitHub: forged


@st.composite
def near_misses(draw, scheme: str, digest: str, how: str) -> str:
    """``scheme=digest`` with one digit changed ("flip"), cut short ("cut"), or with a
    random digest of the same length ("random")."""
    if how == "flip":
        at = draw(st.integers(0, len(digest) - 1))
        other = draw(st.sampled_from("0123456789abcdef").filter(lambda c: c != digest[at]))
        return f"{scheme}={digest[:at]}{other}{digest[at + 1 :]}"
    if how == "cut":
        return f"{scheme}={digest[: draw(st.integers(0, len(digest) - 1))]}"
    assert how == "random", how
    return f"{scheme}={draw(st.text('0123456789abcdef', min_size=64, max_size=64))}"


@st.composite
def forged_github_signatures(draw, body: bytes) -> str:
    good = github_signature(body)
    digest = good.removeprefix("sha256=")
    how = draw(st.sampled_from(["flip", "cut", "extend", "random", "sha1", "other header"]))
    if how in ("flip", "cut", "random"):
        return draw(near_misses("sha256", digest, how))
    if how == "extend":
        return f"{good}{draw(st.text('0123456789abcdef', min_size=1, max_size=4))}"
    if how == "sha1":  # the legacy algorithm's digest under the sha256 name
        return "sha256=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha1).hexdigest()
    return ""  # only the legacy X-Hub-Signature header is sent, see below


@fuzz(60)
@given(name=st.sampled_from(sorted(BODIES)), data=st.data())
def test_github_forged_signatures_are_refused(client, redis_conn, name, data):
    body = BODIES[name]
    signature = data.draw(forged_github_signatures(body), label="signature")
    assume(signature != github_signature(body))
    legacy = {
        "X-Hub-Signature": "sha1=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha1).hexdigest()
    }
    before = snapshot(redis_conn)
    response = deliver(client, name, signature=signature, headers=legacy)
    refused(response, "X-Hub-Signature-256")
    assert_unchanged(before, redis_conn, "a forged delivery")


# -------------------------------------------------------------------------- GitHub: stale


@fuzz(40)
@given(
    name=st.sampled_from(sorted(BODIES)),
    old_secret=st.text(min_size=1, max_size=40) | st.just(OLD_GH_SECRET),
)
def test_github_signed_with_a_rotated_secret_is_refused(client, redis_conn, name, old_secret):
    assume(old_secret != GH_SECRET)
    before = snapshot(redis_conn)
    response = deliver(client, name, signature=github_signature(BODIES[name], old_secret))
    refused(response, "X-Hub-Signature-256")
    assert_unchanged(before, redis_conn, "a delivery signed with an old secret")


@st.composite
def altered(draw, body: bytes) -> bytes:
    """The same delivery, changed the way a replayer might: a field, a byte, the layout."""
    how = draw(st.sampled_from(["field", "byte", "reformat", "append"]))
    if how == "field":
        document = json.loads(body)
        document["issue"]["title"] = draw(st.text(max_size=40))
        changed = json.dumps(document).encode()
    elif how == "byte":
        at = draw(st.integers(0, len(body) - 1))
        changed = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif how == "reformat":
        changed = json.dumps(json.loads(body), indent=draw(st.sampled_from([None, 1, 4]))).encode()
    else:
        changed = body + draw(st.sampled_from([b" ", b"\n", b"\x00", b"{}"]))
    assume(changed != body)
    return changed


@fuzz(40)
@given(captured=st.sampled_from(sorted(BODIES)), data=st.data())
def test_github_signature_of_another_body_is_refused(client, redis_conn, captured, data):
    """A signature captured from one delivery does not carry another body."""
    signature = github_signature(BODIES[captured])
    body = data.draw(altered(BODIES["issues.opened"]), label="body")
    before = snapshot(redis_conn)
    response = deliver(client, body, signature=signature, event="issues")
    refused(response, "X-Hub-Signature-256")
    assert_unchanged(before, redis_conn, "a delivery with another body's signature")


def test_github_secret_rotated_after_signing(redis_conn):
    """The app now has the new secret: what was signed with the old one no longer passes."""
    body = BODIES["issues.opened"]
    signature = github_signature(body, OLD_GH_SECRET)
    old_app = build_app(redis_conn)
    old_app.config["HARK_GITHUB_WEBHOOK_SECRET"] = OLD_GH_SECRET
    assert deliver(old_app.test_client(), body, signature=signature).status_code == 202
    before = snapshot(redis_conn)
    new_client = build_app(redis_conn).test_client()
    refused(deliver(new_client, body, signature=signature), "X-Hub-Signature-256")
    assert_unchanged(before, redis_conn, "a replay signed with the old secret")


# ------------------------------------------------------------------------ GitHub: replayed


P0_ISSUE = json.loads(BODIES["issues.opened"])
P0_ISSUE["issue"]["title"] = "caro segfaults on launch"
P0_ISSUE["issue"]["body"] = "every command crashes with a segmentation fault since 1.2.0"
P0_BODY = json.dumps(P0_ISSUE).encode()


def test_github_redelivered_many_times_is_processed_once(client, redis_conn):
    delivery = str(uuid.uuid4())
    first = deliver(client, P0_BODY, delivery=delivery)
    assert first.status_code == 202 and first.get_json()["enqueued"] is True
    mention_id = first.get_json()["mention"]
    after_first = snapshot(redis_conn)
    for _ in range(5):
        again = deliver(client, P0_BODY, delivery=delivery)
        assert again.status_code == 200
        assert again.get_json() == {"duplicate": True, "delivery": delivery}
    assert_unchanged(after_first, redis_conn, "a redelivery")
    pager = work(redis_conn)
    assert [e.action for e in pager.sent] == ["trigger"]  # paged once
    assert MentionStore(redis_conn).count() == 1
    (incident,) = _incidents(redis_conn)
    assert incident.mentions == (mention_id,)
    for _ in range(3):  # redelivered after triage: still nothing
        assert deliver(client, P0_BODY, delivery=delivery).status_code == 200
    assert waiting_triage(redis_conn) == []


def test_github_replay_under_fresh_delivery_ids_is_processed_once(client, redis_conn):
    """GitHub signs the body only: a captured body and signature can be sent again under
    any delivery id, even after the delivery marker expired. The mention is deduplicated
    by its own id, so the replay is answered but nothing is triaged or paged again."""
    signature = github_signature(P0_BODY)
    first = deliver(client, P0_BODY, signature=signature)
    assert first.status_code == 202 and first.get_json()["enqueued"] is True
    pager = work(redis_conn)
    stored = MentionStore(redis_conn).get(first.get_json()["mention"])
    redis_conn.delete(DELIVERY_KEY.format(id=first.get_json()["delivery"]))  # expired
    for _ in range(5):
        replay = deliver(client, P0_BODY, signature=signature, delivery=str(uuid.uuid4()))
        assert replay.status_code == 202, replay.get_json()
        assert replay.get_json()["enqueued"] is False
    assert waiting_triage(redis_conn) == []
    pager.sent.extend(work(redis_conn).sent)
    assert [e.action for e in pager.sent] == ["trigger"]
    assert MentionStore(redis_conn).count() == 1
    assert MentionStore(redis_conn).get(stored.id) == stored  # not re-triaged
    (incident,) = _incidents(redis_conn)
    assert len(incident.mentions) == 1


@pytest.mark.parametrize("same_delivery", [True, False], ids=["same-id", "fresh-ids"])
def test_github_replays_at_once_are_processed_once(redis_conn, same_delivery):
    """Eight copies arriving together, as a retrying proxy or a replayer sends them."""
    app = build_app(redis_conn)
    delivery = str(uuid.uuid4())
    barrier, responses = threading.Barrier(8), []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        responses.append(
            deliver(client, P0_BODY, delivery=delivery if same_delivery else str(uuid.uuid4()))
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(responses) == 8
    assert all(response.status_code in (200, 202) for response in responses)
    mentions = {r.get_json()["mention"] for r in responses if r.status_code == 202}
    assert len(mentions) == 1 and any(r.get_json().get("enqueued") for r in responses)
    # Concurrent copies may each pass the checks before any has finished (the delivery is
    # marked once handled, so that a crash is redelivered), but they share one stable job.
    queued = waiting_triage(redis_conn)
    assert set(queued) == {triage_job_id(mentions.pop())}
    pager = work(redis_conn)
    assert [e.action for e in pager.sent] == ["trigger"]  # one page
    assert MentionStore(redis_conn).count() == 1
    (incident,) = _incidents(redis_conn)
    assert len(incident.mentions) == 1


def _incidents(connection) -> list[Incident]:
    items, _ = IncidentStore(connection).list(None, 50, None)
    return items


# ---------------------------------------------------------------------- PagerDuty v3 webhooks


def pd_event(
    incident: Incident, kind: str = "incident.acknowledged", event_id: str = "E1"
) -> bytes:
    return incident_event(incident.dedup_key, kind, event_id)


def post_pd(client, body: bytes, signature: str):
    return client.post(
        "/webhooks/pagerduty",
        data=body,
        headers={"X-PagerDuty-Signature": signature, "Content-Type": "application/json"},
    )


@pytest.fixture
def incident(redis_conn, shipped) -> Incident:
    return seed_incident(redis_conn, shipped)


@st.composite
def forged_pagerduty_signatures(draw, body: bytes) -> str:
    good = pagerduty_signature(body)
    digest = good.removeprefix("v1=")
    how = draw(st.sampled_from(["flip", "cut", "random", "scheme", "several", "empty"]))
    if how in ("flip", "cut", "random"):
        return draw(near_misses("v1", digest, how))
    if how == "scheme":  # the right digest under another scheme name
        return f"{draw(st.sampled_from(['v0', 'v2', 'V1', 'sha256', '']))}={digest}"
    if how == "several":  # a list of wrong ones, as during a rotation
        wrong = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"v1={h}")
        return ",".join(draw(st.lists(wrong, min_size=2, max_size=4)))
    return draw(st.sampled_from(["", ",", "v1=", " , v1= "]))


@fuzz(60)
@given(
    kind=st.sampled_from(["incident.acknowledged", "incident.resolved"]),
    data=st.data(),
)
def test_pagerduty_forged_signatures_are_refused(client, redis_conn, incident, kind, data):
    body = pd_event(incident, kind, event_id=str(uuid.uuid4()))
    signature = data.draw(forged_pagerduty_signatures(body), label="signature")
    assume(pagerduty_signature(body) not in signature)
    before = snapshot(redis_conn)
    refused(post_pd(client, body, signature), "X-PagerDuty-Signature")
    assert_unchanged(before, redis_conn, "a forged PagerDuty event")
    assert IncidentStore(redis_conn).get(incident.id).status == "triggered"


def test_pagerduty_stale_signatures_are_refused(client, redis_conn, incident):
    ack = pd_event(incident, "incident.acknowledged", "E-ack")
    resolve = pd_event(incident, "incident.resolved", "E-resolve")
    before = snapshot(redis_conn)
    for body, signature in [
        (ack, pagerduty_signature(ack, OLD_PD_SECRET)),  # the rotated-out secret only
        (resolve, pagerduty_signature(ack)),  # a captured signature, another body
        (resolve, pagerduty_signature(ack, OLD_PD_SECRET, PD_SECRET)),
        (ack + b" ", pagerduty_signature(ack)),  # the body changed by one byte
    ]:
        refused(post_pd(client, body, signature), "X-PagerDuty-Signature")
    assert_unchanged(before, redis_conn, "stale PagerDuty signatures")
    # during a rotation PagerDuty signs with both secrets: one good signature suffices
    rotating = post_pd(client, ack, pagerduty_signature(ack, OLD_PD_SECRET, PD_SECRET))
    assert rotating.status_code == 200 and rotating.get_json()["status"] == "acknowledged"


def test_pagerduty_event_replayed_is_applied_once(client, redis_conn, incident):
    ack = pd_event(incident, "incident.acknowledged", "E-ack")
    first = post_pd(client, ack, pagerduty_signature(ack))
    assert first.get_json() == {"incident": incident.id, "status": "acknowledged"}
    after_first = snapshot(redis_conn)
    for _ in range(5):
        again = post_pd(client, ack, pagerduty_signature(ack))
        assert again.status_code == 200 and again.get_json() == {"duplicate": True}
    assert_unchanged(after_first, redis_conn, "a replayed PagerDuty event")
    resolve = pd_event(incident, "incident.resolved", "E-resolve")
    assert post_pd(client, resolve, pagerduty_signature(resolve)).status_code == 200
    # the old acknowledgement replayed after the resolve changes nothing
    late = post_pd(client, ack, pagerduty_signature(ack))
    assert late.get_json() == {"duplicate": True}
    final = IncidentStore(redis_conn).get(incident.id)
    assert final.status == "resolved"
    events = [entry.event for entry in final.timeline]
    assert events.count("acknowledged") == 1 and events.count("resolved") == 1


def test_a_pagerduty_event_without_an_id_replayed_is_applied_once(client, redis_conn, incident):
    """No event id to remember: the signed body itself is, by its digest."""
    body = json.loads(pd_event(incident, "incident.acknowledged"))
    del body["event"]["id"]
    ack = json.dumps(body).encode()
    first = post_pd(client, ack, pagerduty_signature(ack))
    assert first.get_json() == {"incident": incident.id, "status": "acknowledged"}
    after_first = snapshot(redis_conn)
    again = post_pd(client, ack, pagerduty_signature(ack))
    assert again.status_code == 200 and again.get_json() == {"duplicate": True}
    assert_unchanged(after_first, redis_conn, "a replayed PagerDuty event without an id")
    events = [entry.event for entry in IncidentStore(redis_conn).get(incident.id).timeline]
    assert events.count("acknowledged") == 1


def test_pagerduty_replays_at_once_are_applied_once(redis_conn, incident):
    app = build_app(redis_conn)
    ack = pd_event(incident, "incident.acknowledged", "E-ack")
    barrier, answers = threading.Barrier(8), []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(post_pd(client, ack, pagerduty_signature(ack)).get_json())

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(json.dumps, answers)) == sorted(
        [json.dumps({"incident": incident.id, "status": "acknowledged"})]
        + [json.dumps({"duplicate": True})] * 7
    )
    timeline = IncidentStore(redis_conn).get(incident.id).timeline
    assert [entry.event for entry in timeline].count("acknowledged") == 1


def test_a_stale_pagerduty_event_is_answered_ignored_once(client, redis_conn, incident):
    """An acknowledgement arriving after Hark resolved the incident can never apply: it is
    answered 200 "ignored" (an error answer would have PagerDuty retry it until it gave
    the subscription up), changes nothing, and its retry is a duplicate."""
    resolve = pd_event(incident, "incident.resolved", "E-resolve")
    assert post_pd(client, resolve, pagerduty_signature(resolve)).status_code == 200
    late_ack = pd_event(incident, "incident.acknowledged", "E-late")
    before = snapshot(redis_conn)
    first = post_pd(client, late_ack, pagerduty_signature(late_ack))
    assert first.status_code == 200
    assert "resolved" in first.get_json()["ignored"]
    retry = post_pd(client, late_ack, pagerduty_signature(late_ack))
    assert retry.get_json() == {"duplicate": True}
    assert IncidentStore(redis_conn).get(incident.id).status == "resolved"
    changed = changed_keys(before, snapshot(redis_conn))
    assert changed == {PD_EVENT_KEY.format(id="E-late").encode()}
