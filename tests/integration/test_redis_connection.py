"""``hark.redis_connection.connect`` against a real redis-server: what each wrong
HARK_REDIS_URL is told (the unit tests in test_wsgi.py cover unset and unreachable)."""

from __future__ import annotations

import pytest

from hark.redis_connection import ConfigError, connect
from hark.settings import Settings


@pytest.fixture
def password_protected(redis_conn):
    redis_conn.config_set("requirepass", "s3cret-pw")
    try:
        yield
    finally:
        redis_conn.config_set("requirepass", "")


def _with(url: str, password: str | None) -> str:
    host = url.removeprefix("redis://")
    return f"redis://:{password}@{host}" if password else url


@pytest.mark.parametrize("password", [None, "wrong-pw"])
def test_a_redis_that_wants_a_password_says_so(redis_url, password_protected, password):
    with pytest.raises(ConfigError, match="wants a password, or another one") as raised:
        connect(Settings(redis_url=_with(redis_url, password)))
    assert "wrong-pw" not in str(raised.value)


def test_the_right_password_connects(redis_url, password_protected):
    assert connect(Settings(redis_url=_with(redis_url, "s3cret-pw"))).ping()


def test_a_database_that_is_not_a_number_is_named(redis_url):
    base = redis_url.rsplit("/", 1)[0]
    with pytest.raises(ConfigError, match="'abc' is not a database number"):
        connect(Settings(redis_url=f"{base}/abc"))
