"""Posting an approved draft as an X reply, for the JSON API and the page alike.

The item is reserved first (``ReplyQueue.begin_send``: it must be open or claimed by the
person, with a draft that fits X, and no other send under way), then posted, then marked
replied; a refused post ends the reservation. So a double click, a second tab or a second
person never posts the same reply twice, and a refused send posts nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from desk.reply_queue import SENDING_STALE_S, QueueError, ReplyQueue

NOT_SET_UP = (
    "posting is set up for X only (HARK_X_API_KEY, HARK_X_API_SECRET, HARK_X_ACCESS_TOKEN "
    "and HARK_X_ACCESS_TOKEN_SECRET): copy the draft, answer by hand, then mark it replied"
)


class Poster(Protocol):
    def reply(self, text: str, in_reply_to_tweet_id: str) -> str: ...


def post_reply(
    queue: ReplyQueue,
    poster: Poster | None,
    mention_id: str,
    person: str,
    now: datetime,
    approved: str | None = None,
) -> dict[str, Any]:
    """Post the item's saved draft on X as ``person``; returns the item, now replied.
    ``approved`` is the ``draft_digest`` of the text the person approved (the page always
    sends it): a draft changed since is not posted. Raises ``QueueError``: ``not_found``,
    ``cannot_post``, ``claimed``, ``conflict`` (also: the draft changed), ``invalid_field``
    (no draft, too long) or ``x_error`` (X refused; nothing changed)."""
    from monitor.x_api import XError

    item = queue.get(mention_id)
    if item is None:
        raise QueueError("not_found", f"no queue item for {mention_id}")
    if item["channel"] != "x" or poster is None:
        raise QueueError("cannot_post", NOT_SET_UP)
    if not str(item.get("native_id", "")).isdigit():  # relayed by hand, not read from X
        raise QueueError(
            "cannot_post",
            f"{item['native_id']!r} is not an X post id, so there is nothing to reply to on X: "
            "answer by hand, then mark it replied",
        )
    item = queue.begin_send(mention_id, person, now, approved)
    try:
        reply_id = poster.reply(item["draft"]["text"], item["native_id"])
    except XError as error:
        if _maybe_posted(error):  # the reservation stays: a second send could post twice
            raise QueueError(
                "x_error",
                f"X did not answer clearly ({error}), so the reply may be posted: look on X, "
                "then mark the item replied; it can be sent again in "
                f"{SENDING_STALE_S // 60} minutes",
            ) from None
        queue.send_failed(mention_id, person, now, str(error))
        raise QueueError("x_error", f"X refused the reply: {error}") from None
    url = f"https://x.com/i/status/{reply_id}"
    return queue.mark_replied(mention_id, person, now, "posted on X", url)


def _maybe_posted(error: Exception) -> bool:
    """A timeout, a dropped connection or a 5xx: X may have posted before it failed.
    A refusal (credentials, a 4xx, the rate limit) posted nothing."""
    from monitor.x_api import XTemporaryError

    return isinstance(error, XTemporaryError)
