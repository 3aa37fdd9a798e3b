"""Failed-login limits for ``POST /login``, counted by Flask-Limiter's strategy in the app's
Redis: slow a guesser down without ever locking the real user out.

Only a refused password counts. Failures count twice, in fixed windows that start at the
first failure:

- per name *from one address* (``PAIR_LIMITS``): 5 in a minute, 10 in 15 minutes, 20 in
  an hour, 50 in a day. Each tier waits longer than the one before, so a guesser is slowed
  more the longer they keep at it; the user, from any other address, is not slowed at all.
- per address, whatever the names (``ADDRESS_LIMITS``): 20 in 15 minutes, 100 in a day, so
  that guessing across many names stops too. An office behind one address shares this
  count: one person's typos (a few failures on one name) never reach it.

While a window is full, even the right password from that name and address is refused (the
count is checked before the password, or the answer would tell a guesser they were right).
There is no lock of a name from everywhere: that would hand anyone who knows a name the
power to keep its owner out. A successful login clears the count of its name from its
address. The address is ``request.remote_addr``: behind a proxy, ``create_app``'s
``trusted_proxies`` makes it the client's (``werkzeug``'s ``ProxyFix``); otherwise
X-Forwarded-For is ignored, so a client cannot invent addresses for fresh counts.

Names are counted under a keyed digest: a password typed into the name field must not
reach Redis or the log.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from redis import Redis

PAIR_LIMITS = "5 per 1 minute; 10 per 15 minutes; 20 per 1 hour; 50 per 1 day"
ADDRESS_LIMITS = "20 per 15 minutes; 100 per 1 day"
KEY_PREFIX = "hark:login-limit"
MAX_NAME_CHARS = 64


def login_name() -> str:
    """The name the login form sent, as the view checks it."""
    return request.form.get("name", "").strip()[:MAX_NAME_CHARS]


def login_address() -> str:
    """Where the login comes from: the client's address (see the module's docstring)."""
    return get_remote_address() or "unknown"


@dataclass(frozen=True)
class LoginLimits:
    """The failed-login counts of one app. Every method may raise ``redis.RedisError``."""

    limiter: Limiter
    secret: bytes  # keys the names' digests

    def minutes_blocked(self, name: str, address: str) -> int:
        """0 when ``name`` may try from ``address``; else the whole minutes until every
        full window has ended (at least 1)."""
        strategy, now = self.limiter.limiter, time.time()
        waits = [
            strategy.get_window_stats(limit, *keys).reset_time - now
            for limit, keys in self._counts(name, address)
            if not strategy.test(limit, *keys)
        ]
        # Whole seconds: Redis keeps the window in whole seconds.
        return max(1, math.ceil(int(max(waits)) / 60)) if waits else 0

    def count_failure(self, name: str, address: str) -> None:
        for limit, keys in self._counts(name, address):
            self.limiter.limiter.hit(limit, *keys)

    def forget_failures(self, name: str, address: str) -> None:
        """After a successful login: the name's count from this address starts again (the
        address's count stays, or one right password would reset a guesser's)."""
        for limit in parse_many(PAIR_LIMITS):
            self.limiter.limiter.clear(limit, *self._pair(name, address))

    def _counts(self, name: str, address: str) -> Iterator[tuple[RateLimitItem, tuple[str, ...]]]:
        for limit in parse_many(PAIR_LIMITS):
            yield limit, self._pair(name, address)
        for limit in parse_many(ADDRESS_LIMITS):
            yield limit, ("address", address)

    def _pair(self, name: str, address: str) -> tuple[str, ...]:
        digest = hmac.new(self.secret, name.encode(), hashlib.sha256).hexdigest()[:32]
        return ("name-from", digest, address)


def init_login_limits(app: Flask, connection: Redis) -> LoginLimits:
    """The login limits of ``app``, counted on ``connection``'s pool. Flask-Limiter holds the
    storage and the strategy; the login view checks and counts itself, inside the view, so
    that a Redis failure is the login page's to explain (not an after-request hook's)."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri="redis://",  # the connection comes from the pool below, not this URI
        storage_options={"connection_pool": connection.connection_pool, "key_prefix": KEY_PREFIX},
        strategy="fixed-window",
    )
    return LoginLimits(limiter, str(app.config["SECRET_KEY"]).encode())
