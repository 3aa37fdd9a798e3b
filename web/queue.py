"""The reply queue in the JSON API: the working view, and each action on an item (claim,
release, draft, send, replied, dismiss, resolve, reopen) through its service function in
``services.queue``, the same one the page calls. Every action names the person doing it
(``by``) until the web issue's logins replace it with the signed-in user. This module
reads the request and shapes the answer; what an action may do is decided there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from services import queue as desk_queue
from services.context import Services
from services.queue import QueueError
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object

bp = Blueprint("queue", __name__, url_prefix="/api/queue")
STATUS = {
    "not_found": 404,
    "claimed": 409,
    "conflict": 409,
    "cannot_post": 409,
    "invalid_field": 422,
    "x_error": 502,
}


def desk_services() -> Services:
    """The app's services (``create_app``), which the queue's actions take."""
    services: Services = current_app.config["SERVICES"]
    return services


def _body() -> dict[str, Any]:
    body = json_object()
    if not isinstance(body.get("by"), str) or not body["by"].strip():
        raise ApiError(422, "invalid_field", "by: who is doing this (a name)")
    return body


def _answer(action: Callable[[], QueueItem]) -> Response:
    try:
        return jsonify(action().model_dump(mode="json"))
    except QueueError as error:
        raise ApiError(STATUS.get(error.code, 409), error.code, str(error)) from None


@bp.get("")
@require_token
def working_view() -> Response:
    """Open and claimed items, soonest due first, ``limit`` (1-200, default 100) at a time
    from ``cursor`` (the ``next`` of the page before)."""
    services = desk_services()
    queue = ReplyQueue(services.connection)
    try:
        limit = int(request.args.get("limit", 100))
        offset = int(request.args.get("cursor", 0))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "limit and cursor must be numbers") from None
    if not 1 <= limit <= 200 or offset < 0:
        raise ApiError(
            400, "invalid_parameter", "limit must be between 1 and 200, cursor 0 or more"
        )
    items = queue.working_view(services.clock(), limit, offset)
    more = offset + limit < queue.waiting()
    return jsonify(
        {
            "items": [item.model_dump(mode="json") for item in items],
            "next": str(offset + limit) if more else None,
        }
    )


@bp.post("/<path:mention_id>/<action>")
@require_token
def act(mention_id: str, action: str) -> Response:
    body, services = _body(), desk_services()
    person = body["by"].strip()
    if action == "claim":
        return _answer(lambda: desk_queue.claim(services, mention_id, person))
    if action == "release":
        take_back = body.get("take_back") is True  # someone else's claim, off shift
        return _answer(
            lambda: desk_queue.release(services, mention_id, person, take_back=take_back)
        )
    if action == "draft":
        text = _text(body, "text")
        return _answer(lambda: desk_queue.draft(services, mention_id, person, text))
    if action == "replied":
        return _answer(lambda: desk_queue.replied(services, mention_id, person))
    if action == "dismiss":
        reason = _text(body, "reason")
        return _answer(lambda: desk_queue.dismiss(services, mention_id, person, reason))
    if action == "resolve":
        return _answer(lambda: desk_queue.resolve(services, mention_id, person))
    if action == "reopen":
        return _answer(lambda: desk_queue.reopen(services, mention_id, person))
    if action == "send":
        return _send(services, mention_id, person, body)
    raise ApiError(404, "not_found", f"unknown action {action!r}")


def _text(body: dict[str, Any], field: str) -> str:
    """A text field; missing is empty (the action says what it needs)."""
    value = body.get(field, "")
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"{field}: a string")
    return value


def _send(services: Services, mention_id: str, person: str, body: dict[str, Any]) -> Response:
    """Post the saved draft as an X reply (only with X user credentials configured)."""
    if "text" in body:
        raise ApiError(
            422,
            "invalid_field",
            "text: send posts the saved draft; save a new text with POST .../draft first",
        )
    digest = body.get("draft_digest")  # optional: the draft the caller read
    if digest is not None and not isinstance(digest, str):
        raise ApiError(422, "invalid_field", "draft_digest: a string, as GET /api/queue gives")
    approve = body.get("approve") is True
    return _answer(
        lambda: desk_queue.send(services, mention_id, person, approve=approve, digest=digest)
    )
