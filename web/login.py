"""Login for the web page: Flask-Login sessions, roles, Flask-WTF CSRF, failed-login limits.

``init_login(app, users)`` adds ``GET/POST /login`` and ``POST /logout`` (blueprint
``auth``) and sets the session cookie's flags. Page views use ``@role_required("responder")``;
templates get ``current_user`` (Flask-Login) and ``csrf_token()`` (Flask-WTF).

- Sessions: the signed cookie holds a login-session id; the record behind it lives in Redis
  (``web.login_sessions``) for 12 hours at most, and logging out deletes it, so a copied
  cookie stops working at logout. A user removed from the users file, or whose password or
  role changed, is logged out at their next request.
- CSRF: every POST/PUT/PATCH/DELETE needs the session's token (form field ``csrf_token`` or
  header ``X-CSRF-Token``), except on the blueprints named in ``token_blueprints``: they
  authenticate each request by the API token or a signature and never read the session,
  so a browser's cookie grants nothing there.
- Failed logins: ``web.login_limits``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

import redis
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    AnonymousUserMixin,
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from web.errors import STORE_RETRY_AFTER_S, error_response, store_trouble
from web.login_limits import LoginLimits, init_login_limits, login_address, login_name
from web.login_sessions import LoginSessions
from web.users import User, Users, WatchedUsers, role_rank

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")

SESSION_LIFETIME = timedelta(hours=12)
MIN_SECRET_KEY_CHARS = 32
MAX_PASSWORD_CHARS = 1024
STATE = "hark_login"
STORE_DOWN_FLAG = "hark_login_store_down"  # in flask.g, for the rest of the request


@dataclass(frozen=True)
class SessionUser(User, UserMixin):
    """A logged-in user: their name and role, and the login session they came in by."""

    session_id: str

    def get_id(self) -> str:
        return self.session_id


class Anonymous(AnonymousUserMixin):
    name = None
    role = None

    def has_role(self, role: str) -> bool:
        return False


@dataclass
class _Login:
    users: Users | WatchedUsers
    sessions: LoginSessions
    limits: LoginLimits
    csrf: CSRFProtect

    def load_user(self, session_id: str) -> SessionUser | None:
        """Flask-Login's user loader: the session's user while the session stands.

        When Redis does not answer, the error goes to the error handlers (a 503 page), and
        the page that says so is rendered as for nobody: asking again would fail again."""
        if g.get(STORE_DOWN_FLAG):
            return None
        try:
            record = self.sessions.find(session_id)
        except redis.RedisError:
            g.setdefault(STORE_DOWN_FLAG, True)
            raise
        if record is None:
            return None  # logged out, expired, or never was
        user, stamp = self.users.get(record.name), self.users.stamp(record.name)
        if user is None or not hmac.compare_digest(record.stamp, stamp or ""):
            self.sessions.end(session_id)  # removed, or their password or role changed
            return None
        return SessionUser(user.name, user.role, session_id)


def init_login(
    app: Flask, users: Users | WatchedUsers, *, token_blueprints: Iterable[str] = ()
) -> None:
    """Wire login, roles, CSRF and failed-login limits into ``app`` (its Redis is
    ``app.config["REDIS"]``); ValueError when the secret key is unusable."""
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
        WTF_CSRF_CHECK_DEFAULT=False,  # _check_csrf calls it, to answer with our own page
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),  # a form lives as long
    )
    csrf = CSRFProtect(app)
    for name in token_blueprints:
        csrf.exempt(app.blueprints[name])
    app.register_blueprint(bp)
    connection = app.config["REDIS"]
    state = _Login(
        users,
        LoginSessions(connection, SESSION_LIFETIME),
        init_login_limits(app, connection),
        csrf,
    )
    app.extensions[STATE] = state
    app.before_request(_check_csrf)
    manager = LoginManager(app)
    manager.user_loader(state.load_user)
    manager.unauthorized_handler(_to_login)
    manager.anonymous_user = Anonymous


def _state() -> _Login:
    return current_app.extensions[STATE]


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


# ---------------------------------------------------------------- roles


def role_required(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For page views: anonymous -> the login page (with ``next`` for a GET), a role too
    low -> a 403 page. ValueError at definition for a role that does not exist."""
    role_rank(role)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(role):
                return _page("not_allowed.html", 403, needed=role)
            return view(*args, **kwargs)

        return login_required(checked)

    return decorate


def _to_login() -> Any:
    """Flask-Login's unauthorized handler. Only a GET comes back after login: a form's
    POST would land on a URL that has no page."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


# ---------------------------------------------------------------- CSRF


def _check_csrf() -> Any:
    try:
        _state().csrf.protect(apply_exemptions=True)
    except CSRFError as error:
        log.info("CSRF refused on %s %s: %s", request.method, request.path, error.description)
        message = (
            "the form's CSRF token is missing or out of date: go back, reload the page and try "
            "again (scripts send the token in the X-CSRF-Token header)"
        )
        if request.is_json or request.accept_mimetypes.best == "application/json":
            return error_response(400, "csrf_failed", message)
        return _page("form_expired.html", 400, message=message)
    return None


# ---------------------------------------------------------------- views


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = request.values.get("next", "")
    target = target if is_safe_next(target) else ""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target or "/")
        return _login_page(target)

    name, password = login_name(), request.form.get("password", "")
    if not name or not password:
        return _login_page(target, name, "Enter your name and your password.", status=400)
    state, address = _state(), login_address()
    minutes = state.limits.minutes_blocked(name, address)
    if minutes:
        log.warning("login refused: too many failed logins from %s", address)
        message = f"too many failed logins; try again in {minutes} minute{'s' * (minutes > 1)}"
        return _login_page(target, name, message, status=429)
    user = state.users.check(name, password[:MAX_PASSWORD_CHARS])
    if user is None:
        state.limits.count_failure(name, address)
        # The name only when it is a user's: a password typed into the name field stays out.
        who = repr(name) if state.users.get(name) else "an unknown name"
        log.warning("failed login for %s from %s", who, address)
        return _login_page(target, name, "Wrong name or password.", status=401)

    state.limits.forget_failures(name, address)
    session.clear()  # a fresh session: no fixation, a new CSRF token
    session.permanent = True
    session_id = state.sessions.start(user.name, state.users.stamp(user.name) or "")
    login_user(SessionUser(user.name, user.role, session_id))
    log.info("login: %s (%s) from %s", user.name, user.role, address)
    return redirect(target or "/", code=303)


@bp.errorhandler(redis.RedisError)
def _store_trouble(error: redis.RedisError) -> Any:
    """Redis unreachable, or refusing (out of memory, disk full, read-only): the login page
    says so, as a page, whichever step of the login met it."""
    status, message = store_trouble(error)
    log.warning("login: Redis failed: %s", type(error).__name__)
    page, _, headers = _login_page("", login_name(), message, status=status)
    return page, status, {**headers, "Retry-After": str(STORE_RETRY_AFTER_S)}


@bp.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        _state().sessions.end(current_user.session_id)
        log.info("logout: %s", current_user.name)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: '/x?y'; never '//host', '/\\host', 'https://...'."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return not any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target)


# ---------------------------------------------------------------- pages


def _page(template: str, status: int, **context: Any) -> Any:
    return render_template(template, **context), status, {"Cache-Control": "no-store"}


def _login_page(target: str, name: str = "", message: str = "", status: int = 200) -> Any:
    return _page("login.html", status, target=target, name=name, message=message)
