"""The triage job: classify a mention with the active rulebook, store it; for a priority
that pages, file it into an incident and page (once) through the paging queue; and when it
needs a public answer, queue it for the community manager with a drafted reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from desk.mentions import MentionStore
from desk.queue_items import needs_reply, queue_item
from desk.reply_queue import ReplyQueue
from oncall.incidents import IncidentStore
from oncall.paging import enqueue_page, schedule_escalation
from oncall.runtime import current_engine, oncall_config


def triage_mention(mention: dict[str, Any]) -> dict[str, Any]:
    """RQ job: triage one mention (a ``Mention`` as JSON) and store it. Idempotent."""
    engine = current_engine()
    triage = engine.classify(mention["text"], mention["channel"]).to_dict()
    connection = get_current_job().connection
    now = datetime.now(UTC)
    MentionStore(connection).save(mention, triage, triaged_at=now)
    result = {"id": mention["id"], "priority": triage["priority"]}
    config = oncall_config()
    incident_url = ""
    if triage["pages"] or (triage["priority"] == "P1" and config.p1_pages):

        def page(pipeline, incident: dict) -> None:  # in the transaction filing the report
            tag = str(len(incident["mentions"]))
            enqueue_page(connection, incident["id"], "trigger", tag, pipeline)
            schedule_escalation(connection, incident["id"], tag, pipeline)

        incident, outcome = IncidentStore(connection).record_report(
            mention, triage, now, config.group_window, on_opened=page
        )
        result["incident"] = {"id": incident["id"], "outcome": outcome}
    if config.replies is not None and needs_reply(mention["channel"], triage["kind"], config):
        item = queue_item(mention, triage, engine.rulebook, config, incident_url)
        result["queued"] = ReplyQueue(connection).add(item)
    return result
