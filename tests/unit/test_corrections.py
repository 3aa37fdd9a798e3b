"""The team's corrections to triage (services.corrections): a responder changes a stored
mention's priority with a reason. Mentions arrive through the real triage job (shipped
rulebook) on fakeredis; pages are checked as the jobs queued for PagerDuty."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from click.testing import CliRunner
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

import web
from desk.config import DeskConfig
from desk.corrections import CorrectionStore
from desk.mentions import MentionStore
from desk.reply_queue import ReplyQueue
from hark.cli import cli
from hark.corpus import read_corpus
from hark.labels_cli import export_labels
from monitor.mention import make_mention
from oncall.incidents import IncidentStore
from services.context import Services
from services.corrections import (
    EmptyReason,
    ReasonTooLong,
    SamePriority,
    UnknownMention,
    UnknownPriority,
    correct_priority,
    incident_of,
)
from services.jobs import PAGING_QUEUE
from services.support_report import period_metrics, period_report
from services.triage import file_report, triage_mention
from web.ids_in_urls import id_token
from web.users import load_users

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)  # a Monday, in business hours
CRASH = "caro crashes on launch every time since 1.2.0"
CRASH_TOO = "@CaroCLI segfault on startup, even caro --version"
WRONG_FLAG = "caro suggests the wrong flag for tar, mail me at sam@example.com"
QUESTION = "how do I change the default model?"


@pytest.fixture
def services(shipped, shipped_replies) -> Services:
    return Services(
        connection=fakeredis.FakeRedis(),
        clock=lambda: NOW,
        engine=lambda: shipped,
        desk=DeskConfig(replies=shipped_replies),
    )


def arrive(services: Services, native_id: str, text: str, channel: str = "x") -> str:
    """A message through the real triage job; its mention id."""
    mention = make_mention(
        channel=channel, native_id=native_id, text=text, now=NOW - timedelta(minutes=10)
    )
    triage_mention(services, mention.model_dump(mode="json"))
    return mention.id


def snapshot(services: Services) -> dict[bytes, Any]:
    """Every key in Redis with its value, whatever its type: what "nothing changed" means."""
    connection = services.connection
    readers = {
        b"string": connection.get,
        b"list": lambda key: connection.lrange(key, 0, -1),
        b"zset": lambda key: connection.zrange(key, 0, -1, withscores=True),
        b"hash": connection.hgetall,
        b"set": connection.smembers,
    }
    return {key: readers[connection.type(key)](key) for key in connection.keys("*")}


def page_jobs(services: Services) -> list[list[Any]]:
    paging = Queue(PAGING_QUEUE, connection=services.connection, serializer=JSONSerializer)
    jobs = (
        Job.fetch(job_id, connection=services.connection, serializer=JSONSerializer)
        for job_id in paging.job_ids
    )
    return [job.args for job in jobs]


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("mention", "priority", "reason", "error"),
    [
        ("x:nobody", "P1", "a real report", UnknownMention),
        ("x:2", "P5", "a real report", UnknownPriority),
        ("x:2", "p1", "a real report", UnknownPriority),
        ("x:2", "P1", "   \n ", EmptyReason),
        ("x:2", "P1", "why " * 300, ReasonTooLong),
        ("x:2", "P2", "it is a P2", SamePriority),
    ],
)
def test_a_refused_correction_changes_nothing(services, mention, priority, reason, error):
    arrive(services, "1", CRASH)
    assert arrive(services, "2", WRONG_FLAG) == "x:2"
    before = snapshot(services)
    with pytest.raises(error) as refused:
        correct_priority(services, mention, priority, reason, "rosa")
    assert isinstance(refused.value, ValueError)
    assert snapshot(services) == before


# ----------------------------------------------------------------------------- any level


def test_a_correction_moves_the_mention_keeps_the_engines_triage_and_a_label(services, shipped):
    mention_id = arrive(services, "2", WRONG_FLAG)
    done = correct_priority(
        services,
        mention_id,
        "P1",
        "  every tar command is wrong, that is a family  ",
        "rosa",
        rulebook=shipped.rulebook,
    )
    store = MentionStore(services.connection)
    stored = store.get(mention_id)
    assert stored == done.mention
    assert stored.priority == "P1" and stored.engine_priority == "P2"
    assert stored.triage.rules == done.mention.triage.rules and stored.triage.rules
    assert stored.correction.describe() == (
        "corrected from P2 by rosa: every tar command is wrong, that is a family"
    )
    assert [m.id for m in store.list({"priority": "P1"}, 10, None).items] == [mention_id]
    assert store.list({"priority": "P2"}, 10, None).items == []

    (label,) = CorrectionStore(services.connection).labels()
    assert label == done.label
    assert (label.by, label.at, label.from_priority, label.to_priority) == ("rosa", NOW, "P2", "P1")
    assert label.reason == "every tar command is wrong, that is a family"
    assert "sam@example.com" not in label.text and "[email]" in label.text
    assert label.rules == tuple(rule.id for rule in stored.triage.rules)
    assert done.incident is None and page_jobs(services) == []


def test_the_queue_item_takes_the_new_level_and_its_deadline(services, shipped):
    mention_id = arrive(services, "2", WRONG_FLAG, channel="github")
    queue = ReplyQueue(services.connection)
    before = queue.get(mention_id)
    correct_priority(services, mention_id, "P1", "a family", "rosa", rulebook=shipped.rulebook)
    item = queue.get(mention_id)
    assert item.priority == "P1"
    assert item.due_at < before.due_at  # a P1's 4 business hours, not GitHub's 24 hours
    assert item.resolution_due_at < before.resolution_due_at
    assert item.due_reason.startswith("P1 ")
    assert (item.history[-1].event, item.history[-1].actor) == ("re-prioritized", "rosa")
    assert item.history[-1].detail == "from P2 by rosa: a family"


def test_a_second_correction_keeps_what_the_rules_said(services):
    mention_id = arrive(services, "2", WRONG_FLAG)
    correct_priority(services, mention_id, "P1", "a family", "rosa")
    again = correct_priority(services, mention_id, "P3", "it was a question", "sam")
    assert again.mention.correction.engine_priority == "P2"
    assert again.mention.correction.describe() == (
        "corrected from P1 by sam: it was a question; the rules said P2"
    )
    labels = list(CorrectionStore(services.connection).labels())
    assert [(lab.from_priority, lab.to_priority) for lab in labels] == [("P2", "P1"), ("P1", "P3")]


def test_a_re_run_triage_keeps_the_correction_and_its_level(services):
    """A triage job run again (a retry) stores the engine's fresh triage under the
    person's verdict, not over it."""
    mention_id = arrive(services, "2r", WRONG_FLAG)
    correct_priority(services, mention_id, "P1", "a family", "rosa")
    arrive(services, "2r", WRONG_FLAG)  # the same mention, triaged again
    stored = MentionStore(services.connection).get(mention_id)
    assert stored.triage.priority == "P1"
    assert stored.correction is not None and stored.correction.by == "rosa"
    assert stored.engine_priority == "P2"


