"""Every id the pages put in a URL reaches its own item, whatever the sender put in it.

The review's attack: a mention posted with the id ``zy/../discord:1464606793559703553``
made its Dismiss form post to ``/queue/email:zy/../discord:.../dismiss``; the browser
normalized the path, and the real Discord P0 was dismissed. Pages now carry ids as
base64url tokens (``web.ids_in_urls``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import fakeredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

import web
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from web.ids_in_urls import id_from_token, id_token
from web.users import load_users

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)
VICTIM = "discord:1464606793559703553"
HOSTILE_NATIVE_IDS = [
    "zy/../discord:1464606793559703553",
    "../../discord:1464606793559703553",
    "a/./b",
    "..",
    ".",
    "%2e%2e/discord:1464606793559703553",
    "x?y=1#frag",
    "<alice@example.com>/../../x",
    "space and\ttab",
    "ünïcødé/..",
    "a\\..\\b",
    "1464606793559703553/claim",
]
CHANNELS = ["x", "github", "discord", "email"]


def _item(mention_id: str, priority: str = "P2") -> QueueItem:
    channel, native_id = mention_id.split(":", 1)
    return QueueItem.model_validate(
        {
            "mention_id": mention_id,
            "native_id": native_id,
            "channel": channel,
            "author": "sam",
            "text": f"a report from {channel}",
            "priority": priority,
            "category": "other",
            "kind": "bug",
            "received_at": NOW - timedelta(minutes=30),
            "due_at": NOW + timedelta(minutes=30),
            "draft": {"text": "Thanks, we are on it!", "template_id": "fallback"},
        }
    )


@pytest.fixture
def app(write_users):
    users = write_users({"rosa": ("responder", "rosa-password-long")})
    application = web.create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        clock=lambda: NOW,
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users),
        insecure_cookies=True,
    )
    ReplyQueue(application.config["REDIS"]).add(_item(VICTIM, "P0"))
    return application


@pytest.fixture
def rosa(app, log_in, csrf_token_of):
    client = app.test_client()
    assert log_in(client, "rosa", "rosa-password-long").status_code == 303
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_of(client.get("/queue").text)
    return client


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("native_id", HOSTILE_NATIVE_IDS)
def test_a_form_for_a_hostile_id_acts_on_that_item_only(app, rosa, channel, native_id):
    hostile = f"{channel}:{native_id}"
    queue = ReplyQueue(app.config["REDIS"])
    queue.add(_item(hostile))
    page = rosa.get("/queue", query_string={"sel": hostile}).text
    actions = re.findall(r'action="([^"]*/dismiss)"', page)
    assert actions, "the selected item has a Dismiss form"
    # what a browser does with the form's action before it sends the request
    sent_to = urlsplit(urljoin("http://hark.test/queue", actions[0].replace("&amp;", "&"))).path
    answer = rosa.post(sent_to, data={"reason": "a test of hostile ids"})
    assert answer.status_code in (302, 303), answer.status_code
    assert queue.get(hostile).status == "dismissed"
    assert queue.get(VICTIM).status == "open", "another item was acted on"


@given(st.text(max_size=200))
def test_every_id_has_one_token_that_no_url_can_rewrite(value):
    token = id_token(value) if value else "A"
    if value:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token) and "." not in token
        assert id_from_token(token) == value


@pytest.mark.parametrize("token", ["", "a", "%2e%2e", "..", "x-mention_id", "A" * 3000, "AA="])
def test_a_token_no_page_wrote_is_a_404(rosa, token):
    assert rosa.post(f"/queue/{token}/claim").status_code in (404, 405)
