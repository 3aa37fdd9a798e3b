"""The JSON API and the page act on the reply queue through the same service functions
(``services.queue``): what one does, the other sees and obeys, and both refuse alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

import web
from desk.records import QueueItem
from desk.reply_queue import ITEM, ReplyQueue
from web.ids_in_urls import id_token
from web.users import load_users

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)
API = {"Authorization": "Bearer t"}
PEOPLE = {"ana": "responder", "ben": "responder"}


@pytest.fixture
def make_item():
    def make(number: int = 1, **overrides) -> QueueItem:
        item = {
            "mention_id": f"x:{number}",
            "native_id": str(1000 + number),
            "channel": "x",
            "author": "sam",
            "text": "caro suggests the wrong flag for tar",
            "priority": "P2",
            "category": "command-generation",
            "kind": "bug",
            "received_at": NOW - timedelta(minutes=30),
            "due_at": NOW + timedelta(minutes=30),
            "draft": {"text": "Thanks, we are on it!", "template_id": "fallback"},
        }
        return QueueItem.model_validate({**item, **overrides})

    return make


@pytest.fixture
def app(write_users, make_item):
    users = write_users({name: (role, f"{name}-password") for name, role in PEOPLE.items()})
    application = web.create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        clock=lambda: NOW,
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users),
        insecure_cookies=True,
    )
    ReplyQueue(application.config["REDIS"]).add(make_item())
    return application


@pytest.fixture
def page_of(app, log_in, csrf_token_of):
    """``page_of(name)``: a browser signed in as ``name``, sending its CSRF token."""

    def client_of(name: str):
        client = app.test_client()
        assert log_in(client, name, f"{name}-password").status_code == 303
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_of(client.get("/queue").text)
        return client

    return client_of


@pytest.fixture
def api(app):
    def post(action: str, **body):
        return app.test_client().post(f"/api/queue/x:1/{action}", json=body, headers=API)

    return post


def stored(app) -> bytes:
    return app.config["REDIS"].get(ITEM.format(id="x:1"))


def test_a_claim_on_the_page_holds_against_the_api(page_of, api, app):
    page_of("ana").post(f"/queue/{id_token('x:1')}/claim")
    refused = api("claim", by="ben")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == "ana is already answering this"
    listed = app.test_client().get("/api/queue", headers=API).get_json()["items"]
    assert [(item["status"], item["claimed_by"]) for item in listed] == [("claimed", "ana")]


def test_a_claim_through_the_api_holds_on_the_page(page_of, api):
    assert api("claim", by="ben").status_code == 200
    page = page_of("ana")
    assert "claimed by ben" in page.get("/queue").text
    refused = page.post(f"/queue/{id_token('x:1')}/claim", follow_redirects=True)
    assert "ben is already answering this" in refused.text
    edit = page.post(f"/queue/{id_token('x:1')}/draft", data={"text": "Hi!"}, follow_redirects=True)
    assert "ben is answering this: ask them to release it" in edit.text


def test_a_refused_draft_leaves_the_item_unchanged_wherever_it_is_sent(page_of, api, app):
    before = stored(app)
    unsafe = "Just run rm -rf / and reinstall"
    refused = api("draft", by="ben", text=unsafe)
    assert refused.status_code == 422 and "destructive command" in refused.text
    page = page_of("ana").post(
        f"/queue/{id_token('x:1')}/draft", data={"text": unsafe}, follow_redirects=True
    )
    assert "destructive command" in page.text
    empty = page_of("ana").post(
        f"/queue/{id_token('x:1')}/draft", data={"text": " "}, follow_redirects=True
    )
    assert "text: the new draft" in empty.text
    assert stored(app) == before


def test_an_unapproved_send_is_refused_alike_and_posts_nothing(page_of, api, app):
    class Poster:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        def reply(self, text: str, in_reply_to_tweet_id: str) -> str:
            self.sent.append((text, in_reply_to_tweet_id))
            return "2001"

    poster = Poster()
    app.config["SERVICES"] = replace(app.config["SERVICES"], x_poster=poster)
    refused = api("send", by="ben")
    assert refused.status_code == 422
    page = page_of("ana").post(f"/queue/{id_token('x:1')}/send", follow_redirects=True)
    assert refused.get_json()["error"]["message"].split(" (")[0] in page.text
    assert poster.sent == []
    sent = api("send", by="ben", approve=True)
    assert sent.status_code == 200 and sent.get_json()["reply_url"].endswith("/2001")
    assert poster.sent == [("Thanks, we are on it!", "1001")]
    again = page_of("ana").post(
        f"/queue/{id_token('x:1')}/send", data={"approve": "yes"}, follow_redirects=True
    )
    assert "cannot send: the item is replied" in again.text and len(poster.sent) == 1


def test_an_item_answered_through_the_api_is_resolved_and_reopened_on_the_page(page_of, api, app):
    assert api("replied", by="ben").status_code == 200
    page = page_of("ana")
    assert (
        "Resolved x:1."
        in page.post(f"/queue/{id_token('x:1')}/resolve", follow_redirects=True).text
    )
    reopened = api("reopen", by="ben").get_json()
    assert (reopened["status"], reopened["reopened"]) == ("open", 1)
    assert [entry["actor"] for entry in reopened["history"]] == ["ben", "ana", "ben"]