# ----------------------------------------------------------------------------- raised to P0


def test_raised_to_p0_files_an_incident_and_pages_at_once(services):
    mention_id = arrive(services, "3", QUESTION)
    assert page_jobs(services) == []
    done = correct_priority(services, mention_id, "P0", "it wiped a disk", "rosa")
    assert done.incident is not None and done.incident_change == "opened"
    assert incident_of(services, mention_id) == done.incident.id
    assert done.incident.status == "triggered"
    assert done.mention.triage.urgency == "high" and done.mention.triage.pages
    assert page_jobs(services) == [[done.incident.id, "trigger"]]


# ----------------------------------------------------------------------------- lowered from P0


def test_lowered_from_p0_resolves_its_incident_with_a_note(services):
    mention_id = arrive(services, "1", CRASH)
    incident_id = incident_of(services, mention_id)
    done = correct_priority(services, mention_id, "P3", "a joke about crashing", "rosa")
    assert done.incident_change == "resolved"
    incident = IncidentStore(services.connection).get(incident_id)
    assert incident.status == "resolved"
    assert incident.timeline[-1].detail == (
        f"{mention_id} corrected from P0 to P3 by rosa: a joke about crashing"
    )
    assert page_jobs(services)[-1] == [incident_id, "resolve"]


def test_lowering_one_of_two_p0_reports_only_notes_it(services):
    first, second = arrive(services, "1", CRASH), arrive(services, "2", CRASH_TOO)
    incident_id = incident_of(services, first)
    assert incident_of(services, second) == incident_id
    noted = correct_priority(services, first, "P2", "only on one machine", "rosa")
    incident = IncidentStore(services.connection).get(incident_id)
    assert noted.incident_change == "noted" and incident.status == "triggered"
    assert incident.timeline[-1].event == "report-corrected"
    assert [args[1] for args in page_jobs(services)] == ["trigger"]

    resolved = correct_priority(services, second, "P1", "a rollback fixed it", "sam")
    assert resolved.incident_change == "resolved"
    assert IncidentStore(services.connection).get(incident_id).status == "resolved"


def test_lowered_then_raised_again_reopens_and_pages_again(services):
    mention_id = arrive(services, "1", CRASH)
    incident_id = incident_of(services, mention_id)
    correct_priority(services, mention_id, "P2", "looked like a one-off", "rosa")
    again = correct_priority(services, mention_id, "P0", "three more users now", "rosa")
    assert (again.incident.id, again.incident_change) == (incident_id, "reopened")
    assert again.incident.status == "triggered"
    assert [args[1] for args in page_jobs(services)] == ["trigger", "resolve", "trigger"]


