"""GitHub write-back end to end: signed webhook deliveries into the web app, a real RQ worker
in burst mode with the GitHub bot, and the local fake of GitHub's REST API (auth, 404/422,
primary and secondary rate limits). Labels once, the P0 comment once, a person's priority
label as a correction, "Fixed in" on resolve, a rate limit waited out, the dry run."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import replace

import pytest
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from desk.mentions import MentionStore
from hark.wiring import worker_services
from hark.worker import run_worker
from oncall.incidents import IncidentStore
from services.context import Services
from services.github_bot import github_bot_from, write_backs
from services.incidents import resolve_incident
from services.jobs import WRITE_BACK_QUEUE
from tests.conftest import GITHUB_FIXTURES
from tests.fakes.github_server import FakeGitHub
from web import create_app

REPO, NUMBER = "wildcard/caro", 318
MENTION_ID = "github:issue-2871654210"  # the fixture's issue id
GITHUB_TOKEN = "ghs_integration0123456789"
SECRET = "webhook-secret-abcdef"
CRASH = ("caro crashes on launch every time", "Segfault on startup, even caro --version.")
NARROW = ("Generated find command uses -printf on macOS", "BSD find has no -printf.")


@pytest.fixture
def fake():
    server = FakeGitHub(GITHUB_TOKEN).start()
    server.add_issue(REPO, NUMBER)
    yield server
    server.stop()


@pytest.fixture
def web(redis_conn):
    return create_app(redis=redis_conn, github_webhook_secret=SECRET).test_client()


def _worker(redis_conn, shipped_rules, token: str | None, api_url: str) -> Services:
    services = worker_services(redis_conn, shipped_rules)
    return replace(services, bots=(github_bot_from(token, REPO, api_url),))


def _deliver(web, payload: dict, event: str = "issues"):
    body = json.dumps(payload).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }
    response = web.post("/webhooks/github", data=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def _issue(title: str, body: str, action: str = "opened") -> dict:
    payload = copy.deepcopy(json.loads((GITHUB_FIXTURES / "issues.opened.json").read_text()))
    payload["action"] = action
    payload["issue"].update(title=title, body=body)
    return payload


def _labeled(name: str, login: str) -> dict:
    payload = _issue(*NARROW, action="labeled")
    payload["label"] = {"name": name, "color": "ededed"}
    payload["sender"] = {"login": login, "type": "User"}
    return payload


def test_a_p0_issue_is_labelled_and_answered_once_and_fixed_in_on_resolve(
    redis_conn, web, fake, shipped_rules
):
    services = _worker(redis_conn, shipped_rules, GITHUB_TOKEN, fake.url)
    _deliver(web, _issue(*CRASH))
    assert run_worker(services, burst=True)

    labels = fake.labels_on(REPO, NUMBER)
    assert "P0" in labels and "bug" in labels
    assert fake.label(REPO, "P0")["color"] == "b60205"
    (first,) = fake.comments_on(REPO, NUMBER)
    assert "critical (P0)" in first and "Segfault" not in first
    (incident_id,) = [i.id for i in IncidentStore(redis_conn).list(None, 10, None)[0]]
    assert IncidentStore(redis_conn).get(incident_id).status == "triggered"  # paged as ever

    writes = len(fake.writes())
    _deliver(web, _issue(*CRASH, action="reopened"))  # the same issue again
    assert run_worker(services, burst=True)
    assert len(fake.writes()) == writes

    resolve_incident(services, incident_id, "rosa", "shipped the fix", fixed_in="1.2.1")
    assert run_worker(services, burst=True)
    resolve_incident(services, incident_id, "rosa", "again", fixed_in="1.2.1")  # no change
    assert run_worker(services, burst=True)
    comments = fake.comments_on(REPO, NUMBER)
    assert len(comments) == 2 and "fixed in Caro v1.2.1" in comments[1]


def test_a_person_sets_the_priority_on_github_and_hark_keeps_it(
    redis_conn, web, fake, shipped_rules
):
    services = _worker(redis_conn, shipped_rules, GITHUB_TOKEN, fake.url)
    _deliver(web, _issue(*NARROW))
    assert run_worker(services, burst=True)
    hark_said = MentionStore(redis_conn).get(MENTION_ID).priority
    assert hark_said in fake.labels_on(REPO, NUMBER)
    # GitHub tells Hark of its own label too: not a correction
    assert _deliver(web, _labeled(hark_said, "hark-bot[bot]"))["labeled"] == "Hark's own label"

    others = [name for name in fake.labels_on(REPO, NUMBER) if name != hark_said]
    fake.person_sets(REPO, NUMBER, [*others, "P1"])
    answer = _deliver(web, _labeled("P1", "rosa"))
    assert answer["labeled"] == "corrected to P1 by github:rosa"
    assert MentionStore(redis_conn).get(MENTION_ID).correction.by == "github:rosa"

    _deliver(web, _issue(NARROW[0], NARROW[1] + " (edited)", action="edited"))
    assert run_worker(services, burst=True)
    assert sorted(fake.labels_on(REPO, NUMBER)) == sorted([*others, "P1"])


def test_a_secondary_rate_limit_is_waited_out_not_hammered(redis_conn, web, fake, shipped_rules):
    services = _worker(redis_conn, shipped_rules, GITHUB_TOKEN, fake.url)
    fake.secondary_limit(1, retry_after_s=1, status=429)
    _deliver(web, _issue(*NARROW))
    assert run_worker(services, burst=True)
    assert [r.status for r in fake.requests] == [429]
    assert fake.labels_on(REPO, NUMBER) == []

    registry = ScheduledJobRegistry(WRITE_BACK_QUEUE, connection=redis_conn)
    deadline = time.monotonic() + 30
    while registry.get_jobs_to_schedule(int(time.time())) == [] and time.monotonic() < deadline:
        time.sleep(0.2)
    scheduler = RQScheduler([WRITE_BACK_QUEUE], connection=redis_conn, serializer=JSONSerializer)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()
    assert run_worker(services, burst=True)

    assert len(fake.answered(429)) == 1
    assert "bug" in fake.labels_on(REPO, NUMBER)


def test_a_wrong_token_is_recorded_and_triage_goes_on(redis_conn, web, fake, shipped_rules):
    services = _worker(redis_conn, shipped_rules, "ghs_wrong", fake.url)
    _deliver(web, _issue(*CRASH))
    assert run_worker(services, burst=True)
    assert "401" in write_backs(services)[0]["error"]
    assert MentionStore(redis_conn).get(MENTION_ID).priority == "P0"
    assert len(IncidentStore(redis_conn).list(None, 10, None)[0]) == 1


def test_without_a_token_the_write_back_is_a_dry_run(redis_conn, web, fake, shipped_rules):
    services = _worker(redis_conn, shipped_rules, None, fake.url)
    _deliver(web, _issue(*CRASH))
    assert run_worker(services, burst=True)
    (record,) = write_backs(services)
    assert record["dry_run"] and "P0" in record["labels"] and record["comment"] == "p0-first"
    assert fake.requests == []


def test_a_priority_a_person_takes_off_on_github_stays_off(redis_conn, web, fake, shipped_rules):
    """``unlabeled``: a person took the priority label off. Hark records it, puts no
    priority label back when the issue is triaged again, and changes no triage priority."""
    services = _worker(redis_conn, shipped_rules, GITHUB_TOKEN, fake.url)
    _deliver(web, _issue(*NARROW))
    assert run_worker(services, burst=True)
    hark_said = MentionStore(redis_conn).get(MENTION_ID).priority
    others = [name for name in fake.labels_on(REPO, NUMBER) if name != hark_said]
    fake.person_sets(REPO, NUMBER, others)

    taken_off = _labeled(hark_said, "rosa")
    taken_off["action"] = "unlabeled"
    taken_off["issue"]["labels"] = [{"name": name} for name in others]
    answer = _deliver(web, taken_off)["unlabeled"]
    assert answer.startswith(f"{hark_said} taken off by github:rosa")

    _deliver(web, _issue(*CRASH, action="edited"))  # now a P0 report
    assert run_worker(services, burst=True)
    assert sorted(fake.labels_on(REPO, NUMBER)) == sorted(others)
    assert any("critical (P0)" in body for body in fake.comments_on(REPO, NUMBER))
    stored = MentionStore(redis_conn).get(MENTION_ID)
    assert stored.priority == hark_said and stored.correction is None
