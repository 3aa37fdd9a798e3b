"""The server-rendered pages: overview, incidents, reply queue, rotation, metrics, rules.

Sign-in comes from ``web.session_auth`` (``login_required(role)``, ``current_user``, and the
``csrf_token()`` Jinja global). It is looked up when a request arrives, not when this module
is imported (``_auth()``), so this module imports without it and a test can put a stand-in
module at ``sys.modules["web.session_auth"]``. CSRF tokens are checked by ``session_auth``;
every form here sends one.

``web`` may not import ``hark``: the rulebook comes from ``app.config["RULEBOOK"]`` (an
``Engine``, or anything with an ``engine`` attribute), set by the composition root.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup, escape

from monitor.store import MonitorState
from oncall.incidents import STATUSES, IncidentError, IncidentStore
from oncall.paging import enqueue_page
from oncall.reply_queue import QueueError, ReplyQueue
from oncall.rotation import RotationError, rotation_view
from oncall.store import MentionStore
from oncall.support_report import LENGTH, period_metrics
from web import charts

bp = Blueprint("pages", __name__)  # templates and /static are the app's (web/)

ROLES = ("viewer", "responder", "admin")
OPEN_P0 = ("triggered", "escalated", "page-failed", "acknowledged")
PRIORITIES = ("P0", "P1", "P2", "P3")
CHANNELS = ("x", "github", "discord", "email")
PAGE_SIZE = 25
SCAN_LIMIT = 2000  # incidents examined per page of a filtered log, at most
QUEUE_ACTIONS = ("claim", "release", "draft", "send", "replied", "dismiss")
HISTOGRAM_BUCKETS = (
    ("< 15 min", 15 * 60),
    ("15-30 min", 30 * 60),
    ("30-60 min", 3600),
    ("1-2 h", 2 * 3600),
    ("2-4 h", 4 * 3600),
    ("4-8 h", 8 * 3600),
    ("8-24 h", 24 * 3600),
    ("24-48 h", 48 * 3600),
    ("> 48 h", None),
)


# ----------------------------------------------------------------------------- auth


def _auth():
    return importlib.import_module("web.session_auth")


def requires(role: str) -> Callable:
    """``web.session_auth.login_required(role)``, resolved at request time."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            return _auth().login_required(role)(view)(*args, **kwargs)

        return guarded

    return decorate


def _user() -> Any:
    user = _auth().current_user
    if getattr(user, "name", None) is None and callable(user):
        user = user()
    return user


def _person() -> str:
    return str(getattr(_user(), "name", "") or "someone")


def _can_respond() -> bool:
    role = getattr(_user(), "role", None)
    return role in ROLES and ROLES.index(role) >= ROLES.index("responder")


def _now() -> datetime:
    return current_app.config["CLOCK"]()


def _redis():
    return current_app.config["REDIS"]


# ----------------------------------------------------------------------------- formatting


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def when(value: Any) -> Markup:
    """A ``<time>`` element in UTC, with how long ago or from now."""
    moment = _parse(value)
    if moment is None:
        return Markup("—")
    delta = (moment - _now()).total_seconds()
    relative = f"in {duration_text(delta)}" if delta > 0 else f"{duration_text(delta)} ago"
    return Markup('<time datetime="{}">{} UTC</time> <span class="muted">({})</span>').format(
        moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M"), relative
    )


def _target_text(name: str, row: dict) -> tuple[str, str]:
    """(target, value) of a metrics target row, in words."""
    value = row.get("value")
    if "target_s" in row:
        return f"< {duration_text(row['target_s'])}", duration_text(value)
    if "target_rate" in row:
        shown = "—" if value is None else f"{100 * value:.1f}%"
        return f"< {100 * row['target_rate']:g}%", shown
    shown = "—" if value is None else f"{value:.1f}%"
    sign = "=" if name == "p0_first_response" else ">"
    return f"{sign} {row['target_pct']:g}%", shown


# ----------------------------------------------------------------------------- data


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


def _open_p0() -> list[dict]:
    store, found = IncidentStore(_redis()), []
    for status in OPEN_P0:
        items, _ = store.list(status, 50, None)
        found += [item for item in items if item.get("priority") == "P0"]
    return sorted(found, key=lambda item: item["opened_at"], reverse=True)


