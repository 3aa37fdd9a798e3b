"""The JSON API: list triaged mentions; ingest a mention from any channel; correct a
mention's priority."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from desk.mentions import STATUSES, MentionStore
from monitor.mention import InvalidMessage, incoming_mention
from monitor.store import MonitorState
from rules import Engine, Rulebook
from rules.schema import LEVELS
from services.corrections import CorrectionError, correct_priority
from services.intake import Intake
from vocabulary.channels import CHANNELS
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object, json_value
from web.query_params import page_limit, score_cursor

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_LIMIT = 200
PRIORITY_FIELDS = {"priority", "reason", "by"}


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
    enqueued = Intake.for_services(current_app.config["SERVICES"]).submit(mention)
    return jsonify({"id": mention.id, "enqueued": enqueued}), 202


@bp.get("/mentions")
@require_token
def list_mentions():
    """Newest first; filters ``priority``, ``channel``, ``status``; ``limit``; ``cursor``."""
    limit = page_limit(request.args, 50, MAX_LIMIT)
    cursor = score_cursor(request.args)
    filters = {field: request.args.get(field) for field in ("priority", "channel", "status")}
    for field, allowed in (("priority", LEVELS), ("channel", CHANNELS), ("status", STATUSES)):
        if filters[field] and filters[field] not in allowed:
            raise ApiError(400, "invalid_parameter", f"{field} must be one of {', '.join(allowed)}")
    store = MentionStore(current_app.config["REDIS"])
    try:
        page = store.list(filters, limit, cursor)
    except ValueError:
        raise ApiError(400, "invalid_parameter", "cursor is not one this API returned") from None
    return jsonify({"items": [mention.public() for mention in page.items], "next": page.next})


@bp.get("/sources")
@require_token
def sources():
    """Each source's last successful poll and last error; unhealthy after 3 silent intervals."""
    state = MonitorState(current_app.config["REDIS"])
    return jsonify({"items": state.health(current_app.config["CLOCK"]()), "next": None})


@bp.post("/mentions/<path:mention_id>/priority")
@require_token
def correct(mention_id: str):
    """A person's correction: ``{"priority": "P1", "reason": "...", "by": "rosa"}`` (``by``
    optional: "api" when not given). Answers the corrected mention, with ``incident``: what
    the correction did to an incident (filed and paged, resolved, noted) or null. 404 for
    an unknown mention, 400 for a level that does not exist, an empty reason or the level
    the mention has; then nothing has changed."""
    body = json_object()
    unknown = sorted(set(body) - PRIORITY_FIELDS)
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field {unknown[0]!r}")
    priority, reason = _string(body, "priority", None), _string(body, "reason", "")
    person = _string(body, "by", "api").strip()
    if not person:
        raise ApiError(400, "invalid_field", "by: who is changing it (a name), or leave it out")
    try:
        done = correct_priority(
            current_app.config["SERVICES"],
            mention_id,
            priority,
            reason,
            person,
            rulebook=app_rulebook(),
        )
    except CorrectionError as error:
        raise ApiError(404 if error.code == "not_found" else 400, error.code, str(error)) from None
    incident: dict[str, Any] | None = None
    if done.incident is not None:
        incident = {"id": done.incident.id, "change": done.incident_change}
    return jsonify(done.mention.public() | {"incident": incident})


def _string(body: dict[str, Any], field: str, default: str | None) -> str:
    value = body.get(field, default)
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"{field}: a string")
    return value


def app_engine() -> Engine | None:
    """The engine the app was given (``create_app(rulebook=)``): an ``Engine``, or a
    function that returns the active one (the web process's reads the rulebook and its
    model the first time a page asks, not at start), or None."""
    source = current_app.config.get("RULEBOOK")
    if source is None or hasattr(source, "classify"):
        return source
    return source()


def app_rulebook() -> Rulebook | None:
    """The rulebook of ``app_engine()``, or None."""
    rulebook = getattr(app_engine(), "rulebook", None)
    return rulebook if isinstance(rulebook, Rulebook) else None
