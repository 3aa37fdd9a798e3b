"""A person's priority on GitHub against Hark's write-back, and write-backs GitHub refuses for
good: the person's label wins and Hark's own stale one comes off, a label a person took off
is never put back, Hark's own changes echoed by the webhook are not taken for a person's,
and a 404/410/422 leaves nothing half-done and is not retried."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime

import fakeredis
import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from desk.mentions import MentionStore
from monitor.github_api import GitHubClient, GitHubInvalid, GitHubRateLimited
from monitor.github_labels import Wanted, Written, plan_labels
from monitor.sources.github import mention_from_delivery
from oncall.incidents import IncidentStore
from services.context import Services
from services.github_bot import (
    GitHubBot,
    github_bot_from,
    post_fixed_in,
    record_label_event,
    record_unlabel_event,
    write_back_issue,
    write_backs,
)
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
BUG_P1 = Wanted("P1", ("bug", "area: installation"))


@pytest.fixture
def fake():
    server = FakeGitHub(TOKEN).start()
    server.add_issue(REPO, NUMBER)
    yield server
    server.stop()


def _services(shipped, bot: GitHubBot) -> Services:
    services = Services(connection=fakeredis.FakeRedis(), engine=lambda: shipped, clock=lambda: NOW)
    return replace(services, bots=(bot,))


def _delivery(title: str, body: str, action: str = "opened", number: int = NUMBER) -> dict:
    payload = copy.deepcopy(json.loads((GITHUB_FIXTURES / "issues.opened.json").read_text()))
    payload["action"] = action
    payload["issue"].update(title=title, body=body)
    if number != NUMBER:
        payload["issue"].update(number=number, id=payload["issue"]["id"] + number)
        payload["issue"]["html_url"] = f"https://github.com/{REPO}/issues/{number}"
    return payload


def _triage(services: Services, title: str, body: str, number: int = NUMBER) -> dict:
    mention = mention_from_delivery("issues", _delivery(title, body, number=number), NOW)
    assert mention is not None
    return triage_mention(services, mention.model_dump(mode="json"))


def _label_event(action: str, name: str, login: str, fake: FakeGitHub) -> dict:
    """The delivery GitHub sends: the label, who acted, and the issue's labels after."""
    payload = _delivery(*NARROW, action=action)
    payload["label"] = {"name": name, "color": "ededed"}
    payload["sender"] = {"login": login, "type": "User"}
    payload["issue"]["labels"] = [{"name": n} for n in fake.labels_on(REPO, NUMBER)]
    return payload


def _run_queued(services: Services) -> None:
    """Run the write-back jobs queued so far, as a worker would (in this process)."""
    queue = Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer)
    for job in queue.get_jobs():
        job.func(services, *job.args)
        job.delete()


def _priorities(fake: FakeGitHub) -> list[str]:
    return sorted(name for name in fake.labels_on(REPO, NUMBER) if name in {"P0", "P1", "P2", "P3"})


# ------------------------------------------------------------------- the plan (pure)


def test_what_the_webhook_said_a_person_did_wins_over_a_stale_read():
    """GitHub may still list the label a person just took off: Hark does not put a priority
    back, and takes off its own if a racing job put it back."""
    written = Written(frozenset({"bug", "P1"}), priority="P1", person="none")
    assert "P0" not in plan_labels(replace(BUG_P1, priority="P0"), {"bug"}, written).add
    plan = plan_labels(BUG_P1, {"bug", "area: installation", "P1"}, written)
    assert plan.add == () and plan.remove == ("P1",) and plan.person_priority == "none"


def test_harks_own_priority_comes_off_beside_the_persons():
    written = Written(frozenset({"bug", "P1"}), priority="P1")
    plan = plan_labels(BUG_P1, {"bug", "area: installation", "P1", "P0"}, written)
    assert plan.person_priority == "P0" and plan.add == () and plan.remove == ("P1",)


# ----------------------------------------------------------- with the fake and the webhook