def test_labels_are_appended_never_rewritten(services):
    mention_id = arrive(services, "2", WRONG_FLAG)
    correct_priority(services, mention_id, "P1", "a family", "rosa")
    raw_first = services.connection.lindex("hark:corrections", 0)
    correct_priority(services, mention_id, "P2", "no, one flag", "sam")
    assert services.connection.lindex("hark:corrections", 0) == raw_first
    assert json.loads(services.connection.lindex("hark:corrections", 1))["by"] == "sam"


# ----------------------------------------------------------------------------- the page

PEOPLE = {"vera": "viewer", "rosa": "responder"}


@pytest.fixture
def app(services, shipped, write_users):
    users = write_users({name: (role, f"{name}-password") for name, role in PEOPLE.items()})
    application = web.create_app(
        redis=services.connection,
        services=services,
        api_token="t",
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users),
        insecure_cookies=True,
        rulebook=shipped,
    )
    application.config["TESTING"] = True
    return application


@pytest.fixture
def browser(app, log_in, csrf_token_of):
    """``browser(name)``: signed in as ``name``, sending its pages' CSRF token."""

    def client_of(name: str):
        client = app.test_client()
        assert log_in(client, name, f"{name}-password").status_code == 303
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_of(client.get("/queue").text)
        return client

    return client_of


def possible_p0(services: Services, native_id: str, text: str) -> str:
    """A P0 the triage was not sure of: stored at low urgency, filed and paged as one."""
    mention_id = arrive(services, native_id, QUESTION)
    stored = MentionStore(services.connection).get(mention_id)
    triage = services.engine().classify(text, "x").record().model_copy(update={"urgency": "low"})
    suspect = stored.model_copy(update={"text": text, "triage": triage})
    MentionStore(services.connection).save(suspect)
    file_report(services, suspect, triage)
    return mention_id


def test_a_responder_changes_a_priority_on_the_queue_page(services, browser):
    mention_id = arrive(services, "2", WRONG_FLAG)
    rosa = browser("rosa")
    assert "Change priority" in rosa.get("/queue").text
    page = rosa.post(
        f"/queue/{id_token(mention_id)}/priority",
        data={"priority": "P1", "reason": "every tar command"},
        follow_redirects=True,
    )
    assert "x:2 is P1 now (was P2)." in page.text
    assert (
        'P1 <span class="muted">(corrected from P2 by rosa: every tar command)</span>' in page.text
    )
    assert MentionStore(services.connection).get(mention_id).priority == "P1"


def test_the_page_refuses_an_empty_reason_and_changes_nothing(services, browser):
    mention_id = arrive(services, "2", WRONG_FLAG)
    rosa = browser("rosa")
    before = snapshot(services)
    form = {"priority": "P1", "reason": " "}
    page = rosa.post(f"/queue/{id_token(mention_id)}/priority", data=form, follow_redirects=True)
    assert "Could not change the priority: reason: say why" in page.text
    assert snapshot(services) == before


def test_a_viewer_sees_no_priority_form_and_cannot_post_one(services, browser):
    mention_id = arrive(services, "2", WRONG_FLAG)
    vera = browser("vera")
    assert "Change priority" not in vera.get("/queue").text
    before = snapshot(services)
    refused = vera.post(
        f"/queue/{id_token(mention_id)}/priority", data={"priority": "P1", "reason": "x"}
    )
    assert refused.status_code == 403
    assert snapshot(services) == before


def test_possible_p0s_sit_at_the_top_and_are_confirmed(services, browser):
    arrive(services, "1", CRASH)  # a sure P0: due first, but not a possible one
    suspect = possible_p0(services, "9", "caro ran rm -rf on my build folder, I think")
    incident_id = incident_of(services, suspect)
    html = browser("vera").get("/queue").text
    top = html.index('id="possible-p0"')
    assert top < html.index('id="item-x-9"') < html.index('id="item-x-1"')
    assert "Possible P0: confirm or downgrade" in html
    assert html.count('id="item-x-9"') == 1  # at the top only, not again below

    page = browser("rosa").post(f"/queue/{id_token(suspect)}/confirm", follow_redirects=True)
    assert f"Confirmed: incident {incident_id} is a P0, paged at high urgency." in page.text
    assert IncidentStore(services.connection).get(incident_id).urgency == "high"
    assert 'id="possible-p0"' not in page.text
    assert [incident_id, "trigger"] in page_jobs(services)


