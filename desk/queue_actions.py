"""What each action does to a reply-queue item, and when it is refused: pure functions from
an item (as read under WATCH) to the changed item and the history entry to add. The store
(``desk.reply_queue.ReplyQueue.apply``) writes the result in one transaction; the service
functions (``services.queue``) are what the API, the page and jobs call.

Every refusal is a ``QueueError`` whose ``code`` the API turns into its status code:
``not_found``, ``claimed`` (someone else holds it), ``conflict`` (not in a state for
that), ``invalid_field`` (what was sent is wrong), ``cannot_post`` and ``x_error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from desk.drafts import X_LIMIT, UnsafeReplyError, revise_draft
from desk.records import Draft, ItemStatus, QueueItem

SENDING_STALE_S = 120  # a send still unfinished after this died mid-post (X's timeout: 15 s)


class QueueError(ValueError):
    """A queue action that cannot be done now; ``code`` is for the API's error shape."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Change:
    """An action's outcome: the item as it becomes, and what its history says happened."""

    item: QueueItem
    event: str
    detail: str = ""


def claim(item: QueueItem, person: str) -> Change:
    if item.status == "claimed" and item.claimed_by != person:
        raise QueueError("claimed", f"{item.claimed_by} is already answering this")
    _require(item, {"open", "claimed"}, "claim")
    return Change(item.model_copy(update={"status": "claimed", "claimed_by": person}), "claimed")


def release(item: QueueItem, person: str, now: datetime, *, take_back: bool = False) -> Change:
    """Give a claimed item back to the queue. Its holder may; with ``take_back`` (an admin,
    or the API asked to) anyone may, so that an item claimed by someone who went off shift
    does not stay stuck."""
    _require(item, {"claimed"}, "release")
    if not take_back:
        _owner(item, person)
    _not_sending(item, now, "release it")
    holder = item.claimed_by
    released = item.model_copy(update={"status": "open", "claimed_by": None})
    return Change(released, "released", "" if holder == person else f"taken back from {holder}")


def edit_draft(item: QueueItem, person: str, text: str, now: datetime) -> Change:
    """Save a person's text as the draft, made safe by ``revise_draft``: what was removed
    and the tone warnings are in the draft and the history. Whoever writes the reply holds
    it: nobody else edits or sends it meanwhile."""
    if not text.strip():
        raise QueueError("invalid_field", "text: the new draft")
    _require(item, {"open", "claimed"}, "edit")
    _owner(item, person)
    _not_sending(item, now, "edit the draft")
    previous = item.draft.model_dump() if item.draft else {}
    try:
        revised = revise_draft(previous, text, item.channel)
    except UnsafeReplyError as error:
        raise QueueError("invalid_field", f"text: {error}") from None
    draft = Draft.model_validate({**revised, "edited_by": person})
    notes = [f"removed: {', '.join(draft.redacted)}"] if draft.redacted else []
    if draft.tone:
        notes.append(f"{len(draft.tone)} tone warning(s)")
    if not draft.fits_x and item.channel == "x":
        notes.append(f"{draft.x_length} of {X_LIMIT} characters on X: too long")
    edited = item.model_copy(update={"status": "claimed", "claimed_by": person, "draft": draft})
    return Change(edited, "draft-edited", "; ".join(notes))


def begin_send(item: QueueItem, person: str, now: datetime, approved: str | None = None) -> Change:
    """Reserve the item for posting its draft: it becomes claimed by ``person`` and marked
    as sending, so a second send (a double click, another tab, someone else) is refused
    until this one ends with ``mark_replied`` or ``send_failed``.

    Refused when the item is not open or claimed by ``person``, has no draft, has a draft
    too long for X, or (with ``approved``, the digest of the text the person read) when the
    draft changed since; a send that began more than ``SENDING_STALE_S`` ago and never
    ended (the process died mid-post) no longer blocks."""
    _require(item, {"open", "claimed"}, "send")
    _owner(item, person)
    _not_sending(item, now, "send it again")
    draft = item.draft
    if draft is None or not draft.text:
        raise QueueError("invalid_field", "text: there is no draft to send")
    if approved is not None and approved != draft.digest:
        raise QueueError(
            "conflict",
            f"the draft changed since you read it ({draft.edited_by or 'someone'} edited it): "
            "read it again, then send",
        )
    if item.channel == "x" and not draft.fits_x:
        raise QueueError(
            "invalid_field",
            f"text: the draft is {draft.x_length} characters as X counts them, "
            f"over X's {X_LIMIT}: shorten it first",
        )
    sending = item.model_copy(
        update={"status": "claimed", "claimed_by": person, "sending_since": now}
    )
    return Change(sending, "sending")