def _overview() -> dict:
    items = ReplyQueue(_redis()).working_view(_now())
    return {
        "rotation": _rotation(),
        "incidents": _open_p0(),
        "queue_size": ReplyQueue(_redis()).waiting(),
        "overdue": sum(1 for item in items if item["sla_state"] == "overdue"),
        "warning": sum(1 for item in items if item["sla_state"] == "warning"),
        "sources": MonitorState(_redis()).health(_now()),
    }


def _queue_context() -> dict:
    poster = current_app.config.get("X_POSTER")
    return {
        "items": ReplyQueue(_redis()).working_view(_now()),
        "can_post_x": poster is not None,
        "can_respond": _can_respond(),
        "me": _person(),
    }


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _incident_page(
    status: str | None, priority: str | None, channel: str | None, since, until, cursor
) -> tuple[list[dict], str | None]:
    """One page of the log, newest first, filtered. The cursor is "<score>:<skip>": start
    at that opened-at score, skipping the ``skip`` incidents already seen with it (equal
    scores would otherwise repeat across pages)."""
    store = IncidentStore(_redis())
    top, skip = None, 0
    if cursor:
        try:
            raw_top, _, raw_skip = cursor.partition(":")
            top, skip = float(raw_top), int(raw_skip or 0)
        except ValueError:
            top, skip = None, 0
    if top is None and until is not None:
        top = until.timestamp()
    found: list[dict] = []
    scanned = 0
    last_score, at_score = None, 0
    while scanned < SCAN_LIMIT:
        batch, after = store.list(status, skip + 100, None if top is None else repr(top))
        batch = batch[skip:]
        if not batch:
            return found, None
        for incident in batch:
            score = datetime.fromisoformat(incident["opened_at"]).timestamp()
            if since is not None and score < since.timestamp():
                return found, None
            if len(found) == PAGE_SIZE:
                # the page is full and there is more: continue from here next time
                return found, f"{last_score!r}:{at_score}"
            scanned += 1
            at_score = at_score + 1 if score == last_score else 1
            last_score = score
            if until is not None and score >= until.timestamp():
                continue
            if priority and incident.get("priority") != priority:
                continue
            if channel and channel not in incident.get("channels", []):
                continue
            found.append(incident)
        if after is None:
            return found, None
        top, skip = last_score, at_score
    return found, (f"{last_score!r}:{at_score}" if last_score is not None else None)


def _histogram_buckets(items: list[dict]) -> list[tuple[str, int]]:
    counts = [0] * len(HISTOGRAM_BUCKETS)
    for item in items:
        received, answered = _parse(item.get("received_at")), _parse(item.get("first_response_at"))
        if received is None or answered is None:
            continue
        seconds = max(0.0, (answered - received).total_seconds())
        for index, (_, upper) in enumerate(HISTOGRAM_BUCKETS):
            if upper is None or seconds < upper:
                counts[index] += 1
                break
    return [(label, n) for (label, _), n in zip(HISTOGRAM_BUCKETS, counts, strict=True)]


def _engine():
    engine = current_app.config.get("RULEBOOK")
    if engine is not None and not hasattr(engine, "classify") and hasattr(engine, "engine"):
        engine = engine.engine
    return engine


# ----------------------------------------------------------------------------- pages


@bp.get("/")
@requires("viewer")
def overview():
    return render_template("overview.html", active="overview", **_overview())


@bp.get("/partials/overview")
@requires("viewer")
def overview_partial():
    return render_template("_overview.html", **_overview())


