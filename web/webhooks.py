"""``POST /webhooks/github``: issues and issue comments, signature-checked.

GitHub signs the raw body with the webhook secret (``X-Hub-Signature-256``); a delivery
with a missing or wrong signature is refused with 401 before anything is parsed or stored.
A redelivery (same ``X-GitHub-Delivery``) is answered without being processed again.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from flask import Blueprint, current_app, jsonify, request

from monitor.intake import Intake
from monitor.sources.github import PayloadError, mention_from_delivery
from web.errors import ApiError

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DELIVERY_KEY = "hark:github:delivery:{id}"
DELIVERY_TTL_S = 14 * 86_400  # GitHub redelivers for days, not weeks


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
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    if event == "ping":
        return jsonify({"ok": True, "zen": payload.get("zen")})

    connection = current_app.config["REDIS"]
    key = DELIVERY_KEY.format(id=delivery)
    if connection.exists(key):
        return jsonify({"duplicate": True, "delivery": delivery})
    try:
        mention = mention_from_delivery(event, payload, current_app.config["CLOCK"]())
    except PayloadError as error:
        raise ApiError(422, "invalid_payload", f"{event}: {error}") from None
    enqueued = Intake(connection).submit(mention) if mention else False
    connection.set(key, 1, ex=DELIVERY_TTL_S)  # only once handled: a failure is redelivered
    return jsonify(
        {"delivery": delivery, "mention": mention.id if mention else None, "enqueued": enqueued}
    ), 202
