"""Incidents: P0 reports of the same problem grouped into one, with a state and a timeline.

Which incident a report joins is ``oncall.grouping``; the records each change produces
(opened, joined, reopened, raised, split, merged) are ``oncall.incident_changes``; this
module keeps them in Redis. People correct what grouping gets wrong: a report split out
into its own incident, two incidents merged into one.

Every change is a read-modify-write of one record (``oncall.records.Incident``, JSON in
Redis) under a Redis lock shared by all workers (P0 traffic is low; correctness matters
more than parallelism here), and is idempotent for a re-run job: the mention -> incident
link is recorded once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, get_args

from redis import Redis
from redis.client import Pipeline

from desk.mentions import finite_score
from oncall.grouping import closest_incident
from oncall.incident_changes import (
    absorbing,
    closed_into,
    filed,
    incident_path,
    merge_raises,
    open_incident,
    raised_by,
    raises_urgency,
    report_urgency,
    without_report,
)
from oncall.records import Incident, IncidentReport, PageFacts, Status
from rules.result import TriageRecord

RECORD = "hark:incident:{id}"
OF_MENTION = "hark:incident-of:{mention}"
BY_TIME = "hark:incidents:by-time"
ACTIVE = "hark:incidents:active"  # score: last report; resolved ones stay for reopening
BY_STATUS = "hark:incidents:status:{status}"
LOCK = "hark:incidents:lock"

STATUSES: tuple[Status, ...] = get_args(Status)
OPEN: set[Status] = {"triggered", "acknowledged", "escalated", "page-failed"}
ALLOWED: dict[Status, set[Status]] = {
    "triggered": {"acknowledged", "resolved", "escalated", "page-failed"},
    "escalated": {"acknowledged", "resolved", "page-failed"},
    "page-failed": {"triggered", "acknowledged", "resolved", "escalated"},
    "acknowledged": {"resolved"},
    "resolved": {"triggered"},
}

OnOpened = Callable[[Pipeline, Incident], None]
# (pipeline, the survivor, the absorbed incident as it was before the merge, whether the
# merge raised the survivor to high urgency)
OnMerged = Callable[[Pipeline, Incident, Incident, bool], None]
Incidents = list[Incident]  # ``IncidentStore.list`` hides the builtin inside the class


class IncidentError(ValueError):
    """A change the incident's state does not allow; the message says why."""


