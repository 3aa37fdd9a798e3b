"""The reply queue page: the list, and claiming, drafting, sending, marking replied or
dismissing; then resolving answered items, or reopening them. Each action is the service
function the JSON API calls too (``services.queue``); this module reads the form and says
what happened.

Possible P0s (a P0 of low urgency whose incident is open and still low urgency) sit at the
top, to be confirmed (``services.incidents.confirm_incident``) or downgraded; any item's
priority can be changed with a reason (``services.corrections.correct_priority``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from desk.drafts import X_LIMIT
from desk.mentions import MentionStore
from desk.records import ClockedItem, QueueItem, StoredMention
from desk.reply_queue import ReplyQueue
from oncall.incidents import IncidentError, IncidentStore
from oncall.records import Incident
from rules.schema import LEVELS
from services import queue as desk_queue
from services.context import Services
from services.corrections import Correction, CorrectionError, correct_priority, incident_of
from services.incidents import UnknownIncident, confirm_incident
from services.queue import QueueError
from web.api import app_rulebook
from web.queue import desk_services
from web.ui import _anchor, _can_respond, _is_admin, _person, bp, requires

SUSPECT_SCAN = 200  # the newest P0 mentions looked at for possible P0s


@dataclass(frozen=True)
class Suspect:
    """A possible P0 waiting for a person: the mention, its low-urgency incident, and its
    reply-queue item while that waits for an answer."""

    mention: StoredMention
    incident: Incident
    item: ClockedItem | None


def _suspects(services: Services, queue_: ReplyQueue) -> list[Suspect]:
    """The possible P0s nobody has settled, oldest first: a P0 the triage gave low
    urgency, whose incident is open and still low urgency (a confirmation, a sure report
    joining it, a downgrade or a resolution settles it)."""
    now, incidents = services.clock(), IncidentStore(services.connection)
    newest = MentionStore(services.connection).list({"priority": "P0"}, SUSPECT_SCAN, None)
    found: list[Suspect] = []
    for mention in reversed(newest.items):
        if mention.triage.urgency != "low":
            continue
        incident_id = incident_of(services, mention.id)
        incident = incidents.get(incident_id) if incident_id else None
        if incident is None or incident.urgency != "low" or incident.status == "resolved":
            continue
        item = queue_.get(mention.id)
        clocked = item.clocked(now) if item is not None and item.waiting else None
        found.append(Suspect(mention, incident, clocked))
    return found


def _queue_context() -> dict[str, Any]:
    services = desk_services()
    queue_, now = ReplyQueue(services.connection), services.clock()
    suspects = _suspects(services, queue_)
    at_top = {suspect.mention.id for suspect in suspects}
    return {
        "suspects": suspects,
        "priorities": list(LEVELS),
        "items": [item for item in queue_.working_view(now) if item.mention_id not in at_top],
        "answered": queue_.recently_answered(),
        "counts": queue_.sla_counts(now),
        "can_post_x": services.x_poster is not None,
        "can_respond": _can_respond(),
        "is_admin": _is_admin(),
        "me": _person(),
    }


@bp.get("/queue")
@requires("viewer")
def queue() -> str:
    return render_template("queue.html", active="queue", **_queue_context())


@bp.get("/partials/queue")
@requires("viewer")
def queue_partial() -> str:
    return render_template("_queue.html", **_queue_context())


# What each action is, on the page: (the service call, what to say once it is done).
Action = Callable[[Services, str, str], QueueItem]
ACTIONS: dict[str, tuple[Action, str]] = {
    "claim": (desk_queue.claim, "You are answering {id}."),
    "release": (
        lambda services, mention_id, person: desk_queue.release(
            services, mention_id, person, take_back=_is_admin()
        ),
        "Released {id}.",
    ),
    "draft": (
        lambda services, mention_id, person: desk_queue.draft(
            services, mention_id, person, request.form.get("text", "")
        ),
        "Draft saved for {id}.",
    ),
    "send": (
        lambda services, mention_id, person: desk_queue.send(
            services,
            mention_id,
            person,
            approve=request.form.get("approve") == "yes",
            digest=request.form.get("draft_digest", ""),  # the draft the page showed
        ),
        "Posted the reply to {id} on X.",
    ),
    "replied": (desk_queue.replied, "Marked {id} replied."),
    "dismiss": (
        lambda services, mention_id, person: desk_queue.dismiss(
            services, mention_id, person, request.form.get("reason", "")
        ),
        "Dismissed {id}.",
    ),
    "resolve": (desk_queue.resolve, "Resolved {id}."),
    "reopen": (desk_queue.reopen, "Reopened {id}: it is back in the queue."),
}


@bp.post(
    "/queue/<path:mention_id>"
    "/<any(claim, release, draft, send, replied, dismiss, resolve, reopen):action>"
)
@requires("responder")
def queue_action(mention_id: str, action: str) -> Response:
    section = "#answered-" if action == "resolve" else "#item-"  # where the item is next
    back = redirect(url_for("pages.queue") + section + _anchor(mention_id))
    call, done = ACTIONS[action]
    try:
        item = call(desk_services(), mention_id, _person())
    except QueueError as error:
        flash(str(error), "error")
        return back
    flash(done.format(id=mention_id), "ok")
    if action == "draft":
        _flash_draft_notes(item)
    return back


def _flash_draft_notes(item: QueueItem) -> None:
    """What the saved draft's checks found: personal data taken out, too long for X, tone."""
    draft = item.draft
    if draft is None:
        return
    if draft.redacted:
        removed = ", ".join(draft.redacted)
        flash(f"Personal data taken out of the public reply: {removed}.", "warning")
    if draft.x_length is not None and not draft.fits_x:
        flash(
            f"{draft.x_length} characters as X counts them: over X's {X_LIMIT}, "
            "shorten it before sending.",
            "warning",
        )
    for warning in draft.tone:
        flash(f"Tone: {warning}", "warning")


