"""The support desk's stored records: a triaged mention, and a reply-queue item with its
draft and history. Typed and immutable (a change is ``model_copy(update=...)``, never a
mutation); turned into JSON only where they meet Redis (``model_dump_json`` and
``model_validate_json``).

The field names are the JSON keys the desk has always written, so records stored before
these models load unchanged; a field added since has a default. Times are written as
``datetime.isoformat()`` gives them ("2026-01-26T16:30:00+00:00"), as they always were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from rules.result import TriageRecord
from vocabulary.channels import Channel


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# A point in time, in JSON as ``isoformat()`` writes it (pydantic's own form would turn the
# "+00:00" every stored record and API answer has into "Z").
Moment = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json")]

# new: triaged (no public answer needed, or not queued yet); queued: in the reply queue;
# replied, dismissed: what the community manager did with it.
MentionStatus = Literal["new", "queued", "replied", "dismissed"]
MENTION_STATUSES: tuple[str, ...] = get_args(MentionStatus)

# open -> claimed -> replied, or dismissed; an answered item can be reopened.
ItemStatus = Literal["open", "claimed", "replied", "dismissed"]
ITEM_STATUSES: tuple[str, ...] = get_args(ItemStatus)
WAITING: frozenset[str] = frozenset({"open", "claimed"})

SlaState = Literal["ok", "warning", "overdue"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PriorityCorrection(_Record):
    """A person's change to a stored mention's priority, kept beside the triage it changed:
    ``StoredMention.triage.priority`` is the corrected level, this says what the rules
    said and who changed it, when and why (the latest correction, when there were
    several; every one is kept as a label by ``desk.corrections``)."""

    by: str
    at: Moment
    from_priority: str  # the level before this correction
    to_priority: str
    reason: str
    engine_priority: str  # what the rulebook said, before any correction
    engine_urgency: str | None = None

    def describe(self) -> str:
        """The note shown beside the priority, e.g. "corrected from P0 by rosa: a joke, not a
        report", and what the rules said when that was neither level."""
        said = f"; the rules said {self.engine_priority}"
        rules = said if self.engine_priority not in (self.from_priority, self.to_priority) else ""
        return f"corrected from {self.from_priority} by {self.by}: {self.reason}{rules}"


class StoredMention(_Record):
    """A mention as the triage job stores it: the ``monitor.mention.Mention`` fields (the
    raw payload included), its triage, when it was triaged and where it is in the desk."""

    id: str  # "<channel>:<native id>"
    channel: Channel
    native_id: str
    author: str = ""
    text: str
    url: str | None = None
    created_at: Moment
    received_at: Moment
    thread_id: str | None = None
    reply_to: str | None = None
    language: str | None = None
    author_reach: int | None = None
    raw: dict[str, Any] | None = Field(default=None, repr=False)
    triage: TriageRecord
    triaged_at: Moment
    status: MentionStatus = "new"
    correction: PriorityCorrection | None = None  # a person changed ``triage.priority``

    @classmethod
    def triaged(
        cls, mention: Mapping[str, Any], triage: TriageRecord, at: datetime
    ) -> StoredMention:
        """``mention`` (a ``Mention`` as JSON, as the triage job gets it) with its triage;
        new to the desk (the store keeps the status of one triaged before)."""
        return cls.model_validate({**mention, "triage": triage, "triaged_at": at})

    @property
    def priority(self) -> str:
        return self.triage.priority

    @property
    def engine_priority(self) -> str:
        """The level the rulebook gave, whatever a person changed it to since."""
        return self.correction.engine_priority if self.correction else self.triage.priority

    def public(self) -> dict[str, Any]:
        """The API's shape: everything but the raw payload, which may hold what the sender
        never meant to show (an e-mail's headers, a webhook's whole body). ``correction``
        appears only on a mention a person re-prioritized."""
        hidden = {"raw"} if self.correction else {"raw", "correction"}
        return self.model_dump(mode="json", exclude=hidden)


class Draft(_Record):
    """The reply a person edits and sends: drafted from a template, then as edited
    (personal data removed, measured for X, its tone checked)."""

    text: str
    template_id: str
    tone: tuple[str, ...] = ()  # the playbook's tone problems found; empty: none
    x_length: int | None = None  # weighted length on X, for an X item
    fits_x: bool = True  # whether ``text`` fits one post on X
    redacted: tuple[str, ...] = ()  # kinds of personal data taken out of an edit
    edited_by: str | None = None  # who last saved it; None: as drafted
    language: str = "en"  # the language ``text`` is written in (ISO 639-1)
    reply_needed: bool = True  # False: the message needs no support answer (unsubscribe, spam)
    already_given: tuple[str, ...] = ()  # facts the message gave (version, os...): not asked
    note: str = ""  # what the manager should know, e.g. no template in the writer's language

    @property
    def digest(self) -> str:
        return draft_digest(self.text)


class HistoryEntry(_Record):
    at: Moment
    actor: str
    event: str  # claimed, released, draft-edited, sending, send-failed, replied, ...
    detail: str = ""


class QueueItem(_Record):
    """One message that needs a public answer: the message, its triage, the drafted reply,
    its SLA due times, where it is (``status``) and who did what (``history``)."""

    mention_id: str
    native_id: str
    channel: Channel
    author: str = ""
    text: str
    url: str | None = None
    priority: str
    category: str
    kind: str
    received_at: Moment
    due_at: Moment | None = None  # first response; None: no clock measures it
    warn_at: Moment | None = None
    due_reason: str = ""
    resolution_due_at: Moment | None = None
    draft: Draft | None = None
    status: ItemStatus = "open"
    claimed_by: str | None = None
    sending_since: Moment | None = None  # a post on X under way since then
    first_response_at: Moment | None = None
    replied_by: str | None = None
    reply_url: str | None = None
    dismissed_reason: str | None = None
    resolved_at: Moment | None = None
    reopened: int = 0  # resolutions that did not hold
    incident_id: str | None = None  # the P0 incident this report belongs to, if any
    history: tuple[HistoryEntry, ...] = ()

    @property
    def waiting(self) -> bool:
        """Open or claimed: in the working view, waiting for someone to answer it."""
        return self.status in WAITING

    @property
    def last_changed(self) -> datetime | None:
        return self.history[-1].at if self.history else None

    def sla_state_at(self, now: datetime) -> SlaState:
        """Overdue from its due time until the first response, warning from its warning
        time; ok otherwise (also once answered)."""
        if self.due_at is None or self.first_response_at is not None:
            return "ok"
        if now >= self.due_at:
            return "overdue"
        if self.warn_at is not None and now >= self.warn_at:
            return "warning"
        return "ok"

    def clocked(self, now: datetime) -> ClockedItem:
        return ClockedItem(
            **dict(self),
            sla_state=self.sla_state_at(now),
            draft_digest=self.draft.digest if self.draft else draft_digest(""),
        )


class ClockedItem(QueueItem):
    """An item as the working view shows it at a moment: with its SLA state, and the
    digest of the draft shown, which a send carries back (``draft_digest``). Never stored."""

    sla_state: SlaState
    draft_digest: str


def draft_digest(text: str) -> str:
    """A short digest of a draft's text: the page sends back the one it showed, so that a
    draft edited meanwhile is not posted unread."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
