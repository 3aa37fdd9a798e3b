"""The triage job: classify a mention with the active rulebook, store it, and for a
priority that pages, file it into an incident and page (once) through the paging queue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import get_current_job

from oncall.incidents import IncidentStore
from oncall.paging import enqueue_page, schedule_escalation
from oncall.runtime import current_engine, oncall_config
from oncall.store import MentionStore


def triage_mention(mention: dict[str, Any]) -> dict[str, Any]:
    """RQ job: triage one mention (a ``Mention`` as JSON) and store it. Idempotent."""
    triage = current_engine().classify(mention["text"], mention["channel"]).to_dict()
    connection = get_current_job().connection
    now = datetime.now(UTC)
    MentionStore(connection).save(mention, triage, triaged_at=now)
    result = {"id": mention["id"], "priority": triage["priority"]}
    config = oncall_config()
    if triage["pages"] or (triage["priority"] == "P1" and config.p1_pages):
        incident, outcome = IncidentStore(connection).record_report(
            mention, triage, now, config.group_window
        )
        if outcome in ("opened", "reopened"):
            tag = str(len(incident["mentions"]))
            enqueue_page(connection, incident["id"], "trigger", tag)
            schedule_escalation(connection, incident["id"], tag)
        result["incident"] = {"id": incident["id"], "outcome": outcome}
    return result
