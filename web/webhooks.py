"""``POST /webhooks/github``: issues and issue comments, signature-checked; a label added
or taken off an issue (``issues`` ``labeled``/``unlabeled``) tells the GitHub write-back
what a person decided about its priority (``services.github_bot``).

GitHub signs the raw body with the webhook secret (``X-Hub-Signature-256``); a delivery
with a missing or wrong signature is refused with 401 before anything is parsed or stored.
A redelivery (same ``X-GitHub-Delivery``) is answered without being processed again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request
from redis import Redis

from monitor.mention import encodable
from monitor.sources.github import PayloadError, mention_from_delivery
from oncall.incidents import IncidentError
from services.github_bot import record_label_event, record_unlabel_event
from services.incidents import Action, apply_pagerduty_event
from services.intake import Intake
from web.errors import ApiError

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DELIVERY_KEY = "hark:github:delivery:{id}"
DELIVERY_TTL_S = 14 * 86_400  # GitHub redelivers for days, not weeks
LABEL_ACTIONS = {"labeled": record_label_event, "unlabeled": record_unlabel_event}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


@bp.post("/github")
def github():
    secret = current_app.config.get("HARK_GITHUB_WEBHOOK_SECRET")
    if not secret:
        raise ApiError(
            503, "not_configured", "set HARK_GITHUB_WEBHOOK_SECRET to accept GitHub webhooks"
        )
    body = request.get_data(cache=False)
    if not signature_ok(secret, body, request.headers.get("X-Hub-Signature-256")):
        raise ApiError(
            401, "bad_signature", "X-Hub-Signature-256 is missing or does not match the body"
        )
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery:
        raise ApiError(400, "missing_header", "X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past the parser
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    if event == "ping":
        return jsonify({"ok": True, "zen": payload.get("zen")})

    connection = current_app.config["REDIS"]
    key = DELIVERY_KEY.format(id=delivery)
    if connection.exists(key):
        return jsonify({"duplicate": True, "delivery": delivery})
    action = payload.get("action")
    if event == "issues" and isinstance(action, str) and action in LABEL_ACTIONS:
        return _labeled(connection, key, delivery, action, payload)
    try:
        mention = mention_from_delivery(event, payload, current_app.config["CLOCK"]())
    except PayloadError as error:
        raise ApiError(422, "invalid_payload", f"{event}: {error}") from None
    intake = Intake.for_services(current_app.config["SERVICES"])
    enqueued = intake.submit(mention) if mention else False
    connection.set(key, 1, ex=DELIVERY_TTL_S)  # only once handled: a failure is redelivered
    return jsonify(
        {"delivery": delivery, "mention": mention.id if mention else None, "enqueued": enqueued}
    ), 202


def _labeled(
    connection: Redis, key: str, delivery: str, action: str, payload: dict[str, Any]
) -> tuple[Response, int]:
    """A label added or taken off on GitHub: a priority label a person set is a correction,
    one a person took off means Hark adds none again; Hark's own changes are neither
    (``services.github_bot.record_label_event``, ``record_unlabel_event``)."""
    try:
        outcome = LABEL_ACTIONS[action](current_app.config["SERVICES"], payload)
    except ValueError as error:
        raise ApiError(422, "invalid_payload", f"issues {action}: {error}") from None
    connection.set(key, 1, ex=DELIVERY_TTL_S)
    return jsonify({"delivery": delivery, action: outcome}), 202


PD_EVENT_KEY = "hark:pagerduty:event:{id}"
PD_ACTIONS: dict[str, Action] = {
    "incident.acknowledged": "acknowledge",
    "incident.resolved": "resolve",
}


def pagerduty_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`` (several during secret rotation)."""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = [part.strip() for part in (header or "").split(",")]
    return any(hmac.compare_digest(expected.encode(), part.encode()) for part in given)


@bp.post("/pagerduty")
def pagerduty():
    """PagerDuty webhooks v3: incident.acknowledged and incident.resolved update the incident
    whose dedup_key PagerDuty reports as the incident_key (``apply_pagerduty_event``)."""
    secret = current_app.config.get("HARK_PD_WEBHOOK_SECRET")
    if not secret:
        raise ApiError(
            503, "not_configured", "set HARK_PD_WEBHOOK_SECRET to accept PagerDuty webhooks"
        )
    body = request.get_data(cache=False)
    if not pagerduty_signature_ok(secret, body, request.headers.get("X-PagerDuty-Signature")):
        raise ApiError(401, "bad_signature", "X-PagerDuty-Signature is missing or does not match")
    try:
        event = json.loads(body)["event"]
        event_type, data = event["event_type"], event.get("data") or {}
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ApiError(
            400, "invalid_json", 'expected a v3 webhook body: {"event": {...}}'
        ) from None
    agent = event.get("agent") or {}
    if not (
        isinstance(data, dict)
        and isinstance(agent, dict)
        and all(_text(value) for value in (event_type, event.get("id"), data.get("incident_key")))
    ):
        raise ApiError(
            422,
            "invalid_payload",
            "event.event_type, event.id and event.data.incident_key must be strings;"
            " event.data and event.agent objects",
        )
    action = PD_ACTIONS.get(event_type)
    if action is None:
        return jsonify({"ignored": event_type})
    services = current_app.config["SERVICES"]
    connection = services.connection
    # An event without an id is known by its signed body: a replay of it is the same bytes.
    event_id = event.get("id") or "sha256:" + hashlib.sha256(body).hexdigest()
    marker = PD_EVENT_KEY.format(id=event_id)
    if not connection.set(marker, 1, nx=True, ex=DELIVERY_TTL_S):
        return jsonify({"duplicate": True})
    try:
        incident = apply_pagerduty_event(
            services,
            data.get("incident_key") or "",
            action,
            _who(agent.get("summary")),
            pd_url=_pagerduty_page(data.get("html_url")),
        )
        if incident is None:
            return jsonify({"ignored": "not a Hark incident"})
    except IncidentError as error:
        # A stale event (acknowledged after Hark resolved it): it can never apply, and
        # PagerDuty would retry an error answer until it gave the subscription up.
        return jsonify({"ignored": f"{event_type}: {error}"})
    except Exception:
        connection.delete(marker)  # not handled: PagerDuty's retry is judged afresh
        raise
    return jsonify({"incident": incident.id, "status": incident.status})


def _pagerduty_page(url: object) -> str | None:
    """PagerDuty's page of the incident (the event's ``data.html_url``), when it is an https
    link on pagerduty.com: the incident page links to it."""
    if isinstance(url, str) and encodable(url):
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https" and (host == "pagerduty.com" or host.endswith(".pagerduty.com")):
            return url
    return None


def _text(value: object) -> bool:
    """Absent, or a string Redis can take in a key (JSON can carry unpaired surrogates)."""
    if value is None:
        return True
    return isinstance(value, str) and encodable(value)


def _who(summary: object) -> str:
    """The PagerDuty user's name for the timeline: one line, at most 200 characters, any
    lone surrogate replaced (it would make the incident's page fail to render)."""
    text = " ".join(str(summary or "PagerDuty").split())[:200]
    return text.encode("utf-8", "replace").decode("utf-8")
