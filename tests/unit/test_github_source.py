"""Webhook deliveries in GitHub's documented shape (``tests/data/github``) as Mentions (pure
code, no HTTP): what each event becomes, what is ignored, and a clear ``PayloadError`` for
every bad shape."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from monitor.sources.github import PayloadError, mention_from_delivery
from tests.conftest import GITHUB_FIXTURES

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def delivery(name: str) -> dict:
    return json.loads((GITHUB_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_an_opened_issue_is_its_title_and_body():
    payload = delivery("issues.opened")
    mention = mention_from_delivery("issues", payload, NOW)
    issue = payload["issue"]
    assert mention.id == f"github:issue-{issue['id']}"
    assert mention.text == f"{issue['title']}\n\n{issue['body']}".strip()
    assert mention.author == issue["user"]["login"]
    assert mention.thread_id == f"issue-{issue['id']}"
    assert mention.created_at == datetime.fromisoformat(issue["created_at"].replace("Z", "+00:00"))


def test_an_edit_is_a_new_version_of_the_same_thread():
    opened = mention_from_delivery("issues", delivery("issues.opened"), NOW)
    edited = mention_from_delivery("issues", delivery("issues.edited"), NOW)
    assert edited.id.startswith("github:issue-") and "-edit-" in edited.id
    assert edited.id != opened.id


def test_a_comment_replies_to_its_issue():
    payload = delivery("issue_comment.created")
    mention = mention_from_delivery("issue_comment", payload, NOW)
    assert mention.id == f"github:comment-{payload['comment']['id']}"
    assert mention.text == payload["comment"]["body"]
    assert mention.reply_to == f"github:issue-{payload['issue']['id']}"


def test_an_empty_body_leaves_the_title():
    payload = delivery("issues.opened.with-empty-body")
    mention = mention_from_delivery("issues", payload, NOW)
    assert mention.text == payload["issue"]["title"].strip()


@pytest.mark.parametrize(
    ("event", "action"),
    [("issues", "closed"), ("issues", "labeled"), ("issue_comment", "deleted"), ("push", "")],
)
def test_other_events_and_actions_are_ignored(event, action):
    payload = delivery("issues.opened") | {"action": action}
    assert mention_from_delivery(event, payload, NOW) is None


def _broken(change) -> dict:
    payload = copy.deepcopy(delivery("issues.opened"))
    change(payload)
    return payload


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(action=["opened"]), "'action' must be a string"),
        (lambda p: p.update(issue="#12"), "'issue' must be an object"),
        (lambda p: p["issue"].pop("id"), "'id' is missing"),
        (lambda p: p["issue"].update(created_at="yesterday"), "'created_at' is not an ISO 8601"),
        (lambda p: p["issue"].update(id="9" * 300), "native_id: String should have at most"),
        (lambda p: p["issue"].update(title="crash \ud800"), "text: Value error, not valid Unicode"),
    ],
)
def test_a_bad_shape_names_the_field(change, message):
    with pytest.raises(PayloadError) as raised:
        mention_from_delivery("issues", _broken(change), NOW)
    assert str(raised.value).startswith(message)


def test_a_comment_body_that_is_not_text_names_the_field():
    payload = copy.deepcopy(delivery("issue_comment.created"))
    payload["comment"]["body"] = ["not", "text"]
    with pytest.raises(PayloadError, match=r"^text: Input should be a valid string"):
        mention_from_delivery("issue_comment", payload, NOW)
