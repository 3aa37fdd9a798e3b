"""The reply queue in the JSON API: the working view, and each action on an item (claim,
release, draft, send, replied, dismiss, resolve, reopen) through its service function in
``services.queue``, the same one the page calls. Every action names the person doing it
(``by``) until the web issue's logins replace it with the signed-in user. This module
reads the request and shapes the answer; what an action may do is decided there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from desk.inbox import STATUSES, Entry, InboxQuery, facet_counts, matching
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from services import queue as desk_queue
from services.context import Services
from services.inbox import entries, suspects
from services.queue import QueueError
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object
from web.query_params import page_limit, page_offset

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
    """The inbox's items, one per report (an incident's reports are not folded here),
    ``limit`` (1-200, default 100) at a time from ``cursor`` (the ``next`` of the page
    before). The same filters as the page: ``priority``, ``channel``, ``status`` (waiting,
    the default: open and claimed, soonest due first; open; claimed; answered: latest
    first), ``mine`` (claimed by ``by``), ``unclaimed``, ``overdue``, ``possible_p0`` (1 to
    set) and ``q`` (words in the text, author or id). Each item has its ``incident_id``
    and ``possible_p0``; ``counts`` has every filter value's count, ``total`` the items
    the filters match."""
    services = desk_services()
    limit = page_limit(request.args, 100, 200)
    offset = page_offset(request.args)
    query = _query(request.args)
    me = request.args.get("by", "").strip()
    queue = ReplyQueue(services.connection)
    suspect_ids = {suspect.mention.id for suspect in suspects(services, queue)}
    every = entries(services, queue, suspect_ids)
    found = matching(every, query, me)
    shown = found[offset : offset + limit]
    return jsonify(
        {
            "items": [_entry_json(entry) for entry in shown],
            "next": str(offset + limit) if offset + limit < len(found) else None,
            "total": len(found),
            "counts": facet_counts(every, query, me),
        }
    )


def _query(args: Mapping[str, str]) -> InboxQuery:
    """The filters of ``args``; a value that is not one of a filter's is refused (the
    page forgives it, a program should hear of it)."""
    query = InboxQuery.from_args(args)
    for name in ("priority", "channel"):
        if args.get(name) and getattr(query, name) is None:
            raise ApiError(400, "invalid_parameter", f"{name}: unknown value {args[name]!r}")
    if args.get("status") and args["status"] != query.status:
        raise ApiError(400, "invalid_parameter", f"status: one of {', '.join(STATUSES)}")
    if query.mine and not args.get("by", "").strip():
        raise ApiError(400, "invalid_parameter", "mine: say whose (by=<name>)")
    return query


def _entry_json(entry: Entry) -> dict[str, Any]:
    item = entry.item.model_copy(update={"incident_id": entry.incident_id})
    return {
        **item.model_dump(mode="json"),
        "possible_p0": entry.possible_p0,
        "escalated": entry.escalated,
    }


@bp.post("/incidents/<incident_id>/reply-all", defaults={"action": "reply-all"})
@bp.post("/incidents/<incident_id>/dismiss-all", defaults={"action": "dismiss-all"})
@require_token
def act_on_incident(incident_id: str, action: str) -> Response:
    """One reply to every waiting report of an incident (``text``, ``{name}`` for each
    reporter's name; ``approve``: true to post X reports when posting is set up), or
    dismiss them all (``reason``): each report on its own, and the answer says what
    happened to each (posted, replied, dismissed, drafted or untouched, and why)."""
    body, services = _body(), desk_services()
    person = body["by"].strip()
    try:
        if action == "reply-all":
            answer = desk_queue.reply_to_incident(
                services,
                incident_id,
                person,
                _text(body, "text"),
                approve=body.get("approve") is True,
            )
        else:
            answer = desk_queue.dismiss_incident(
                services, incident_id, person, _text(body, "reason")
            )
    except QueueError as error:
        raise ApiError(STATUS.get(error.code, 409), error.code, str(error)) from None
    return jsonify(answer.model_dump(mode="json"))


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
