"""Triage, the service function the triage job runs: classify a mention with the active
rulebook and store it; for a priority that pages, file it into an incident and page (once)
through the paging queue; and when it needs a public answer, queue it for the community
manager with a drafted reply. Idempotent: a job run twice changes nothing the second time."""

from __future__ import annotations

from typing import Any

from redis.client import Pipeline

from desk.mentions import MentionStore
from desk.queue_items import queue_item
from desk.records import StoredMention
from desk.reply_queue import ReplyQueue
from oncall.incidents import IncidentStore
from oncall.records import Incident, IncidentReport
from rules.result import TriageRecord
from services.bots import tell_bots
from services.context import Services
from services.paging import enqueue_page, page_raised, schedule_escalation


def triage_mention(services: Services, mention: dict[str, Any]) -> dict[str, Any]:
    """Triage one mention (a ``Mention`` as JSON) and store it."""
    engine = services.engine()
    triage = engine.classify(mention["text"], mention["channel"]).record()
    connection, now = services.connection, services.clock()
    stored = MentionStore(connection).save(StoredMention.triaged(mention, triage, now))
    result: dict[str, Any] = {"id": mention["id"], "priority": triage.priority}
    incident_id = None
    if triage.pages or (triage.priority == "P1" and services.oncall.p1_pages):
        incident, outcome = file_report(services, stored, stored.triage)
        result["incident"] = {"id": incident.id, "outcome": outcome}
        incident_id = incident.id
    desk = services.desk
    if desk.replies is not None and desk.needs_reply(stored.channel, stored.triage.kind):
        item = queue_item(stored, engine.rulebook, desk.replies, incident_id=incident_id)
        result["queued"] = ReplyQueue(connection).add(item)
    tell_bots(services, stored, incident_id)
    return result


def file_report(
    services: Services, stored: StoredMention, triage: TriageRecord
) -> tuple[Incident, str]:
    """File a stored mention into an incident as ``triage`` says (the engine's, or a
    person's correction to P0, which passes a triage of high urgency), and page: the
    incident and its pages (with the escalation check) are written in one transaction, so
    a filed incident is never left unpaged. Returns the incident and the outcome of
    ``IncidentStore.record_report`` ("opened", "joined", "reopened", "raised", or "known"
    for a mention filed before). Idempotent, as ``record_report`` is.

    A high-urgency report of an open possible P0 raises it (``page_raised``): a
    high-urgency trigger on the incident's own key, and the low-urgency alert resolved."""

    def page(pipeline: Pipeline, incident: Incident) -> None:  # in the filing transaction
        tag = str(len(incident.mentions))
        enqueue_page(services, incident.id, "trigger", tag, pipeline)
        schedule_escalation(services, incident.id, tag, pipeline)

    def raised(pipeline: Pipeline, incident: Incident) -> None:
        page_raised(services, incident, f"r{len(incident.mentions)}", pipeline)

    report = IncidentReport(
        mention_id=stored.id, channel=stored.channel, text=stored.text, url=stored.url
    )
    return IncidentStore(services.connection).record_report(
        report,
        triage,
        services.clock(),
        services.oncall.group_window,
        on_opened=page,
        on_raised=raised,
    )
