"""The GitHub write-back against the local fake of GitHub's REST API: the client's contract
(headers, 401/404/422, primary and secondary rate limits), the jobs (labels once, a person's
priority kept, the P0 comment once, the dry run), and a person's label as a correction."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime

import fakeredis
import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from desk.mentions import MentionStore
from monitor.github_api import (
    GitHubAuthError,
    GitHubClient,
    GitHubInvalid,
    GitHubNotFound,
    GitHubRateLimited,
)
from monitor.mention import make_mention
from monitor.sources.github import mention_from_delivery
from oncall.incidents import IncidentStore
from services.bots import tell_bots_of_correction
from services.context import Services
from services.corrections import correct_priority
from services.github_bot import (
    GitHubBot,
    github_bot_from,
    offer_fixed_in,
    record_label_event,
    write_back_issue,
    write_backs,
)
from services.incidents import resolve_incident
from services.jobs import WRITE_BACK_QUEUE
from services.triage import triage_mention
from tests.conftest import GITHUB_FIXTURES
from tests.fakes.github_server import FakeGitHub

REPO, NUMBER = "wildcard/caro", 318
MENTION_ID = "github:issue-2871654210"  # the fixture's issue id
TOKEN = "ghs_faketoken0123456789"
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
CRASH = ("caro crashes on launch every time", "Segfault on startup, even caro --version.")
NARROW = ("Generated find command uses -printf on macOS", "BSD find has no -printf.")


@pytest.fixture
def fake():
    server = FakeGitHub(TOKEN).start()
    server.add_issue(REPO, NUMBER)
    yield server
    server.stop()


@pytest.fixture
def client(fake) -> GitHubClient:
    return GitHubClient(TOKEN, fake.url, timeout_s=5)


def _services(shipped, bot: GitHubBot) -> Services:
    services = Services(connection=fakeredis.FakeRedis(), engine=lambda: shipped, clock=lambda: NOW)
    return replace(services, bots=(bot,))


def _delivery(title: str, body: str, action: str = "opened") -> dict:
    payload = json.loads((GITHUB_FIXTURES / "issues.opened.json").read_text())
    payload = copy.deepcopy(payload)
    payload["action"] = action
    payload["issue"].update(title=title, body=body)
    return payload


def _triage(services: Services, title: str, body: str) -> dict:
    mention = mention_from_delivery("issues", _delivery(title, body), NOW)
    assert mention is not None
    return triage_mention(services, mention.model_dump(mode="json"))


# ------------------------------------------------------------------- the client


def test_requests_carry_the_token_user_agent_accept_and_api_version(fake, client):
    client.issue_labels(REPO, NUMBER)
    headers = fake.requests[-1].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"].startswith("hark")


def test_a_wrong_token_is_an_auth_error(fake):
    with pytest.raises(GitHubAuthError, match="401 Bad credentials"):
        GitHubClient("ghs_wrong", fake.url).issue_labels(REPO, NUMBER)


def test_an_unknown_repository_or_issue_is_not_found(client):
    with pytest.raises(GitHubNotFound, match="404"):
        client.issue_labels("wildcard/nothing", 1)
    with pytest.raises(GitHubNotFound, match="404"):
        client.comment(REPO, 999, "hello")


def test_an_invalid_label_is_refused_and_creating_twice_is_harmless(client, fake):
    with pytest.raises(GitHubInvalid) as refused:
        client.create_label(REPO, "P0", "#b60205", "")
    assert refused.value.codes == {"invalid"}
    assert client.create_label(REPO, "P0", "b60205", "critical") is True
    assert client.create_label(REPO, "P0", "b60205", "critical") is False
    assert fake.label(REPO, "P0")["color"] == "b60205"


def test_the_primary_limit_says_to_wait_until_reset(client, fake):
    fake.exhaust(reset_in_s=120)
    with pytest.raises(GitHubRateLimited) as limited:
        client.issue_labels(REPO, NUMBER)
    assert limited.value.status == 403 and not limited.value.secondary
    assert 100 < limited.value.wait_s <= 122


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_says_to_wait_retry_after(client, fake, status):
    fake.secondary_limit(1, retry_after_s=30, status=status)
    with pytest.raises(GitHubRateLimited) as limited:
        client.add_labels(REPO, NUMBER, ["bug"])
    assert limited.value.secondary and limited.value.wait_s == 30
    assert fake.labels_on(REPO, NUMBER) == []


# ---------------------------------------------------------------------- the jobs


def test_a_triaged_issue_is_labelled_once_with_colours(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, f" {REPO} ,other/repo", fake.url))
    _triage(services, *NARROW)
    (job,) = Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer).jobs
    assert job.func is write_back_issue  # queued, not done in the triage
    assert fake.requests == []

    assert write_back_issue(services, job.args[0]) == f"labelled {REPO}#{NUMBER}"
    labels = fake.labels_on(REPO, NUMBER)
    assert "bug" in labels and any(name.startswith("P") for name in labels)
    assert all(fake.label(REPO, name)["color"] != "ededed" for name in labels)
    writes = len(fake.writes())

    assert write_back_issue(services, job.args[0]) == "labels already right"
    assert len(fake.writes()) == writes  # a retry or redelivery writes nothing
    assert fake.comments_on(REPO, NUMBER) == []  # not a P0: no comment


def test_a_p0_gets_one_redacted_first_comment_noted_on_its_incident(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    filed = _triage(services, CRASH[0], CRASH[1] + " mail me at dana.k@example.com")
    write_back_issue(services, MENTION_ID)
    write_back_issue(services, MENTION_ID)
    (comment,) = fake.comments_on(REPO, NUMBER)
    assert "P0" in comment and "<!-- hark:p0-first -->" in comment
    assert "segfault" not in comment.lower() and "dana.k" not in comment  # never quoted
    assert "P0" in fake.labels_on(REPO, NUMBER)
    incident = IncidentStore(services.connection).get(filed["incident"]["id"])
    assert [e.event for e in incident.timeline].count("github-comment") == 1


def test_a_priority_corrected_in_hark_moves_the_issues_label(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    old = next(name for name in fake.labels_on(REPO, NUMBER) if name in ("P1", "P2", "P3"))
    queue = Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer)
    queue.empty()
    correct_priority(services, MENTION_ID, "P0", "the suggested find deleted files", "rosa")
    (told,) = queue.jobs
    tell_bots_of_correction(services, *told.args)  # what the worker runs
    (job,) = [job for job in queue.jobs if job.func is write_back_issue]
    write_back_issue(services, *job.args)
    labels = fake.labels_on(REPO, NUMBER)
    assert "P0" in labels and old not in labels  # one priority label: the person's
    assert len(fake.comments_on(REPO, NUMBER)) == 1  # a P0 now: the reporter is told


def test_a_comment_already_on_the_issue_is_not_posted_again(shipped, fake):
    """The job died after posting and before remembering it: the marker finds it."""
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *CRASH)
    write_back_issue(services, MENTION_ID)
    for key in services.connection.scan_iter("hark:github:comment:*"):
        services.connection.delete(key)
    write_back_issue(services, MENTION_ID)
    assert len(fake.comments_on(REPO, NUMBER)) == 1


def test_a_priority_a_person_set_on_github_is_left_alone(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    theirs = [name for name in fake.labels_on(REPO, NUMBER) if not name.startswith("P")]
    fake.person_sets(REPO, NUMBER, [*theirs, "P0"])
    write_back_issue(services, MENTION_ID)
    assert sorted(fake.labels_on(REPO, NUMBER)) == sorted([*theirs, "P0"])


def test_a_rate_limit_pauses_and_reschedules_without_hammering(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    fake.secondary_limit(1, retry_after_s=90)
    outcome = write_back_issue(services, MENTION_ID)
    assert outcome.startswith("rate-limited")
    assert len(fake.requests) == 1
    # a second job while paused sends nothing and waits too
    assert write_back_issue(services, MENTION_ID).startswith("rate-limited")
    assert len(fake.requests) == 1
    registry = ScheduledJobRegistry(WRITE_BACK_QUEUE, connection=services.connection)
    assert len(registry.get_job_ids()) == 1  # one job waits, whoever asked


def test_a_missing_issue_is_recorded_and_not_retried(shipped, fake):
    fake.repos[REPO].issues.clear()
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    assert write_back_issue(services, MENTION_ID) == "refused"
    assert "404" in write_backs(services)[0]["error"]


def test_issues_of_other_repositories_are_not_touched(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, "someone/else", fake.url))
    _triage(services, *NARROW)
    assert (
        Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer).count
        == 0
    )


def test_without_a_token_it_is_a_dry_run_recorded_once(shipped):
    bot = github_bot_from(None, REPO, "http://127.0.0.1:9")
    assert bot.dry_run
    services = _services(shipped, bot)
    filed = _triage(services, *CRASH)
    write_back_issue(services, MENTION_ID)
    write_back_issue(services, MENTION_ID)
    (record,) = write_backs(services)
    assert record["dry_run"] and record["issue"] == f"{REPO}#{NUMBER}"
    assert "P0" in record["labels"] and record["comment"] == "p0-first"
    incident = IncidentStore(services.connection).get(filed["incident"]["id"])
    assert [e.event for e in incident.timeline].count("github-dry-run") == 1


def test_resolving_an_incident_without_github_reports_queues_no_comment(shipped):
    services = _services(shipped, github_bot_from(TOKEN, REPO, "http://127.0.0.1:9"))
    mention = make_mention(channel="x", native_id="1", text="caro crashes on launch", now=NOW)
    filed = triage_mention(services, mention.model_dump(mode="json"))
    queue = Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer)
    resolve_incident(services, filed["incident"]["id"], "rosa", "fixed", fixed_in="1.2.1")
    assert not offer_fixed_in(services, filed["incident"]["id"], "1.2.1")
    assert queue.count == 0


def test_a_repository_setting_that_is_not_owner_slash_name_is_refused():
    with pytest.raises(ValueError, match="HARK_GITHUB_REPOS: 'caro' is not owner/name"):
        github_bot_from(TOKEN, "wildcard/caro, caro", "http://127.0.0.1:9")
    assert github_bot_from(TOKEN, "", "http://127.0.0.1:9").dry_run  # no repositories: off


# -------------------------------------------------------- a person's label, from the webhook


def _labeled(name: str, login: str) -> dict:
    payload = _delivery(*NARROW, action="labeled")
    payload["label"] = {"name": name, "color": "ededed"}
    payload["sender"] = {"login": login, "type": "User"}
    return payload


def test_a_priority_label_set_by_a_person_is_a_correction(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    hark_said = MentionStore(services.connection).get(MENTION_ID).priority
    assert record_label_event(services, _labeled(hark_said, "hark-bot[bot]")) == "Hark's own label"

    assert record_label_event(services, _labeled("P0", "rosa")) == "corrected to P0 by github:rosa"
    mention = MentionStore(services.connection).get(MENTION_ID)
    assert mention.priority == "P0" and mention.correction.by == "github:rosa"
    assert record_label_event(services, _labeled("bug", "rosa")) == "not a priority label"
    assert record_label_event(services, _labeled("P0", "rosa")).startswith("not a correction")
