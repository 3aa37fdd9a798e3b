"""The Flask application: JSON API, webhooks (pages come with the web issue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from redis import Redis

from web import api, incidents, metrics, queue, rotation, webhooks
from web.errors import register_error_handlers

MAX_BODY_BYTES = 5 * 1024 * 1024


def default_tone_check(text: str) -> list[str]:
    from oncall.replies.tone import tone_problems

    return tone_problems(text)


def create_app(
    *,
    redis: Redis,
    api_token: str | None = None,
    github_webhook_secret: str | None = None,
    pagerduty_webhook_secret: str | None = None,
    rotation_source: object | None = None,
    x_poster: object | None = None,
    tone_check: Callable[[str], list[str]] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Flask:
    """The app factory. Everything it needs is passed in; nothing is read from globals."""
    app = Flask(__name__)
    app.config.update(
        REDIS=redis,
        HARK_API_TOKEN=api_token,
        HARK_GITHUB_WEBHOOK_SECRET=github_webhook_secret,
        HARK_PD_WEBHOOK_SECRET=pagerduty_webhook_secret,
        ROTATION=rotation_source,
        X_POSTER=x_poster,
        TONE_CHECK=tone_check or default_tone_check,
        CLOCK=clock,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    register_error_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(rotation.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(webhooks.bp)
    return app
