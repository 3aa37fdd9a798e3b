"""Bearer-token authentication for the JSON API and ingest (``HARK_API_TOKEN``)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from flask import current_app, request

from web.errors import ApiError


def require_token(view: Callable) -> Callable:
    @wraps(view)
    def checked(*args, **kwargs):
        expected = current_app.config.get("HARK_API_TOKEN")
        if not expected:
            raise ApiError(503, "not_configured", "the API is off: set HARK_API_TOKEN to enable it")
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <HARK_API_TOKEN>'")
        return view(*args, **kwargs)

    return checked
