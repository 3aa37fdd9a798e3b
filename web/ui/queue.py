"""The reply queue page, an inbox: a compact list (filters with their counts, a search, a
page of rows, an incident's reports as one row) beside the selected row in full, with its
actions: claiming, drafting, sending, marking replied or dismissing; resolving answered
items, or reopening them; answering or dismissing every report of an incident at once.
Each action is the service function the JSON API calls too (``services.queue``); this
module reads the form, says what happened, and goes back to the same view (its filters
ride in the form's ``view`` field), with the item it acted on selected.

Possible P0s (a P0 of low urgency whose incident is open and still low urgency) carry a
banner, to be confirmed (``services.incidents.confirm_incident``) or downgraded; any item's
priority can be changed with a reason (``services.corrections.correct_priority``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from flask import flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ConfigDict
from werkzeug.wrappers import Response

from desk.drafts import X_LIMIT
from desk.inbox import GROUP, InboxQuery
from desk.records import QueueItem
from oncall.incidents import IncidentError
from rules.schema import LEVELS
from services import queue as desk_queue
from services.context import Services
from services.corrections import Correction, CorrectionError, correct_priority, incident_of
from services.inbox import inbox_view
from services.incidents import UnknownIncident, confirm_incident
from services.queue import NAME, X_CREDENTIALS, IncidentAnswer, QueueError
from services.similar_items import alike
from web.api import app_rulebook
from web.queue import desk_services
from web.ui import _can_respond, _is_admin, _person, bp, requires


class Refused(BaseModel):
    """A refused edit, shown again beside its editor with the text as typed."""

    model_config = ConfigDict(frozen=True)

    key: str  # the selected row: a mention id, or "incident:<id>"
    text: str
    error: str


def _view_query(sel: str | None = None) -> InboxQuery:
    """The view a form was sent from (its ``view`` field: the page's URL query)."""
    args = dict(parse_qsl(request.form.get("view", ""), keep_blank_values=False))
    query = InboxQuery.from_args(args)
    return query.model_copy(update={"sel": sel}) if sel else query


def _queue_context(query: InboxQuery, refused: Refused | None = None) -> dict[str, Any]:
    services = desk_services()
    view = inbox_view(services, query, _person())
    selected = view.selected
    return {
        # answered before and the same problem on other channels, for one selected item
        "alike": alike(services, selected.item) if selected and not selected.grouped else None,
        "view": view,
        "query": view.page.query,
        "view_args": view.page.query.args(),
        "refused": refused,
        "priorities": list(LEVELS),
        "can_post_x": services.x_poster is not None,
        "x_settings": X_CREDENTIALS,
        "name_placeholder": NAME,
        "can_respond": _can_respond(),
        "is_admin": _is_admin(),
        "me": _person(),
        "now": services.clock(),
    }


@bp.get("/queue")
@requires("viewer")
def queue() -> str:
    context = _queue_context(InboxQuery.from_args(request.args))
    return render_template("queue.html", active="queue", **context)


@bp.get("/partials/queue")
@requires("viewer")
def queue_partial() -> str:
    return render_template("_queue.html", **_queue_context(InboxQuery.from_args(request.args)))


def _back(sel: str) -> Response:
    """To the view the form came from, with ``sel`` selected."""
    args: dict[str, Any] = _view_query(sel).args()
    return redirect(url_for("pages.queue", **args))


def _refused_page(refused: Refused) -> tuple[str, int]:
    """The page again, the refused text in its editor and why beside it (nothing lost)."""
    context = _queue_context(_view_query(refused.key), refused)
    return render_template("queue.html", active="queue", **context), 422


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
    "/queue/<mention:mention_id>"
    "/<any(claim, release, draft, send, replied, dismiss, resolve, reopen):action>"
)
@requires("responder")
def queue_action(mention_id: str, action: str) -> Response | tuple[str, int]:
    call, done = ACTIONS[action]
    try:
        item = call(desk_services(), mention_id, _person())
    except QueueError as error:
        if action == "draft" and error.code == "invalid_field":
            text = request.form.get("text", "")
            return _refused_page(Refused(key=mention_id, text=text, error=str(error)))
        flash(str(error), "error")
        return _back(mention_id)
    flash(done.format(id=mention_id), "ok")
    if action == "draft":
        _flash_draft_notes(item)
    return _back(mention_id)


@bp.post("/queue/incidents/<incident_id>/reply-all", defaults={"action": "reply-all"})
@bp.post("/queue/incidents/<incident_id>/dismiss-all", defaults={"action": "dismiss-all"})
@requires("responder")
def queue_incident_action(incident_id: str, action: str) -> Response | tuple[str, int]:
    """One reply to every waiting report of an incident, or dismiss them all: each report
    on its own, and the page says what happened to each."""
    services, key = desk_services(), GROUP + incident_id
    try:
        if action == "reply-all":
            answer = desk_queue.reply_to_incident(
                services,
                incident_id,
                _person(),
                request.form.get("text", ""),
                approve=request.form.get("approve") == "yes",
            )
        else:
            answer = desk_queue.dismiss_incident(
                services, incident_id, _person(), request.form.get("reason", "")
            )
    except QueueError as error:
        if action == "reply-all" and error.code == "invalid_field":
            text = request.form.get("text", "")
            return _refused_page(Refused(key=key, text=text, error=str(error)))
        flash(str(error), "error")
        return _back(key)
    _flash_answer(answer)
    return _back(key)


def _flash_answer(answer: IncidentAnswer) -> None:
    total, done = len(answer.outcomes), answer.count("posted", "replied", "dismissed")
    parts = [
        f"{answer.count('posted')} posted on X",
        f"{answer.count('replied')} marked replied",
        f"{answer.count('dismissed')} dismissed",
    ]
    parts = [part for part in parts if not part.startswith("0 ")]
    said = f"{done} of {total} reports of {answer.incident_id} done"
    flash(f"{said}: {', '.join(parts)}." if parts else f"{said}.", "ok" if done else "error")
    by_hand = [r.mention_id for r in answer.outcomes if r.outcome == "replied" and r.detail]
    if by_hand:
        flash(f"Marked replied, to post by hand on X: {', '.join(by_hand)}.", "warning")
    for report in answer.outcomes:
        if report.outcome in ("untouched", "drafted"):
            what = "left untouched" if report.outcome == "untouched" else "draft saved only"
            flash(
                f"{report.mention_id} ({report.author or 'someone'}) {what}: {report.detail}",
                "warning",
            )


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


@bp.post("/queue/<mention:mention_id>/priority")
@requires("responder")
def correct_priority_action(mention_id: str) -> Response:
    """Change a mention's priority with a reason (the "Change priority" and "Downgrade"
    forms)."""
    back = _back(mention_id)
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


@bp.post("/queue/<mention:mention_id>/confirm")
@requires("responder")
def confirm_p0(mention_id: str) -> Response:
    """Confirm a possible P0: its incident is paged again at high urgency."""
    back = _back(mention_id)
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
