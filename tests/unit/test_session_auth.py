"""Login, roles, CSRF, sessions and failed-login limits (web/login.py and the modules it
wires: Flask-Login, Flask-WTF, Flask-Limiter; web/users.py) on a small app of its own, so
that nothing here depends on the real pages. Everything logs in through the login form."""

from __future__ import annotations

import logging
import os
import socket
import time
from urllib.parse import parse_qs, urlsplit

import fakeredis
import pytest
import redis as redis_client
from flask import Flask, jsonify, render_template_string
from redis.backoff import NoBackoff
from redis.retry import Retry

from web.errors import register_error_handlers
from web.login import init_login, is_safe_next, role_required
from web.users import UsersFileError, WatchedUsers, hash_password, load_users

SECRET = "s" * 40
PASSWORDS = {"vera": "viewer-pass-1", "rob": "responder-pass-2", "ada": "admin-pass-3"}
ROLE_OF = {"vera": "viewer", "rob": "responder", "ada": "admin"}
USERS = {name: (ROLE_OF[name], password) for name, password in PASSWORDS.items()}


@pytest.fixture
def users_file(write_users):
    return write_users(USERS)


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


def make_app(users, redis, **config) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": SECRET, "REDIS": redis, **config})
    register_error_handlers(app)
    init_login(app, users)

    @app.get("/")
    def home():
        return "home"

    @app.get("/viewer")
    @role_required("viewer")
    def viewer_page():
        return render_template_string(
            "hello {{ current_user.name }} ({{ current_user.role }}) "
            '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'
        )

    @app.get("/responder")
    @role_required("responder")
    def responder_page():
        return "responder page"

    @app.get("/admin")
    @role_required("admin")
    def admin_page():
        return "admin page"

    @app.post("/form")
    @role_required("viewer")
    def form_post():
        return "posted"

    @app.post("/json")
    @role_required("viewer")
    def json_post():
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


@pytest.fixture
def login(log_in):
    """``login(client, name, password=the user's)``, as the login form sends it."""

    def send(client, name, password=None, **options):
        password = PASSWORDS.get(name, "x") if password is None else password
        return log_in(client, name, password, **options)

    return send


@pytest.fixture
def page_token(csrf_token_of):
    """The CSRF token a logged-in page carries."""
    return lambda client: csrf_token_of(client.get("/viewer").text)


# ---------------------------------------------------------------- login and roles


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/responder?tab=open")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/responder?tab=open"]


def test_an_anonymous_post_goes_to_login_without_next(client, csrf_token_of):
    response = client.post("/form", data={"csrf_token": "x"})
    assert response.status_code == 400  # no session, so no valid token: refused first
    token = csrf_token_of(client.get("/login").text)
    response = client.post("/form", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_login_page_is_accessible(client):
    page = client.get("/login")
    html = page.text
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="en">' in html and "<h1>Log in to Hark</h1>" in html
    assert '<label for="name">' in html and 'id="name"' in html
    assert '<label for="password">' in html and 'type="password"' in html


def test_login_success_redirects_to_next_and_sets_the_user(client, login):
    response = login(client, "rob", next_="/responder?tab=open")
    assert response.status_code == 303
    assert response.headers["Location"] == "/responder?tab=open"
    page = client.get("/viewer")
    assert page.status_code == 200
    assert page.text.startswith("hello rob (responder) ")
    assert client.get("/responder").text == "responder page"


def test_login_failure_keeps_you_out(client, login):
    response = login(client, "rob", "not-the-password")
    assert response.status_code == 401
    assert "Wrong name or password." in response.text
    assert client.get("/viewer").status_code == 302


def test_an_empty_form_is_asked_again(client, login):
    response = login(client, "", "")
    assert response.status_code == 400
    assert "Enter your name and your password." in response.text


def test_unknown_user_is_refused(client, users, login):
    assert users.check("nobody", "whatever") is None
    assert users.check("rob", "wrong") is None
    assert users.check("rob", PASSWORDS["rob"]).role == "responder"
    assert login(client, "nobody", "whatever").status_code == 401


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("vera", {"/viewer"}),
        ("rob", {"/viewer", "/responder"}),
        ("ada", {"/viewer", "/responder", "/admin"}),
    ],
)
def test_roles_are_ordered(client, login, name, allowed):
    login(client, name)
    for path in ("/viewer", "/responder", "/admin"):
        response = client.get(path)
        if path in allowed:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 403, path
            assert "needs the" in response.text and "Log out" in response.text


