"""Login for the web page: sessions, roles, CSRF and failed-login limits.

``init_auth(app, users)`` adds ``GET/POST /login`` and ``POST /logout`` (blueprint ``auth``),
secure session-cookie settings, a CSRF check on unsafe requests, and, for templates,
``csrf_token()`` and ``current_user``. Page views use ``@login_required("responder")``;
JSON views that also take the API token use ``@require_login_or_token("responder")``.

CSRF is checked on every POST/PUT/PATCH/DELETE that the session could authorise: always on
``/login`` and ``/logout``, and on any other unsafe request while someone is logged in. A
request that carries an ``Authorization`` header is an API call: it is exempt, and the
session is ignored for it (it is authenticated by the token or not at all). A browser on
another site cannot add that header, and an anonymous request has no session authority to
borrow, so the JSON API keeps answering 401 to a caller without the token.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)

from web.errors import error_response
from web.users import ROLES, User, Users, role_rank

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

SESSION_LIFETIME = timedelta(hours=12)
MIN_SECRET_KEY_CHARS = 32
# Failed logins within FAILURE_WINDOW_S before a name, or an address, is refused for the
# rest of the window. An address allows more: a team behind one office address should not
# be locked out by one person's typos, while guessing across many names still stops.
MAX_FAILURES = {"name": 5, "ip": 20}
FAILURE_WINDOW_S = 15 * 60
FAIL_KEY = "hark:login-fail:{kind}:{value}"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
MAX_NAME_CHARS, MAX_PASSWORD_CHARS = 64, 1024

# INCR, and start the window on the first failure (or heal a key that lost its expiry).
_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""


@dataclass
class _Auth:
    users: Users
    exempt_blueprints: frozenset[str]


def init_auth(
    app: Flask, users: Users, *, csrf_exempt_blueprints: Iterable[str] = ("webhooks",)
) -> None:
    """Wire login, roles and CSRF into ``app``; ValueError when HARK_SECRET_KEY is unusable.

    ``csrf_exempt_blueprints`` authenticate each request by a signature of their own
    (webhooks), never by the session.
    """
    secret = app.config.get("SECRET_KEY")
    if not secret or len(secret) < MIN_SECRET_KEY_CHARS:
        raise ValueError(
            f"HARK_SECRET_KEY must be set to a random string of at least "
            f"{MIN_SECRET_KEY_CHARS} characters (it signs the login sessions); make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not _truthy(app.config.get("HARK_INSECURE_COOKIES")),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.extensions["hark_auth"] = _Auth(users, frozenset(csrf_exempt_blueprints))
    app.register_blueprint(bp)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(
        lambda: {"current_user": current_user() if has_request_context() else None}
    )


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


# ---------------------------------------------------------------- who is logged in


def _has_authorization_header() -> bool:
    return "Authorization" in request.headers


def current_user() -> User | None:
    """The logged-in user (name, role), or None. Always None for a request that carries an
    ``Authorization`` header: such a request is authenticated by the token, not the cookie."""
    if "hark_user" not in g:
        g.hark_user = None if _has_authorization_header() else _session_user()
    return g.hark_user


def _session_user() -> User | None:
    name = session.get("user")
    if not isinstance(name, str):
        return None
    users = current_app.extensions["hark_auth"].users
    user, stamp = users.get(name), users.stamp(name)
    at = session.get("at")
    fresh = isinstance(at, int | float) and 0 <= time.time() - at < SESSION_LIFETIME.total_seconds()
    if user is None or not fresh or not hmac.compare_digest(session.get("stamp", ""), stamp or ""):
        # Removed, or its password or role changed, or logged in too long ago.
        session.pop("user", None)
        return None
    return user


def _bearer_ok() -> tuple[bool, Any]:
    """Check ``Authorization: Bearer`` exactly as ``web.auth.require_token`` does."""
    expected = current_app.config.get("HARK_API_TOKEN")
    if not expected:
        return False, error_response(
            503, "not_configured", "the API is off: set HARK_API_TOKEN to enable it"
        )
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        return False, error_response(
            401, "unauthorized", "send 'Authorization: Bearer <HARK_API_TOKEN>'"
        )
    return True, None


def _checked_role(role: str) -> str:
    role_rank(role)  # ValueError for a role that does not exist, when the view is defined
    return role


def login_required(role: str | Callable = "viewer") -> Callable:
    """For page views: anonymous -> redirect to /login?next=..., too low a role -> 403 page.

    ``@login_required`` alone means viewer."""
    if callable(role):
        return login_required("viewer")(role)
    needed = _checked_role(role)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            user = current_user()
            if user is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("auth.login", next=target))
            if not user.has_role(needed):
                return _forbidden(user, needed)
            return view(*args, **kwargs)

        return checked

    return decorate


def require_login_or_token(role: str = "viewer") -> Callable:
    """For JSON views: the API bearer token, or a session with at least ``role``."""
    needed = _checked_role(role)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            if _has_authorization_header():
                ok, refusal = _bearer_ok()
                return view(*args, **kwargs) if ok else refusal
            user = current_user()
            if user is None:
                return error_response(
                    401,
                    "unauthorized",
                    "log in, or send 'Authorization: Bearer <HARK_API_TOKEN>'",
                )
            if not user.has_role(needed):
                return error_response(
                    403, "forbidden", f"this needs the {needed} role; {user.name} is {user.role}"
                )
            return view(*args, **kwargs)

        return checked

    return decorate


# ---------------------------------------------------------------- CSRF


def csrf_token() -> str:
    """The session's CSRF token (made on first use); put it in forms as ``csrf_token``."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _check_csrf():
    if request.method not in UNSAFE_METHODS or request.endpoint is None:
        return None  # safe, or no such route (404/405 follow)
    if request.blueprint != bp.name:  # /login and /logout: always checked
        state: _Auth = current_app.extensions["hark_auth"]
        if request.blueprint in state.exempt_blueprints or _has_authorization_header():
            return None
        if current_user() is None:
            return None  # no session authority to borrow; the view's own check answers
    if _csrf_ok():
        return None
    message = (
        "the form's CSRF token is missing or out of date: go back, reload the page and try "
        f"again (scripts send the token in the {CSRF_HEADER} header; API clients send "
        "'Authorization: Bearer <HARK_API_TOKEN>')"
    )
    if _wants_json():
        return error_response(400, "csrf_failed", message)
    return _page("Form expired", message, status=400)


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


