"""Incidents as typed, immutable records: what ``IncidentStore`` keeps in Redis and what the
service functions, the API and the page pass around.

A record never changes in place: each change (a report joining, a status move, a timeline
note) returns a new record through ``model_copy``, which the store writes back under its
lock. JSON exists only at the Redis boundary (``Incident.to_json`` / ``model_validate_json``)
and in the API view (``Incident.public``); the JSON shape is the one stored before these
records existed, so incidents written then still load. Both leave out what a record does
not have (``exclude_none``): a timeline entry shows only the page facts its note gave.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer, field_validator

from oncall.signatures import caro_version, named_cause
from oncall.titles import clean_title
from vocabulary.channels import Channel
from vocabulary.redact import redact


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# Stored and shown as ``datetime.isoformat()`` ("2026-01-24T15:00:00+00:00"), as before
# (pydantic's own form would write "Z").
Timestamp = Annotated[AwareDatetime, PlainSerializer(_iso, return_type=str)]
Status = Literal["triggered", "acknowledged", "resolved", "escalated", "page-failed"]
# "resolve-low": resolve the low-urgency alert ("hark-<id>-low") that a confirmation or a
# high-urgency report superseded with a high-urgency one (on "hark-<id>").
# "resolve-merged": the alert of an incident merged into another, resolved after a last
# trigger on its key whose summary names the incident it went into (``oncall.paging``).
PageAction = Literal[
    "trigger", "escalate", "acknowledge", "resolve", "resolve-low", "resolve-merged"
]
# How sure a P0 incident is (``rules.schema.Urgency``): "low" is a possible P0, paged at the
# rulebook's low severity on its own PagerDuty key until someone confirms or downgrades it.
Urgency = Literal["high", "low"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class IncidentReport(BaseModel):
    """The part of a mention that an incident files: which one, from where, its words
    (for grouping and the title) and its link."""

    model_config = _FROZEN

    mention_id: str
    channel: Channel
    text: str
    url: str | None = None

    # Read once a report: grouping asks them for every open incident, and on a long text
    # (a 100 kB log) each reading takes a noticeable part of a second.
    @cached_property
    def version(self) -> str | None:
        """The Caro version the report is about (``oncall.signatures``)."""
        return caro_version(self.text)

    @cached_property
    def cause(self) -> str | None:
        """The known cause the report names, if any (``oncall.signatures``)."""
        return named_cause(self.text)


class RuleExplanation(BaseModel):
    """One rule that fired on the report that opened the incident (matches redacted)."""

    model_config = _FROZEN

    rule: str
    weight: float
    levels: tuple[str, ...]
    matched: tuple[str, ...]


class PageFacts(BaseModel):
    """What a page event records besides when: the action sent, PagerDuty's dedup key, a
    dry run, the summary and severity sent, and whether a failure was a configuration
    error. None: the note did not give it."""

    model_config = _FROZEN

    action: PageAction | None = None
    dedup_key: str | None = None
    dry_run: bool | None = None
    summary: str | None = None
    severity: str | None = None
    config_error: bool | None = None

    def facts(self) -> dict[str, Any]:
        """The facts as keyword arguments for another record of page facts."""
        return {name: getattr(self, name) for name in PageFacts.model_fields}


class PageRecord(PageFacts):
    """An entry of ``Incident.pages``: a page sent, retried or failed."""

    at: Timestamp
    event: str


class TimelineEntry(PageFacts):
    """An entry of ``Incident.timeline``; page events carry their ``PageFacts`` too.
    ``author``: who did it (a person's name, "PagerDuty" or "Hark"; entries stored before
    it existed have none, and ``by`` works it out); ``link``: where it points (a report's
    original, PagerDuty's incident, another incident's page)."""

    at: Timestamp
    event: str
    detail: str = ""
    author: str | None = None
    link: str | None = None

    def by(self) -> str:
        """Who did it: the author, or for an older entry, "PagerDuty" when its detail says
        it was done there, the person its detail names ("by ana from Hark"), else Hark."""
        if self.author:
            return self.author
        if self.detail.startswith("in PagerDuty"):
            return "PagerDuty"
        named = self.detail.removeprefix("by ").split(" from Hark")[0].split(":")[0]
        if self.detail.startswith("by ") and named:
            return named
        return "Hark"


class Incident(BaseModel):
    """One problem, however many reports of it: its state, reports, pages and timeline."""

    model_config = _FROZEN

    id: str
    status: Status
    priority: str
    category: str
    rule: str | None = None  # the first report's top paging rule: same rule, same incident
    # PagerDuty's key for its current alert: "hark-<id>", or "hark-<id>-low" while it is a
    # possible P0 (``dedup_key_for``)
    dedup_key: str
    title: str
    opened_at: Timestamp
    updated_at: Timestamp
    last_report_at: Timestamp
    mentions: tuple[str, ...]
    channels: tuple[Channel, ...]
    links: tuple[str, ...]
    explanation: tuple[RuleExplanation, ...]
    words: tuple[str, ...]  # content words of the first report, for grouping; not shown
    escalations: int = 0
    urgency: Urgency = "high"  # from the report that opened it; stored before: high
    pages: tuple[PageRecord, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    # For grouping (``oncall.signatures``): the Caro versions its reports are about, and the
    # cause its first report named (None: the generic crash). Stored before: none known.
    versions: tuple[str, ...] = ()
    cause: str | None = None
    # The model's probability of P0 for the first report, when the rulebook has a model.
    model_p0: float | None = None
    fixed_in: str | None = None  # the version its resolution named
    merged_into: str | None = None  # the incident this one was merged into (then resolved)
    absorbed: tuple[str, ...] = ()  # incidents merged into this one
    split_from: str | None = None  # the incident its first report was split out of
    pagerduty_url: str | None = None  # PagerDuty's page of its incident, from a webhook

    @field_validator("title")
    @classmethod
    def _clean(cls, title: str) -> str:
        """A title stored raw (before titles were cleaned) reads as a clean one."""
        return clean_title(title)

    def to_json(self) -> str:
        """The record as the store writes it."""
        return self.model_dump_json(exclude_none=True)

    def public(self) -> dict[str, Any]:
        """The API view: the stored JSON shape without the grouping words, and with
        ``rule`` even when there is none."""
        return {"rule": None} | self.model_dump(mode="json", exclude={"words"}, exclude_none=True)

    def with_report(self, report: IncidentReport, now: datetime, max_links: int = 20) -> Incident:
        """A further report of the same problem joined to it.

        The report is not noted in the timeline: the incident page lists every report with
        its author, time and link from the mention itself, and a timeline growing by one
        entry per report made each join re-validate and re-write them all (a launch-day
        incident holds thousands), most of a worker's time at volume. The timeline keeps
        what people and PagerDuty did; records stored with report entries still load."""
        mentions = (*self.mentions, report.mention_id)
        channels = self.channels
        if report.channel not in channels:
            channels = (*channels, report.channel)
        links = self.links
        if report.url and len(links) < max_links:
            links = (*links, report.url)
        versions = self.versions
        if report.version and report.version not in versions:
            versions = (*versions, report.version)
        return self.model_copy(
            update={
                "mentions": mentions,
                "channels": channels,
                "links": links,
                "versions": versions,
                "last_report_at": now,
                "updated_at": now,
            }
        )

    def moved(
        self,
        status: Status,
        now: datetime,
        event: str,
        detail: str = "",
        author: str | None = None,
        link: str | None = None,
    ) -> Incident:
        """The incident in ``status``, the move noted (whether it is allowed is the store's
        concern); becoming escalated counts an escalation."""
        entry = timeline_entry(now, event, detail, author=author, link=link)
        return self.model_copy(
            update={
                "status": status,
                "updated_at": now,
                "timeline": (*self.timeline, entry),
                "escalations": self.escalations + (1 if status == "escalated" else 0),
            }
        )

    def noted(
        self,
        now: datetime,
        event: str,
        detail: str = "",
        facts: PageFacts | None = None,
        author: str | None = None,
        link: str | None = None,
    ) -> Incident:
        """A timeline entry added; a page event ("page-sent", "page-retry", ...) is also
        recorded in ``pages``."""
        given = facts.facts() if facts else {}
        entry = timeline_entry(now, event, detail, facts, author=author, link=link)
        update: dict[str, Any] = {
            "timeline": (*self.timeline, entry),
            "updated_at": now,
        }
        if event.startswith("page"):
            update["pages"] = (*self.pages, PageRecord(at=now, event=event, **given))
        return self.model_copy(update=update)

    def at_urgency(self, urgency: Urgency) -> Incident:
        """The incident at ``urgency``, paging on that urgency's PagerDuty key."""
        return self.model_copy(
            update={"urgency": urgency, "dedup_key": dedup_key_for(self.id, urgency)}
        )

    def raised(self, now: datetime, event: str, detail: str) -> Incident:
        """A possible P0 made a sure one (confirmed, or a high-urgency report joined it):
        high urgency, paging on "hark-<id>" from now on, the change noted."""
        return self.at_urgency("high").model_copy(
            update={
                "updated_at": now,
                "timeline": (*self.timeline, timeline_entry(now, event, detail)),
            }
        )

    def last_escalated_at(self) -> datetime | None:
        return max((e.at for e in self.timeline if e.event == "escalated"), default=None)


def dedup_key_for(incident_id: str, urgency: Urgency) -> str:
    """The PagerDuty key an incident's alert has at ``urgency``. Low urgency has its own
    key so that confirming the incident raises a new, critical alert: PagerDuty folds a
    trigger on an open alert's key into that alert, whose severity then stays as it was."""
    return f"hark-{incident_id}" + ("-low" if urgency == "low" else "")


def timeline_entry(
    now: datetime,
    event: str,
    detail: str,
    facts: PageFacts | None = None,
    author: str | None = None,
    link: str | None = None,
) -> TimelineEntry:
    """A timeline entry, its detail redacted: nothing personal reaches the timeline."""
    given = facts.facts() if facts else {}
    return TimelineEntry(
        at=now, event=event, detail=redact(detail), author=author, link=link, **given
    )