@bp.get("/incidents")
@requires("viewer")
def incidents():
    args = request.args
    status = args.get("status") if args.get("status") in STATUSES else None
    priority = args.get("priority") if args.get("priority") in PRIORITIES else None
    channel = args.get("channel") if args.get("channel") in CHANNELS else None
    since_day, until_day = _date(args.get("from")), _date(args.get("to"))
    since = datetime.combine(since_day, datetime.min.time(), UTC) if since_day else None
    until = (
        datetime.combine(until_day + timedelta(days=1), datetime.min.time(), UTC)
        if until_day
        else None
    )
    items, after = _incident_page(status, priority, channel, since, until, args.get("cursor"))
    filters = {
        "status": status or "",
        "priority": priority or "",
        "channel": channel or "",
        "from": since_day.isoformat() if since_day else "",
        "to": until_day.isoformat() if until_day else "",
    }
    first_url = url_for("pages.incidents", **{k: v for k, v in filters.items() if v})
    next_url = None
    if after:
        next_url = url_for(
            "pages.incidents", **{k: v for k, v in filters.items() if v}, cursor=after
        )
    return render_template(
        "incidents.html",
        active="incidents",
        items=items,
        filters=filters,
        statuses=STATUSES,
        priorities=PRIORITIES,
        channels=CHANNELS,
        next_url=next_url,
        first_url=first_url,
        paged=bool(args.get("cursor")),
    )


@bp.get("/incidents/<incident_id>")
@requires("viewer")
def incident(incident_id: str):
    found = IncidentStore(_redis()).get(incident_id)
    if found is None:
        abort(404, f"no incident {incident_id}")
    store = MentionStore(_redis())
    mentions = [(mention_id, store.get(mention_id)) for mention_id in found["mentions"]]
    return render_template(
        "incident.html",
        active="incidents",
        incident=found,
        mentions=mentions,
        can_respond=_can_respond(),
    )


@bp.post("/incidents/<incident_id>/<any(acknowledge, resolve):action>")
@requires("responder")
def incident_action(incident_id: str, action: str):
    """The same logic as the API's ``web.incidents.act``."""
    statuses = {"acknowledge": "acknowledged", "resolve": "resolved"}
    connection, now = _redis(), _now()
    store = IncidentStore(connection)
    if store.get(incident_id) is None:
        abort(404, f"no incident {incident_id}")
    try:
        changed = store.transition(
            incident_id, statuses[action], now, statuses[action], f"by {_person()} from Hark"
        )
    except IncidentError as error:
        flash(f"Could not {action}: {error}", "error")
    else:
        enqueue_page(connection, incident_id, action, str(len(changed["timeline"])))
        flash(f"Incident {incident_id} is {changed['status']}.", "ok")
    return redirect(url_for("pages.incident", incident_id=incident_id))


@bp.get("/queue")
@requires("viewer")
def queue():
    return render_template("queue.html", active="queue", **_queue_context())


@bp.get("/partials/queue")
@requires("viewer")
def queue_partial():
    return render_template("_queue.html", **_queue_context())


@bp.post("/queue/<path:mention_id>/<any(claim, release, draft, send, replied, dismiss):action>")
@requires("responder")
def queue_action(mention_id: str, action: str):
    queue_, now, person, form = ReplyQueue(_redis()), _now(), _person(), request.form
    back = redirect(url_for("pages.queue") + "#item-" + _anchor(mention_id))
    try:
        if action == "claim":
            queue_.claim(mention_id, person, now)
            flash(f"You are answering {mention_id}.", "ok")
        elif action == "release":
            queue_.release(mention_id, person, now)
            flash(f"Released {mention_id}.", "ok")
        elif action == "draft":
            text = form.get("text", "")
            if not text.strip():
                flash("The draft is empty: nothing saved.", "error")
                return back
            tone = current_app.config["TONE_CHECK"](text)
            queue_.edit_draft(mention_id, person, text, tone, now)
            flash(f"Draft saved for {mention_id}.", "ok")
            for warning in tone:
                flash(f"Tone: {warning}", "warning")
        elif action == "replied":
            queue_.mark_replied(mention_id, person, now, "copied by hand")
            flash(f"Marked {mention_id} replied.", "ok")
        elif action == "dismiss":
            queue_.dismiss(mention_id, person, form.get("reason", ""), now)
            flash(f"Dismissed {mention_id}.", "ok")
        else:
            _send(queue_, mention_id, person, now)
    except QueueError as error:
        flash(str(error), "error")
    return back


