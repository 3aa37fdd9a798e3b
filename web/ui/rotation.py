"""The rotation: who is on call now, the next handoffs, the coming week and the levels."""

from __future__ import annotations

from flask import current_app, render_template

from oncall.rotation import RotationError, rotation_view
from web.ui import _now, bp, requires, team_zone


def _rotation(handoffs: int = 5) -> dict:
    source = current_app.config.get("ROTATION")
    if source is None:
        return {
            "on_call": [],
            "next_handoffs": [],
            "error": "no rotation configured",
            "source": None,
        }
    return rotation_view(source, _now(), handoffs)


@bp.get("/rotation")
@requires("viewer")
def rotation():
    source = current_app.config.get("ROTATION")
    view, week, week_error = _rotation(10), None, None
    if source is not None and hasattr(source, "week"):
        try:
            week = [shift.to_dict() for shift in source.week(_now())]
        except RotationError as error:
            week_error = str(error)
    levels = []
    schedule = getattr(source, "schedule", None)
    if schedule is not None:
        for number, level in enumerate(schedule.levels, start=1):
            layers = [
                {"layer": layer, "handoff": source.describe_layer(layer, _now(), team_zone())}
                for layer in level.layers
            ]
            levels.append({"number": number, "layers": layers})
    return render_template(
        "rotation.html",
        active="rotation",
        view=view,
        week=week,
        week_error=week_error,
        levels=levels,
        timezone=getattr(schedule, "timezone", None),
        team_timezone=current_app.config["TEAM_TIMEZONE"],
    )