def test_a_possible_p0_downgraded_leaves_the_top_and_its_incident_is_resolved(services, browser):
    suspect = possible_p0(services, "9", "caro ran rm -rf on my build folder, I think")
    incident_id = incident_of(services, suspect)
    page = browser("rosa").post(
        f"/queue/{id_token(suspect)}/priority",
        data={"priority": "P2", "reason": "it asked first; they said yes"},
        follow_redirects=True,
    )
    assert f"Its incident {incident_id} is resolved." in page.text
    assert 'id="possible-p0"' not in page.text
    assert IncidentStore(services.connection).get(incident_id).status == "resolved"


def test_raised_to_p0_beside_a_possible_p0_makes_it_a_sure_one(services):
    text = "caro ran rm -rf on my build folder, I think"
    suspect = possible_p0(services, "9", text)
    incident_id = incident_of(services, suspect)
    store = MentionStore(services.connection)
    same = store.get(arrive(services, "10", QUESTION))
    triage = store.get(suspect).triage.model_copy(update={"priority": "P3", "urgency": None})
    store.save(same.model_copy(update={"text": text + " too", "triage": triage}))

    done = correct_priority(services, same.id, "P0", "same problem, and sure", "rosa")
    assert (done.incident.id, done.incident_change) == (incident_id, "raised")
    assert IncidentStore(services.connection).get(incident_id).urgency == "high"
    assert [incident_id, "resolve-low"] in page_jobs(services)


# ----------------------------------------------------------------------------- override rate


def test_the_override_rate_per_priority_the_rules_gave(services, browser):
    arrive(services, "1", CRASH)
    joke = arrive(services, "2", CRASH_TOO)
    flag, question = arrive(services, "3", WRONG_FLAG), arrive(services, "4", QUESTION)
    correct_priority(services, joke, "P3", "a joke", "rosa")
    correct_priority(services, question, "P1", "install broken for all", "rosa")
    correct_priority(services, flag, "P1", "a family", "rosa")
    correct_priority(services, flag, "P2", "no, one flag after all", "rosa")  # back: agreed
    metrics = period_metrics(services.connection, "day", NOW)["overrides"]
    assert metrics["by_priority"]["P0"] == {
        "mentions": 2,
        "corrected": 1,
        "pct": 50.0,
        "to": {"P0": 0, "P1": 0, "P2": 0, "P3": 1},
    }
    assert metrics["by_priority"]["P2"]["corrected"] == 0
    assert (metrics["total"]["mentions"], metrics["total"]["corrected"]) == (4, 2)

    report = period_report(services.connection, "day", NOW)
    assert "- P0: 1 of 2 re-prioritized (50%); now P3: 1" in report
    assert "- P1: none received" in report
    assert "- All: 2 of 4 re-prioritized (50%); now P1: 1, P3: 1" in report
    assert "measure of how far the team trusts the triage" in report

    html = browser("vera").get("/support-metrics").text
    assert "Override rate" in html and "measure of trust in the triage" in html


# ----------------------------------------------------------------------------- labels export


def test_the_export_is_a_corpus_hark_rules_test_and_hark_model_train_read(services, tmp_path):
    flag, question = arrive(services, "3", WRONG_FLAG), arrive(services, "4", QUESTION)
    engine_triage = MentionStore(services.connection).get(flag).triage
    correct_priority(services, flag, "P1", "a family", "rosa")
    correct_priority(services, flag, "P3", "they were asking", "sam")
    correct_priority(services, question, "P0", "it wiped a disk", "rosa")
    corpus = tmp_path / "labels.jsonl"
    with corpus.open("w", encoding="utf-8") as out:
        assert export_labels(services.connection, out) == 2
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    assert rows[0] == {
        "id": flag,
        "channel": "x",
        "text": "caro suggests the wrong flag for tar, mail me at [email]",
        "priority": "P3",
        "category": engine_triage.category,
        "kind": engine_triage.kind,
        "reason": "they were asking",
        "source": "correction",
        "who": "sam",
        "when": NOW.isoformat(),
        "from": "P1",
    }
    assert [message.priority for message in read_corpus(corpus)] == ["P3", "P0"]

    tested = CliRunner().invoke(cli, ["rules", "test", str(corpus), "--json"])
    assert tested.exit_code == 1, tested.output  # the P0 the team raised is a miss of the rules
    assert json.loads(tested.stdout)[str(corpus)]["total"] == 2

    support = Path(__file__).parents[1] / "data" / "corpus" / "caro-support.jsonl"
    model = tmp_path / "model.json.gz"
    trained = CliRunner().invoke(
        cli, ["model", "train", str(support), str(corpus), "--out", str(model)]
    )
    assert trained.exit_code == 0, trained.output
    assert "from 2 corpora" in trained.output and model.stat().st_size > 0
