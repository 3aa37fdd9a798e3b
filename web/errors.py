"""One JSON error shape for every failure: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import re

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

STORE_DOWN = (
    "Hark's Redis is unreachable, so nothing was read or stored; retry in a few seconds "
    "(if it lasts, check HARK_REDIS_URL and the Redis server)"
)
STORE_REFUSED = (
    "Hark's Redis refused the request (it is out of memory, cannot write to its disk, or is "
    "read-only), so nothing was stored; retry in a little while (if it lasts, see the Redis "
    "server's log)"
)
STORE_FAILED = "an unexpected error from Hark's Redis; see the server log"
STORE_RETRY_AFTER_S = 5
# Redis's own refusals while it cannot serve: out of memory, a read-only replica, a primary
# or cluster that is down, a failed disk write (MISCONF), no replicas to write to, a script
# that will not end (BUSY).
REFUSALS = (
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.TryAgainError,
)
# A script's error carries the refusal inside: "Error running script ...: -OOM command ...".
REFUSAL_CODES = re.compile(r"(?:^|-)(?:OOM|MISCONF|READONLY|NOREPLICAS|BUSY|MASTERDOWN) ")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def store_trouble(error: redis.RedisError) -> tuple[int, str]:
    """The status and the words for a Redis failure: 503 when Redis cannot serve now
    (unreachable, or refusing), 500 for anything else (a bug, logged with its trace)."""
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return 503, STORE_DOWN
    if isinstance(error, REFUSALS) or REFUSAL_CODES.search(str(error)):
        return 503, STORE_REFUSED
    logging.getLogger(__name__).error("Redis error", exc_info=error)
    return 500, STORE_FAILED


def error_response(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(redis.RedisError)
    def _store_trouble(error: redis.RedisError):
        status, message = store_trouble(error)
        app.logger.warning("Redis failed: %s", type(error).__name__)
        code = "store_unavailable" if status == 503 else "internal_error"
        body, status = error_response(status, code, message)
        if status == 503:
            body.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")  # the trace goes to the log, not the client
        return error_response(500, "internal_error", "an unexpected error; see the server log")
