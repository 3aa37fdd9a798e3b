"""The Redis connection every process uses, from ``HARK_REDIS_URL`` (or ``REDIS_URL``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis

from hark.settings import Settings


class ConfigError(RuntimeError):
    """A setting a command needs is missing or wrong; the message names the variable."""


def connect(settings: Settings) -> redis.Redis:
    if not settings.redis_url:
        raise ConfigError(
            "HARK_REDIS_URL is not set: point it at your Redis, e.g. "
            "HARK_REDIS_URL=redis://localhost:6379/0"
        )
    database = urlsplit(settings.redis_url).path.strip("/")
    if database and not database.isdigit():  # redis-py would quietly use database 0
        raise ConfigError(
            f"HARK_REDIS_URL: {database!r} is not a database number (redis://host:6379/0)"
        )
    try:
        connection = redis.Redis.from_url(settings.redis_url)
        connection.ping()
    except ValueError as error:
        raise ConfigError(f"HARK_REDIS_URL is not a Redis URL: {error}") from None
    except redis.RedisError as error:
        if _needs_password(error):
            raise ConfigError(
                "the Redis at HARK_REDIS_URL wants a password, or another one: put it in the "
                "URL, redis://:PASSWORD@host:6379/0 (or redis://USER:PASSWORD@...)"
            ) from None
        raise ConfigError(f"cannot reach Redis at HARK_REDIS_URL: {error}") from None
    return connection


def _needs_password(error: redis.RedisError) -> bool:
    text = str(error)
    return isinstance(error, redis.AuthenticationError) or any(
        sign in text for sign in ("NOAUTH", "HELLO must be called", "WRONGPASS")
    )
