"""``GET /api/metrics?period=day|week``: the playbook's support metrics (hours on the team's
clock, ``TEAM_TIMEZONE``)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from services.support_report import LENGTH, period_metrics
from web.auth import require_token
from web.errors import ApiError

bp = Blueprint("metrics", __name__, url_prefix="/api")


@bp.get("/metrics")
@require_token
def metrics():
    period = request.args.get("period", "day")
    if period not in LENGTH:
        raise ApiError(400, "invalid_parameter", "period must be day or week")
    now = current_app.config["CLOCK"]()
    zone = current_app.config["TEAM_TIMEZONE"]
    return jsonify(period_metrics(current_app.config["REDIS"], period, now, zone))
