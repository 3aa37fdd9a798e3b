"""Login, roles, CSRF and failed-login limits (web/session_auth.py, web/users.py) on a small
app of its own, so that nothing here depends on the real pages."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import fakeredis
import pytest
from flask import Flask, jsonify, render_template_string
from werkzeug.security import generate_password_hash

from web import session_auth
from web.auth import require_token
from web.errors import register_error_handlers
from web.session_auth import (
    current_user,
    init_auth,
    is_safe_next,
    login_required,
    require_login_or_token,
)
from web.users import Users, UsersFileError, hash_password, load_users

SECRET = "s" * 40
API_TOKEN = "api-token-for-tests"
PASSWORDS = {"vera": "viewer-pass-1", "rob": "responder-pass-2", "ada": "admin-pass-3"}
ROLE_OF = {"vera": "viewer", "rob": "responder", "ada": "admin"}
FAST = "pbkdf2:sha256:1000"  # a cheap hash keeps the tests quick; the format is the real one


def _users_yaml(passwords=PASSWORDS) -> str:
    lines = ["users:"]
    for name, password in passwords.items():
        hashed = generate_password_hash(password, method=FAST)
        lines += [
            f"  - name: {name}",
            f"    role: {ROLE_OF[name]}",
            f'    password_hash: "{hashed}"',
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.yaml"
    path.write_text(_users_yaml())
    return path


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


def make_app(users: Users, redis, **config) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": SECRET, "REDIS": redis, "HARK_API_TOKEN": API_TOKEN, **config})
    register_error_handlers(app)
    init_auth(app, users)

    @app.get("/")
    def home():
        return "home"

    @app.get("/viewer")
    @login_required("viewer")
    def viewer_page():
        return render_template_string(
            "hello {{ current_user.name }} ({{ current_user.role }}) {{ csrf_token() }}"
        )

    @app.get("/responder")
    @login_required("responder")
    def responder_page():
        return "responder page"

    @app.get("/admin")
    @login_required("admin")
    def admin_page():
        return "admin page"

    @app.post("/form")
    @login_required("viewer")
    def form_post():
        return "posted"

    @app.post("/api/thing")
    @require_login_or_token("responder")
    def api_thing():
        user = current_user()
        return jsonify(ok=True, by=user.name if user else "token")

    @app.post("/api/token-only")
    @require_token
    def api_token_only():
        return jsonify(ok=True)

    return app


@pytest.fixture
def users(users_file):
    return load_users(users_file)


@pytest.fixture
def app(users, redis):
    return make_app(users, redis)


@pytest.fixture
def client(app):
    return app.test_client()


def _csrf(client) -> str:
    page = client.get("/login")
    if page.status_code == 302:  # already logged in
        return _session_csrf(client)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]


def _login(client, name, password=None, *, next_=None, ip="10.0.0.1"):
    data = {"name": name, "password": PASSWORDS.get(name, "x") if password is None else password}
    data["csrf_token"] = _csrf(client)
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})


def _session_csrf(client) -> str:
    with client.session_transaction() as sess:
        return sess["csrf"]


# ---------------------------------------------------------------- login and roles


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/responder?tab=open")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/responder?tab=open"]


def test_login_page_is_accessible(client):
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="en">' in html and "<h1>" in html
    assert '<label for="name">' in html and 'id="name"' in html
    assert '<label for="password">' in html and 'type="password"' in html


def test_login_success_redirects_to_next_and_sets_the_user(client):
    response = _login(client, "rob", next_="/responder?tab=open")
    assert response.status_code == 303
    assert response.headers["Location"] == "/responder?tab=open"
    page = client.get("/viewer")
    assert page.status_code == 200
    assert page.get_data(as_text=True).startswith("hello rob (responder) ")
    assert client.get("/responder").get_data(as_text=True) == "responder page"


def test_login_failure_keeps_you_out(client):
    response = _login(client, "rob", "not-the-password")
    assert response.status_code == 401
    assert "Wrong name or password." in response.get_data(as_text=True)
    assert client.get("/viewer").status_code == 302


def test_unknown_user_is_refused(client, users):
    assert users.check("nobody", "whatever") is None
    assert users.check("rob", "wrong") is None
    assert users.check("rob", PASSWORDS["rob"]).role == "responder"
    assert _login(client, "nobody", "whatever").status_code == 401


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("vera", {"/viewer"}),
        ("rob", {"/viewer", "/responder"}),
        ("ada", {"/viewer", "/responder", "/admin"}),
    ],
)
def test_roles_are_ordered(client, name, allowed):
    _login(client, name)
    for path in ("/viewer", "/responder", "/admin"):
        response = client.get(path)
        if path in allowed:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 403, path
            assert "needs the" in response.get_data(as_text=True)


def test_unknown_role_is_refused_when_the_view_is_defined():
    with pytest.raises(ValueError, match="unknown role"):
        login_required("owner")


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "/\\evil.com", "/\t/evil.com", "javascript:alert(1)", ""],
)
def test_next_must_be_a_local_path(client, target):
    response = _login(client, "vera", next_=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_is_safe_next():
    assert is_safe_next("/queue?priority=P0")
    assert not is_safe_next("//evil.com/x")
    assert not is_safe_next("http:/evil.com")
    assert not is_safe_next(None)


def test_a_logged_in_visit_to_login_goes_on(client):
    _login(client, "vera")
    response = client.get("/login?next=/viewer")
    assert response.status_code == 302 and response.headers["Location"] == "/viewer"


# ---------------------------------------------------------------- CSRF


def test_login_itself_needs_the_csrf_token(client):
    response = client.post("/login", data={"name": "vera", "password": PASSWORDS["vera"]})
    assert response.status_code == 400
    assert "CSRF token" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_form_post_without_the_right_csrf_token_is_refused(client, token):
    _login(client, "vera")
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/form", data=data)
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "CSRF token is missing or out of date" in response.get_data(as_text=True)


def test_form_post_with_the_csrf_token_is_accepted(client):
    _login(client, "vera")
    token = _session_csrf(client)
    assert client.post("/form", data={"csrf_token": token}).get_data(as_text=True) == "posted"
    assert client.post("/form", headers={"X-CSRF-Token": token}).status_code == 200


def test_csrf_token_changes_at_login(client):
    before = _csrf(client)
    _login(client, "vera")
    assert _session_csrf(client) != before


def test_json_csrf_failure_is_json(client):
    _login(client, "rob")
    response = client.post("/api/thing", json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    ok = client.post("/api/thing", json={}, headers={"X-CSRF-Token": _session_csrf(client)})
    assert ok.get_json() == {"ok": True, "by": "rob"}


def test_bearer_token_api_post_is_exempt_from_csrf(client):
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert client.post("/api/thing", json={}, headers=auth).get_json() == {
        "ok": True,
        "by": "token",
    }
    assert client.post("/api/token-only", json={}, headers=auth).status_code == 200
    _login(client, "vera")  # a session beside the token changes nothing
    assert client.post("/api/thing", json={}, headers=auth).get_json()["by"] == "token"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_api_without_the_token_still_answers_401(client, headers):
    for path in ("/api/thing", "/api/token-only"):
        response = client.post(path, json={}, headers=headers)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_wrong_bearer_token_does_not_fall_back_to_the_session(client):
    _login(client, "rob")
    headers = {"Authorization": "Bearer wrong", "X-CSRF-Token": _session_csrf(client)}
    assert client.post("/api/thing", json={}, headers=headers).status_code == 401


def test_api_session_needs_the_role(client):
    _login(client, "vera")
    response = client.post("/api/thing", json={}, headers={"X-CSRF-Token": _session_csrf(client)})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_api_token_not_configured_is_503(users, redis):
    client = make_app(users, redis, HARK_API_TOKEN=None).test_client()
    response = client.post("/api/thing", json={}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 503


def test_logout_needs_csrf_and_clears_the_session(client):
    _login(client, "vera")
    assert client.post("/logout").status_code == 400
    assert client.get("/viewer").status_code == 200  # still logged in
    response = client.post("/logout", data={"csrf_token": _session_csrf(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    with client.session_transaction() as sess:
        assert "user" not in sess
    assert client.get("/viewer").status_code == 302


# ---------------------------------------------------------------- failed-login limits


def test_five_failures_block_the_name(client, redis):
    for _ in range(5):
        assert _login(client, "rob", "wrong").status_code == 401
    blocked = _login(client, "rob")  # even the right password
    assert blocked.status_code == 429
    assert "too many failed logins; try again in 15 minutes" in blocked.get_data(as_text=True)
    assert _login(client, "rob", ip="10.9.9.9").status_code == 429  # from anywhere
    assert _login(client, "ada", ip="10.9.9.9").status_code == 303  # others unaffected
    assert 0 < redis.ttl("hark:login-fail:name:rob") <= 15 * 60


def test_one_persons_typos_do_not_lock_out_their_office(client, redis):
    for _ in range(5):
        assert _login(client, "rob", "wrong", ip="10.1.1.1").status_code == 401
    assert _login(client, "ada", ip="10.1.1.1").status_code == 303  # same address, other name


def test_twenty_failures_block_the_ip(client, redis):
    for number in range(20):  # guessing across names, four tries each
        assert _login(client, f"n{number % 5}", "wrong", ip="10.1.1.1").status_code == 401
    assert _login(client, "ada", ip="10.1.1.1").status_code == 429
    assert _login(client, "ada", ip="10.2.2.2").status_code == 303
    assert int(redis.get("hark:login-fail:ip:10.1.1.1")) == 20
    assert 0 < redis.ttl("hark:login-fail:ip:10.1.1.1") <= 15 * 60


def test_the_block_ends_with_the_window(client, redis):
    for _ in range(5):
        _login(client, "rob", "wrong")
    assert _login(client, "rob").status_code == 429
    redis.delete("hark:login-fail:name:rob", "hark:login-fail:ip:10.0.0.1")  # 15 minutes on
    assert _login(client, "rob").status_code == 303


def test_success_clears_the_names_counter(client, redis):
    for _ in range(4):
        _login(client, "rob", "wrong", ip="10.3.3.3")
    assert _login(client, "rob", ip="10.3.3.3").status_code == 303
    assert redis.get("hark:login-fail:name:rob") is None
    assert int(redis.get("hark:login-fail:ip:10.3.3.3")) == 4  # the IP's stays
    client.post("/logout", data={"csrf_token": _session_csrf(client)})
    for _ in range(4):
        assert _login(client, "rob", "wrong", ip="10.4.4.4").status_code == 401
    assert _login(client, "rob", ip="10.4.4.4").status_code == 303


def test_passwords_never_reach_the_log(client, caplog):
    caplog.set_level(logging.DEBUG)
    _login(client, "rob", "hunter2-secret")
    _login(client, "typed-pass-in-name", "another-secret")
    _login(client, "rob")
    for _ in range(5):
        _login(client, "ada", "third-secret")
    _login(client, "ada", "fourth-secret")  # blocked
    text = caplog.text
    assert "failed login for 'rob'" in text and "login: rob (responder)" in text
    for secret in ("hunter2-secret", "another-secret", "third-secret", "fourth-secret"):
        assert secret not in text
    assert PASSWORDS["rob"] not in text
    assert "typed-pass-in-name" not in text  # an unknown name may be a mistyped password


# ---------------------------------------------------------------- sessions and cookies


def test_session_cookie_flags(client):
    response = _login(client, "vera")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # permanent: PERMANENT_SESSION_LIFETIME applies
    assert client.application.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_insecure_cookies_for_local_development(users, redis):
    client = make_app(users, redis, HARK_INSECURE_COOKIES=True).test_client()
    cookie = _login(client, "vera").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize("key", [None, "", "too-short-" * 3])
def test_missing_or_short_secret_key_is_refused(users, redis, key):
    app = Flask(__name__)
    app.config.update(SECRET_KEY=key, REDIS=redis)
    with pytest.raises(ValueError, match="HARK_SECRET_KEY"):
        init_auth(app, users)


def test_session_expires_after_12_hours(client, monkeypatch):
    _login(client, "vera")
    now = session_auth.time.time()
    monkeypatch.setattr(session_auth.time, "time", lambda: now + 12 * 3600 + 1)
    assert client.get("/viewer").status_code == 302


def test_a_changed_password_ends_the_session(users_file, redis):
    app = make_app(load_users(users_file), redis)
    client = app.test_client()
    _login(client, "vera")
    assert client.get("/viewer").status_code == 200
    users_file.write_text(_users_yaml({**PASSWORDS, "vera": "new-viewer-pass"}))
    app.extensions["hark_auth"].users = load_users(users_file)
    assert client.get("/viewer").status_code == 302


# ---------------------------------------------------------------- the users file


def test_hash_password_makes_a_checkable_scrypt_hash(tmp_path):
    hashed = hash_password("correct horse")
    assert hashed.startswith("scrypt:")
    path = tmp_path / "users.yaml"
    path.write_text(f'users:\n  - {{name: sam, role: admin, password_hash: "{hashed}"}}\n')
    users = load_users(path)
    assert users.check("sam", "correct horse").role == "admin"
    assert users.check("sam", "wrong") is None
    with pytest.raises(ValueError):
        hash_password("")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("users:\n  - {name: a, role: owner, password_hash: 'pbkdf2:x$y$z'}\n", "users.0.role"),
        ("users:\n  - {name: a, role: admin, password_hash: 'pbkdf2:x$y$z', x: 1}\n", "users.0.x"),
        ("users: []\nadmins: []\n", "admins"),
        ("users:\n  - {name: a, role: admin, password_hash: 'plain-secret'}\n", "werkzeug"),
        ("users:\n  - {name: 'a b', role: admin, password_hash: 'pbkdf2:x$y$z'}\n", "users.0.name"),
        (
            "users:\n  - {name: a, role: admin, password_hash: 'pbkdf2:x$y$z'}\n"
            "  - {name: a, role: viewer, password_hash: 'pbkdf2:x$y$z'}\n",
            "appears twice",
        ),
        ("[not, a, mapping]\n", "(top)"),
        ("users: [\n", "cannot read"),
    ],
)
def test_bad_users_files_are_refused(tmp_path, text, problem):
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(UsersFileError) as caught:
        load_users(path)
    assert problem in str(caught.value) and str(path) in str(caught.value)
    assert "plain-secret" not in str(caught.value)


def test_missing_users_file_names_the_setting(tmp_path):
    with pytest.raises(UsersFileError, match="HARK_USERS_FILE"):
        load_users(tmp_path / "absent.yaml")
