"""Failed-login limits on ``POST /login``, kept by Flask-Limiter in the app's Redis.

Only a refused password counts (the view answers 401). Five within 15 minutes lock a name,
from anywhere; twenty lock an address. An address allows more: a team behind one office
address should not be locked out by one person's typos, while guessing across many names
still stops. The window starts at the first failure; until it ends even the right password
is refused, because the count is checked before the password is. A successful login clears
its name's count (the address's stays).

Names are counted under a keyed digest: a password typed into the name field must not reach
Redis or the log.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from redis import Redis

NAME_LIMIT = "5 per 15 minutes"
ADDRESS_LIMIT = "20 per 15 minutes"
KEY_PREFIX = "hark:login-limit"
LOGIN_ENDPOINT = "auth.login"
MAX_NAME_CHARS = 64


def login_name() -> str:
    """The name the login form sent, as the view checks it."""
    return request.form.get("name", "").strip()[:MAX_NAME_CHARS]


def _name_key() -> str:
    """A keyed digest (the session key signs it): what Redis holds cannot be guessed back,
    even when the "name" is a password typed into the wrong field."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return "name:" + hmac.new(secret, login_name().encode(), hashlib.sha256).hexdigest()[:32]


def _address_key() -> str:
    return "address:" + get_remote_address()


def _refused(response: Response) -> bool:
    return response.status_code == 401


def _not_login() -> bool:
    return request.endpoint != LOGIN_ENDPOINT


def init_login_limits(app: Flask, connection: Redis, blueprint: Blueprint) -> Limiter:
    """Limit failed logins on ``blueprint``'s login view, counted on ``connection``'s pool."""
    limiter = Limiter(
        _address_key,
        app=app,
        storage_uri="redis://",  # the connection comes from the pool below, not this URI
        storage_options={"connection_pool": connection.connection_pool, "key_prefix": KEY_PREFIX},
        strategy="fixed-window",
    )
    for limit, key in ((NAME_LIMIT, _name_key), (ADDRESS_LIMIT, _address_key)):
        limiter.limit(
            limit, key_func=key, methods=["POST"], deduct_when=_refused, exempt_when=_not_login
        )(blueprint)
    return limiter


def minutes_blocked(limiter: Limiter) -> int:
    """Whole minutes until every limit this request broke has reset (at least 1)."""
    now = time.time()
    # Whole seconds: Redis keeps the window in whole seconds, and the fraction is only the
    # time between two clock readings.
    waits = [
        int(limit.window.reset_time - now) for limit in limiter.current_limits if limit.breached
    ]
    return max(1, math.ceil(max(waits, default=0) / 60))


def forget_name_failures(limiter: Limiter) -> None:
    """Clear the count of the name that just logged in (call from the login view)."""
    name_limit = parse(NAME_LIMIT)
    for limit in limiter.current_limits:
        if limit.limit == name_limit:
            limiter.limiter.clear(limit.limit, *limit.request_args)
