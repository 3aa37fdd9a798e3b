"""The incident log (filtered, paged by cursor), one incident, and acting on it: acknowledge
or resolve, and confirm or downgrade (with a reason) a possible P0."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from desk.mentions import MentionStore
from oncall.incidents import STATUSES, IncidentError, IncidentStore
from oncall.records import Incident
from services.incidents import (
    InvalidReason,
    UnknownIncident,
    action_named,
    change_incident,
    confirm_incident,
    downgrade_incident,
)
from vocabulary.channels import CHANNELS
from web.ui import _can_respond, _person, _redis, bp, requires

PRIORITIES = ("P0", "P1", "P2", "P3")
PAGE_SIZE = 25
SCAN_LIMIT = 2000  # incidents examined per page of a filtered log, at most


def _date(value: str | None) -> date | None:
    """A filter's day, or None (no filter) for a value that is not a day; the last day
    of the calendar becomes the one before, so that "up to the end of it" exists."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return min(day, date.max - timedelta(days=1)) if day else None


def _cursor(value: str | None) -> tuple[float | None, int]:
    """The page cursor "<score>:<skip>" this page wrote; anything else starts at the top."""
    raw_top, _, raw_skip = (value or "").partition(":")
    try:
        top, skip = float(raw_top), int(raw_skip or 0)
    except ValueError:
        return None, 0
    if not math.isfinite(top) or not 0 <= skip <= 1_000_000:
        return None, 0
    return top, skip


def _incident_page(
    status: str | None,
    priority: str | None,
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
) -> tuple[list[Incident], str | None]:
    """One page of the log, newest first, filtered. The cursor is "<score>:<skip>": start
    at that opened-at score, skipping the ``skip`` incidents already seen with it (equal
    scores would otherwise repeat across pages)."""
    store = IncidentStore(_redis())
    top, skip = _cursor(cursor)
    if top is None and until is not None:
        top = until.timestamp()
    found: list[Incident] = []
    scanned = 0
    last_score, at_score = None, 0
    while scanned < SCAN_LIMIT:
        batch, after = store.list(status, skip + 100, None if top is None else repr(top))
        batch = batch[skip:]
        if not batch:
            return found, None
        for incident in batch:
            score = incident.opened_at.timestamp()
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
            if priority and incident.priority != priority:
                continue
            if channel and channel not in incident.channels:
                continue
            found.append(incident)
        if after is None:
            return found, None
        top, skip = last_score, at_score
    return found, (f"{last_score!r}:{at_score}" if last_score is not None else None)


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
    mentions = [(mention_id, store.get(mention_id)) for mention_id in found.mentions]
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
    chosen = action_named(action)
    if chosen is None:  # the route allows only the two
        abort(404, f"no action {action}")
    try:
        incident, changed = change_incident(
            current_app.config["SERVICES"], incident_id, chosen, f"by {_person()} from Hark"
        )
    except UnknownIncident as error:
        abort(404, str(error))
    except IncidentError as error:
        flash(f"Could not {action}: {error}", "error")
    else:
        if changed:
            flash(f"Incident {incident_id} is {incident.status}.", "ok")
        else:
            flash(f"Incident {incident_id} was already {incident.status}.", "ok")
    return redirect(url_for("pages.incident", incident_id=incident_id))


@bp.post("/incidents/<incident_id>/confirm")
@requires("responder")
def incident_confirm(incident_id: str):
    try:
        confirm_incident(current_app.config["SERVICES"], incident_id, _person())
    except UnknownIncident as error:
        abort(404, str(error))
    except IncidentError as error:
        flash(f"Could not confirm: {error}", "error")
    else:
        flash(f"Incident {incident_id} is a P0 at high urgency: the on-call is paged.", "ok")
    return redirect(url_for("pages.incident", incident_id=incident_id))


@bp.post("/incidents/<incident_id>/downgrade")
@requires("responder")
def incident_downgrade(incident_id: str):
    reason = request.form.get("reason", "")
    try:
        incident = downgrade_incident(
            current_app.config["SERVICES"], incident_id, _person(), reason
        )
    except UnknownIncident as error:
        abort(404, str(error))
    except (InvalidReason, IncidentError) as error:
        flash(f"Could not downgrade: {error}", "error")
    else:
        flash(f"Incident {incident_id} is {incident.status}: not a P0.", "ok")
    return redirect(url_for("pages.incident", incident_id=incident_id))
