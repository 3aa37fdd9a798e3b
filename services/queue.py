"""The reply queue's state changes, one service function each: claim, release, draft (save
an edited draft), send (approve and post on X), replied, dismiss, resolve and reopen.

The JSON API (``web.queue``) and the page (``web.ui.queue``) both call these, so a rule
holds the same wherever the action comes from. Each takes the process's ``Services`` (the
connection, the clock, the X poster), returns the item as changed, and raises
``QueueError`` when the action cannot be done now (nothing changed then); its ``code`` is
``not_found``, ``claimed``, ``conflict``, ``invalid_field``, ``cannot_post`` or ``x_error``.
What each action does to an item is in ``desk.queue_actions``.
"""

from __future__ import annotations

from desk import queue_actions as act
from desk.queue_actions import SENDING_STALE_S, QueueError
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from monitor.x_api import XError, XTemporaryError
from services.context import Services

__all__ = [
    "QueueError",
    "claim",
    "dismiss",
    "draft",
    "release",
    "reopen",
    "replied",
    "resolve",
    "send",
]

NOT_SET_UP = (
    "posting is set up for X only (HARK_X_API_KEY, HARK_X_API_SECRET, HARK_X_ACCESS_TOKEN "
    "and HARK_X_ACCESS_TOKEN_SECRET): copy the draft, answer by hand, then mark it replied"
)

NOT_APPROVED = (
    "approve: a reply is posted publicly only once a person approves it "
    '(tick “Approve and post” on the page; send "approve": true to the API)'
)


def claim(services: Services, mention_id: str, person: str) -> QueueItem:
    """``person`` answers the item: nobody else edits, sends or dismisses it meanwhile."""
    return _queue(services).apply(
        mention_id, person, services.clock(), lambda item: act.claim(item, person)
    )


def release(
    services: Services, mention_id: str, person: str, *, take_back: bool = False
) -> QueueItem:
    """Give a claimed item back to the queue; ``take_back`` (an admin on the page, or the
    API asked to) releases someone else's claim."""
    now = services.clock()
    return _queue(services).apply(
        mention_id, person, now, lambda item: act.release(item, person, now, take_back=take_back)
    )


def draft(services: Services, mention_id: str, person: str, text: str) -> QueueItem:
    """Save ``text`` as the item's draft (made safe: see ``desk.drafts.revise_draft``);
    ``person`` holds the item from then on. A refused text leaves the item as it was."""
    now = services.clock()
    return _queue(services).apply(
        mention_id, person, now, lambda item: act.edit_draft(item, person, text, now)
    )


def replied(services: Services, mention_id: str, person: str) -> QueueItem:
    """Answered by hand (the draft copied, or the reply written elsewhere); this also
    settles a send whose outcome X left unclear."""
    now = services.clock()
    return _queue(services).apply(
        mention_id, person, now, lambda item: act.mark_replied(item, person, now, "copied by hand")
    )


def dismiss(services: Services, mention_id: str, person: str, reason: str) -> QueueItem:
    """No public answer is needed; ``reason`` says why (required)."""
    now = services.clock()
    return _queue(services).apply(
        mention_id, person, now, lambda item: act.dismiss(item, person, reason, now)
    )


def resolve(services: Services, mention_id: str, person: str) -> QueueItem:
    """A replied item's problem is fixed: its resolution clock stops."""
    now = services.clock()
    return _queue(services).apply(mention_id, person, now, lambda item: act.resolve(item, now))


def reopen(services: Services, mention_id: str, person: str) -> QueueItem:
    """An answered item goes back in the queue (the answer did not hold)."""
    return _queue(services).apply(mention_id, person, services.clock(), act.reopen)


def send(
    services: Services,
    mention_id: str,
    person: str,
    *,
    approve: bool,
    digest: str | None = None,
) -> QueueItem:
    """Post the item's saved draft on X as ``person``; returns the item, now replied.

    Nothing is posted publicly unless ``approve`` (the person ticked "Approve and post", or
    the API call says ``"approve": true``). ``digest`` is the ``draft_digest`` of the draft
    the person read (the page always sends it): a draft changed since is not posted.

    The item is reserved first (``begin_send``: open or claimed by the person, a draft
    that fits X, no other send under way), then posted, then marked replied; a refused
    post ends the reservation. So a double click, a second
    tab or a second person never posts the same reply twice, and a refused send posts
    nothing. Raises ``QueueError``: ``cannot_post`` (no poster, not an X post), the
    reservation's refusals, or ``x_error`` (X refused: nothing changed; or X did not
    answer clearly: the reservation stays, as the reply may be out)."""
    if not approve:
        raise QueueError("invalid_field", NOT_APPROVED)
    queue, poster = _queue(services), services.x_poster
    item = queue.get(mention_id)
    if item is None:
        raise QueueError("not_found", f"no queue item for {mention_id}")
    if item.channel != "x" or poster is None:
        raise QueueError("cannot_post", NOT_SET_UP)
    if not item.native_id.isdigit():  # relayed by hand, not read from X
        raise QueueError(
            "cannot_post",
            f"{item.native_id!r} is not an X post id, so there is nothing to reply to on X: "
            "answer by hand, then mark it replied",
        )
    now = services.clock()
    item = queue.apply(
        mention_id, person, now, lambda item: act.begin_send(item, person, now, digest)
    )
    text = item.draft.text if item.draft else ""  # begin_send refuses an item without one
    try:
        reply_id = poster.reply(text, item.native_id)
    except XError as error:
        if isinstance(error, XTemporaryError):  # a timeout or a 5xx: X may have posted
            raise QueueError(
                "x_error",
                f"X did not answer clearly ({error}), so the reply may be posted: look on X, "
                "then mark the item replied; it can be sent again in "
                f"{SENDING_STALE_S // 60} minutes",
            ) from None
        # A refusal (credentials, a 4xx, the rate limit) posted nothing.
        reason = str(error)
        queue.apply(mention_id, person, now, lambda item: act.send_failed(item, person, reason))
        raise QueueError("x_error", f"X refused the reply: {reason}") from None
    url = f"https://x.com/i/status/{reply_id}"
    posted = lambda item: act.mark_replied(item, person, now, "posted on X", url)  # noqa: E731
    return queue.apply(mention_id, person, now, posted)


def _queue(services: Services) -> ReplyQueue:
    return ReplyQueue(services.connection)
