"""The reply queue: the list, and claiming, drafting, sending, marking replied or dismissing;
then resolving answered items, or reopening them."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for

from desk.drafts import X_LIMIT
from desk.reply_queue import QueueError, ReplyQueue
from web.reply_posting import post_reply
from web.ui import _anchor, _can_respond, _is_admin, _now, _person, _redis, bp, requires


def _queue_context() -> dict:
    poster, queue_ = current_app.config.get("X_POSTER"), ReplyQueue(_redis())
    return {
        "items": queue_.working_view(_now()),
        "answered": queue_.recently_answered(),
        "counts": queue_.sla_counts(_now()),
        "can_post_x": poster is not None,
        "can_respond": _can_respond(),
        "is_admin": _is_admin(),
        "me": _person(),
    }


@bp.get("/queue")
@requires("viewer")
def queue():
    return render_template("queue.html", active="queue", **_queue_context())


@bp.get("/partials/queue")
@requires("viewer")
def queue_partial():
    return render_template("_queue.html", **_queue_context())


@bp.post(
    "/queue/<path:mention_id>"
    "/<any(claim, release, draft, send, replied, dismiss, resolve, reopen):action>"
)
@requires("responder")
def queue_action(mention_id: str, action: str):
    queue_, now, person, form = ReplyQueue(_redis()), _now(), _person(), request.form
    section = "#answered-" if action == "resolve" else "#item-"  # where the item is next
    back = redirect(url_for("pages.queue") + section + _anchor(mention_id))
    try:
        if action == "claim":
            queue_.claim(mention_id, person, now)
            flash(f"You are answering {mention_id}.", "ok")
        elif action == "release":
            queue_.release(mention_id, person, now, take_back=_is_admin())
            flash(f"Released {mention_id}.", "ok")
        elif action == "draft":
            text = form.get("text", "")
            if not text.strip():
                flash("The draft is empty: nothing saved.", "error")
                return back
            draft = queue_.edit_draft(mention_id, person, text, now)["draft"]
            flash(f"Draft saved for {mention_id}.", "ok")
            if draft["redacted"]:
                removed = ", ".join(draft["redacted"])
                flash(f"Personal data taken out of the public reply: {removed}.", "warning")
            if draft["x_length"] is not None and not draft["fits_x"]:
                flash(
                    f"{draft['x_length']} characters as X counts them: over X's {X_LIMIT}, "
                    "shorten it before sending.",
                    "warning",
                )
            for warning in draft["tone"]:
                flash(f"Tone: {warning}", "warning")
        elif action == "replied":
            queue_.mark_replied(mention_id, person, now, "copied by hand")
            flash(f"Marked {mention_id} replied.", "ok")
        elif action == "dismiss":
            queue_.dismiss(mention_id, person, form.get("reason", ""), now)
            flash(f"Dismissed {mention_id}.", "ok")
        elif action == "resolve":
            queue_.resolve(mention_id, person, now)
            flash(f"Resolved {mention_id}.", "ok")
        elif action == "reopen":
            queue_.reopen(mention_id, person, now)
            flash(f"Reopened {mention_id}: it is back in the queue.", "ok")
        else:
            _send(queue_, mention_id, person, now)
    except QueueError as error:
        flash(str(error), "error")
    return back


def _send(queue_: ReplyQueue, mention_id: str, person: str, now: datetime) -> None:
    """Post the saved draft as an X reply (as the API's ``/send`` does)."""
    if request.form.get("approve") != "yes":
        flash("Tick “Approve and post” to post this reply publicly.", "error")
        return
    approved = request.form.get("draft_digest", "")  # the draft the page showed
    post_reply(queue_, current_app.config.get("X_POSTER"), mention_id, person, now, approved)
    flash(f"Posted the reply to {mention_id} on X.", "ok")
