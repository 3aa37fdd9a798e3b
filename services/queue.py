"""The reply queue's state changes, one service function each: claim, release, draft (save
an edited draft), send (approve and post on X), replied, dismiss, resolve and reopen.

The JSON API (``web.queue``) and the page (``web.ui.queue``) both call these, so a rule
holds the same wherever the action comes from. Each takes the process's ``Services`` (the
connection, the clock, the X poster), returns the item as changed, and raises
``QueueError`` when the action cannot be done now (nothing changed then); its ``code`` is
``not_found``, ``claimed``, ``conflict``, ``invalid_field``, ``cannot_post`` or ``x_error``.
What each action does to an item is in ``desk.queue_actions``.

``reply_to_incident`` and ``dismiss_incident`` act on every waiting report of an incident,
each report through the functions above, on its own: they return an ``IncidentAnswer``
saying what happened to each (a report that cannot take the reply is left untouched and
named), and raise only for what refuses them all (an empty or destructive text, an
unknown incident, a missing approval to post).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from desk import queue_actions as act
from desk.drafts import clean_author
from desk.queue_actions import SENDING_STALE_S, QueueError
from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from monitor.x_api import XError, XTemporaryError
from oncall.incidents import IncidentStore
from services.context import Services

__all__ = [
    "IncidentAnswer",
    "QueueError",
    "ReportOutcome",
    "claim",
    "dismiss",
    "dismiss_incident",
    "draft",
    "release",
    "reopen",
    "replied",
    "reply_to_incident",
    "resolve",
    "send",
]

# The settings that turn posting on X on (hark.settings: X's user-context credentials).
X_CREDENTIALS = (
    "HARK_X_API_KEY, HARK_X_API_SECRET, HARK_X_ACCESS_TOKEN and HARK_X_ACCESS_TOKEN_SECRET"
)
NOT_SET_UP = (
    f"posting is set up for X only ({X_CREDENTIALS}): copy the draft, answer by hand, "
    "then mark it replied"
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


# ----------------------------------------------------------------------------- incidents

NAME = "{name}"  # in a reply to every report of an incident: each reporter's own name
Outcome = Literal["posted", "replied", "dismissed", "drafted", "untouched"]


class ReportOutcome(BaseModel):
    """What an action on every report of an incident did to one report: ``posted`` on X,
    ``replied`` (marked replied, answered by hand), ``dismissed``, ``drafted`` (the reply
    saved, but X refused the post: ``detail`` says why), or ``untouched`` (``detail``
    says why: too long for its channel, someone else's, answered meanwhile)."""

    model_config = ConfigDict(frozen=True)

    mention_id: str
    channel: str
    author: str = ""
    outcome: Outcome
    detail: str = ""


class IncidentAnswer(BaseModel):
    """The outcome of replying to (or dismissing) every waiting report of an incident."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    outcomes: tuple[ReportOutcome, ...]

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for report in self.outcomes if report.outcome in outcomes)


def incident_reports(services: Services, incident_id: str) -> list[QueueItem]:
    """The incident's reports waiting in the reply queue, soonest due first. Raises
    ``QueueError`` ``not_found`` for an unknown incident."""
    incident = IncidentStore(services.connection).get(incident_id)
    if incident is None:
        raise QueueError("not_found", f"no incident {incident_id}")
    queue = _queue(services)
    found = (queue.get(mention_id) for mention_id in incident.mentions)
    waiting = [item for item in found if item is not None and item.waiting]
    return sorted(waiting, key=lambda item: (item.due_at is None, item.due_at or item.received_at))


def personal(text: str, item: QueueItem) -> str:
    """``text`` for ``item``'s reporter: ``{name}`` becomes their name fit to greet (or
    "there")."""
    return text.replace(NAME, clean_author(item.author) or "there")


def reply_to_incident(
    services: Services, incident_id: str, person: str, text: str, *, approve: bool = False
) -> IncidentAnswer:
    """Answer every waiting report of the incident with ``text`` (``{name}``: each
    reporter's name), each on its own: the reply is saved as the report's draft, then
    posted on X (an X report, with a poster and ``approve``) or marked replied.

    Each report is checked first, as it is, against its channel's length (X: 280 as X
    counts) and against who holds it; a report that fails is left untouched and named. A
    text refused for every report (empty, a destructive command) raises ``QueueError``
    before anything changes, as does a missing approval when a report would be posted."""
    if not text.strip():
        raise QueueError("invalid_field", "text: the reply to every report")
    reports = incident_reports(services, incident_id)
    if not reports:
        raise QueueError("conflict", f"no report of {incident_id} is waiting for an answer")
    posting = services.x_poster is not None
    if posting and not approve and any(item.channel == "x" for item in reports):
        raise QueueError("invalid_field", NOT_APPROVED)
    now, ready, outcomes = services.clock(), [], []
    for item in reports:
        problem = _reply_problem(item, person, personal(text, item), now)
        if problem:
            outcomes.append(_outcome(item, "untouched", problem))
        else:
            ready.append(item)
    outcomes += [_answer_one(services, item, person, personal(text, item)) for item in ready]
    return IncidentAnswer(incident_id=incident_id, outcomes=tuple(outcomes))


def _reply_problem(item: QueueItem, person: str, text: str, now: datetime) -> str | None:
    """Why ``text`` cannot answer ``item`` (as it is now), or None. A text refused for what
    it says (``invalid_field``) is refused for every report: raised."""
    try:
        change = act.edit_draft(item, person, text, now)
    except QueueError as error:
        if error.code == "invalid_field":
            raise
        return str(error)
    draft = change.item.draft
    problem = act.length_problem(item.channel, draft) if draft else None
    return f"too long: {problem}" if problem else None


def _answer_one(services: Services, item: QueueItem, person: str, text: str) -> ReportOutcome:
    mention_id = item.mention_id
    try:
        saved = draft(services, mention_id, person, text)
    except QueueError as error:  # changed since it was checked
        return _outcome(item, "untouched", str(error))
    can_post = services.x_poster is not None and item.channel == "x"
    if can_post and item.native_id.isdigit():
        try:
            done = send(services, mention_id, person, approve=True, digest=_digest(saved))
        except QueueError as error:
            return _outcome(item, "drafted", f"the reply is saved, not posted: {error}")
        return _outcome(item, "posted", done.reply_url or "")
    try:
        replied(services, mention_id, person)
    except QueueError as error:
        return _outcome(item, "drafted", f"the reply is saved, not marked replied: {error}")
    return _outcome(item, "replied", "post it by hand" if item.channel == "x" else "")


def dismiss_incident(
    services: Services, incident_id: str, person: str, reason: str
) -> IncidentAnswer:
    """Dismiss every waiting report of the incident with ``reason``, each on its own; a
    report someone else holds is left untouched and named."""
    if not reason.strip():
        raise QueueError("invalid_field", "reason: say why no answer is needed")
    reports = incident_reports(services, incident_id)
    if not reports:
        raise QueueError("conflict", f"no report of {incident_id} is waiting for an answer")
    outcomes = []
    for item in reports:
        try:
            dismiss(services, item.mention_id, person, reason)
        except QueueError as error:
            outcomes.append(_outcome(item, "untouched", str(error)))
        else:
            outcomes.append(_outcome(item, "dismissed"))
    return IncidentAnswer(incident_id=incident_id, outcomes=tuple(outcomes))


def _digest(item: QueueItem) -> str | None:
    return item.draft.digest if item.draft else None


def _outcome(item: QueueItem, outcome: Outcome, detail: str = "") -> ReportOutcome:
    return ReportOutcome(
        mention_id=item.mention_id,
        channel=item.channel,
        author=item.author,
        outcome=outcome,
        detail=detail,
    )
