"""Every route refuses the unauthenticated, and the pages refuse a role that is too low.

The walk covers the app's whole URL map, so a route added later without a guard fails
here (the few public routes are listed, with why)."""

from __future__ import annotations

import re

import fakeredis
import pytest

from web import create_app
from web.ids_in_urls import id_token
from web.users import load_users

PUBLIC = {
    "/login": "the login form itself",
    "/logout": "needs a session and a CSRF token, checked by the view",
    "/healthz": "for load balancers and the on-call; reveals no mention data",
    "/webhooks/github": "authenticated by X-Hub-Signature-256",
    "/webhooks/pagerduty": "authenticated by X-PagerDuty-Signature",
    "/static/<path:filename>": "CSS, JS and the icon",
    "/favicon.ico": "the icon browsers ask for on every page",
}


@pytest.fixture
def app(write_users):
    users_file = write_users({"vic": ("viewer", "viewer-pass"), "ada": ("admin", "admin-pass")})
    application = create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        secret_key="k" * 40,
        users=load_users(users_file),
        insecure_cookies=True,
    )
    application.config["TESTING"] = True
    return application


@pytest.fixture
def signed_in(app, log_in, csrf_token_of):
    """A client logged in as ``name`` through the form, and its pages' CSRF token."""

    def sign_in(name: str, password: str):
        client = app.test_client()
        assert log_in(client, name, password).status_code == 303
        return client, csrf_token_of(client.get("/").text)

    return sign_in


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC:
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # any(a, b): take a
        path = re.sub(r"<mention:[^>]+>", id_token("x:1"), path)  # an id, as pages carry it
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


def test_a_viewer_cannot_act(app, signed_in):
    client, token = signed_in("vic", "viewer-pass")
    for method, path, rule in _routes(app):
        if method == "POST" and not path.startswith("/api/") and rule not in PUBLIC:
            response = client.post(path, data={"csrf_token": token})
            expected = 200 if rule in READ_ONLY_POSTS else 403
            assert response.status_code == expected, (rule, response.status_code)


def test_every_page_form_needs_the_csrf_token(app, signed_in):
    client, _ = signed_in("ada", "admin-pass")
    checked = 0
    for method, path, rule in _routes(app):
        if method == "POST" and not path.startswith("/api/"):
            response = client.post(path, data={"csrf_token": "forged"})
            assert response.status_code == 400, rule
            assert "CSRF token is missing or out of date" in response.get_data(as_text=True)
            checked += 1
    assert checked >= 3  # the queue actions, the incident actions, the rules form


def test_a_session_grants_nothing_on_the_token_api(app, signed_in):
    """The API is exempt from CSRF because only the token opens it: an admin's cookie and
    a valid CSRF token get the same 401 as nobody."""
    client, token = signed_in("ada", "admin-pass")
    for method, path, rule in _routes(app):
        if path.startswith("/api/") or path == "/metrics":
            response = client.open(path, method=method, json={}, headers={"X-CSRF-Token": token})
            assert response.status_code == 401, (method, rule, response.status_code)


def test_a_cookie_copied_before_logout_stops_working(app, signed_in):
    client, token = signed_in("ada", "admin-pass")
    copied = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", copied)
    response = replay.get("/queue")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_public_routes_are_the_listed_ones(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert set(PUBLIC) <= rules
