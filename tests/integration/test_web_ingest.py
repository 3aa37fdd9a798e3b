"""The JSON API and the GitHub webhook against a real Redis, with deliveries in GitHub's
documented shape from tests/data/github."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid

import pytest

from desk.mentions import MentionStore
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from tests.conftest import GITHUB_FIXTURES
from web import create_app

TOKEN = "test-api-token-0123456789"
SECRET = "webhook-secret-abcdef"
DELIVERIES = GITHUB_FIXTURES


@pytest.fixture
def client(redis_conn):
    app = create_app(redis=redis_conn, api_token=TOKEN, github_webhook_secret=SECRET)
    return app.test_client()


def _auth(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _deliver(
    client,
    event: str,
    body: bytes,
    *,
    delivery: str | None = None,
    secret=SECRET,
    signature: str | None = None,
):
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else f"sha256={digest}",
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/github", data=body, headers=headers)


def _payload(name: str) -> bytes:
    return (DELIVERIES / f"{name}.json").read_bytes()


# ---------------------------------------------------------------- POST/GET /api/mentions


def test_ingest_then_list(client, redis_conn):
    message = {
        "channel": "discord",
        "id": "1188",
        "author": "sam",
        "text": "caro segfaults on launch",
    }
    response = client.post("/api/mentions", json=message, headers=_auth())
    assert response.status_code == 202
    assert response.get_json() == {"id": "discord:1188", "enqueued": True}
    again = client.post("/api/mentions", json=message, headers=_auth())
    assert again.get_json()["enqueued"] is False

    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    listed = client.get("/api/mentions?priority=P0", headers=_auth()).get_json()
    assert listed["next"] is None
    (item,) = listed["items"]
    assert (item["id"], item["channel"], item["native_id"]) == ("discord:1188", "discord", "1188")
    assert item["triage"]["priority"] == "P0" and item["triage"]["rules"]
    assert "raw" not in item


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"channel": "discord", "id": "1"}, 422, "invalid_field", "text: Field required"),
        ({"channel": "myspace", "id": "1", "text": "x"}, 422, "invalid_field", "channel:"),
        ({"channel": "x", "id": "has space", "text": "x"}, 422, "invalid_field", "id:"),
        ({"channel": "x", "id": "50\x005", "text": "x"}, 422, "invalid_field", "id:"),
        (
            {"channel": "x", "id": "1", "text": "x", "created_at": "9999-12-31T00:00:00Z"},
            422,
            "invalid_field",
            "created_at: more than a day in the future",
        ),
        ({"channel": "x", "id": "5\u202e0", "text": "x"}, 422, "invalid_field", "control char"),
        ({"channel": "x", "id": "1", "text": "x", "admin": True}, 422, "invalid_field", "admin:"),
        ([1, 2], 422, "invalid_field", "body:"),
    ],
)
def test_ingest_validation_names_the_field(client, redis_conn, body, status, code, message):
    response = client.post("/api/mentions", json=body, headers=_auth())
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and message in error["message"]
    assert redis_conn.dbsize() == 0  # nothing half-written


def test_ingest_refuses_malformed_and_oversized_bodies(client, redis_conn):
    malformed = client.post(
        "/api/mentions", data=b"{not json", headers={**_auth(), "Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.get_json()["error"]["code"]) == (400, "invalid_json")
    huge = json.dumps({"channel": "x", "id": "1", "text": "a" * (6 * 1024 * 1024)})
    oversized = client.post(
        "/api/mentions", data=huge, headers={**_auth(), "Content-Type": "application/json"}
    )
    assert oversized.status_code == 413
    assert oversized.get_json()["error"]["code"] == "request_entity_too_large"
    chunked = client.post(  # no Content-Length: werkzeug would cut it at the limit silently
        "/api/mentions",
        input_stream=io.BytesIO(huge.encode()),
        environ_base={"wsgi.input_terminated": True},
        headers={**_auth(), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert (chunked.status_code, chunked.get_json()["error"]["message"]) == (
        413,
        "the body is over 5 MB",
    )
    null = client.post(
        "/api/mentions", data=b"null", headers={**_auth(), "Content-Type": "application/json"}
    )
    assert null.status_code == 422 and "a message is a JSON object" in null.get_data(as_text=True)
    plain_null = client.post(
        "/api/mentions", data=b"null", headers={**_auth(), "Content-Type": "text/plain"}
    )
    assert plain_null.status_code == 400  # not sent as JSON: "null" is just text
    assert redis_conn.dbsize() == 0


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_api_refuses_without_the_token(client, headers):
    for response in (
        client.get("/api/mentions", headers=headers),
        client.post(
            "/api/mentions", json={"channel": "x", "id": "1", "text": "x"}, headers=headers
        ),
    ):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_api_is_off_without_a_configured_token(redis_conn):
    client = create_app(redis=redis_conn).test_client()
    response = client.get("/api/mentions", headers=_auth())
    assert response.status_code == 503
    assert "HARK_API_TOKEN" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/mentions", "/api/incidents"])
@pytest.mark.parametrize(
    "query", ["limit=0", "limit=-5", "limit=999", "limit=99999999999999", "limit=ten"]
)
def test_list_parameters_are_checked(client, path, query):
    response = client.get(f"{path}?{query}", headers=_auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"
    assert "limit must be" in response.get_json()["error"]["message"]


def test_a_cursor_the_api_did_not_write_is_refused(client):
    response = client.get("/api/mentions?cursor=garbage", headers=_auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"


# ---------------------------------------------------------------- POST /webhooks/github


def test_issue_opened_is_triaged(client, redis_conn):
    response = _deliver(client, "issues", _payload("issues.opened"))
    assert response.status_code == 202
    assert response.get_json()["mention"] == "github:issue-2871654210"
    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    record = MentionStore(redis_conn).get("github:issue-2871654210")
    assert record.url.startswith("https://github.com/")
    assert record.author and record.triage.priority in {"P0", "P1", "P2", "P3"}


@pytest.mark.parametrize(
    ("name", "event", "mention_prefix"),
    [
        ("issues.opened.with-empty-body", "issues", "github:issue-"),
        ("issues.reopened", "issues", "github:issue-"),
        ("issues.edited", "issues", "github:issue-2871654210-edit-"),
        ("issue_comment.created", "issue_comment", "github:comment-"),
    ],
)
def test_every_documented_delivery_becomes_a_mention(client, name, event, mention_prefix):
    response = _deliver(client, event, _payload(name))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["mention"].startswith(mention_prefix)


def test_ping_is_answered(client, redis_conn):
    response = _deliver(client, "ping", _payload("ping"))
    assert response.status_code == 200 and response.get_json()["ok"] is True
    assert redis_conn.dbsize() == 0


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "sha256=deadbeef"],
    ids=["missing", "forged", "wrong-scheme", "short"],
)
def test_bad_signature_is_refused_and_nothing_is_stored(client, redis_conn, signature):
    response = _deliver(client, "issues", _payload("issues.opened"), signature=signature)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert redis_conn.dbsize() == 0


def test_signed_with_another_secret_is_refused(client, redis_conn):
    response = _deliver(client, "issues", _payload("issues.opened"), secret="not-the-secret")
    assert response.status_code == 401
    assert redis_conn.dbsize() == 0


def test_redelivery_is_not_processed_twice(client, redis_conn):
    delivery = str(uuid.uuid4())
    first = _deliver(client, "issues", _payload("issues.opened"), delivery=delivery)
    second = _deliver(client, "issues", _payload("issues.opened"), delivery=delivery)
    assert first.status_code == 202 and first.get_json()["enqueued"] is True
    assert second.status_code == 200 and second.get_json()["duplicate"] is True
    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    assert MentionStore(redis_conn).count() == 1


def test_signed_but_malformed_bodies(client, redis_conn):
    not_json = _deliver(client, "issues", b"{oops")
    assert (not_json.status_code, not_json.get_json()["error"]["code"]) == (400, "invalid_json")
    no_issue = _deliver(client, "issues", json.dumps({"action": "opened"}).encode())
    assert no_issue.status_code == 422
    assert "'issue' must be an object" in no_issue.get_json()["error"]["message"]
    assert redis_conn.dbsize() == 0


def test_webhook_is_off_without_a_secret(redis_conn):
    client = create_app(redis=redis_conn, api_token=TOKEN).test_client()
    response = _deliver(client, "issues", _payload("issues.opened"))
    assert response.status_code == 503
    assert "HARK_GITHUB_WEBHOOK_SECRET" in response.get_json()["error"]["message"]