def send_failed(item: QueueItem, person: str, reason: str) -> Change:
    """End ``person``'s send that X refused (nothing was posted): the item stays claimed by
    them, and can be sent again."""
    if item.sending_since is None or item.claimed_by != person:
        raise QueueError("conflict", f"no send of {person}'s under way to end")
    return Change(item.model_copy(update={"sending_since": None}), "send-failed", reason)


def mark_replied(
    item: QueueItem, person: str, now: datetime, how: str, reply_url: str | None = None
) -> Change:
    """Record the reply: by hand (``reply_url`` None; the sender may, to settle a send whose
    outcome X left unclear), or as the end of ``person``'s own send."""
    _require(item, {"open", "claimed"}, "mark replied")
    _owner(item, person)
    replied = item.model_copy(
        update={
            "status": "replied",
            "replied_by": person,
            "reply_url": reply_url,
            "sending_since": None,
            "first_response_at": item.first_response_at or now,
        }
    )
    return Change(replied, "replied", how)


def dismiss(item: QueueItem, person: str, reason: str, now: datetime) -> Change:
    if not reason.strip():
        raise QueueError("invalid_field", "reason: say why this needs no answer")
    _require(item, {"open", "claimed"}, "dismiss")
    _owner(item, person)
    _not_sending(item, now, "dismiss it")
    dismissed = item.model_copy(update={"status": "dismissed", "dismissed_reason": reason})
    return Change(dismissed, "dismissed", reason)


def resolve(item: QueueItem, now: datetime) -> Change:
    _require(item, {"replied"}, "resolve")
    return Change(item.model_copy(update={"resolved_at": now}), "resolved")


def reopen(item: QueueItem) -> Change:
    """Back in the queue, unclaimed. Reopening a resolved item counts towards the playbook's
    reopened rate (a resolution that did not hold); reopening one never resolved does not."""
    _require(item, {"replied", "dismissed"}, "reopen")
    was_resolved = item.resolved_at is not None
    reopened = item.model_copy(
        update={
            "status": "open",
            "claimed_by": None,
            "resolved_at": None,
            "reopened": item.reopened + 1 if was_resolved else item.reopened,
        }
    )
    return Change(reopened, "reopened", "" if was_resolved else "not resolved before")


def _require(item: QueueItem, allowed: set[ItemStatus], action: str) -> None:
    if item.status not in allowed:
        raise QueueError("conflict", f"cannot {action}: the item is {item.status}")


def _not_sending(item: QueueItem, now: datetime, action: str) -> None:
    since = item.sending_since
    if since is not None and (now - since).total_seconds() < SENDING_STALE_S:
        raise QueueError(
            "conflict",
            f"cannot {action}: {item.claimed_by} is posting the reply on X right now",
        )


def _owner(item: QueueItem, person: str) -> None:
    if item.status == "claimed" and item.claimed_by != person:
        raise QueueError(
            "claimed",
            f"{item.claimed_by} is answering this: ask them to release it "
            "(an admin can take it back)",
        )


# What one message may hold on each channel, beyond X's weighted 280 (``desk.drafts``):
# a Discord message is cut at 2,000 characters, a GitHub comment at 65,536.
CHANNEL_LIMITS = {"discord": 2000, "github": 65536}


def length_problem(channel: str, draft: Draft) -> str | None:
    """Why ``draft`` cannot go out on ``channel`` as one message, or None when it fits."""
    if channel == "x" and not draft.fits_x:
        return f"{draft.x_length} characters as X counts them, over X's {X_LIMIT}"
    limit = CHANNEL_LIMITS.get(channel)
    if limit is not None and len(draft.text) > limit:
        return f"{len(draft.text)} characters, over {channel}'s {limit}"
    return None