def test_a_persons_priority_beside_harks_wins_and_harks_comes_off(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    (hark_said,) = _priorities(fake)
    assert record_label_event(services, _label_event("labeled", hark_said, "hark", fake)) == (
        "Hark's own label"
    )

    fake.person_sets(REPO, NUMBER, [*fake.labels_on(REPO, NUMBER), "P0"])  # added, not swapped
    said = record_label_event(services, _label_event("labeled", "P0", "rosa", fake))
    assert said == "corrected to P0 by github:rosa"
    _run_queued(services)  # the write-back the correction queued
    assert _priorities(fake) == ["P0"]
    # GitHub then tells of Hark's removal: Hark's own, and no decision of a person's
    event = _label_event("unlabeled", hark_said, "hark", fake)
    assert record_unlabel_event(services, event) == "Hark's own removal"
    mention = MentionStore(services.connection).get(MENTION_ID)
    assert mention.priority == "P0" and mention.correction.by == "github:rosa"


def test_a_priority_a_person_takes_off_is_never_put_back(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    others = [name for name in fake.labels_on(REPO, NUMBER) if not name.startswith("P")]
    fake.person_sets(REPO, NUMBER, [*others, "P1"])
    record_label_event(services, _label_event("labeled", "P1", "rosa", fake))
    _run_queued(services)

    fake.person_sets(REPO, NUMBER, others)  # rosa takes her P1 off again
    said = record_unlabel_event(services, _label_event("unlabeled", "P1", "rosa", fake))
    assert said.startswith("P1 taken off by github:rosa")
    assert write_backs(services)[0]["person_removed"] == "P1"

    # the issue is edited and triaged again, as a P0 now: still no priority label from Hark
    mention = mention_from_delivery("issues", _delivery(*CRASH, action="edited"), NOW)
    triage_mention(services, mention.model_dump(mode="json"))
    write_back_issue(services, mention.id)
    write_back_issue(services, MENTION_ID)
    assert _priorities(fake) == []
    # and the triage priority is the person's last choice, not reverted by the removal
    assert MentionStore(services.connection).get(MENTION_ID).priority == "P1"


def test_harks_own_swap_is_not_taken_for_a_persons(shipped, fake):
    """A new triage swaps Hark's own priority label; the labeled and unlabeled deliveries
    that causes are Hark's own, so the next triage may swap it again."""
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    (before,) = _priorities(fake)
    edited = mention_from_delivery("issues", _delivery(*CRASH, action="edited"), NOW)
    triage_mention(services, edited.model_dump(mode="json"))
    write_back_issue(services, edited.id)
    assert _priorities(fake) == ["P0"] and before != "P0"
    assert record_label_event(services, _label_event("labeled", "P0", "hark", fake)) == (
        "Hark's own label"
    )
    event = _label_event("unlabeled", before, "hark", fake)
    assert record_unlabel_event(services, event) == "Hark's own removal"
    assert MentionStore(services.connection).get(MENTION_ID).correction is None

    narrow_again = mention_from_delivery(
        "issues", _delivery(NARROW[0], NARROW[1] + " again", action="edited"), NOW
    )
    triage_mention(services, narrow_again.model_dump(mode="json"))
    write_back_issue(services, narrow_again.id)
    assert _priorities(fake) == [before]


def test_a_removal_github_refused_is_not_taken_for_harks_own(shipped, fake, monkeypatch):
    """Hark's swap was rate-limited before its DELETE went through: when a person then
    takes that label off, it is their decision, not an echo of Hark's."""
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *NARROW)
    write_back_issue(services, MENTION_ID)
    (before,) = _priorities(fake)
    edited = mention_from_delivery("issues", _delivery(*CRASH, action="edited"), NOW)
    triage_mention(services, edited.model_dump(mode="json"))

    def limited(*args, **kwargs):
        raise GitHubRateLimited("DELETE label: 403", 403, 60, secondary=True)

    monkeypatch.setattr(GitHubClient, "remove_label", limited)
    assert write_back_issue(services, edited.id).startswith("rate-limited")
    assert before in _priorities(fake)
    fake.person_sets(REPO, NUMBER, [n for n in fake.labels_on(REPO, NUMBER) if n != before])
    said = record_unlabel_event(services, _label_event("unlabeled", before, "rosa", fake))
    assert said.startswith(f"{before} taken off by github:rosa")


# ------------------------------------------------------------------ refused for good


def test_labels_refused_do_not_keep_a_p0_from_its_first_comment(shipped, fake, monkeypatch):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *CRASH)

    def refuse(*args, **kwargs):
        raise GitHubInvalid("POST labels: 422 Validation Failed", [{"code": "invalid"}])

    monkeypatch.setattr(GitHubClient, "add_labels", refuse)
    outcome = write_back_issue(services, MENTION_ID)
    assert outcome.startswith("refused") and "commented p0-first" in outcome
    assert len(fake.comments_on(REPO, NUMBER)) == 1
    # the P0 Hark was adding is not its own: a person who sets it is heard
    written = services.connection.hgetall(f"hark:github:written:{REPO}#{NUMBER}")
    assert b"pending" not in written
    fake.person_sets(REPO, NUMBER, ["P0"])
    said = record_label_event(services, _label_event("labeled", "P0", "rosa", fake))
    assert said != "Hark's own label"


