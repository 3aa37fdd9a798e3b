"""While Redis cannot serve (unreachable, or refusing writes: out of memory, a disk it
cannot write, read-only) the login page is a page that says so, the other pages too, and
the JSON API answers 503 ``store_unavailable`` (issue 14, item 14). The review saw raw JSON
on the login page: a failed login's count is written after the password check, and that
write met the refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from web import create_app
from web.users import load_users

USERS = {"rob": ("responder", "responder-pass-2")}
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def app(write_users, redis_conn):
    return create_app(
        redis=redis_conn,
        api_token="t",
        secret_key="k" * 40,
        users=load_users(write_users(USERS)),
        insecure_cookies=True,
    )


@pytest.fixture
def refusing(redis_conn) -> Iterator[None]:
    """The real Redis, out of memory: it still reads, and refuses every write."""
    redis_conn.config_set("maxmemory", 1)
    try:
        yield
    finally:
        redis_conn.config_set("maxmemory", 0)


def _login_page_says_so(response) -> None:
    assert response.status_code == 503, response.get_data()[:300]
    assert response.mimetype == "text/html"
    assert "<h1>Log in to Hark</h1>" in response.text
    assert "Redis refused the request" in response.text
    assert response.headers["Retry-After"] == "5"


@pytest.mark.parametrize("password", ["wrong", "responder-pass-2"])
def test_a_login_while_redis_refuses_writes_is_the_login_page(app, log_in, refusing, password):
    _login_page_says_so(log_in(app.test_client(), "rob", password))


def test_the_api_while_redis_refuses_writes_answers_503(app, refusing):
    mention = {"channel": "discord", "id": "during-oom", "text": "caro crashes on launch"}
    response = app.test_client().post("/api/mentions", json=mention, headers=AUTH)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "store_unavailable"
    assert "refused" in response.get_json()["error"]["message"]


def test_a_redis_bug_is_still_a_500_with_its_trace_in_the_log(app, redis_conn, caplog):
    """Only an outage is a 503: a wrong command is our fault, and the log must show it."""
    redis_conn.set("hark:mentions:by-time", "not a sorted set")
    response = app.test_client().get("/api/mentions", headers=AUTH)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "WRONGTYPE" in caplog.text


def test_a_login_while_redis_is_gone_is_the_login_page(write_users, log_in):
    gone = redis.Redis(  # refused at once, and not asked again (redis-py retries by default)
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    client = create_app(
        redis=gone, secret_key="k" * 40, users=load_users(write_users(USERS))
    ).test_client()
    response = log_in(client, "rob", "responder-pass-2")
    assert response.status_code == 503 and "<h1>Log in to Hark</h1>" in response.text
    assert "Redis is unreachable" in response.text
