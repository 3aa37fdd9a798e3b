"""The "fixed in vX.Y.Z" follow-up: once an incident is resolved with a release, each of its
reports gets a follow-up draft on its reply-queue item, in the reporter's language, as the
playbook's GitHub process asks ("Fix merged -> Comment 'Fixed in v1.x.x'", and Step 5:
follow up once the fix is out).

Only drafts: a person still reads and sends each one. An answered item (replied or
dismissed) is reopened first, so the follow-up shows in the working view; an item someone
else has claimed is left to them (the result says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from desk.drafts import draft_fixed_in, release_number
from desk.mentions import read_mention
from desk.queue_actions import QueueError
from desk.reply_queue import ReplyQueue
from oncall.incidents import IncidentStore
from services import queue
from services.context import Services
from services.incidents import UnknownIncident

__all__ = ["FollowUp", "UnknownIncident", "draft_fixed_in_follow_ups"]

Outcome = Literal["drafted", "reopened", "no-item", "claimed", "no-templates"]


@dataclass(frozen=True)
class FollowUp:
    """What happened to one report: ``drafted`` (on a waiting item), ``reopened`` (an
    answered item, reopened and drafted), ``no-item`` (never queued: nothing to follow up),
    ``claimed`` (someone else holds the item: left alone), ``no-templates``."""

    mention_id: str
    outcome: Outcome
    language: str = ""
    detail: str = ""


def draft_fixed_in_follow_ups(
    services: Services, incident_id: str, version: str, person: str
) -> list[FollowUp]:
    """For each report of incident ``incident_id``, a "fixed in v``version``" follow-up draft
    on its reply-queue item, saved as ``person``'s draft. Raises ``InvalidVersionError``
    (a ``ValueError``) unless ``version`` is a release number such as 1.2.1 or v1.2.1, and
    ``UnknownIncident`` for an unknown incident; nothing changes then."""
    fixed = release_number(version)
    incident = IncidentStore(services.connection).get(incident_id)
    if incident is None:
        raise UnknownIncident(f"no incident {incident_id!r}")
    return [_follow_up(services, mention_id, fixed, person) for mention_id in incident.mentions]


def _follow_up(services: Services, mention_id: str, version: str, person: str) -> FollowUp:
    templates = services.desk.replies
    if templates is None:
        return FollowUp(mention_id, "no-templates", detail="this process has no reply templates")
    item = ReplyQueue(services.connection).get(mention_id)
    if item is None:
        return FollowUp(mention_id, "no-item", detail="the report was never queued")
    mention = read_mention(services.connection, mention_id)
    drafted = draft_fixed_in(
        templates,
        version=version,
        channel=item.channel,
        author=item.author,
        message=item.text,
        language=mention.language if mention else None,
    )
    reopened = item.status in ("replied", "dismissed")
    try:
        if reopened:
            queue.reopen(services, mention_id, person)
        queue.draft(services, mention_id, person, drafted.text)
    except QueueError as error:
        if error.code != "claimed":
            raise
        return FollowUp(mention_id, "claimed", drafted.language, str(error))
    outcome: Outcome = "reopened" if reopened else "drafted"
    return FollowUp(mention_id, outcome, drafted.language, drafted.note)
