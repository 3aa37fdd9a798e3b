"""The reply queue page: the list, and claiming, drafting, sending, marking replied or
dismissing; then resolving answered items, or reopening them. Each action is the service
function the JSON API calls too (``services.queue``); this module reads the form and says
what happened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from desk.drafts import X_LIMIT
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from services import queue as desk_queue
from services.context import Services
from services.queue import QueueError
from web.queue import desk_services
from web.ui import _anchor, _can_respond, _is_admin, _person, bp, requires


def _queue_context() -> dict[str, Any]:
    services = desk_services()
    queue_, now = ReplyQueue(services.connection), services.clock()
    return {
        "items": queue_.working_view(now),
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
