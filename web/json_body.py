"""Reading a JSON API request body: an object, not nested past the parser, holding only
valid Unicode (JSON's ``\\ud800`` escapes can carry a lone surrogate, which UTF-8, and so
Redis, the logs and the pages, cannot take); otherwise a clear 400 or 422."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from monitor.mention import encodable
from web.errors import ApiError


def read_body() -> bytes:
    """The raw body, or 413 when it is over ``MAX_CONTENT_LENGTH``: werkzeug refuses a
    declared length over it, but cuts a chunked body there without a word."""
    body = request.get_data()
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is None and len(body) >= limit:
        raise RequestEntityTooLarge(f"the body is over {limit // (1024 * 1024)} MB")
    return body


def json_value() -> tuple[bool, Any]:
    """(whether the body is JSON, its value): a JSON ``null`` is JSON, a body that is not
    JSON or not sent as JSON is not. 413 over the size limit, 400 past the parser's
    nesting."""
    raw = read_body()  # a body over the limit is a 413 here, not "not JSON" below
    try:
        value = request.get_json(silent=True)
    except RecursionError:  # ``silent`` covers ValueError only; json gives up on deep nesting
        raise ApiError(400, "invalid_json", "the body is JSON nested too deeply") from None
    return value is not None or (request.is_json and raw.strip() == b"null"), value


def json_object() -> dict[str, Any]:
    _, body = json_value()
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "invalid_json",
            "the body must be a JSON object (with Content-Type: application/json)",
        )
    where = _first_invalid_text(body)
    if where is not None:
        raise ApiError(422, "invalid_field", f"{where}: not valid Unicode (a lone surrogate)")
    return body


def _first_invalid_text(body: dict[str, Any]) -> str | None:
    """The path of the first key or string that UTF-8 cannot encode, or None. Iterative:
    the body may be nested as deep as the parser allows."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not encodable(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if not encodable(key):
                    return f"{path}.<key>" if path else "<key>"
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None
