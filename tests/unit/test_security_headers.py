"""Every answer carries the security headers (issue 14, item 5): the pages, the login
page, the JSON API, the webhooks, /healthz and /metrics, static files, and the error
answers (404, 405, 400, 503, 500), with the pages on and off. The templates carry no
inline script or style, so the policy needs neither 'unsafe-inline' nor nonces. And
/favicon.ico is an icon, linked from both layouts (item 15)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from web import create_app
from web.security_headers import CONTENT_SECURITY_POLICY
from web.users import load_users

TEMPLATES = Path(__file__).parents[2] / "web" / "templates"
AUTH = {"Authorization": "Bearer t"}


def assert_guarded(response, what: str) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], (what, policy)
    assert directives.get("style-src") == ["'self'"], (what, policy)
    assert directives.get("frame-ancestors") == ["'none'"], (what, policy)
    assert directives.get("object-src") == ["'none'"], (what, policy)
    assert not any("unsafe" in value for values in directives.values() for value in values)
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "same-origin", what


def _app(write_users, connection=None, **options):
    users_file = write_users({"ada": ("admin", "admin-pass")})
    return create_app(
        redis=connection or fakeredis.FakeRedis(),
        api_token="t",
        github_webhook_secret="gh",
        pagerduty_webhook_secret="pd",
        users=load_users(users_file),
        insecure_cookies=True,
        **options,
    )


@pytest.fixture
def app(write_users):
    return _app(write_users, secret_key="k" * 40)


@pytest.fixture
def admin(app, log_in):
    client = app.test_client()
    assert log_in(client, "ada", "admin-pass").status_code == 303
    return client


def _plain_paths(app):
    """Every GET route whose path has no variable part, and one made-up value for the rest."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)
        yield re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"x-\1", path)


def test_every_get_route_carries_the_headers_signed_in_and_out(app, admin):
    anonymous = app.test_client()
    walked = 0
    for path in _plain_paths(app):
        for client, who in ((admin, "admin"), (anonymous, "anonymous")):
            for headers in ({}, AUTH, {"Accept": "text/html"}):
                assert_guarded(client.get(path, headers=headers), f"{who} GET {path}")
                walked += 1
    assert walked > 60


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/api/no-such-thing", 404),
        ("DELETE", "/api/mentions", 405),
        ("POST", "/webhooks/github", 401),
        ("POST", "/webhooks/pagerduty", 401),
        ("POST", "/api/mentions", 400),
        ("POST", "/logout", 400),  # no CSRF token: the form-expired page
        ("GET", "/api/mentions?limit=0", 400),
        ("GET", "/incidents/not-an-incident", 404),
    ],
)
def test_error_answers_carry_the_headers(admin, method, path, status):
    for accept in ("text/html", "application/json"):
        response = admin.open(path, method=method, headers={**AUTH, "Accept": accept})
        assert response.status_code == status, (path, response.get_data()[:200])
        assert_guarded(response, f"{method} {path} ({accept})")


def test_an_unexpected_error_carries_the_headers(app):
    @app.get("/api/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert_guarded(response, "a 500")


def test_the_pages_while_redis_is_down_carry_the_headers(write_users, log_in):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    client = _app(write_users, down, secret_key="k" * 40).test_client()
    for path in ("/login", "/api/mentions", "/healthz"):
        assert_guarded(client.get(path, headers=AUTH), f"GET {path} with Redis down")
    response = log_in(client, "ada", "admin-pass")
    assert response.status_code == 503
    assert_guarded(response, "a login with Redis down")


def test_with_the_pages_off_every_answer_carries_the_headers(write_users):
    client = _app(write_users).test_client()  # no secret key: the JSON API only
    for path in ("/", "/login", "/api/mentions", "/healthz", "/favicon.ico"):
        assert_guarded(client.get(path, headers=AUTH), f"GET {path} (pages off)")


def test_the_templates_have_no_inline_script_or_style():
    """What the policy forbids, the templates must not need: no inline script, event
    handler, javascript: URL, style element or style attribute."""
    forbidden = re.compile(
        r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|javascript:|<style|\sstyle\s*=", re.IGNORECASE
    )
    for template in sorted(TEMPLATES.glob("*.html")):
        found = forbidden.findall(template.read_text(encoding="utf-8"))
        assert not found, f"{template.name}: {found}"


def test_the_policy_is_one_line_of_known_directives():
    assert "\n" not in CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY


# ------------------------------------------------------------------------ favicon


def test_the_favicon_is_served_on_every_app(app, write_users):
    for application in (app, _app(write_users)):
        response = application.test_client().get("/favicon.ico")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert response.get_data().lstrip().startswith(b"<svg")
        assert b"<script" not in response.get_data()


def test_both_layouts_link_the_icon(app, admin):
    for page in (admin.get("/"), app.test_client().get("/login")):
        link = re.search(r'<link rel="icon" [^>]*href="([^"]+)"', page.text)
        assert link, page.text[:400]
        assert app.test_client().get(link.group(1)).status_code == 200