@bp.post("/queue/<path:mention_id>/priority")
@requires("responder")
def correct_priority_action(mention_id: str) -> Response:
    """Change a mention's priority with a reason (the "Change priority" and "Downgrade"
    forms)."""
    back = redirect(url_for("pages.queue") + "#item-" + _anchor(mention_id))
    try:
        done = correct_priority(
            desk_services(),
            mention_id,
            request.form.get("priority", ""),
            request.form.get("reason", ""),
            _person(),
            rulebook=app_rulebook(),
        )
    except CorrectionError as error:
        flash(f"Could not change the priority: {error}", "error")
        return back
    flash(_corrected_text(done), "ok")
    return back


INCIDENT_CHANGE = {
    "opened": "Filed into a new incident, {id}, paged at high urgency.",
    "reopened": "Its incident {id} is reopened and paged at high urgency.",
    "raised": "Incident {id} was a possible P0: it is paged again at high urgency.",
    "joined": "It joined incident {id}, whose on-call is already paged.",
    "known": "Its incident {id} is open; its timeline notes the correction.",
    "resolved": "Its incident {id} is resolved.",
    "noted": "Its incident {id} stays open: another of its reports is a P0.",
}


def _corrected_text(done: Correction) -> str:
    label, incident = done.label, done.incident
    said = f"{label.mention_id} is {label.to_priority} now (was {label.from_priority})."
    if incident is None or done.incident_change not in INCIDENT_CHANGE:
        return said
    return f"{said} {INCIDENT_CHANGE[done.incident_change].format(id=incident.id)}"


@bp.post("/queue/<path:mention_id>/confirm")
@requires("responder")
def confirm_p0(mention_id: str) -> Response:
    """Confirm a possible P0: its incident is paged again at high urgency."""
    back = redirect(url_for("pages.queue") + "#item-" + _anchor(mention_id))
    services = desk_services()
    incident_id = incident_of(services, mention_id)
    if incident_id is None:
        flash(f"{mention_id} has no incident to confirm.", "error")
        return back
    try:
        incident = confirm_incident(services, incident_id, _person())
    except (UnknownIncident, IncidentError) as error:
        flash(f"Could not confirm: {error}", "error")
        return back
    flash(f"Confirmed: incident {incident.id} is a P0, paged at high urgency.", "ok")
    return back