# ---------------------------------------------------------------- failed-login limits


def _fail_keys(name: str) -> list[str]:
    ip = request.remote_addr or "unknown"
    return [FAIL_KEY.format(kind="name", value=name), FAIL_KEY.format(kind="ip", value=ip)]


def _blocked_minutes(redis, keys: list[str]) -> int:
    """Minutes until the login may be tried again; 0 when it may be tried now."""
    counts = redis.mget(keys)
    limits = (MAX_FAILURES["name"], MAX_FAILURES["ip"])
    waits = [
        redis.ttl(key)
        for key, count, limit in zip(keys, counts, limits, strict=True)
        if count is not None and int(count) >= limit
    ]
    if not waits:
        return 0
    return max(1, math.ceil(max(max(waits), 1) / 60))


def _count_failure(redis, keys: list[str]) -> None:
    script = redis.register_script(_COUNT_FAILURE)
    for key in keys:
        script(keys=[key], args=[FAILURE_WINDOW_S])


# ---------------------------------------------------------------- views


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = request.values.get("next", "")
    target = target if is_safe_next(target) else ""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target or "/")
        return _login_page(target)

    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    if not name or not password:
        return _login_page(target, name, "Enter your name and your password.", status=400)
    name = name[:MAX_NAME_CHARS]
    redis = current_app.config["REDIS"]
    keys = _fail_keys(name)
    minutes = _blocked_minutes(redis, keys)
    if minutes:
        log.warning("login refused: too many failed logins (from %s)", request.remote_addr)
        message = f"too many failed logins; try again in {minutes} minutes"
        return _login_page(target, name, message, status=429)

    users: Users = current_app.extensions["hark_auth"].users
    user = users.check(name, password[:MAX_PASSWORD_CHARS])
    if user is None:
        _count_failure(redis, keys)
        # The name only when it is a user's: a password typed into the name field stays out.
        who = repr(name) if users.get(name) else "an unknown name"
        log.warning("failed login for %s from %s", who, request.remote_addr)
        return _login_page(target, name, "Wrong name or password.", status=401)

    redis.delete(keys[0])
    session.clear()  # a fresh session: no fixation, a new CSRF token
    session.permanent = True
    session.update(user=user.name, stamp=users.stamp(user.name), at=int(time.time()))
    csrf_token()
    g.hark_user = user
    log.info("login: %s (%s) from %s", user.name, user.role, request.remote_addr)
    return redirect(target or "/", code=303)


