"""Every route refuses the unauthenticated, and the pages refuse a role that is too low.

The walk covers the app's whole URL map, so a route added later without a guard fails
here (the few public routes are listed, with why)."""

from __future__ import annotations

import re

import fakeredis
import pytest

from web import create_app
from web.users import hash_password

PUBLIC = {
    "/login": "the login form itself",
    "/logout": "needs a session and a CSRF token, checked by the view",
    "/healthz": "for load balancers and the on-call; reveals no mention data",
    "/webhooks/github": "authenticated by X-Hub-Signature-256",
    "/webhooks/pagerduty": "authenticated by X-PagerDuty-Signature",
    "/static/<path:filename>": "CSS and JS",
}


@pytest.fixture
def app(tmp_path):
    users_file = tmp_path / "users.yaml"
    users_file.write_text(
        "users:\n"
        f"  - {{name: vic, role: viewer, password_hash: '{hash_password('viewer-pass')}'}}\n"
    )
    from web.users import load_users

    application = create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        secret_key="k" * 40,
        users=load_users(users_file),
        insecure_cookies=True,
    )
    application.config["TESTING"] = True
    return application


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC:
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # any(a, b): take a
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"x-\1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rule.rule


def test_every_route_refuses_the_unauthenticated(app):
    client = app.test_client()
    checked = 0
    for method, path, rule in _routes(app):
        response = client.open(path, method=method)
        is_api = path.startswith("/api/") or path == "/metrics"
        allowed = {401} if is_api else {302, 400}  # 400: a page POST without a CSRF token
        assert response.status_code in allowed, (method, rule, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], (method, rule)
        checked += 1
    assert checked >= 20  # the walk really covered the app (22 routes today)


# Page forms that post only to keep what they send out of URLs (and so out of access
# logs): they change nothing, and a viewer may use them.
READ_ONLY_POSTS = {"/rules"}


def test_a_viewer_cannot_act(app):
    client = app.test_client()
    login = client.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', login.data).group(1).decode()
    client.post("/login", data={"name": "vic", "password": "viewer-pass", "csrf_token": token})
    page = client.get("/")
    assert page.status_code == 200
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    for method, path, rule in _routes(app):
        if method == "POST" and not path.startswith("/api/") and rule not in PUBLIC:
            response = client.post(path, data={"csrf_token": token})
            expected = 200 if rule in READ_ONLY_POSTS else 403
            assert response.status_code == expected, (rule, response.status_code)


def test_the_public_routes_are_the_listed_ones(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert set(PUBLIC) <= rules
