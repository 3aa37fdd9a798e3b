"""The incident log (filtered, paged by cursor), one incident, and acting on it: acknowledge,
resolve (a note, an optional "fixed in" version, then a confirmation), reopen, split a report
out, merge into another incident, and confirm or downgrade (with a reason) a possible P0.
Each action is a ``services.incidents`` function, as in the JSON API."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from desk.mentions import MentionStore
from oncall.incidents import OPEN, STATUSES, IncidentError, IncidentStore
from oncall.records import Incident
from services.incidents import (
    InvalidReason,
    UnknownIncident,
    change_incident,
    confirm_incident,
    downgrade_incident,
    merge_incidents,
    reopen_incident,
    resolve_incident,
    split_report,
)
from vocabulary.channels import CHANNELS
from web.ui import _can_respond, _person, _redis, bp, incident_view, requires, team_zone

PRIORITIES = ("P0", "P1", "P2", "P3")
PAGE_SIZE = 25
SCAN_LIMIT = 2000  # incidents examined per page of a filtered log, at most


FIRST_DAY = date.min + timedelta(days=1)  # a day before it has no midnight in every zone
LAST_DAY = date.max - timedelta(days=1)  # "up to the end of it" needs the day after


def _date(value: str | None) -> date | None:
    """A filter's day, or None (no filter) for a value that is not a day. The calendar's
    first and last days become their neighbours, whose midnights exist on every clock."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return min(max(day, FIRST_DAY), LAST_DAY) if day else None


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


def _choice(args: Mapping[str, str], name: str, allowed: Sequence[str]) -> str | None:
    value = args.get(name)
    return value if value in allowed else None


