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


def test_embedded_redis_moves_on_when_its_free_port_is_taken_first(tmp_path, monkeypatch):
    """A port probed free can be bound by someone else before redis-server binds it."""
    import socket

    from hark import embedded_redis

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    real_free_port = embedded_redis.free_port
    monkeypatch.setattr(embedded_redis, "free_port", lambda: next(ports, None) or real_free_port())
    server = embedded_redis.EmbeddedRedis(tmp_path, append_only=False)
    try:
        server.start()
        assert server.port != taken
        assert embedded_redis.redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()
        squatter.close()


def test_embedded_redis_on_a_taken_port_it_was_given_says_so(tmp_path):
    import socket

    from hark.embedded_redis import EmbeddedRedis

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"did not start on 127.0.0.1:{taken}"):
            EmbeddedRedis(tmp_path, taken, append_only=False).start(timeout_s=5)
