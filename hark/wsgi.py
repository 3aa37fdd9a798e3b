"""The WSGI entry point for production: ``gunicorn 'hark.wsgi:create_wsgi_app()'``.

Importing this module does nothing but import: gunicorn calls the factory in each worker
process as it boots (no ``--preload``), so every worker opens its own Redis connection
pool after the fork. The app is built from ``Settings()`` exactly as ``hark web`` builds
it; a missing or wrong setting raises ``ConfigError`` naming the variable, which gunicorn
logs before it stops ("Worker failed to boot").
"""

from __future__ import annotations

from flask import Flask

from hark.redis_connection import ConfigError, connect
from hark.rotation_source import build_rotation
from hark.service_cli import x_poster
from hark.settings import Settings

__all__ = ["ConfigError", "build_web_app", "create_wsgi_app"]


def build_web_app(settings: Settings) -> Flask:
    """The Flask app for ``settings``: the rotation (PagerDuty or the local schedule), the
    X reply poster (all four user-context settings or none), then Redis."""
    from web import create_app

    rotation, poster = build_rotation(settings), x_poster(settings)
    return create_app(
        redis=connect(settings),
        rotation_source=rotation,
        x_poster=poster,
        api_token=_secret(settings.api_token),
        github_webhook_secret=_secret(settings.github_webhook_secret),
        pagerduty_webhook_secret=_secret(settings.pd_webhook_secret),
    )


def create_wsgi_app() -> Flask:
    """gunicorn's application factory: the app from the ``HARK_`` environment."""
    return build_web_app(Settings())


def _secret(value) -> str | None:
    return value.get_secret_value() if value else None
