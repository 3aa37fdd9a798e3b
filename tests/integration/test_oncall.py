"""P0s page the on-call: incidents, paging through the real pdpyras client to a fake
PagerDuty enforcing the Events v2 contract, retries, escalation, acknowledge and resolve."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import make_mention
from oncall.config import OncallConfig
from oncall.incidents import IncidentStore
from oncall.pagerduty import DryRunPager, PagerDutyEvents
from oncall.records import Incident, IncidentReport
from services.intake import Intake
from services.jobs import PAGING_QUEUE
from services.paging import escalate_incident
from tests.fakes.pagerduty_server import FakePagerDuty
from tests.fakes.pagerduty_webhooks import incident_event, signature
from web import create_app

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, as the contract requires
NOW = datetime.now(UTC)
CRASHES = [
    "caro crashes on launch every time since 1.2.0",
    "@CaroCLI segfault on startup, even caro --version",
    "Caro panics on every single command now",
    "caro se cierra al iniciar, cualquier comando",
]


@pytest.fixture
def fake_pd():
    server = FakePagerDuty().start()
    yield server
    server.stop()


@pytest.fixture
def config(fake_pd, shipped_rules):
    """What a worker pages with: the fake PagerDuty and test windows, overridden by
    ``OncallConfig``'s fields or ``pager=``; keyword arguments of ``worker_services``."""

    def build(**overrides) -> dict:
        pager = overrides.pop("pager", PagerDutyEvents(ROUTING_KEY, fake_pd.url, timeout_s=10))
        options = {
            "escalate_after": timedelta(hours=1),
            "page_retries": (0, 0, 0, 0, 0),
            "public_url": "https://hark.example",
        }
        oncall = OncallConfig(**{**options, **overrides})
        return {"oncall": oncall, "pager": pager, "rules": shipped_rules}

    return build


def _submit(connection, texts, channel="x", start=0):
    intake = Intake(connection)
    for number, text in enumerate(texts, start=start):
        intake.submit(
            make_mention(
                channel=channel,
                native_id=str(number),
                text=text,
                now=NOW,
                url=f"https://x.com/u/status/{number}",
            )
        )


def _work(connection, setup: dict) -> bool:
    return run_worker(worker_services(connection, **setup), burst=True)


def _run_scheduler_once(connection) -> None:
    """What a worker's scheduler does each second: move due scheduled jobs to their queue."""
    scheduler = RQScheduler([PAGING_QUEUE], connection=connection, serializer=JSONSerializer)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()


def _only_incident(connection) -> Incident:
    items, _ = IncidentStore(connection).list(None, 10, None)
    assert len(items) == 1, [i.id for i in items]
    return IncidentStore(connection).get(items[0].id)


def test_forty_reports_of_one_problem_page_once(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[n % 4] + f" #{n}" for n in range(40)], channel="x")
    _submit(redis_conn, ["Discord here: caro crashes on launch for me too"], "discord", 100)
    _submit(redis_conn, ["how do I change the default model?", "love it!"], "x", 200)
    assert _work(redis_conn, config())

    incident = _only_incident(redis_conn)
    assert len(incident.mentions) == 41
    assert incident.channels == ("x", "discord")
    assert incident.status == "triggered"
    (trigger,) = fake_pd.triggers()
    assert trigger["dedup_key"] == incident.dedup_key
    assert trigger["routing_key"] == ROUTING_KEY
    payload = trigger["payload"]
    assert payload["severity"] == "critical" and len(payload["summary"]) <= 1024
    assert payload["source"] == "caro-support/x"
    assert payload["custom_details"]["incident"] == f"https://hark.example/incidents/{incident.id}"
    assert payload["custom_details"]["triage"][0]["rule"]
    assert [e.event for e in incident.timeline].count("page-sent") == 1


