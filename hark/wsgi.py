"""The WSGI entry point for production: ``gunicorn 'hark.wsgi:create_wsgi_app()'``.

Importing this module does nothing but import: gunicorn calls the factory in each worker
process as it boots (no ``--preload``), so every worker opens its own Redis connection
pool after the fork. The app is built from ``Settings()`` exactly as ``hark web`` builds
it (``hark.wiring.build_web_app``); a missing or wrong setting raises ``ConfigError``
naming the variable, which gunicorn logs before it stops ("Worker failed to boot").
"""

from __future__ import annotations

from flask import Flask

from hark.redis_connection import ConfigError
from hark.settings import Settings, SettingsError
from hark.wiring import build_web_app
from vocabulary.loggable import install_log_redaction

__all__ = ["ConfigError", "build_web_app", "create_wsgi_app"]


def create_wsgi_app() -> Flask:
    """gunicorn's application factory: the app from the ``HARK_`` environment."""
    try:
        settings = Settings()
    except SettingsError as error:
        raise ConfigError(str(error)) from None
    app = build_web_app(settings)
    install_log_redaction()  # what senders wrote reaches no log line unredacted
    return app