class IncidentStore:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self.connection.lock(LOCK, timeout=30, blocking_timeout=30):
            yield

    def get(self, incident_id: str) -> Incident | None:
        raw = self.connection.get(RECORD.format(id=incident_id))
        return Incident.model_validate_json(raw) if raw else None

    def record_report(
        self,
        report: IncidentReport,
        triage: TriageRecord,
        now: datetime,
        window: timedelta,
        on_opened: OnOpened | None = None,
        on_raised: OnOpened | None = None,
    ) -> tuple[Incident, str]:
        """File a P0 report; returns the incident and "opened", "joined", "reopened",
        "raised" (a high-urgency report of an open possible P0: it joined and made the
        incident high urgency) or "known" (this mention was filed before: a re-run job, or
        a person's correction of a mention already filed).

        ``on_opened(pipeline, incident)`` runs for "opened" and "reopened", and
        ``on_raised(pipeline, incident)`` for "raised", inside the transaction that saves
        the incident, so that whatever they queue (the pages) is written together with the
        incident or not at all: a worker killed in between cannot leave an incident that
        was filed but never paged.

        An incident takes the urgency of the report that opens it, or reopens it (a
        reopened incident is paged afresh); a report joining it raises a possible P0 to
        high urgency but never lowers one."""
        urgency = report_urgency(triage)
        with self._locked():
            known = self.connection.get(OF_MENTION.format(mention=report.mention_id))
            if known:
                incident = self._require(known.decode())
                if not raises_urgency(incident, urgency):
                    return incident, "known"
                incident, outcome = raised_by(incident, report, now), "raised"
            else:
                found = self._match(report, triage, now, window)
                incident, outcome = filed(found, report, triage, now, urgency)
            callback = on_raised if outcome == "raised" else on_opened
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()  # explicit, as RQ's enqueue into this pipeline expects
                pipe.set(OF_MENTION.format(mention=report.mention_id), incident.id)
                self._save(incident, pipe)
                if callback is not None and outcome != "joined":
                    callback(pipe, incident)
                pipe.execute()
            return incident, outcome

    def raise_urgency(
        self, incident_id: str, now: datetime, detail: str, on_raised: OnOpened
    ) -> tuple[Incident, bool]:
        """Confirm a possible P0: high urgency, noted as "confirmed" with ``detail``, and
        ``on_raised(pipeline, incident)`` (its pages) in the transaction that saves it.
        Returns (the incident, whether it changed): a high-urgency incident is left as it
        is. Raises ``IncidentError`` for a resolved one (a new report reopens it)."""
        with self._locked():
            incident = self._require(incident_id)
            if incident.urgency == "high":
                return incident, False
            if incident.status == "resolved":
                raise IncidentError(
                    f"{incident_id} is resolved: it cannot be confirmed (a new report reopens it)"
                )
            raised = incident.raised(now, "confirmed", detail)
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()
                self._save(raised, pipe)
                on_raised(pipe, raised)
                pipe.execute()
            return raised, True

    def _match(
        self, report: IncidentReport, triage: TriageRecord, now: datetime, window: timedelta
    ) -> Incident | None:
        """The open incident this report belongs to (``oncall.grouping``), among those
        with a report within the window.

        Every incident in the window is read, in one round trip, as plain JSON; only the
        winner becomes an ``Incident``."""
        since = (now - window).timestamp()
        ids = [raw.decode() for raw in self.connection.zrevrangebyscore(ACTIVE, "+inf", since)]
        if not ids:
            return None
        records = self.connection.mget([RECORD.format(id=incident_id) for incident_id in ids])
        candidates = (
            (incident_id, json.loads(raw))
            for incident_id, raw in zip(ids, records, strict=True)
            if raw is not None
        )
        best_id = closest_incident(report, triage, candidates)
        return self.get(best_id) if best_id else None

    def transition(
        self,
        incident_id: str,
        status: Status,
        now: datetime,
        event: str,
        detail: str = "",
        author: str | None = None,
    ) -> Incident:
        """Change the status (only along ALLOWED) and note it in the timeline."""
        return self.change_status(incident_id, status, now, event, detail, author)[0]

    def change_status(
        self,
        incident_id: str,
        status: Status,
        now: datetime,
        event: str,
        detail: str = "",
        author: str | None = None,
        changes: dict[str, Any] | None = None,
        on_changed: OnOpened | None = None,
    ) -> tuple[Incident, bool]:
        """``transition``, also saying whether anything changed: acknowledging an
        acknowledged incident is harmless, and must not tell PagerDuty again. ``changes``:
        fields set with the move (a resolution's version); ``on_changed(pipeline,
        incident)``: what to queue in the transaction that saves the move (its pages).
        A merged incident stays resolved: reopen the one it went into."""
        with self._locked():
            incident = self._require(incident_id)
            if incident.status == status:
                return incident, False
            if status not in ALLOWED[incident.status]:
                raise IncidentError(
                    f"{incident_id} is {incident.status}: it cannot become {status}"
                )
            if incident.merged_into:
                raise IncidentError(
                    f"{incident_id} was merged into {incident.merged_into}: act on that one"
                )
            moved = incident.moved(status, now, event, detail, author)
            if changes:
                moved = moved.model_copy(update=changes)
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()
                self._save(moved, pipe)
                if on_changed is not None:
                    on_changed(pipe, moved)
                pipe.execute()
            return moved, True

    def note(
        self,
        incident_id: str,
        now: datetime,
        event: str,
        detail: str = "",
        facts: PageFacts | None = None,
        author: str | None = None,
        link: str | None = None,
    ) -> Incident:
        """Add a timeline entry (and a page record, for page events)."""
        with self._locked():
            noted = self._require(incident_id).noted(now, event, detail, facts, author, link)
            self._save(noted)
            return noted

    def split(
        self,
        incident_id: str,
        report: IncidentReport,
        triage: TriageRecord,
        now: datetime,
        person: str,
        on_opened: OnOpened,
    ) -> tuple[Incident, Incident]:
        """Move one report out of the incident into a new incident of its own, which
        ``on_opened(pipeline, new)`` pages in the transaction that saves both; both
        timelines say who did it and link to each other. Returns (what is left, the new
        incident). Raises ``IncidentError`` for a report the incident does not hold, its
        only report, or a merged incident."""
        with self._locked():
            source = self._require(incident_id)
            if source.merged_into:
                raise IncidentError(f"{incident_id} was merged into {source.merged_into}")
            if report.mention_id not in source.mentions:
                raise IncidentError(f"{incident_id} has no report {report.mention_id}")
            if len(source.mentions) == 1:
                raise IncidentError(f"{report.mention_id} is {incident_id}'s only report")
            opened = open_incident(report, triage, now, author=person)
            opened = opened.model_copy(update={"split_from": source.id})
            opened = opened.noted(
                now, "split", f"out of {source.id}", author=person, link=incident_path(source.id)
            )
            left = without_report(source, report).noted(
                now,
                "split",
                f"{report.mention_id} moved to {opened.id}",
                author=person,
                link=incident_path(opened.id),
            )
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()
                pipe.set(OF_MENTION.format(mention=report.mention_id), opened.id)
                self._save(left, pipe)
                self._save(opened, pipe)
                on_opened(pipe, opened)
                pipe.execute()
            return left, opened

    def merge(
        self, survivor_id: str, absorbed_id: str, now: datetime, person: str, on_merged: OnMerged
    ) -> tuple[Incident, Incident]:
        """Merge ``absorbed_id`` into ``survivor_id``: the survivor takes its reports (new
        reports of them file into it), versions, channels and timeline (each entry marked
        with the absorbed incident's id); the absorbed incident is resolved, pointing to
        the survivor, and leaves grouping for good. A high-urgency incident merged into an
        open possible P0 raises it. ``on_merged(pipeline, survivor, absorbed as it was,
        whether it raised)`` queues the pages in the transaction that saves both. Raises
        ``IncidentError`` for an incident merged into itself, one already merged, or a
        resolved survivor while the absorbed one is open (reopen it first, or merge the
        other way)."""
        if survivor_id == absorbed_id:
            raise IncidentError("an incident cannot be merged into itself")
        with self._locked():
            survivor, absorbed = self._require(survivor_id), self._require(absorbed_id)
            for incident in (survivor, absorbed):
                if incident.merged_into:
                    raise IncidentError(
                        f"{incident.id} was merged into {incident.merged_into} already"
                    )
            if survivor.status == "resolved" and absorbed.status != "resolved":
                raise IncidentError(
                    f"{survivor_id} is resolved and {absorbed_id} is open: reopen"
                    f" {survivor_id} first, or merge {survivor_id} into {absorbed_id}"
                )
            merged = absorbing(survivor, absorbed, now, person)
            raises = merge_raises(merged, absorbed)
            if raises:
                merged = merged.raised(
                    now, "raised", f"{absorbed.id} was a sure P0: paged at high urgency"
                )
            closed = closed_into(absorbed, survivor, now, person)
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.multi()
                for mention_id in absorbed.mentions:
                    pipe.set(OF_MENTION.format(mention=mention_id), survivor_id)
                self._save(merged, pipe)
                self._save(closed, pipe)
                pipe.zrem(ACTIVE, absorbed_id)
                on_merged(pipe, merged, absorbed, raises)
                pipe.execute()
            return merged, closed

    def by_dedup_key(self, dedup_key: str) -> Incident | None:
        """The incident whose alert has (or had) this PagerDuty key, at either urgency."""
        prefix, low = "hark-", "-low"
        if not dedup_key.startswith(prefix):
            return None
        incident_id = dedup_key[len(prefix) :]
        return self.get(incident_id[: -len(low)] if incident_id.endswith(low) else incident_id)

    def list(
        self, status: str | None, limit: int, cursor: str | None
    ) -> tuple[Incidents, str | None]:
        """Newest first; ``cursor`` is the ``next`` of the previous page ("<score>:<id>"),
        so incidents opened in the same second are neither repeated nor skipped."""
        key = BY_STATUS.format(status=status) if status else BY_TIME
        top: float | str = "+inf"
        after_id = None
        if cursor:
            top_score, _, after_id = cursor.partition(":")
            top = finite_score(top_score)
        found: list[tuple[float, str, Incident]] = []
        offset = 0
        while len(found) <= limit:  # one more than a page: is there a next page?
            rows = self.connection.zrevrangebyscore(
                key, top, "-inf", start=offset, num=limit * 2, withscores=True
            )
            if not rows:
                break
            offset += len(rows)
            for raw, score in rows:
                incident_id = raw.decode()
                if after_id and (score, incident_id) >= (top, after_id):
                    continue  # shown on an earlier page
                incident = self.get(incident_id)
                if incident:
                    found.append((score, incident_id, incident))
                if len(found) > limit:
                    break
        page = found[:limit]
        after = f"{page[-1][0]!r}:{page[-1][1]}" if len(found) > limit else None
        return [incident for _, _, incident in page], after

    def between(self, since: datetime, until: datetime) -> Incidents:
        """Every incident opened in [since, until), oldest first."""
        ids = self.connection.zrangebyscore(BY_TIME, since.timestamp(), f"({until.timestamp()}")
        found = (self.get(raw.decode()) for raw in ids)
        return [incident for incident in found if incident is not None]

    def _require(self, incident_id: str) -> Incident:
        incident = self.get(incident_id)
        if incident is None:
            raise IncidentError(f"no incident {incident_id}")
        return incident

    def _save(self, incident: Incident, pipe: Pipeline | None = None) -> None:
        """Write the incident and its indexes in one transaction (``pipe``'s, if given)."""
        if pipe is None:
            with self.connection.pipeline(transaction=True) as own:
                self._save(incident, own)
                own.execute()
            return
        opened = incident.opened_at.timestamp()
        pipe.set(RECORD.format(id=incident.id), incident.to_json())
        pipe.zadd(BY_TIME, {incident.id: opened})
        pipe.zadd(ACTIVE, {incident.id: incident.last_report_at.timestamp()})
        for status in STATUSES:
            if status != incident.status:
                pipe.zrem(BY_STATUS.format(status=status), incident.id)
        pipe.zadd(BY_STATUS.format(status=incident.status), {incident.id: opened})