def test_a_deleted_issue_is_refused_once_not_retried(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    _triage(services, *CRASH)
    fake.remove_issue(REPO, NUMBER)
    assert write_back_issue(services, MENTION_ID) == "refused"  # no exception: no RQ retry
    assert "410" in write_backs(services)[0]["error"]
    assert fake.writes() == []  # and no comment tried on an issue that is gone


def test_one_deleted_issue_does_not_keep_the_others_from_fixed_in(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    fake.add_issue(REPO, 319)
    first = _triage(services, *CRASH)
    second = _triage(services, CRASH[0] + " (me too)", CRASH[1], number=319)
    incident_id = first["incident"]["id"]
    assert second["incident"]["id"] == incident_id
    fake.remove_issue(REPO, NUMBER)
    outcome = post_fixed_in(services, incident_id, "1.2.1")
    assert outcome == "commented on 1 issues, 1 refused"
    assert any("fixed in Caro v1.2.1" in body for body in fake.comments_on(REPO, 319))
    # the person who resolved it sees, on the incident, which issue did not get it
    incident = IncidentStore(services.connection).get(incident_id)
    (refused,) = [e for e in incident.timeline if e.event == "github-comment-refused"]
    assert f"{REPO}#{NUMBER}" in refused.detail and "410" in refused.detail


@pytest.mark.parametrize("labels", [None, 7, "P1", {"name": "P1"}, [None, {"name": ["P1"]}]])
def test_an_unlabeled_delivery_of_any_shape_is_handled(shipped, fake, labels):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    event = _label_event("unlabeled", "P2", "rosa", fake)
    event["issue"]["labels"] = labels
    assert record_unlabel_event(services, event).startswith("P2 taken off")
    with pytest.raises(ValueError, match="'label' and 'issue'"):
        record_unlabel_event(services, {"action": "unlabeled", "issue": event["issue"]})


def test_a_labeled_delivery_without_an_issue_id_records_nothing(shipped, fake):
    services = _services(shipped, github_bot_from(TOKEN, REPO, fake.url))
    event = _label_event("labeled", "P0", "rosa", fake)
    del event["issue"]["id"]
    with pytest.raises(ValueError):
        record_label_event(services, event)
    assert services.connection.hgetall(f"hark:github:written:{REPO}#{NUMBER}") == {}


def test_the_standalone_fake_takes_its_controls_over_http(fake):
    """What OPERATIONS.md tells a person to call to see Hark wait out a limit by hand."""
    import requests

    client = GitHubClient(TOKEN, fake.url, timeout_s=5)
    assert requests.post(f"{fake.url}/_fake/secondary?count=1&retry_after=20", timeout=5).ok
    with pytest.raises(GitHubRateLimited) as limited:
        client.issue_labels(REPO, NUMBER)
    assert limited.value.secondary and limited.value.wait_s == 20
    assert requests.post(f"{fake.url}/_fake/exhaust?reset_in=90", timeout=5).ok
    with pytest.raises(GitHubRateLimited) as limited:
        client.issue_labels(REPO, NUMBER)
    assert not limited.value.secondary
    assert requests.post(f"{fake.url}/_fake/delete?repo={REPO}&number={NUMBER}", timeout=5).ok
    assert requests.get(f"{fake.url}/_fake/labels?repo={REPO}", timeout=5).json() == []
