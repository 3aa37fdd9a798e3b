"""``GET /api/rotation``: who is on call now per escalation level, and the next handoffs.

A PagerDuty error shows in the answer's ``error`` instead of breaking the page."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from oncall.rotation import rotation_view
from web.auth import require_token
from web.errors import ApiError

bp = Blueprint("rotation", __name__, url_prefix="/api")


@bp.get("/rotation")
@require_token
def rotation():
    source = current_app.config.get("ROTATION")
    if source is None:
        raise ApiError(503, "not_configured", "no rotation: set HARK_SCHEDULE or HARK_PD_API_TOKEN")
    return jsonify(rotation_view(source, current_app.config["CLOCK"]()))
