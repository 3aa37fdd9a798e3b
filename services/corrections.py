"""A responder changes a mention's priority, with a reason: the page and the JSON API both
call ``correct_priority``.

What a correction does, in order:

1. The mention's triage takes the new level, the correction kept beside it (who, when,
   from, why, and what the rules said), its priority indexes moved and the label
   appended, in one transaction (``desk.corrections.CorrectionStore``). Anything refused
   (an unknown mention or level, an empty reason, the level it already has) raises a
   ``CorrectionError`` before that, and nothing changes.
2. Its reply-queue item, if it has one, takes the level too, and with the rulebook its
   due times (``desk.corrections.reprioritized_item``); the item's history says who
   changed it and why.
3. Raised to P0: filed into an incident and paged at once, at high urgency, as a sure P0
   of the rules is (``services.triage.file_report``: a new incident is paged, one already
   paged is joined, a possible P0 is raised to high urgency). A mention filed before
   whose incident was resolved since (lowered, then raised again) reopens it and pages
   again, at high urgency.
4. Lowered from P0: its incident is resolved (``services.incidents.change_incident``,
   which tells PagerDuty), with a note naming the correction, unless another mention of
   that incident is still at P0: then the incident stays as it is and its timeline notes
   the correction. A mention that was the incident's only P0 report is what woke the
   on-call; with it gone, nobody should stay paged for it.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from typing import cast

from desk.corrections import (
    CorrectionError,
    CorrectionLabel,
    CorrectionStore,
    EmptyReason,
    ReasonTooLong,
    SamePriority,
    UnknownMention,
    UnknownPriority,
    reprioritized_item,
)
from desk.mentions import RECORD
from desk.queue_actions import Change, QueueError
from desk.records import QueueItem, StoredMention
from desk.reply_queue import ReplyQueue
from oncall.incidents import OF_MENTION, IncidentError, IncidentStore
from oncall.records import Incident
from rules import Rulebook
from services.bots import queue_correction_for_bots
from services.context import Services
from services.incidents import change_incident, confirm_incident
from services.paging import enqueue_page, schedule_escalation
from services.triage import file_report

__all__ = [
    "Correction",
    "CorrectionError",
    "EmptyReason",
    "ReasonTooLong",
    "SamePriority",
    "UnknownMention",
    "UnknownPriority",
    "correct_priority",
    "incident_of",
]


@dataclass(frozen=True)
class Correction:
    """What a correction did: the label kept, the mention as it is now, and the incident
    it filed, reopened, raised, resolved or noted, if any. ``incident_change`` says
    which: as ``services.triage.file_report`` filed it ("opened", "joined", "reopened",
    "raised": a possible P0 it made sure, "known": filed before and still open, only
    noted), or "resolved" or "noted" for a P0 lowered."""

    label: CorrectionLabel
    mention: StoredMention
    incident: Incident | None = None
    incident_change: str | None = None


def correct_priority(
    services: Services,
    mention_id: str,
    priority: str,
    reason: str,
    person: str,
    *,
    rulebook: Rulebook | None = None,
) -> Correction:
    """Change a stored mention's priority as ``person``, for ``reason`` (see the module's
    docstring). ``rulebook`` (the web process's) recomputes the queue item's due times.
    Raises ``CorrectionError`` (``UnknownMention``, ``UnknownPriority``, ``EmptyReason``,
    ``ReasonTooLong``, ``SamePriority``), and then nothing has changed."""
    now = services.clock()
    _, mention, label = CorrectionStore(services.connection).correct(
        mention_id, priority, reason, person, now
    )
    _move_queue_item(services, label, rulebook)
    queue_correction_for_bots(services, mention_id)  # a label or tag on the channel follows
    if label.to_priority == "P0":
        incident, change = _page(services, mention, label)
        return Correction(label, mention, incident, change)
    if label.from_priority == "P0":
        stood_down = _stand_down(services, mention, label)
        if stood_down is not None:
            return Correction(label, mention, *stood_down)
    return Correction(label, mention)


def incident_of(services: Services, mention_id: str) -> str | None:
    """The id of the incident the mention was filed into, or None."""
    raw = services.connection.get(OF_MENTION.format(mention=mention_id))
    return raw.decode() if isinstance(raw, bytes) else cast(str | None, raw)


def _said(label: CorrectionLabel) -> str:
    return (
        f"{label.mention_id} corrected from {label.from_priority} to {label.to_priority} "
        f"by {label.by}: {label.reason}"
    )


def _move_queue_item(services: Services, label: CorrectionLabel, rulebook: Rulebook | None) -> None:
    queue = ReplyQueue(services.connection)
    if queue.get(label.mention_id) is None:
        return
    detail = f"from {label.from_priority} by {label.by}: {label.reason}"  # the page's note

    def move(item: QueueItem) -> Change:
        moved = reprioritized_item(item, label.to_priority, rulebook)
        return Change(moved, "re-prioritized", detail)

    with suppress(QueueError):  # removed meanwhile: there is nothing to move
        queue.apply(label.mention_id, label.by, label.at, move)


def _page(
    services: Services, mention: StoredMention, label: CorrectionLabel
) -> tuple[Incident, str]:
    """File the mention as a P0 (its triage is one now, of high urgency) and page. A
    mention filed before whose incident is resolved (lowered, then raised again) reopens
    it and pages again, at high urgency; one whose incident is open only notes it."""
    incident, outcome = file_report(services, mention, mention.triage)
    if outcome != "known":
        return incident, outcome
    store, now = IncidentStore(services.connection), services.clock()
    if incident.status != "resolved":
        return store.note(incident.id, now, "report-corrected", _said(label)), "known"
    reopened, _ = store.change_status(incident.id, "triggered", now, "reopened", _said(label))
    if reopened.urgency == "low":  # a possible P0 before: a person's P0 is a sure one
        return confirm_incident(services, incident.id, label.by), "reopened"
    tag = f"corrected-{len(reopened.timeline)}"
    enqueue_page(services, incident.id, "trigger", tag)
    schedule_escalation(services, incident.id, tag)
    return reopened, "reopened"


def _stand_down(
    services: Services, mention: StoredMention, label: CorrectionLabel
) -> tuple[Incident, str] | None:
    """Resolve the mention's incident, or only note the correction when another of its
    mentions is still P0 (or it is resolved already)."""
    incident_id = incident_of(services, mention.id)
    store = IncidentStore(services.connection)
    incident = store.get(incident_id) if incident_id else None
    if incident is None:
        return None
    note = _said(label)
    if incident.status != "resolved" and not _other_p0(services, incident, mention.id):
        try:
            resolved, _ = change_incident(services, incident.id, "resolve", note)
            return resolved, "resolved"
        except IncidentError:  # its state moved meanwhile: noting it is what is left
            pass
    return store.note(incident.id, services.clock(), "report-corrected", note), "noted"


def _other_p0(services: Services, incident: Incident, mention_id: str) -> bool:
    """Whether a mention of ``incident`` other than ``mention_id`` is at P0 now (as the
    rules said it, or as a person raised it). Read as plain JSON in one round trip: a
    launch-day incident holds thousands of reports."""
    others = [other for other in incident.mentions if other != mention_id]
    if not others:
        return False
    records = services.connection.mget([RECORD.format(id=other) for other in others])
    return any(
        raw is not None and json.loads(raw)["triage"]["priority"] == "P0"
        for raw in cast(list[bytes | None], records)
    )