@bp.post("/logout")
def logout():
    user = current_user()
    session.clear()
    if user is not None:
        log.info("logout: %s", user.name)
    return redirect(url_for("auth.login"), code=303)


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: '/x?y'; never '//host', '/\\host', 'https://...'."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return not any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target)


# ---------------------------------------------------------------- pages

_LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Hark</title>
<style>
  body { font: 1.0625rem/1.5 system-ui, sans-serif; color: #111; background: #fff;
         margin: 0; padding: 1rem; }
  main { max-width: 24rem; margin: 2rem auto; }
  h1 { font-size: 1.5rem; }
  label { display: block; font-weight: 600; margin-top: 1rem; }
  input { box-sizing: border-box; width: 100%; font: inherit; padding: .6rem;
          border: 2px solid #555; border-radius: 4px; }
  button { font: inherit; margin-top: 1.25rem; padding: .6rem 1.2rem; color: #fff;
           background: #0b4f9c; border: 0; border-radius: 4px; min-height: 44px; }
  :focus-visible { outline: 3px solid #e8a400; outline-offset: 2px; }
  .problem { color: #8a1010; background: #fdecec; border-left: 4px solid #8a1010;
             padding: .5rem .75rem; }
  a { color: #0b4f9c; }
</style>
</head>
<body><main>
<h1>{{ title }}</h1>
{% if message %}<p class="problem" role="alert">{{ message }}</p>{% endif %}
{{ body | safe }}
</main></body>
</html>
"""

_LOGIN_FORM = """<form method="post" action="{{ url_for('auth.login') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
{% if target %}<input type="hidden" name="next" value="{{ target }}">{% endif %}
<label for="name">Name</label>
<input id="name" name="name" value="{{ name }}" autocomplete="username" autocapitalize="none"
       spellcheck="false" required {% if not name %}autofocus{% endif %}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
       {% if name %}autofocus{% endif %}>
<button type="submit">Log in</button>
</form>
"""

_FORBIDDEN = """<p>You are logged in as <strong>{{ user.name }}</strong> ({{ user.role }}).
This page needs the <strong>{{ needed }}</strong> role; ask an admin if you need it.</p>
<p><a href="/">Back to the start page</a></p>
<form method="post" action="{{ url_for('auth.logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button type="submit">Log out</button>
</form>
"""


def _page(title: str, message: str = "", body: str = "", status: int = 200):
    html = render_template_string(_LAYOUT, title=title, message=message, body=body)
    return html, status, {"Cache-Control": "no-store"}


def _login_page(target: str, name: str = "", message: str = "", status: int = 200):
    body = render_template_string(_LOGIN_FORM, target=target, name=name)
    return _page("Log in to Hark", message, body, status)


def _forbidden(user: User, needed: str):
    body = render_template_string(_FORBIDDEN, user=user, needed=needed)
    return _page("Not allowed", "", body, status=403)


__all__ = [
    "ROLES",
    "csrf_token",
    "current_user",
    "init_auth",
    "is_safe_next",
    "login_required",
    "require_login_or_token",
]
