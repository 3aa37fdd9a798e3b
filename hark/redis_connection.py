"""The Redis connection every process uses, from ``HARK_REDIS_URL`` (or ``REDIS_URL``)."""

from __future__ import annotations

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
    try:
        connection = redis.Redis.from_url(settings.redis_url)
        connection.ping()
    except ValueError as error:
        raise ConfigError(f"HARK_REDIS_URL is not a Redis URL: {error}") from None
    except redis.RedisError as error:
        raise ConfigError(f"cannot reach Redis at HARK_REDIS_URL: {error}") from None
    return connection
