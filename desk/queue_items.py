"""From a triaged mention to a reply-queue item: does it need an answer, by when, and a
drafted reply in the playbook's voice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desk.drafts import ReplyTemplates, draft_reply
from desk.sla import due
from rules import Rulebook


def queue_item(
    mention: dict[str, Any],
    triage: dict[str, Any],
    rulebook: Rulebook,
    replies: ReplyTemplates,
    incident_url: str = "",
) -> dict[str, Any]:
    received = datetime.fromisoformat(mention["received_at"])
    level = rulebook.priorities[triage["priority"]]
    hours, channel, name = rulebook.business_hours, mention["channel"], triage["priority"]
    first = due(level, hours, channel, received, "first_response", level=name)
    resolution = due(level, hours, channel, received, "resolution", level=name)
    draft = draft_reply(
        replies,
        triage=triage,
        channel=mention["channel"],
        author=mention.get("author", ""),
        incident_url=incident_url,
    )
    return {
        "mention_id": mention["id"],
        "native_id": mention["native_id"],
        "channel": mention["channel"],
        "author": mention.get("author", ""),
        "text": mention["text"],
        "url": mention.get("url"),
        "priority": triage["priority"],
        "category": triage["category"],
        "kind": triage["kind"],
        "received_at": mention["received_at"],
        "due_at": first.at.isoformat() if first.at else None,
        "warn_at": first.warn_at.isoformat() if first.warn_at else None,
        "due_reason": first.why,
        "resolution_due_at": resolution.at.isoformat() if resolution.at else None,
        "draft": {
            "text": draft.text,
            "template_id": draft.template_id,
            "tone": draft.tone,
            "x_length": draft.x_length,
            "fits_x": draft.fits_x,
        },
    }
