"""gunicorn's factory (``hark.wsgi:create_wsgi_app()``) against a real redis-server: the
app is wired from the ``HARK_`` environment exactly as ``hark web`` wires it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest

from hark.wsgi import create_wsgi_app
from oncall.rotation import LocalRotation

TOKEN = "wsgi-api-token"
GITHUB_SECRET = "wsgi-github-secret"
PD_SECRET = "wsgi-pagerduty-secret"


@pytest.fixture
def environment(monkeypatch, redis_url, redis_conn):
    for name in list(os.environ):
        if name.startswith("HARK_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HARK_REDIS_URL", redis_url)
    return monkeypatch


def test_builds_the_app_from_the_environment(environment):
    environment.setenv("HARK_API_TOKEN", TOKEN)
    environment.setenv("HARK_GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
    environment.setenv("HARK_PD_WEBHOOK_SECRET", PD_SECRET)
    app = create_wsgi_app()

    assert app.config["REDIS"].ping()
    assert app.config["HARK_API_TOKEN"] == TOKEN
    assert app.config["HARK_GITHUB_WEBHOOK_SECRET"] == GITHUB_SECRET
    assert app.config["HARK_PD_WEBHOOK_SECRET"] == PD_SECRET
    assert isinstance(app.config["ROTATION"], LocalRotation)  # no HARK_PD_API_TOKEN
    assert app.config["SERVICES"].x_poster is None  # no HARK_X_* user-context settings

    client = app.test_client()
    listed = client.get("/api/mentions", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [], "next": None}
    assert client.get("/api/mentions").status_code == 401

    body = json.dumps({"zen": "Keep it logically awesome."}).encode()
    signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    ping = client.post(
        "/webhooks/github",
        data=body,
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "wsgi-1",
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        },
    )
    assert ping.status_code == 200, ping.get_json()


def test_without_secrets_the_api_and_webhooks_are_off(environment):
    client = create_wsgi_app().test_client()
    api = client.get("/api/mentions", headers={"Authorization": "Bearer anything"})
    assert api.status_code == 503
    assert "HARK_API_TOKEN" in api.get_json()["error"]["message"]
    github = client.post("/webhooks/github", data=b"{}")
    assert github.status_code == 503
    assert "HARK_GITHUB_WEBHOOK_SECRET" in github.get_json()["error"]["message"]


def test_all_four_x_settings_give_a_poster(environment):
    for name in ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"):
        environment.setenv(f"HARK_X_{name}", f"value-{name.lower()}")
    assert create_wsgi_app().config["SERVICES"].x_poster is not None


def test_each_call_builds_a_new_app_with_its_own_connection(environment):
    # gunicorn calls the factory once per worker process: nothing is shared between them.
    first, second = create_wsgi_app(), create_wsgi_app()
    assert first is not second
    assert first.config["REDIS"] is not second.config["REDIS"]


def test_without_a_session_key_the_page_says_how_to_turn_it_on(environment):
    client = create_wsgi_app().test_client()
    for path in ("/", "/login"):
        response = client.get(path)
        assert response.status_code == 503
        message = response.get_json()["error"]["message"]
        assert "HARK_SECRET_KEY" in message and "HARK_USERS_FILE" in message


def test_a_session_key_without_users_is_warned_about(environment, caplog):
    environment.setenv("HARK_SECRET_KEY", "k" * 40)
    app = create_wsgi_app()
    assert app.test_client().get("/login").status_code == 200
    assert "HARK_USERS_FILE is not: nobody can log in" in caplog.text
