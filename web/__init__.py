"""The Flask application: the JSON API, webhooks, operations endpoints, and (with a
session key) the logged-in pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, Response, current_app, request
from redis import Redis
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from oncall.pagerduty_rotation import PagerDutyRotation
from oncall.rotation import LocalRotation
from rules import Engine
from rules.schema import BusinessHours
from services.context import ReplyPoster, Services, utc_now
from web import api, incidents, metrics, queue, rotation, webhooks
from web.errors import error_response, register_error_handlers
from web.ids_in_urls import MentionIdConverter
from web.ops import register_ops
from web.security_headers import register_security_headers
from web.users import Users, WatchedUsers

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_PROXIES = 5  # proxies in front that append to X-Forwarded-For, at most
# Authenticated per request by the API token or a signature, never by the session: no CSRF.
TOKEN_BLUEPRINTS = ("api", "incidents", "rotation", "queue", "metrics", "webhooks", "ops")


def create_app(
    *,
    redis: Redis,
    services: Services | None = None,
    api_token: str | None = None,
    github_webhook_secret: str | None = None,
    pagerduty_webhook_secret: str | None = None,
    rotation_source: PagerDutyRotation | LocalRotation | None = None,
    x_poster: ReplyPoster | None = None,
    secret_key: str | None = None,
    users: Users | WatchedUsers | None = None,
    insecure_cookies: bool = False,
    rulebook: Engine | Callable[[], Engine] | None = None,
    metrics_public: bool = False,
    clock: Callable[[], datetime] = utc_now,
    team_timezone: str = BusinessHours().timezone,
    trusted_proxies: int = 0,
) -> Flask:
    """The app factory. Everything it needs is passed in; nothing is read from globals.
    ``services`` (``hark.wiring.web_services``) carry the on-call and desk settings and
    the X poster the page's actions use; without them, the defaults on ``redis`` with
    ``x_poster`` and ``clock``. ``team_timezone``: the rulebook's business hours' zone,
    in which the pages show every time. ``trusted_proxies``: how many proxies in front
    append to X-Forwarded-For (0: none, the header is ignored); the client's address, for
    the failed-login limits and the log, is then the one the outermost of them saw."""
    app = Flask(__name__)
    app.url_map.converters["mention"] = MentionIdConverter  # ids as tokens in page URLs
    _trust_proxies(app, trusted_proxies)
    services = services or Services(connection=redis, clock=clock, x_poster=x_poster)
    app.config.update(
        # The views' connection and clock are the services' own: one of each per app.
        REDIS=services.connection,
        SERVICES=services,
        HARK_API_TOKEN=api_token,
        HARK_GITHUB_WEBHOOK_SECRET=github_webhook_secret,
        HARK_PD_WEBHOOK_SECRET=pagerduty_webhook_secret,
        ROTATION=rotation_source,
        CLOCK=services.clock,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
        RULEBOOK=rulebook,
        HARK_METRICS_PUBLIC=metrics_public,
        TEAM_TIMEZONE=team_timezone,  # the rulebook's business hours': times on the pages
    )
    register_error_handlers(app)
    register_security_headers(app)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.register_blueprint(api.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(rotation.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(webhooks.bp)
    register_ops(app)
    if secret_key:  # the pages exist only behind a login
        from web.login import init_login
        from web.ui import register_pages

        app.config.update(SECRET_KEY=secret_key, HARK_INSECURE_COOKIES=insecure_cookies)
        init_login(app, users or Users(), token_blueprints=TOKEN_BLUEPRINTS)
        register_pages(app)
    else:
        app.register_error_handler(404, _pages_off)
    return app


def _trust_proxies(app: Flask, count: int) -> None:
    """Believe X-Forwarded-For from ``count`` proxies (werkzeug's ProxyFix), none by default:
    without a proxy that sets it, the header is whatever the client wrote."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PROXIES:
        raise ValueError(f"trusted_proxies must be a whole number from 0 to {MAX_PROXIES}")
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]


def _favicon() -> Response:
    """Browsers ask for /favicon.ico whatever a page links: the icon the layouts link."""
    return current_app.send_static_file("favicon.svg")


def _pages_off(error: NotFound):
    """Where the page would be, when it is off: say why, rather than "not found"."""
    if request.path not in ("/", "/login"):
        return error_response(404, "not_found", error.description)
    return error_response(
        503,
        "not_configured",
        "the web page is off: set HARK_SECRET_KEY (32+ characters) and HARK_USERS_FILE "
        "(users added with `hark users add NAME ROLE`), or start everything with `hark run`",
    )