def _send(queue_: ReplyQueue, mention_id: str, person: str, now: datetime) -> None:
    """Post the approved draft as an X reply (as the API's ``/send`` does)."""
    from monitor.x_api import XError

    if request.form.get("approve") != "yes":
        flash("Tick “Approve and post” to post this reply publicly.", "error")
        return
    poster, item = current_app.config.get("X_POSTER"), queue_.get(mention_id)
    if item is None:
        raise QueueError("not_found", f"no queue item for {mention_id}")
    if item["channel"] != "x" or poster is None:
        flash(
            "Posting is set up for X only: copy the draft, answer by hand, mark it replied.",
            "error",
        )
        return
    text = (item.get("draft") or {}).get("text")
    if not text:
        flash("There is no draft to send.", "error")
        return
    if item["status"] == "claimed" and item["claimed_by"] != person:
        raise QueueError("claimed", f"{item['claimed_by']} is answering this")
    try:
        reply_id = poster.reply(text, item["native_id"])
    except XError as error:
        flash(f"X refused the reply: {error}", "error")
        return
    queue_.mark_replied(
        mention_id, person, now, "posted on X", f"https://x.com/i/status/{reply_id}"
    )
    flash(f"Posted the reply to {mention_id} on X.", "ok")


def _anchor(mention_id: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in mention_id)


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
            levels.append({"number": number, "layers": level.layers})
    return render_template(
        "rotation.html",
        active="rotation",
        view=view,
        week=week,
        week_error=week_error,
        levels=levels,
        timezone=getattr(schedule, "timezone", None),
    )


@bp.get("/support-metrics")  # /metrics is Prometheus (web/ops.py)
@requires("viewer")
def metrics():
    period = request.args.get("period", "day")
    if period not in LENGTH:
        period = "day"
    now = _now()
    data = period_metrics(_redis(), period, now)
    since = now - LENGTH[period]
    items = [
        item
        for item in ReplyQueue(_redis()).items(since, now)
        if (received := _parse(item.get("received_at"))) and since <= received < now
    ]
    first = data["first_response"]
    targets = [
        (name.replace("_", " ").capitalize(), *_target_text(name, row), row.get("met"))
        for name, row in data["targets"].items()
    ]
    return render_template(
        "metrics.html",
        active="metrics",
        period=period,
        data=data,
        volume_chart=charts.stacked_volume_chart(data["volume"]["per_hour"]),
        sla_chart=charts.sla_chart(
            [
                ("All priorities", first["within_sla_pct"], 95.0),
                ("P0", first["p0"]["within_sla_pct"], 100.0),
            ]
        ),
        histogram=charts.histogram(
            _histogram_buckets(items), "Time to first response (messages received this period)"
        ),
        targets=targets,
        duration_text=duration_text,
    )


@bp.get("/rules")
@requires("viewer")
def rules():
    engine = _engine()
    text = request.args.get("text", "")
    channel = request.args.get("channel") if request.args.get("channel") in CHANNELS else None
    result = None
    if engine is not None and text.strip():
        result = engine.classify(text, channel)
    return render_template(
        "rules.html",
        active="rules",
        engine=engine,
        rulebook=getattr(engine, "rulebook", None),
        text=text,
        channel=channel or "",
        channels=CHANNELS,
        result=result,
        duration_text=duration_text,
    )


@bp.errorhandler(403)
@bp.errorhandler(404)
def _page_error(error):
    code = getattr(error, "code", 500) or 500
    message = getattr(error, "description", "") or "Something went wrong."
    return render_template("error.html", code=code, message=message), code


def http_url(url: Any) -> str | None:
    """``url`` when it is an http(s) link, else None: a message's ``url`` comes from outside,
    and a ``javascript:`` link must never become clickable."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _flash_category(category: str) -> str:
    return category if category in ("ok", "error", "warning") else "ok"


def register_pages(app: Flask) -> None:
    """Add the pages (and their static files at ``/static``) to ``app``."""
    app.register_blueprint(bp)
    app.jinja_env.filters.setdefault("when", when)
    app.jinja_env.filters.setdefault("duration", duration_text)
    app.jinja_env.filters.setdefault("anchor", _anchor)
    app.jinja_env.filters.setdefault("http_url", http_url)
    app.jinja_env.filters.setdefault("flash_category", _flash_category)
    app.jinja_env.globals.setdefault("escape", escape)
    app.jinja_env.globals.setdefault(
        "has_endpoint", lambda name: name in current_app.view_functions
    )
