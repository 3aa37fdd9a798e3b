"""``hark.wsgi``: gunicorn's factory builds the app as ``hark web`` does, and a missing or
wrong setting is a ConfigError that names the variable (the real-Redis build is in
tests/integration/test_wsgi.py)."""

from __future__ import annotations

import importlib
import os

import pytest

import hark.wsgi
from hark.embedded_redis import free_port
from hark.redis_connection import ConfigError
from hark.settings import Settings
from hark.wsgi import build_web_app, create_wsgi_app


@pytest.fixture(autouse=True)
def no_hark_environment(monkeypatch):
    """Each test sets exactly the settings it means; nothing leaks in from the shell."""
    for name in list(os.environ):
        if name.startswith("HARK_") or name == "REDIS_URL":
            monkeypatch.delenv(name)


def test_importing_does_no_work():
    # No HARK_REDIS_URL here: building the app at import time would raise.
    module = importlib.reload(hark.wsgi)
    assert not hasattr(module, "app")
    assert callable(module.create_wsgi_app)


def test_missing_redis_url_names_the_variable():
    with pytest.raises(ConfigError, match="HARK_REDIS_URL is not set"):
        create_wsgi_app()


def test_unreachable_redis_names_the_variable(monkeypatch):
    monkeypatch.setenv("HARK_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="cannot reach Redis at HARK_REDIS_URL"):
        create_wsgi_app()


def test_a_url_that_is_not_redis_names_the_variable(monkeypatch):
    monkeypatch.setenv("HARK_REDIS_URL", "http://localhost:6379")
    with pytest.raises(ConfigError, match="HARK_REDIS_URL is not a Redis URL"):
        create_wsgi_app()


def test_redis_url_fallback_is_read(monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="cannot reach Redis"):  # read, then tried
        create_wsgi_app()


def test_part_of_the_x_posting_credentials_names_the_missing_ones():
    partial = Settings(x_api_key="k", x_api_secret="s", x_access_token="t")
    with pytest.raises(ConfigError, match="HARK_X_ACCESS_TOKEN_SECRET"):
        build_web_app(partial)


def test_an_unreadable_schedule_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="HARK_SCHEDULE: cannot read"):
        build_web_app(Settings(schedule=str(tmp_path / "missing.yaml")))


def test_an_invalid_schedule_names_the_variable(tmp_path):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text("layers: 12\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="HARK_SCHEDULE is invalid"):
        build_web_app(Settings(schedule=str(schedule)))


def test_a_schedule_that_is_not_text_names_the_variable(tmp_path):
    schedule = tmp_path / "schedule.yaml"
    schedule.write_bytes(b"timezone: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"HARK_SCHEDULE: .* is not UTF-8 text"):
        build_web_app(Settings(schedule=str(schedule)))
