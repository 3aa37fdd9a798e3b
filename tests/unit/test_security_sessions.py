"""Logging out ends the session on the server (issue 14, item 4): on the real app, a cookie
copied before logout opens no page afterwards, and acts on nothing, although its signature
is still good and it has not expired."""

from __future__ import annotations

import re

import fakeredis
import pytest

from web import create_app
from web.login_sessions import SESSION_KEY
from web.users import load_users


@pytest.fixture
def app(write_users):
    return create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        secret_key="k" * 40,
        users=load_users(write_users({"rob": ("responder", "responder-pass-2")})),
        insecure_cookies=True,
    )


def _page_paths(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint.startswith("pages."):
            yield re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"x-\1", rule.rule)


def test_a_cookie_copied_before_logout_opens_no_page_after_it(app, log_in, csrf_token_of):
    browser = app.test_client()
    assert log_in(browser, "rob", "responder-pass-2").status_code == 303
    token = csrf_token_of(browser.get("/").text)
    copied = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the login stands

    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    assert not app.config["REDIS"].keys(SESSION_KEY.format(digest="*"))
    paths = list(_page_paths(app))
    assert len(paths) >= 6
    for path in paths:
        response = thief.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    # nor can it act: a form post with the page's token is sent to the login page
    acted = thief.post("/incidents/x-incident/acknowledge", data={"csrf_token": token})
    assert acted.status_code == 302 and acted.headers["Location"].startswith("/login")
