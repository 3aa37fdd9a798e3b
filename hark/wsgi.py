"""The WSGI entry point for production: ``gunicorn 'hark.wsgi:create_wsgi_app()'``.

Importing this module does nothing but import: gunicorn calls the factory in each worker
process as it boots (no ``--preload``), so every worker opens its own Redis connection
pool after the fork. The app is built from ``Settings()`` exactly as ``hark web`` builds
it; a missing or wrong setting raises ``ConfigError`` naming the variable, which gunicorn
logs before it stops ("Worker failed to boot").
"""

from __future__ import annotations

import logging

from flask import Flask

from hark.redis_connection import ConfigError, connect
from hark.rotation_source import build_rotation
from hark.rulebook_files import read_rulebook
from hark.service_cli import x_poster
from hark.settings import Settings, SettingsError

__all__ = ["ConfigError", "build_web_app", "create_wsgi_app"]

log = logging.getLogger(__name__)


def build_web_app(settings: Settings) -> Flask:
    """The Flask app for ``settings``: the rotation (PagerDuty or the local schedule), the
    X reply poster (all four user-context settings or none), then Redis."""
    from hark.rules_cli import default_rules_path
    from rules import RulebookError
    from web import create_app
    from web.users import UsersFileError, WatchedUsers

    rotation, poster = build_rotation(settings), x_poster(settings)
    if settings.secret_key and not settings.users_file:
        log.warning(
            "HARK_SECRET_KEY is set but HARK_USERS_FILE is not: nobody can log in to the page; "
            "add users with `hark users add NAME ROLE` and set HARK_USERS_FILE to that file"
        )
    try:
        users = WatchedUsers(settings.users_file) if settings.users_file else None
        rulebook = read_rulebook(default_rules_path())
    except (UsersFileError, RulebookError) as error:
        raise ConfigError(str(error)) from None
    try:
        return create_app(
            redis=connect(settings),
            rotation_source=rotation,
            x_poster=poster,
            api_token=_secret(settings.api_token),
            github_webhook_secret=_secret(settings.github_webhook_secret),
            pagerduty_webhook_secret=_secret(settings.pd_webhook_secret),
            secret_key=_secret(settings.secret_key),
            users=users,
            insecure_cookies=settings.insecure_cookies,
            rulebook=rulebook,
            metrics_public=settings.metrics_public,
        )
    except ValueError as error:  # e.g. a HARK_SECRET_KEY too short to sign sessions
        raise ConfigError(str(error)) from None


def create_wsgi_app() -> Flask:
    """gunicorn's application factory: the app from the ``HARK_`` environment."""
    try:
        settings = Settings()
    except SettingsError as error:
        raise ConfigError(str(error)) from None
    return build_web_app(settings)


def _secret(value) -> str | None:
    return value.get_secret_value() if value else None