def test_unknown_role_is_refused_when_the_view_is_defined():
    with pytest.raises(ValueError, match="unknown role"):
        role_required("owner")


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "/\\evil.com", "/\t/evil.com", "javascript:alert(1)", ""],
)
def test_next_must_be_a_local_path(client, login, target):
    response = login(client, "vera", next_=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_is_safe_next():
    assert is_safe_next("/queue?priority=P0")
    assert not is_safe_next("//evil.com/x")
    assert not is_safe_next("http:/evil.com")
    assert not is_safe_next(None)


def test_a_logged_in_visit_to_login_goes_on(client, login):
    login(client, "vera")
    response = client.get("/login?next=/viewer")
    assert response.status_code == 302 and response.headers["Location"] == "/viewer"


# ---------------------------------------------------------------- CSRF


def test_login_itself_needs_the_csrf_token(client):
    response = client.post("/login", data={"name": "vera", "password": PASSWORDS["vera"]})
    assert response.status_code == 400
    assert "CSRF token" in response.text
    assert client.get("/viewer").status_code == 302


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_form_post_without_the_right_csrf_token_is_refused(client, login, token):
    login(client, "vera")
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/form", data=data)
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "CSRF token is missing or out of date" in response.text


def test_form_post_with_the_csrf_token_is_accepted(client, login, page_token):
    login(client, "vera")
    token = page_token(client)
    assert client.post("/form", data={"csrf_token": token}).text == "posted"
    assert client.post("/form", headers={"X-CSRF-Token": token}).status_code == 200


def test_another_sessions_token_is_refused(app, login, page_token):
    mine, theirs = app.test_client(), app.test_client()
    login(mine, "vera")
    login(theirs, "rob")
    response = mine.post("/form", data={"csrf_token": page_token(theirs)})
    assert response.status_code == 400


def test_csrf_token_changes_at_login(client, login):
    client.get("/login")
    with client.session_transaction() as state:
        before = state["csrf_token"]
    login(client, "vera")
    with client.session_transaction() as state:
        assert state.get("csrf_token") != before


def test_json_csrf_failure_is_json(client, login, page_token):
    login(client, "rob")
    response = client.post("/json", json={}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    ok = client.post("/json", json={}, headers={"X-CSRF-Token": page_token(client)})
    assert ok.get_json() == {"ok": True}


def test_logout_needs_csrf_and_ends_the_session(client, login, page_token):
    login(client, "vera")
    assert client.post("/logout").status_code == 400
    assert client.get("/viewer").status_code == 200  # still logged in
    response = client.post("/logout", data={"csrf_token": page_token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/viewer").status_code == 302


def test_a_cookie_copied_before_logout_stops_working(app, login, page_token):
    client = app.test_client()
    login(client, "rob")
    copied = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": page_token(client)}).status_code == 303

    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/responder")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_logout_ends_only_that_login(app, login, page_token):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "rob")
    login(phone, "rob")
    laptop.post("/logout", data={"csrf_token": page_token(laptop)})
    assert laptop.get("/viewer").status_code == 302
    assert phone.get("/viewer").status_code == 200


# ---------------------------------------------------------------- failed-login limits


def test_five_failures_block_the_name_from_that_address_only(app, client, login):
    for _ in range(5):
        assert login(client, "rob", "wrong").status_code == 401
    blocked = login(client, "rob")  # even the right password
    assert blocked.status_code == 429
    assert "too many failed logins; try again in 1 minute" in blocked.text
    assert login(app.test_client(), "rob", ip="10.9.9.9").status_code == 303  # not anywhere
    assert login(app.test_client(), "ada").status_code == 303  # others unaffected


def test_one_persons_typos_do_not_lock_out_their_office(app, login):
    for _ in range(5):
        assert login(app.test_client(), "rob", "wrong", ip="10.1.1.1").status_code == 401
    assert login(app.test_client(), "ada", ip="10.1.1.1").status_code == 303


def test_twenty_failures_block_the_address(app, login):
    for number in range(20):  # guessing across names, four tries each
        response = login(app.test_client(), f"n{number % 5}", "wrong", ip="10.1.1.1")
        assert response.status_code == 401
    assert login(app.test_client(), "ada", ip="10.1.1.1").status_code == 429
    assert login(app.test_client(), "ada", ip="10.2.2.2").status_code == 303


def test_a_refused_form_does_not_count(app, client, login):
    for _ in range(6):
        assert login(client, "rob", "").status_code == 400  # no password: asked again
        no_token = {"name": "rob", "password": "wrong"}
        assert client.post("/login", data=no_token).status_code == 400  # CSRF
    assert login(client, "rob").status_code == 303


def test_the_block_ends_with_the_window(client, login, monkeypatch):
    for _ in range(5):
        login(client, "rob", "wrong")
    assert login(client, "rob").status_code == 429
    later = time.time() + 60 + 1
    monkeypatch.setattr(time, "time", lambda: later)  # fakeredis expires keys by this clock
    assert login(client, "rob").status_code == 303


def test_success_clears_the_names_count_but_not_the_addresses(app, login):
    for _ in range(4):
        login(app.test_client(), "rob", "wrong", ip="10.3.3.3")
    assert login(app.test_client(), "rob", ip="10.3.3.3").status_code == 303
    for _ in range(4):  # four more: the name's count started again
        assert login(app.test_client(), "rob", "wrong", ip="10.4.4.4").status_code == 401
    assert login(app.test_client(), "rob", ip="10.4.4.4").status_code == 303
    for number in range(16):  # 4 + 16 = 20 from 10.3.3.3: the address's count stayed
        login(app.test_client(), f"n{number % 4}", "wrong", ip="10.3.3.3")
    assert login(app.test_client(), "ada", ip="10.3.3.3").status_code == 429


def test_typed_names_stay_out_of_redis(client, login, redis):
    login(client, "correct-horse-battery", "wrong")
    login(client, "rob", "wrong")
    keys = b" ".join(redis.keys("*"))
    assert keys and b"correct-horse" not in keys and b"rob" not in keys


def test_passwords_never_reach_the_log(app, login, caplog):
    caplog.set_level(logging.DEBUG)
    login(app.test_client(), "rob", "hunter2-secret")
    login(app.test_client(), "typed-pass-in-name", "another-secret")
    login(app.test_client(), "rob")
    for _ in range(5):
        login(app.test_client(), "ada", "third-secret")
    login(app.test_client(), "ada", "fourth-secret")  # blocked
    text = caplog.text
    assert "failed login for 'rob'" in text and "login: rob (responder)" in text
    assert "too many failed logins" in text
    for secret in ("hunter2-secret", "another-secret", "third-secret", "fourth-secret"):
        assert secret not in text
    assert PASSWORDS["rob"] not in text
    assert "typed-pass-in-name" not in text  # an unknown name may be a mistyped password


def test_login_while_redis_is_down_says_so(users, login):
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    no_retries = Retry(NoBackoff(), 0)
    down = redis_client.Redis(host="127.0.0.1", port=port, retry=no_retries)
    response = login(make_app(users, down).test_client(), "rob")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "Redis is unreachable" in response.text and "<h1>Log in to Hark</h1>" in response.text


# ---------------------------------------------------------------- sessions and cookies


def test_session_cookie_flags(client, login):
    response = login(client, "vera")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires=" in cookie  # permanent: PERMANENT_SESSION_LIFETIME applies
    assert client.application.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_insecure_cookies_for_local_development(users, redis, login):
    client = make_app(users, redis, HARK_INSECURE_COOKIES=True).test_client()
    cookie = login(client, "vera").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_a_login_starts_a_fresh_session(app, login):
    """No fixation: whatever session a visitor had before, the login's is new."""
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("session").value
    login(client, "rob")
    after = client.get_cookie("session").value
    assert after != before
    planted = app.test_client()
    planted.set_cookie("session", before)  # the pre-login cookie stays anonymous
    assert planted.get("/viewer").status_code == 302


@pytest.mark.parametrize("key", [None, "", "too-short-" * 3])
def test_missing_or_short_secret_key_is_refused(users, redis, key):
    app = Flask(__name__)
    app.config.update(SECRET_KEY=key, REDIS=redis)
    with pytest.raises(ValueError, match="HARK_SECRET_KEY"):
        init_login(app, users)


def test_session_expires_after_12_hours(client, login, redis, monkeypatch):
    login(client, "vera")
    assert client.get("/viewer").status_code == 200
    (record,) = redis.keys("hark:login-session:*")  # the server's side ends by itself too
    assert 12 * 3600 - 60 < redis.ttl(record) <= 12 * 3600
    later = time.time() + 12 * 3600 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/viewer").status_code == 302


def test_a_changed_password_ends_the_session(users_file, write_users, redis, login):
    app = make_app(WatchedUsers(users_file), redis)
    client = app.test_client()
    login(client, "vera")
    assert client.get("/viewer").status_code == 200
    write_users({**USERS, "vera": ("viewer", "new-viewer-pass")})
    _touch(users_file)
    assert client.get("/viewer").status_code == 302
    assert login(client, "vera", "new-viewer-pass").status_code == 303


def test_a_user_added_to_the_file_can_log_in_at_once(users_file, write_users, redis, login):
    app = make_app(WatchedUsers(users_file), redis)
    assert login(app.test_client(), "nia", "new-pass").status_code == 401
    write_users({**USERS, "nia": ("responder", "new-pass")})
    _touch(users_file)
    assert login(app.test_client(), "nia", "new-pass").status_code == 303


def _touch(path) -> None:
    """A modification time of its own: two writes in one clock tick must still differ."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


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
