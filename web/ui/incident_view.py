"""What the incident page shows, worked out from the record, its reports and the rotation:
who was (or would be) paged, who acknowledged and resolved it, the timeline with the reports
in it (each with its author and links), and the escalation template's fields.

Anchored on PagerDuty's incident page: the why and the responders first, then the actions,
then what happened, then the reports themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import url_for

from desk.mentions import MentionStore
from desk.records import StoredMention
from oncall.paging import EscalationField, escalation_fields, human_duration
from oncall.records import Incident, PageRecord, TimelineEntry
from oncall.rotation import RotationError
from oncall.titles import clean_title
from web.ui import http_url

TIMELINE_REPORTS = 50  # reports shown in the timeline; the reports list holds them all
ALERTS = ("trigger", "escalate")
CLOSING = ("resolved", "downgraded", "merged")


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Event:
    """A line of the timeline as the page shows it."""

    at: datetime
    event: str
    author: str
    detail: str
    links: tuple[Link, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True)
class Responder:
    """One line of "Who": what happened (paged, acknowledged, resolved), by whom, when."""

    role: str
    person: str
    at: datetime | None
    note: str = ""


def reports(incident: Incident, store: MentionStore) -> list[tuple[str, StoredMention | None]]:
    return [(mention_id, store.get(mention_id)) for mention_id in incident.mentions]


def previews(mentions: list[tuple[str, StoredMention | None]]) -> dict[str, str]:
    """Each report's first words, cleaned as a title is (no markdown, no personal data)."""
    return {mention_id: _first_words(m.text, 110) for mention_id, m in mentions if m is not None}


def responders(incident: Incident, rotation: Any) -> list[Responder]:
    """Who was paged (the rotation's first level when the first alert went out; in a dry
    run, who would have been), who was paged on escalation (the second level), who
    acknowledged and who resolved."""
    found: list[Responder] = []
    first = _first_page(incident, ("trigger",)) or _first_page(incident, ALERTS)
    if first is not None:
        found.append(_paged(first, rotation, 1, "Paged"))
    else:
        found.append(Responder("Paged", "nobody yet: no page has gone out", None))
    escalated = _first_page(incident, ("escalate",))
    if escalated is not None:
        found.append(_paged(escalated, rotation, 2, "Escalated to"))
    acknowledged = _last_entry(incident, ("acknowledged",))
    if acknowledged is not None:
        found.append(Responder("Acknowledged", _who(acknowledged), acknowledged.at))
    if incident.status == "resolved":
        closed = _last_entry(incident, CLOSING)
        if closed is not None:
            found.append(Responder("Resolved", _who(closed), closed.at, closed.detail))
    return found


def timeline(incident: Incident, mentions: list[tuple[str, StoredMention | None]]) -> list[Event]:
    """The stored timeline and the reports, oldest first. Old records noted each report in
    the timeline ("report: x report 3"); those entries give way to the reports
    themselves."""
    events = [_event(entry, incident) for entry in incident.timeline if entry.event != "report"]
    for _, mention in mentions[:TIMELINE_REPORTS]:
        if mention is not None:
            events.append(_report_event(mention))
    return sorted(events, key=lambda event: event.at)


def escalation(incident: Incident, store: MentionStore, window: Any) -> list[EscalationField]:
    return escalation_fields(incident, store, window)


def _first_page(incident: Incident, actions: tuple[str, ...]) -> PageRecord | None:
    return next((p for p in incident.pages if p.event == "page-sent" and p.action in actions), None)


def _last_entry(incident: Incident, events: tuple[str, ...]) -> TimelineEntry | None:
    return next((e for e in reversed(incident.timeline) if e.event in events), None)


def _who(entry: TimelineEntry) -> str:
    who = entry.by()
    return f"{who} (in PagerDuty)" if entry.detail.startswith("in PagerDuty") else who


def _paged(page: PageRecord, rotation: Any, level: int, role: str) -> Responder:
    person = _on_call(rotation, page.at, level)
    if page.dry_run:
        return Responder(
            f"Would be {role.lower()}", f"{person} (dry run: no PagerDuty key)", page.at
        )
    return Responder(role, person, page.at)


def _on_call(rotation: Any, at: datetime, level: int) -> str:
    """Who the rotation had on call at ``level`` at ``at`` (the first level when it has
    no such level), or why that is unknown."""
    if rotation is None:
        return "the on-call (no rotation configured)"
    try:
        shifts = rotation.on_call(at)
    except RotationError as error:
        return f"the on-call (the rotation could not be read: {error})"
    at_level = [shift.person for shift in shifts if shift.level == level]
    if not at_level and level > 1:
        return _on_call(rotation, at, 1)
    return ", ".join(at_level) or "nobody on call"


def _event(entry: TimelineEntry, incident: Incident) -> Event:
    links: list[Link] = []
    if entry.link and (entry.link.startswith("/") or http_url(entry.link)):
        links.append(Link(entry.link, _link_text(entry.link)))
    if entry.event.startswith("page") and incident.pagerduty_url:
        links.append(Link(incident.pagerduty_url, "PagerDuty"))
    detail = entry.detail
    if entry.event == "escalated":
        detail = _human_windows(detail)
    return Event(entry.at, entry.event, entry.by(), detail, tuple(links), bool(entry.dry_run))


def _report_event(mention: StoredMention) -> Event:
    links = []
    original = http_url(mention.url)
    if original:
        links.append(Link(original, "original"))
    links.append(Link(url_for("pages.queue", sel=mention.id) + "#detail", "in the inbox"))
    return Event(
        mention.received_at,
        "report",
        mention.author or "someone",
        f"{mention.channel}: {_first_words(mention.text)}",
        tuple(links),
    )


def _link_text(link: str) -> str:
    if link.startswith("/incidents/"):
        return link.removeprefix("/incidents/")
    return "original" if http_url(link) else link


def _first_words(text: str, limit: int = 90) -> str:
    return clean_title(text, limit)


def _human_windows(detail: str) -> str:
    """An old entry's "not acknowledged within 0:15:00" as "15 min"."""

    def human(match: re.Match[str]) -> str:
        hours, minutes, seconds = (int(part) for part in match.groups())
        return human_duration(timedelta(hours=hours, minutes=minutes, seconds=seconds))

    return re.sub(r"\b(\d{1,3}):(\d{2}):(\d{2})(?:\.\d+)?\b", human, detail)
