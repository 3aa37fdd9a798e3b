"""From a triaged mention to a reply-queue item: does it need an answer, by when, and a
drafted reply in the playbook's voice."""

from __future__ import annotations

from typing import cast

from desk.drafts import ReplyTemplates, draft_reply
from desk.records import Draft, QueueItem, StoredMention
from desk.sla import due
from rules import Rulebook
from rules.schema import Level


def queue_item(
    mention: StoredMention,
    rulebook: Rulebook,
    replies: ReplyTemplates,
    incident_url: str = "",
    incident_id: str | None = None,
) -> QueueItem:
    """The item for ``mention`` (triaged): its first-response and resolution due times by
    the rulebook's priority levels and business hours, and a draft from ``replies``;
    ``incident_id``: the incident it was filed into, if any (the inbox folds an incident's
    reports into one row)."""
    triage, channel, received = mention.triage, mention.channel, mention.received_at
    level = rulebook.priorities[cast(Level, triage.priority)]
    hours, name = rulebook.business_hours, triage.priority
    first = due(level, hours, channel, received, "first_response", level=name)
    resolution = due(level, hours, channel, received, "resolution", level=name)
    drafted = draft_reply(
        replies,
        triage=triage.model_dump(),
        channel=channel,
        author=mention.author,
        incident_url=incident_url,
        message=mention.text,  # read for what it gave and its language, never quoted
        language=mention.language,
    )
    return QueueItem(
        mention_id=mention.id,
        native_id=mention.native_id,
        channel=channel,
        author=mention.author,
        text=mention.text,
        url=mention.url,
        priority=triage.priority,
        category=triage.category,
        kind=triage.kind,
        received_at=received,
        due_at=first.at,
        warn_at=first.warn_at,
        due_reason=first.why,
        resolution_due_at=resolution.at,
        draft=Draft.model_validate(drafted.to_dict()),
        incident_id=incident_id,
    )
