"""Incidents in the JSON API: the log, one incident, acknowledge, resolve (with a note and
an optional "fixed in" version), reopen, split a report out, merge two incidents, and
confirm or downgrade a possible P0.

Each action changes Hark's incident and sends the matching events to PagerDuty through the
paging queue (so a PagerDuty outage never loses the action), through the same service
function as the page (``services.incidents``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, current_app, jsonify, request

from oncall.incidents import STATUSES, IncidentError, IncidentStore
from services.incidents import (
    InvalidReason,
    UnknownIncident,
    action_named,
    change_incident,
    confirm_incident,
    downgrade_incident,
    merge_incidents,
    reopen_incident,
    resolve_incident,
    split_report,
)
from web.auth import require_token
from web.errors import ApiError
from web.json_body import json_object, json_value
from web.query_params import page_limit, score_cursor

bp = Blueprint("incidents", __name__, url_prefix="/api/incidents")
MAX_LIMIT = 200  # as /api/mentions


@bp.get("")
@require_token
def list_incidents():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise ApiError(400, "invalid_parameter", f"status must be one of {', '.join(STATUSES)}")
    limit = page_limit(request.args, 50, MAX_LIMIT)
    cursor = score_cursor(request.args)
    items, after = IncidentStore(current_app.config["REDIS"]).list(status, limit, cursor)
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
        raise ApiError(
            404,
            "not_found",
            "actions are acknowledge, resolve, reopen, split, merge, confirm and downgrade",
        )
    try:
        incident, _ = change_incident(
            current_app.config["SERVICES"], incident_id, chosen, "from Hark"
        )
    except UnknownIncident as error:
        raise ApiError(404, "not_found", str(error)) from None
    except IncidentError as error:
        raise ApiError(409, "conflict", str(error)) from None
    return jsonify(incident.public())


@bp.post("/<incident_id>/resolve")
@require_token
def resolve(incident_id: str):
    """Body: ``{"note": text, "fixed_in": "1.2.1" (optional), "by": name}``."""
    body = json_object()
    note, fixed_in = _text(body, "note"), body.get("fixed_in")
    if fixed_in is not None and not isinstance(fixed_in, str):
        raise ApiError(400, "invalid_field", "fixed_in: a version such as 1.2.1")
    with _answers():
        incident, _ = resolve_incident(
            current_app.config["SERVICES"], incident_id, _person(body), note, fixed_in
        )
    return jsonify(incident.public())


@bp.post("/<incident_id>/reopen")
@require_token
def reopen(incident_id: str):
    """Body: ``{"reason": text, "by": name}``. Pages the on-call again."""
    body = json_object()
    with _answers():
        incident = reopen_incident(
            current_app.config["SERVICES"], incident_id, _person(body), _text(body, "reason")
        )
    return jsonify(incident.public())


@bp.post("/<incident_id>/split")
@require_token
def split(incident_id: str):
    """Body: ``{"mention_id": id, "by": name}``: that report becomes an incident of its own.
    Answers ``{"incident": what is left, "split": the new incident}``."""
    body = json_object()
    with _answers():
        left, opened = split_report(
            current_app.config["SERVICES"], incident_id, _text(body, "mention_id"), _person(body)
        )
    return jsonify({"incident": left.public(), "split": opened.public()})


@bp.post("/<incident_id>/merge")
@require_token
def merge(incident_id: str):
    """Body: ``{"into": survivor id, "by": name}``: this incident is merged into that one.
    Answers ``{"incident": the survivor, "merged": this one, resolved}``."""
    body = json_object()
    with _answers():
        survivor, absorbed = merge_incidents(
            current_app.config["SERVICES"], _text(body, "into"), incident_id, _person(body)
        )
    return jsonify({"incident": survivor.public(), "merged": absorbed.public()})


@contextmanager
def _answers() -> Iterator[None]:
    """The service's refusals as the API's errors."""
    try:
        yield
    except InvalidReason as error:
        raise ApiError(400, "invalid_field", str(error)) from None
    except UnknownIncident as error:
        raise ApiError(404, "not_found", str(error)) from None
    except IncidentError as error:
        raise ApiError(409, "conflict", str(error)) from None


def _text(body: dict, name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"{name}: a string")
    return value


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
