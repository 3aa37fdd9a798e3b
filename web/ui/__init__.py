"""The server-rendered pages: overview, incidents, reply queue, rotation, metrics, rules.

This package holds the blueprint, the sign-in and formatting helpers the pages share, the
error pages and ``register_pages``; the views live in its modules, one concern each:
``overview``, ``incidents``, ``queue``, ``rotation`` and ``insight`` (metrics and rules).

Sign-in comes from ``web.login``: ``requires(role)`` guards a view, ``current_user`` is
Flask-Login's, and every form sends the ``csrf_token()`` that ``web.login`` checks.

``web`` may not import ``hark``: the rulebook comes from ``app.config["RULEBOOK"]`` (an
``Engine``, or anything with an ``engine`` attribute), set by the composition root.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from flask import Blueprint, Flask, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from web.errors import STORE_RETRY_AFTER_S, error_response, store_trouble
from web.login import role_required

bp = Blueprint("pages", __name__)  # templates and /static are the app's (web/)


# ----------------------------------------------------------------------------- auth


requires = role_required  # the views' name for it


def _person() -> str:
    return str(current_user.name or "someone")


def _can_respond() -> bool:
    return bool(current_user.has_role("responder"))


def _is_admin() -> bool:
    return bool(current_user.has_role("admin"))


def _now() -> datetime:
    return current_app.config["CLOCK"]()


def _redis():
    return current_app.config["REDIS"]


# ----------------------------------------------------------------------------- formatting


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def team_zone() -> ZoneInfo:
    """The team's time zone (the rulebook's business hours): every page shows times in it."""
    return ZoneInfo(current_app.config["TEAM_TIMEZONE"])


def local_time(moment: datetime) -> str:
    """``moment`` on the team's clock, with the zone's abbreviation: "2026-12-07 14:05 EST"."""
    local = moment.astimezone(team_zone())
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def when(value: Any) -> Markup:
    """A ``<time>`` element on the team's clock, the UTC time on hover, with how long ago
    or from now."""
    moment = _parse(value)
    if moment is None:
        return Markup("—")
    delta = (moment - _now()).total_seconds()
    relative = f"in {duration_text(delta)}" if delta > 0 else f"{duration_text(delta)} ago"
    return Markup(
        '<time datetime="{}" title="{} UTC">{}</time> <span class="muted">({})</span>'
    ).format(moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M"), local_time(moment), relative)


def _anchor(mention_id: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in mention_id)


@bp.errorhandler(Exception)
def _page_error(error: Exception):
    """A page's failure is a page: the HTTP error's own words, or for anything else a
    500 that points to the server log (where the trace goes)."""
    if isinstance(error, HTTPException):
        code = error.code or 500
        return render_template("error.html", code=code, message=error.description), code
    current_app.logger.exception("unhandled error on a page")
    message = "Something went wrong on our side; the server log has the details."
    return render_template("error.html", code=500, message=message), 500


def _unrouted(error: HTTPException):
    """404 and 405 raised before any view (no route matched): a page for a browser, the
    JSON error shape for the API, webhooks, and any client that asks for JSON."""
    api = request.path.startswith(("/api/", "/webhooks/", "/metrics", "/healthz"))
    browser = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if api or browser != "text/html":
        return error_response(
            error.code or 500, error.name.lower().replace(" ", "_"), error.description or error.name
        )
    return render_template("error.html", code=error.code, message=error.description), error.code


@bp.errorhandler(redis.RedisError)
def _store_down(error: redis.RedisError):
    """While Redis restarts or refuses writes the pages say so (and refresh) rather than
    fail with a trace."""
    status, message = store_trouble(error)
    current_app.logger.warning("Redis failed: %s", type(error).__name__)
    refresh_s = STORE_RETRY_AFTER_S if status == 503 else None
    page = render_template("error.html", code=status, message=message, refresh_s=refresh_s)
    return page, status, {"Retry-After": str(STORE_RETRY_AFTER_S)} if refresh_s else {}


def http_url(url: Any) -> str | None:
    """``url`` when it is an http(s) link, else None: a message's ``url`` comes from outside,
    and a ``javascript:`` link must never become clickable."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _flash_category(category: str) -> str:
    return category if category in ("ok", "error", "warning") else "ok"


def register_pages(app: Flask) -> None:
    """Add the pages (and their static files at ``/static``) to ``app``."""
    app.register_blueprint(bp)
    app.register_error_handler(404, _unrouted)
    app.register_error_handler(405, _unrouted)
    app.jinja_env.filters.setdefault("when", when)
    app.jinja_env.filters.setdefault("duration", duration_text)
    app.jinja_env.filters.setdefault("local_time", local_time)
    app.jinja_env.filters.setdefault("anchor", _anchor)
    app.jinja_env.filters.setdefault("http_url", http_url)
    app.jinja_env.filters.setdefault("flash_category", _flash_category)
    app.jinja_env.globals.setdefault("escape", escape)
    app.jinja_env.globals.setdefault(
        "has_endpoint", lambda name: name in current_app.view_functions
    )


# The views register themselves on ``bp`` when imported: after everything they import above.
from web.ui import incidents, insight, overview, queue, rotation  # noqa: E402, F401