def test_no_pii_reaches_pagerduty(redis_conn, fake_pd, config):
    secret_text = (
        "Caro crashes on launch every time; my key sk-proj-abcdefghijklmnop1234 and "
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked, mail me at dana.k@example.com or "
        "+1 415 555 0132, logs in /Users/dana/Library and /home/dana/.caro, host 10.2.3.4"
    )
    _submit(redis_conn, [secret_text])
    assert _work(redis_conn, config())
    escalate = Queue(PAGING_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    escalate.enqueue(escalate_incident, _only_incident(redis_conn).id)
    assert _work(redis_conn, config())
    bodies = b" ".join(request.body for request in fake_pd.requests)
    assert len(fake_pd.triggers()) == 2  # the page and the escalation
    for secret in (
        b"sk-proj-abcdefghijklmnop1234",
        b"ghp_abcdefghijkl",
        b"dana.k@example.com",
        b"555 0132",
        b"/Users/dana",
        b"/home/dana",
        b"10.2.3.4",
    ):
        assert secret not in bodies, secret


def test_dry_run_pager_records_instead_of_sending(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config(pager=DryRunPager()))
    incident = _only_incident(redis_conn)
    (page,) = incident.pages
    assert page.dry_run is True and page.action == "trigger"
    assert page.dedup_key == incident.dedup_key
    assert fake_pd.requests == []


def test_500_three_times_then_accepted(redis_conn, fake_pd, config):
    fake_pd.fail_next(500, times=3)
    _submit(redis_conn, [CRASHES[1]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    assert incident.status == "triggered"
    assert len(fake_pd.requests) == 4 and len(fake_pd.triggers()) == 1
    assert [e.event for e in incident.timeline].count("page-retry") == 3


def test_a_429_storm_is_ridden_out_by_rq_retries(redis_conn, fake_pd, config):
    fake_pd.rate_limit_storm(4)
    _submit(redis_conn, [CRASHES[2]])
    assert _work(redis_conn, config())
    assert len(fake_pd.triggers()) == 1
    assert _only_incident(redis_conn).status == "triggered"


def test_final_failure_marks_page_failed_and_keeps_the_job(redis_conn, fake_pd, config):
    fake_pd.fail_next(503, times=20)
    _submit(redis_conn, [CRASHES[0]])
    _work(redis_conn, config(page_retries=(0, 0)))
    incident = _only_incident(redis_conn)
    assert incident.status == "page-failed"
    assert "gave up" in incident.timeline[-2].detail + incident.timeline[-1].detail
    failed = FailedJobRegistry(PAGING_QUEUE, connection=redis_conn)
    assert len(failed.get_job_ids()) == 1  # visible, and replayable


def test_a_400_is_a_configuration_error_and_is_not_retried(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    bad_key = PagerDutyEvents("too-short", fake_pd.url, timeout_s=10)
    assert _work(redis_conn, config(pager=bad_key))
    incident = _only_incident(redis_conn)
    assert incident.status == "page-failed"
    assert len(fake_pd.requests) == 1
    assert "400" in incident.timeline[-1].detail
    assert "HARK_PD_ROUTING_KEY" in incident.timeline[-2].detail


class _CrashAfterSending:
    """A pager whose worker dies right after PagerDuty accepted the event, once."""

    dry_run = False

    def __init__(self, pager):
        self.pager, self.crashed = pager, False

    def send(self, event):
        key = self.pager.send(event)
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed after the trigger left")
        return key


def test_a_job_dying_after_sending_is_retried_into_the_same_incident(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0], CRASHES[1]])
    pager = _CrashAfterSending(PagerDutyEvents(ROUTING_KEY, fake_pd.url, timeout_s=10))
    assert _work(redis_conn, config(pager=pager))
    triggers = fake_pd.triggers()
    assert len(triggers) == 2 and len({t["dedup_key"] for t in triggers}) == 1
    assert fake_pd.incident_count() == 1  # PagerDuty deduplicates by dedup_key


def test_unacknowledged_p0_is_escalated_by_the_scheduler(redis_conn, fake_pd, config):
    oncall = config(escalate_after=timedelta(seconds=1))
    _submit(redis_conn, [CRASHES[0] + " on macOS 14 with caro 1.2.0"])
    assert _work(redis_conn, oncall)
    time.sleep(1.2)
    _run_scheduler_once(redis_conn)
    assert _work(redis_conn, oncall)
    incident = _only_incident(redis_conn)
    assert incident.status == "escalated"
    assert incident.escalations == 1  # it stayed 0, and so did the escalation rate
    first, second = fake_pd.triggers()
    assert first["dedup_key"] == second["dedup_key"]
    summary = second["payload"]["custom_details"]["escalation"]
    lines = summary.splitlines()  # the playbook's template, one field a line
    for line in ("ESCALATION: P0 command-generation", "Platform: macOS", "Caro version: 1.2.0"):
        assert line in lines
    assert "Impact: 1 report on x" in lines and "Not acknowledged within: 1 s" in lines
    (since,) = [line for line in lines if line.startswith("Since: ")]
    assert re.fullmatch(r"Since: \d{4}-\d\d-\d\dT\d\d:\d\dZ", since)  # UTC, to the minute
    escalated = next(e for e in incident.timeline if e.event == "escalated")
    assert escalated.detail == "not acknowledged within 1 s" and escalated.by() == "Hark"


def test_acknowledged_in_time_is_not_escalated(redis_conn, fake_pd, config):
    oncall = config(escalate_after=timedelta(seconds=1))
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, oncall)
    incident = _only_incident(redis_conn)
    client = create_app(redis=redis_conn, api_token="t").test_client()
    acked = client.post(
        f"/api/incidents/{incident.id}/acknowledge", headers={"Authorization": "Bearer t"}
    )
    assert acked.status_code == 200 and acked.get_json()["status"] == "acknowledged"
    time.sleep(1.2)
    _run_scheduler_once(redis_conn)
    assert _work(redis_conn, oncall)
    assert _only_incident(redis_conn).status == "acknowledged"
    again = client.post(  # a second click, after the first acknowledge reached PagerDuty
        f"/api/incidents/{incident.id}/acknowledge", headers={"Authorization": "Bearer t"}
    )
    assert again.status_code == 200 and again.get_json()["status"] == "acknowledged"
    _work(redis_conn, oncall)
    actions = [e["event_action"] for e in fake_pd.events]
    assert actions == ["trigger", "acknowledge"]


def test_acknowledging_in_the_web_process_pages_with_hark_page_retries(redis_url, redis_conn):
    """The web app as ``hark web`` builds it queues the acknowledge page with the retry
    schedule of HARK_PAGE_RETRIES, as the worker's triggers are, not a default one."""
    from hark.rulebook_files import read_rulebook
    from hark.settings import Settings
    from hark.wiring import build_web_app

    settings = Settings(_env_file=None, redis_url=redis_url, api_token="t", page_retries="0,7,42")
    client = build_web_app(settings).test_client()
    triage = read_rulebook(shipped_rulebook_path()).classify(CRASHES[0], "x").record()
    report = IncidentReport(mention_id="x:1", channel="x", text=CRASHES[0])
    incident, _ = IncidentStore(redis_conn).record_report(report, triage, NOW, timedelta(hours=2))

    acked = client.post(
        f"/api/incidents/{incident.id}/acknowledge", headers={"Authorization": "Bearer t"}
    )
    assert acked.status_code == 200 and acked.get_json()["status"] == "acknowledged"
    paging = Queue(PAGING_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    (job_id,) = paging.job_ids
    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert job.args == [incident.id, "acknowledge"]
    assert (job.retries_left, job.retry_intervals) == (3, [0, 7, 42])


def test_resolve_then_a_new_report_reopens_and_pages_again(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    client = create_app(redis=redis_conn, api_token="t").test_client()
    auth = {"Authorization": "Bearer t"}
    url = f"/api/incidents/{incident.id}/resolve"
    assert client.post(url, headers=auth, json={}).status_code == 400  # a resolve needs a note
    done = client.post(url, headers=auth, json={"note": "rolled back the release", "by": "Rosa"})
    assert done.status_code == 200 and done.get_json()["timeline"][-1]["author"] == "Rosa (API)"
    assert client.post(f"/api/incidents/{incident.id}/acknowledge", headers=auth).status_code == 409
    assert _work(redis_conn, config())
    _submit(redis_conn, [CRASHES[1]], start=50)
    assert _work(redis_conn, config())
    reopened = _only_incident(redis_conn)
    assert reopened.status == "triggered"
    assert "reopened" in [e.event for e in reopened.timeline]
    assert [e["event_action"] for e in fake_pd.events] == ["trigger", "resolve", "trigger"]
    assert fake_pd.incident_count() == 2


def _signed(secret: str, body: bytes) -> dict:
    """Signed with ``secret`` after a stale signature, as during a secret rotation."""
    return {
        "X-PagerDuty-Signature": f"v1=deadbeef,{signature(body, secret)}",
        "Content-Type": "application/json",
    }


def test_pagerduty_webhook_acknowledges_and_resolves(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    app = create_app(redis=redis_conn, api_token="t", pagerduty_webhook_secret="pd-secret")
    client = app.test_client()

    ack = incident_event(incident.dedup_key, "incident.acknowledged", "E1")
    forged = client.post("/webhooks/pagerduty", data=ack, headers=_signed("wrong", ack))
    assert forged.status_code == 401
    assert IncidentStore(redis_conn).get(incident.id).status == "triggered"
    assert (
        client.post("/webhooks/pagerduty", data=ack, headers=_signed("pd-secret", ack)).status_code
        == 200
    )
    again = client.post("/webhooks/pagerduty", data=ack, headers=_signed("pd-secret", ack))
    assert again.get_json() == {"duplicate": True}
    resolved = incident_event(incident.dedup_key, "incident.resolved", "E2")
    client.post("/webhooks/pagerduty", data=resolved, headers=_signed("pd-secret", resolved))
    final = IncidentStore(redis_conn).get(incident.id)
    assert final.status == "resolved"
    assert "by Ana On-Call" in final.timeline[-1].detail
    assert [e["event_action"] for e in fake_pd.events] == ["trigger"]  # nothing echoed back


def test_a_pagerduty_user_name_that_is_not_valid_unicode_still_acknowledges(
    redis_conn, fake_pd, config
):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    client = create_app(
        redis=redis_conn, api_token="t", pagerduty_webhook_secret="pd-secret"
    ).test_client()
    ack = incident_event(incident.dedup_key, agent="Dana \ud800\n on call")
    assert b"\\ud800" in ack  # JSON carries the lone surrogate as an escape
    response = client.post("/webhooks/pagerduty", data=ack, headers=_signed("pd-secret", ack))
    assert response.status_code == 200
    last = IncidentStore(redis_conn).get(incident.id).timeline[-1]
    assert last.detail == "in PagerDuty by Dana ? on call"


def test_incident_api(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    client = create_app(redis=redis_conn, api_token="t").test_client()
    auth = {"Authorization": "Bearer t"}
    listed = client.get("/api/incidents?status=triggered", headers=auth).get_json()
    (item,) = listed["items"]
    assert set(item) >= {"id", "status", "priority", "dedup_key", "mentions", "timeline"}
    assert "words" not in item
    detail = client.get(f"/api/incidents/{item['id']}", headers=auth)
    assert detail.status_code == 200 and detail.get_json()["mentions"] == ["x:0"]
    assert client.get("/api/incidents/inc-nope", headers=auth).status_code == 404
    assert client.get("/api/incidents?status=bogus", headers=auth).status_code == 400
    assert client.get("/api/incidents", headers={}).status_code == 401


def test_p1_pages_at_low_urgency_only_when_configured(redis_conn, fake_pd, config):
    _submit(redis_conn, ["brew install caro fails on macOS 14 with a SHA256 mismatch"])
    assert _work(redis_conn, config())
    assert fake_pd.requests == []  # P1 does not page by default
    _submit(redis_conn, ["the curl installer returns 404 on Ubuntu 24.04"], start=10)
    assert _work(redis_conn, config(p1_pages=True))
    (trigger,) = fake_pd.triggers()
    assert trigger["payload"]["severity"] == "warning"


def test_rotation_api_local_schedule_and_pagerduty(redis_conn, fake_pd):
    from hark.settings import Settings
    from hark.wiring import rotation as build_rotation
    from tests.fakes.pagerduty_server import oncall_entry

    moment = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)
    local = build_rotation(Settings(_env_file=None))
    client = create_app(
        redis=redis_conn, api_token="t", rotation_source=local, clock=lambda: moment
    ).test_client()
    view = client.get("/api/rotation", headers={"Authorization": "Bearer t"}).get_json()
    assert view["source"] == "local" and view["error"] is None
    assert [(o["level"], o["person"]) for o in view["on_call"]] == [
        (1, "Ben Okafor"),
        (2, "Farah Haddad"),
    ]
    assert view["next_handoffs"][0]["at"].startswith("2026-01-19T14:00")  # Monday 09:00 EST

    fake_pd.set_oncalls(
        [oncall_entry("PU1", "Ana Ruiz", start="2026-01-14T09:00:00Z", end="2026-01-21T09:00:00Z")]
    )
    remote = build_rotation(
        Settings(
            _env_file=None,
            pd_api_token="fake-rest-api-token",
            pd_api_url=fake_pd.url,
            pd_schedule_ids="PSCHED1",
        )
    )
    client = create_app(
        redis=redis_conn, api_token="t", rotation_source=remote, clock=lambda: moment
    ).test_client()
    view = client.get("/api/rotation", headers={"Authorization": "Bearer t"}).get_json()
    assert view["source"] == "pagerduty" and view["on_call"][0]["person"] == "Ana Ruiz"

    broken = build_rotation(Settings(_env_file=None, pd_api_token="wrong", pd_api_url=fake_pd.url))
    client = create_app(
        redis=redis_conn, api_token="t", rotation_source=broken, clock=lambda: moment
    ).test_client()
    view = client.get("/api/rotation", headers={"Authorization": "Bearer t"})
    assert view.status_code == 200
    assert "HARK_PD_API_TOKEN" in view.get_json()["error"] and view.get_json()["on_call"] == []


def test_failed_pages_are_listed_and_replayed_with_hark_jobs(
    redis_url, redis_conn, fake_pd, config
):
    from click.testing import CliRunner

    from hark.cli import cli

    fake_pd.fail_next(503, times=20)
    _submit(redis_conn, [CRASHES[0]])
    _work(redis_conn, config(page_retries=(0,)))
    assert _only_incident(redis_conn).status == "page-failed"
    runner, env = CliRunner(), {"HARK_REDIS_URL": redis_url}
    listed = runner.invoke(cli, ["jobs", "list"], env=env)
    assert "paging" in listed.output and "1 failed job(s)" in listed.output, listed.output

    fake_pd.clear_faults()  # PagerDuty is back
    retried = runner.invoke(cli, ["jobs", "retry", "--queue", "paging"], env=env)
    assert "1 job(s) requeued" in retried.output
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    assert incident.status == "triggered"  # a page got through
    assert len(fake_pd.triggers()) == 1


def test_an_escalation_cut_short_after_marking_the_incident_still_pages(
    redis_conn, fake_pd, config
):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    store = IncidentStore(redis_conn)
    now = datetime.now(UTC)  # the escalation job marked it, then its worker was killed
    store.transition(incident.id, "escalated", now, "escalated", "not acknowledged")
    escalate = Queue(PAGING_QUEUE, connection=redis_conn, serializer=JSONSerializer)
    for _ in range(2):  # the re-run pages; a further re-run finds the page sent
        escalate.enqueue(escalate_incident, incident.id)
        assert _work(redis_conn, config())
    first, second = fake_pd.triggers()
    assert first["dedup_key"] == second["dedup_key"]
    assert "ESCALATION" in second["payload"]["custom_details"]["escalation"]
    assert store.get(incident.id).escalations == 1


GITHUB_CRASH = (
    "[Bug]: 1.2.0 segfaults on launch (macOS 14, Homebrew)\n\n### Caro Version\n\n1.2.0\n\n"
    "### Operating System\n\nmacOS 14.4 (Apple Silicon)\n\n### Bug Description\n\n"
    "After `brew upgrade caro`, every invocation crashes, including `caro --version`."
)
DOA = (
    "@CaroCLI 1.2.2 is DOA on apple silicon. launch → `zsh: killed     caro` instantly, "
    "every time. rolled back to 1.2.1 and it's fine. #macOS #rust"
)


def _api():
    return {"Authorization": "Bearer t"}


def test_the_pagerduty_summary_is_the_clean_title(redis_conn, fake_pd, config):
    _submit(redis_conn, [GITHUB_CRASH], channel="github")
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    assert incident.title == "1.2.0 segfaults on launch (macOS 14, Homebrew)"
    (trigger,) = fake_pd.triggers()
    summary = trigger["payload"]["summary"]
    assert summary == f"[Caro P0] {incident.title} (1 report: github)"
    assert "###" not in summary and "`" not in summary


def test_resolve_with_a_note_reopen_and_pages(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    client = create_app(redis=redis_conn, api_token="t").test_client()
    base = f"/api/incidents/{incident.id}"
    resolved = client.post(
        f"{base}/resolve", headers=_api(), json={"note": "1.2.1 shipped", "by": "Rosa"}
    ).get_json()
    assert resolved["status"] == "resolved"
    assert client.post(f"{base}/reopen", headers=_api(), json={"reason": ""}).status_code == 400
    reopened = client.post(
        f"{base}/reopen", headers=_api(), json={"reason": "still crashing on Linux", "by": "Ben"}
    )
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "triggered"
    assert client.post(f"{base}/reopen", headers=_api(), json={"reason": "x"}).status_code == 409
    assert _work(redis_conn, config())
    final = IncidentStore(redis_conn).get(incident.id)
    notes = [
        (e.event, e.by(), e.detail) for e in final.timeline if e.event in ("resolved", "reopened")
    ]
    assert notes == [
        ("resolved", "Rosa (API)", "1.2.1 shipped"),
        ("reopened", "Ben (API)", "still crashing on Linux"),
    ]
    # reopening pages again: PagerDuty's alert was resolved, a new one is open
    assert [e["event_action"] for e in fake_pd.events] == ["trigger", "resolve", "trigger"]
    assert [i.status for i in fake_pd.open_incidents()] == ["triggered"]


def test_split_a_report_out_and_merge_it_back(redis_conn, fake_pd, config):
    _submit(redis_conn, [CRASHES[0], CRASHES[1]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    assert incident.mentions == ("x:0", "x:1")
    client = create_app(redis=redis_conn, api_token="t").test_client()
    answer = client.post(
        f"/api/incidents/{incident.id}/split", headers=_api(), json={"mention_id": "x:1"}
    ).get_json()
    left, split = answer["incident"], answer["split"]
    assert left["mentions"] == ["x:0"] and split["mentions"] == ["x:1"]
    assert split["split_from"] == incident.id and split["dedup_key"] != incident.dedup_key
    assert _work(redis_conn, config())
    assert len(fake_pd.triggers()) == 2  # the new incident is paged on its own key

    merged = client.post(
        f"/api/incidents/{split['id']}/merge", headers=_api(), json={"into": incident.id}
    )
    assert merged.status_code == 200
    survivor, absorbed = merged.get_json()["incident"], merged.get_json()["merged"]
    assert survivor["mentions"] == ["x:0", "x:1"] and survivor["absorbed"] == [split["id"]]
    assert absorbed["status"] == "resolved" and absorbed["merged_into"] == incident.id
    assert _work(redis_conn, config())
    # PagerDuty: the absorbed alert gets a last note naming the survivor, then is resolved
    last_two = fake_pd.events[-2:]
    assert [e["event_action"] for e in last_two] == ["trigger", "resolve"]
    assert {e["dedup_key"] for e in last_two} == {split["dedup_key"]}
    assert f"merged into {incident.id}" in last_two[0]["payload"]["summary"]
    assert [i.dedup_key for i in fake_pd.open_incidents()] == [incident.dedup_key]
    # a new report of the merged-in problem files into the survivor
    _submit(redis_conn, [CRASHES[1] + " still"], start=9)
    assert _work(redis_conn, config())
    assert IncidentStore(redis_conn).get(incident.id).mentions[-1] == "x:9"
    again = client.post(
        f"/api/incidents/{split['id']}/merge", headers=_api(), json={"into": incident.id}
    )
    assert again.status_code == 409


def test_different_bugs_on_launch_day_are_different_incidents(redis_conn, fake_pd, config):
    _submit(redis_conn, [GITHUB_CRASH], channel="github")
    _submit(redis_conn, [CRASHES[0] + " on 1.2.0", DOA], start=10)
    assert _work(redis_conn, config())
    items, _ = IncidentStore(redis_conn).list(None, 10, None)
    assert sorted(len(i.mentions) for i in items) == [1, 2]
    assert len(fake_pd.triggers()) == 2


def test_pagerduty_webhook_keeps_the_incident_page_link_only_from_pagerduty(
    redis_conn, fake_pd, config
):
    _submit(redis_conn, [CRASHES[0]])
    assert _work(redis_conn, config())
    incident = _only_incident(redis_conn)
    client = create_app(
        redis=redis_conn, api_token="t", pagerduty_webhook_secret="pd-secret"
    ).test_client()

    def event(kind: str, event_id: str, url: str) -> bytes:
        body = json.loads(incident_event(incident.dedup_key, kind, event_id))
        body["event"]["data"]["html_url"] = url
        return json.dumps(body).encode()

    elsewhere = event("incident.acknowledged", "E1", "https://evil.example/pagerduty.com/x")
    client.post("/webhooks/pagerduty", data=elsewhere, headers=_signed("pd-secret", elsewhere))
    assert IncidentStore(redis_conn).get(incident.id).pagerduty_url is None
    page = "https://acme.pagerduty.com/incidents/Q1"
    resolved = event("incident.resolved", "E2", page)
    client.post("/webhooks/pagerduty", data=resolved, headers=_signed("pd-secret", resolved))
    assert IncidentStore(redis_conn).get(incident.id).pagerduty_url == page
