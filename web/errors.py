"""One JSON error shape for every failure: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

STORE_DOWN = (
    "Hark's Redis is unreachable, so nothing was read or stored; retry in a few seconds "
    "(if it lasts, check HARK_REDIS_URL and the Redis server)"
)
STORE_RETRY_AFTER_S = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _store_down(error: redis.RedisError):
        app.logger.warning("Redis unreachable: %s", type(error).__name__)
        body, status = error_response(503, "store_unavailable", STORE_DOWN)
        body.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")  # the trace goes to the log, not the client
        return error_response(500, "internal_error", "an unexpected error; see the server log")
