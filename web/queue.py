"""The reply queue in the JSON API: the working view, claim, edit, send, mark replied,
dismiss. Every action names the person doing it (``by``) until the web issue's logins
replace it with the signed-in user."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from desk.reply_queue import QueueError, ReplyQueue
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object
from web.reply_posting import post_reply

bp = Blueprint("queue", __name__, url_prefix="/api/queue")
STATUS = {
    "not_found": 404,
    "claimed": 409,
    "conflict": 409,
    "cannot_post": 409,
    "invalid_field": 422,
    "x_error": 502,
}


def _body() -> dict:
    body = json_object()
    if not isinstance(body.get("by"), str) or not body["by"].strip():
        raise ApiError(422, "invalid_field", "by: who is doing this (a name)")
    return body


def _queue() -> ReplyQueue:
    return ReplyQueue(current_app.config["REDIS"])


def _answer(action):
    try:
        return jsonify(action())
    except QueueError as error:
        raise ApiError(STATUS.get(error.code, 409), error.code, str(error)) from None


@bp.get("")
@require_token
def working_view():
    """Open and claimed items, soonest due first, ``limit`` (1-200, default 100) at a time
    from ``cursor`` (the ``next`` of the page before)."""
    now, queue = current_app.config["CLOCK"](), _queue()
    try:
        limit = int(request.args.get("limit", 100))
        offset = int(request.args.get("cursor", 0))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "limit and cursor must be numbers") from None
    if not 1 <= limit <= 200 or offset < 0:
        raise ApiError(
            400, "invalid_parameter", "limit must be between 1 and 200, cursor 0 or more"
        )
    items = queue.working_view(now, limit, offset)
    more = offset + limit < queue.waiting()
    return jsonify({"items": items, "next": str(offset + limit) if more else None})


@bp.post("/<path:mention_id>/<action>")
@require_token
def act(mention_id: str, action: str):
    body, now, queue = _body(), current_app.config["CLOCK"](), _queue()
    person = body["by"].strip()
    if action == "claim":
        return _answer(lambda: queue.claim(mention_id, person, now))
    if action == "release":
        take_back = body.get("take_back") is True  # someone else's claim, off shift
        return _answer(lambda: queue.release(mention_id, person, now, take_back=take_back))
    if action == "draft":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "invalid_field", "text: the new draft")
        return _answer(lambda: queue.edit_draft(mention_id, person, text, now))
    if action == "replied":
        return _answer(lambda: queue.mark_replied(mention_id, person, now, "copied by hand"))
    if action == "dismiss":
        reason = body.get("reason") if isinstance(body.get("reason"), str) else ""
        return _answer(lambda: queue.dismiss(mention_id, person, reason, now))
    if action == "resolve":
        return _answer(lambda: queue.resolve(mention_id, person, now))
    if action == "reopen":
        return _answer(lambda: queue.reopen(mention_id, person, now))
    if action == "send":
        return _send(queue, mention_id, person, body, now)
    raise ApiError(404, "not_found", f"unknown action {action!r}")


def _send(queue: ReplyQueue, mention_id: str, person: str, body: dict, now):
    """Post the saved draft as an X reply (only with X user credentials configured)."""
    if body.get("approve") is not True:
        raise ApiError(422, "invalid_field", "approve: true is required to post publicly")
    if "text" in body:
        raise ApiError(
            422,
            "invalid_field",
            "text: send posts the saved draft; save a new text with POST .../draft first",
        )
    approved = body.get("draft_digest")  # optional: the draft the caller read
    if approved is not None and not isinstance(approved, str):
        raise ApiError(422, "invalid_field", "draft_digest: a string, as GET /api/queue gives")
    poster = current_app.config.get("X_POSTER")
    return _answer(lambda: post_reply(queue, poster, mention_id, person, now, approved))
