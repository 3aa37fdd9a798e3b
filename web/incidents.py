"""Incidents in the JSON API: the log, one incident, acknowledge and resolve, and confirm
or downgrade a possible P0.

Each action changes Hark's incident and sends the matching events to PagerDuty through the
paging queue (so a PagerDuty outage never loses the action), through the same service
function as the page (``services.incidents``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from oncall.incidents import STATUSES, IncidentError, IncidentStore
from services.incidents import (
    InvalidReason,
    UnknownIncident,
    action_named,
    change_incident,
    confirm_incident,
    downgrade_incident,
)
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object, json_value

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")
MAX_LIMIT = 200  # as /api/mentions


@bp.get("")
@require_token
def list_incidents():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "limit must be a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "invalid_parameter", f"limit must be between 1 and {MAX_LIMIT}")
    try:
        items, after = IncidentStore(current_app.config["REDIS"]).list(
            status, limit, request.args.get("cursor")
        )
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", "limit must be a number and cursor one this API returned"
        ) from None
    return jsonify({"items": [incident.public() for incident in items], "next": after})


@bp.get("/<incident_id>")
@require_token
def show(incident_id: str):
    incident = IncidentStore(current_app.config["REDIS"]).get(incident_id)
    if incident is None:
        raise ApiError(404, "not_found", f"no incident {incident_id}")
    return jsonify(incident.public())


@bp.post("/<incident_id>/<action>")
@require_token
def act(incident_id: str, action: str):
    chosen = action_named(action)
    if chosen is None:
        raise ApiError(404, "not_found", "actions are acknowledge, resolve, confirm and downgrade")
    try:
        incident, _ = change_incident(
            current_app.config["SERVICES"], incident_id, chosen, "from Hark"
        )
    except UnknownIncident as error:
        raise ApiError(404, "not_found", str(error)) from None
    except IncidentError as error:
        raise ApiError(409, "conflict", str(error)) from None
    return jsonify(incident.public())


@bp.post("/<incident_id>/confirm")
@require_token
def confirm(incident_id: str):
    """A possible P0 confirmed: paged at high urgency. Body (optional): ``{"by": name}``."""
    is_json, _ = json_value()
    person = _person(json_object() if is_json else {})  # checked as any body is
    try:
        incident = confirm_incident(current_app.config["SERVICES"], incident_id, person)
    except UnknownIncident as error:
        raise ApiError(404, "not_found", str(error)) from None
    except IncidentError as error:
        raise ApiError(409, "conflict", str(error)) from None
    return jsonify(incident.public())


@bp.post("/<incident_id>/downgrade")
@require_token
def downgrade(incident_id: str):
    """Not a P0: resolved, with the reason. Body: ``{"reason": text, "by": name}``."""
    body = json_object()
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(400, "invalid_field", "reason: a string saying why this is not a P0")
    try:
        incident = downgrade_incident(
            current_app.config["SERVICES"], incident_id, _person(body), reason
        )
    except InvalidReason as error:
        raise ApiError(400, "invalid_field", str(error)) from None
    except UnknownIncident as error:
        raise ApiError(404, "not_found", str(error)) from None
    except IncidentError as error:
        raise ApiError(409, "conflict", str(error)) from None
    return jsonify(incident.public())


def _person(body: object) -> str:
    """Who acts, for the timeline: the body's ``by``, or the API."""
    named = body.get("by") if isinstance(body, dict) else None
    return f"{named.strip()} (API)" if isinstance(named, str) and named.strip() else "the API"
