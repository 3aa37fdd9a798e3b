"""The JSON API: list triaged mentions; ingest a mention from any channel."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from desk.mentions import STATUSES, MentionStore
from monitor.mention import InvalidMessage, incoming_mention
from monitor.store import MonitorState
from rules.schema import LEVELS
from services.intake import Intake
from vocabulary.channels import CHANNELS
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_value

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 200


@bp.post("/mentions")
@require_token
def ingest():
    """One message in the ``monitor.mention.IncomingMessage`` shape; 202 once queued."""
    is_json, payload = json_value()
    if not is_json:
        raise ApiError(
            400, "invalid_json", "the body must be JSON (Content-Type: application/json)"
        )
    try:
        mention = incoming_mention(payload, current_app.config["CLOCK"]())
    except InvalidMessage as error:
        raise ApiError(422, "invalid_field", str(error)) from None
    enqueued = Intake(current_app.config["REDIS"]).submit(mention)
    return jsonify({"id": mention.id, "enqueued": enqueued}), 202


@bp.get("/mentions")
@require_token
def list_mentions():
    """Newest first; filters ``priority``, ``channel``, ``status``; ``limit``; ``cursor``."""
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "limit must be a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "invalid_parameter", f"limit must be between 1 and {MAX_LIMIT}")
    filters = {field: request.args.get(field) for field in ("priority", "channel", "status")}
    for field, allowed in (("priority", LEVELS), ("channel", CHANNELS), ("status", STATUSES)):
        if filters[field] and filters[field] not in allowed:
            raise ApiError(400, "invalid_parameter", f"{field} must be one of {', '.join(allowed)}")
    store = MentionStore(current_app.config["REDIS"])
    try:
        page = store.list(filters, limit, request.args.get("cursor"))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "cursor is not one this API returned") from None
    return jsonify({"items": [mention.public() for mention in page.items], "next": page.next})


@bp.get("/sources")
@require_token
def sources():
    """Each source's last successful poll and last error; unhealthy after 3 silent intervals."""
    state = MonitorState(current_app.config["REDIS"])
    return jsonify({"items": state.health(current_app.config["CLOCK"]()), "next": None})
