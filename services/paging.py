"""Paging jobs: trigger PagerDuty for an incident, escalate what nobody acknowledged, and
send acknowledge/resolve events; each a service function that RQ runs (``services.jobs``).

Retries belong to RQ (``Retry`` with the schedule in ``OncallConfig.page_retries``, the
same in every process that enqueues); a 429, a 5xx or a timeout raises and is retried, a 400
is a configuration error and is not. When the last attempt fails the incident becomes
page-failed, on the page and in the API: a page is never dropped silently.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException

from desk.mentions import MentionStore
from oncall.incidents import IncidentStore
from oncall.pager_health import PagerHealth
from oncall.pagerduty import PagingError
from oncall.paging import build_event, escalation_summary, human_duration, merged_note_event
from oncall.records import Incident, PageAction, PageFacts
from rules.schema import Rulebook
from services.context import NoRulebook, Services, utc_now
from services.jobs import PAGING_QUEUE

PAGE_TIMEOUT_S = 15  # one send: pdpyras times out after 10 s; RQ retries the rest
# The actions that alert the on-call: when one of them cannot be sent, the incident is
# page-failed. (A failed acknowledge or resolve, or the resolve of a superseded low-urgency
# alert, is noted in the timeline; the on-call was paged.)
ALERTING: frozenset[str] = frozenset({"trigger", "escalate"})


def enqueue_page(
    services: Services,
    incident_id: str,
    action: PageAction,
    attempt_tag: str,
    pipeline: Pipeline | None = None,
) -> None:
    """Queue a page; ``attempt_tag`` makes the job id stable for this incident event. With
    ``pipeline``, the job is written when that transaction executes."""
    retries = services.oncall.page_retries
    _paging_queue(services.connection).enqueue(
        page_incident,
        incident_id,
        action,
        job_id=f"page-{incident_id}-{action}-{attempt_tag}",
        description=f"page {incident_id} {action}",
        retry=Retry(max=len(retries), interval=list(retries)),
        on_failure=Callback(page_failed),
        job_timeout=PAGE_TIMEOUT_S,
        result_ttl=0,
        failure_ttl=30 * 86_400,
        pipeline=pipeline,
    )


def schedule_escalation(
    services: Services, incident_id: str, tag: str, pipeline: Pipeline | None = None
) -> None:
    """Check back after the acknowledgement window (RQ's scheduler: survives restarts)."""
    _paging_queue(services.connection).enqueue_in(
        services.oncall.escalate_after,
        escalate_incident,
        incident_id,
        job_id=f"escalate-{incident_id}-{tag}",
        description=f"escalate {incident_id}",
        job_timeout=PAGE_TIMEOUT_S,
        retry=Retry(max=3, interval=[0, 30, 120]),
        result_ttl=0,
        pipeline=pipeline,
    )


def page_raised(services: Services, incident: Incident, tag: str, pipeline: Pipeline) -> None:
    """Queue the pages of a possible P0 made a sure one (confirmed, or a high-urgency
    report joined it), in ``pipeline``'s transaction: first the trigger on the incident's
    own key, at high severity, then the resolve of its low-urgency alert, so the on-call is
    never left with neither; and an acknowledgement check for the new alert."""
    enqueue_page(services, incident.id, "trigger", tag, pipeline)
    enqueue_page(services, incident.id, "resolve-low", tag, pipeline)
    schedule_escalation(services, incident.id, tag, pipeline)


def page_incident(services: Services, incident_id: str, action: PageAction) -> dict[str, Any]:
    """Job: send one event (trigger, escalate, acknowledge, resolve) for the incident.
    Returns what RQ keeps as the job's result (JSON)."""
    connection, pager = services.connection, services.pager
    store, now = IncidentStore(connection), services.clock()
    incident = store.get(incident_id)
    if incident is None:
        return {"incident": incident_id, "sent": False}
    mentions = MentionStore(connection)
    public_url = services.oncall.public_url
    event = build_event(
        incident,
        action,
        mentions,
        public_url,
        _rulebook(services),
        services.oncall.escalate_after,
    )
    try:
        if action == "resolve-merged" and incident.merged_into:
            # first the note (a trigger PagerDuty folds into the open alert), then the
            # resolve; a retry after a failed resolve sends both again, harmlessly
            pager.send(merged_note_event(incident, incident.merged_into, public_url))
        dedup_key = pager.send(event)
    except PagingError as error:
        PagerHealth(connection).failed(now, f"{action}: {error}")
        if error.retryable:
            raise  # RQ retries; the failure callback notes it
        facts = PageFacts(action=action, config_error=True)
        store.note(incident_id, now, "page-error", f"{action}: {error}", facts, author="Hark")
        if action in ALERTING and incident.status != "resolved":
            store.transition(
                incident_id, "page-failed", now, "page-failed", str(error), author="Hark"
            )
        return {"incident": incident_id, "sent": False}
    if not pager.dry_run:
        PagerHealth(connection).succeeded(now)
    if action in ("trigger", "escalate") and incident.status == "page-failed":
        store.transition(
            incident_id, "triggered", now, "triggered", "a page got through", author="Hark"
        )
    store.note(
        incident_id,
        now,
        "page-sent",
        f"{action} sent{' (dry run)' if pager.dry_run else ''}",
        PageFacts(
            action=action,
            dedup_key=dedup_key,
            dry_run=pager.dry_run,
            summary=event.summary,
            severity=event.severity,
        ),
        author="Hark",
    )
    return {"incident": incident_id, "sent": True, "dry_run": pager.dry_run}


def escalate_incident(services: Services, incident_id: str) -> dict[str, Any]:
    """Scheduled job: if still unacknowledged, mark escalated and page again."""
    connection = services.connection
    store, now = IncidentStore(connection), services.clock()
    incident = store.get(incident_id)
    done = incident.escalations if incident else 0  # counted as the status becomes escalated
    if (
        incident
        and incident.status == "escalated"
        and _escalation_unpaged(connection, incident, str(done))
    ):
        # A re-run: the first run marked the incident escalated, then died before queueing
        # its page. Queue it now (the job id is the same, so never twice).
        enqueue_page(services, incident_id, "escalate", str(done))
        return {"incident": incident_id, "escalated": True}
    tag = str(done + 1)
    if incident is None or incident.status not in {"triggered", "page-failed"}:
        return {"incident": incident_id, "escalated": False}
    window = services.oncall.escalate_after
    store.transition(
        incident_id,
        "escalated",
        now,
        "escalated",
        f"not acknowledged within {human_duration(window)}",
        author="Hark",
    )
    store.note(
        incident_id,
        now,
        "escalation-summary",
        escalation_summary(incident, MentionStore(connection), window),
        author="Hark",
    )
    enqueue_page(services, incident_id, "escalate", tag)
    return {"incident": incident_id, "escalated": True}


def _escalation_unpaged(connection: Redis, incident: Incident, tag: str) -> bool:
    """No escalation page queued, tried or sent since the incident was last escalated."""
    job_id = f"page-{incident.id}-escalate-{tag}"
    if Job.exists(job_id, connection=connection):
        return False
    escalated_at = incident.last_escalated_at()
    return not any(
        page.action == "escalate" and (escalated_at is None or page.at >= escalated_at)
        for page in incident.pages
    )


def page_failed(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """RQ failure callback: runs after every failed attempt; the last one marks the incident.
    (RQ also calls it when it cleans up an abandoned job, outside any worker's services:
    it needs only the connection.)"""
    incident_id, action = job.args
    store, now = IncidentStore(connection), utc_now()
    reason = _failure_reason(exc_type, exc_value)
    if exc_type is not None and issubclass(exc_type, JobTimeoutException):  # a hung send
        PagerHealth(connection).failed(now, f"{action}: {reason}")
    facts = PageFacts(action=action)
    if job.retries_left:
        store.note(incident_id, now, "page-retry", f"{action}: {reason} (retrying)", facts)
        return
    incident = store.note(incident_id, now, "page-error", f"{action}: {reason} (gave up)", facts)
    if action in ALERTING and incident.status not in {"resolved", "acknowledged"}:
        store.transition(incident_id, "page-failed", now, "page-failed", f"{action}: {reason}")


def _failure_reason(exc_type: type | None, exc_value: object) -> str:
    """What the timeline says about a failed attempt; RQ's own exceptions say little."""
    if exc_type is not None and issubclass(exc_type, AbandonedJobError):
        return "the worker sending it stopped (killed or lost) before it finished"
    if exc_type is not None and issubclass(exc_type, JobTimeoutException):
        return f"no answer within {PAGE_TIMEOUT_S} s"
    return str(exc_value)


def _rulebook(services: Services) -> Rulebook | None:
    """The active rulebook, whose severities a trigger carries (a worker has one; a process
    without one pages with the schema's default severities)."""
    try:
        return services.engine().rulebook
    except NoRulebook:
        return None


def _paging_queue(connection: Redis) -> Queue:
    return Queue(PAGING_QUEUE, connection=connection, serializer=JSONSerializer)