def _say_what_is_not_used(args: Mapping[str, str]) -> None:
    """A filter the log cannot use is left out, and the page says so (as the API refuses
    it), rather than quietly showing more than was asked for."""
    allowed = {"status": STATUSES, "priority": PRIORITIES, "channel": CHANNELS}
    unused = [
        f"{name} {args[name]} (one of {', '.join(values)})"
        for name, values in allowed.items()
        if args.get(name) and args[name] not in values
    ]
    unused += [
        f"{name} {args[name]} (a day such as 2026-01-31)"
        for name in ("from", "to")
        if args.get(name) and _date(args[name]) is None
    ]
    if unused:
        flash(f"Not used: {'; '.join(unused)}. The log is shown without it.", "warning")
    if args.get("cursor") and _cursor(args["cursor"])[0] is None:
        flash("The cursor was not used (not one this page wrote): from the newest.", "warning")


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
    status, priority, channel = (
        _choice(args, "status", STATUSES),
        _choice(args, "priority", PRIORITIES),
        _choice(args, "channel", CHANNELS),
    )
    since_day, until_day = _date(args.get("from")), _date(args.get("to"))
    _say_what_is_not_used(args)
    # days on the team's clock, as every time on the pages
    midnight = datetime.min.time().replace(tzinfo=team_zone())
    since = datetime.combine(since_day, midnight).astimezone(UTC) if since_day else None
    until = (
        datetime.combine(until_day + timedelta(days=1), midnight).astimezone(UTC)
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


MERGE_CHOICES = 50  # open incidents offered as a merge's survivor


@bp.get("/incidents/<incident_id>")
@requires("viewer")
def incident(incident_id: str):
    found = IncidentStore(_redis()).get(incident_id)
    if found is None:
        abort(404, f"no incident {incident_id}")
    return render_template("incident.html", active="incidents", **_page_context(found))


def _page_context(found: Incident) -> dict:
    store = MentionStore(_redis())
    services = current_app.config["SERVICES"]
    reports = incident_view.reports(found, store)
    return {
        "incident": found,
        "mentions": reports,
        "previews": incident_view.previews(reports),
        "why_rules": [
            rule.rule
            for rule in found.explanation
            if rule.weight > 0 and found.priority in rule.levels
        ],
        "can_respond": _can_respond(),
        "responders": incident_view.responders(found, current_app.config.get("ROTATION")),
        "events": incident_view.timeline(found, reports),
        "escalation": incident_view.escalation(found, store, services.oncall.escalate_after),
        "escalate_after": services.oncall.escalate_after,
        "merge_choices": _merge_choices(found),
        "dry_run": services.pager.dry_run,
    }


def _merge_choices(found: Incident) -> list[Incident]:
    """The incidents this one can be merged into: open ones, newest first, not itself."""
    if found.merged_into:
        return []
    items, _ = IncidentStore(_redis()).list(None, MERGE_CHOICES, None)
    return [
        other
        for other in items
        if other.id != found.id and other.status in OPEN and not other.merged_into
    ]


def _back(incident_id: str):
    return redirect(url_for("pages.incident", incident_id=incident_id))


@bp.post("/incidents/<incident_id>/acknowledge")
@requires("responder")
def incident_acknowledge(incident_id: str):
    try:
        incident, changed = change_incident(
            current_app.config["SERVICES"],
            incident_id,
            "acknowledge",
            f"by {_person()} from Hark",
            _person(),
        )
    except UnknownIncident as error:
        abort(404, str(error))
    except IncidentError as error:
        flash(f"Could not acknowledge: {error}", "error")
    else:
        if changed:
            flash(f"Incident {incident_id} is {incident.status}.", "ok")
        else:
            flash(f"Incident {incident_id} was already {incident.status}.", "ok")
    return _back(incident_id)


@bp.post("/incidents/<incident_id>/resolve")
@requires("responder")
def incident_resolve(incident_id: str):
    """Two steps: the form's note (and version) come back as a confirmation page, whose
    second submit (``confirmed``) resolves."""
    form = request.form
    note, fixed_in = form.get("note", ""), form.get("fixed_in", "")
    found = IncidentStore(_redis()).get(incident_id)
    if found is None:
        abort(404, f"no incident {incident_id}")
    if not " ".join(note.split()):
        flash("Could not resolve: say what fixed it, or why it is over (the note).", "error")
        return _back(incident_id)
    if form.get("confirmed") != "yes":
        return render_template(
            "incident_resolve.html",
            active="incidents",
            incident=found,
            note=note,
            fixed_in=fixed_in,
            dry_run=current_app.config["SERVICES"].pager.dry_run,
        )
    try:
        incident, changed = resolve_incident(
            current_app.config["SERVICES"], incident_id, _person(), note, fixed_in or None
        )
    except (InvalidReason, IncidentError) as error:
        flash(f"Could not resolve: {error}", "error")
    else:
        said = f" (fixed in {incident.fixed_in})" if incident.fixed_in else ""
        if changed:
            flash(f"Incident {incident_id} is resolved{said}.", "ok")
        else:
            flash(f"Incident {incident_id} was already resolved.", "ok")
    return _back(incident_id)


@bp.post("/incidents/<incident_id>/reopen")
@requires("responder")
def incident_reopen(incident_id: str):
    try:
        reopen_incident(
            current_app.config["SERVICES"], incident_id, _person(), request.form.get("reason", "")
        )
    except UnknownIncident as error:
        abort(404, str(error))
    except (InvalidReason, IncidentError) as error:
        flash(f"Could not reopen: {error}", "error")
    else:
        flash(f"Incident {incident_id} is open again: the on-call is paged.", "ok")
    return _back(incident_id)


@bp.post("/incidents/<incident_id>/split")
@requires("responder")
def incident_split(incident_id: str):
    mention_id = request.form.get("mention_id", "")
    try:
        _, opened = split_report(current_app.config["SERVICES"], incident_id, mention_id, _person())
    except UnknownIncident as error:
        abort(404, str(error))
    except IncidentError as error:
        flash(f"Could not split: {error}", "error")
        return _back(incident_id)
    flash(f"{mention_id} is now incident {opened.id}.", "ok")
    return _back(opened.id)


@bp.post("/incidents/<incident_id>/merge")
@requires("responder")
def incident_merge(incident_id: str):
    into = request.form.get("into", "")
    try:
        survivor, _ = merge_incidents(current_app.config["SERVICES"], into, incident_id, _person())
    except UnknownIncident as error:
        flash(f"Could not merge: {error}", "error")
        return _back(incident_id)
    except IncidentError as error:
        flash(f"Could not merge: {error}", "error")
        return _back(incident_id)
    flash(f"Incident {incident_id} is merged into {survivor.id}.", "ok")
    return _back(survivor.id)


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
