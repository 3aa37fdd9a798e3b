"""Acknowledging, resolving, confirming and downgrading an incident, wherever it is done.

From Hark (the JSON API and the page alike): change Hark's incident, then, if that changed
it, tell PagerDuty through the paging queue, so a PagerDuty outage never loses the action
and a repeated click pages nothing. From PagerDuty (its webhook): change Hark's incident
to match, and page nothing (PagerDuty already knows).

A possible P0 (low urgency, paged at low severity on "hark-<id>-low": ``oncall.paging``)
is settled by a person: confirmed, it becomes a sure P0 paged at high urgency on
"hark-<id>" and its low alert is resolved; downgraded, it is resolved with the reason.

A person resolves with a note (and, when a release fixed it, the version: each reporter then
gets a "fixed in" follow-up draft), reopens a resolved incident, splits a report out into an
incident of its own, or merges two incidents. Each is one function here, which the page, the
JSON API and jobs call alike, and each goes to the timeline with who did it.

Reopening pages again: an open Hark incident is an open PagerDuty alert (acknowledging,
resolving and escalating it all assume one), and the alert it had is resolved, so a reopen
triggers a new one on the incident's key, with its acknowledgement check, as a new report
of a resolved incident does. An incident merged into another cannot be reopened: its reports
are the survivor's now.
"""

from __future__ import annotations

import logging
from typing import Literal

from redis.client import Pipeline

from desk.mentions import MentionStore
from oncall.incidents import IncidentError, IncidentStore
from oncall.records import Incident, IncidentReport, Status
from oncall.signatures import caro_version
from services.context import Services
from services.paging import enqueue_page, page_raised, schedule_escalation

Action = Literal["acknowledge", "resolve"]
STATUS_AFTER: dict[Action, Status] = {"acknowledge": "acknowledged", "resolve": "resolved"}
_log = logging.getLogger(__name__)


class UnknownIncident(LookupError):
    pass


MAX_REASON = 1000  # characters of a downgrade's reason, a resolution's note


class InvalidReason(ValueError):
    """A downgrade without a reason (the timeline must say why it is not a P0), a resolve
    without a note, either over ``MAX_REASON`` characters, or a "fixed in" that is not a
    version."""


def _required_text(text: str, what: str) -> str:
    """``text`` on one line; raises ``InvalidReason`` when it is empty or too long."""
    text = " ".join(text.split())
    if not text:
        raise InvalidReason(f"{what} is required")
    if len(text) > MAX_REASON:
        raise InvalidReason(f"{what} is at most {MAX_REASON:,} characters")
    return text


def _require(store: IncidentStore, incident_id: str) -> Incident:
    incident = store.get(incident_id)
    if incident is None:
        raise UnknownIncident(f"no incident {incident_id}")
    return incident


def action_named(name: str) -> Action | None:
    """The action called ``name`` (from a URL), or None when there is no such action."""
    return next((action for action in STATUS_AFTER if action == name), None)


def change_incident(
    services: Services, incident_id: str, action: Action, detail: str, author: str | None = None
) -> tuple[Incident, bool]:
    """Acknowledge or resolve; (the incident, whether it changed). Raises
    ``UnknownIncident``, or ``IncidentError`` when the change is not allowed."""
    store = IncidentStore(services.connection)
    _require(store, incident_id)
    status = STATUS_AFTER[action]
    incident, changed = store.change_status(
        incident_id, status, services.clock(), status, detail, author
    )
    if changed:
        enqueue_page(services, incident_id, action, str(len(incident.timeline)))
    return incident, changed


def resolve_incident(
    services: Services, incident_id: str, person: str, note: str, fixed_in: str | None = None
) -> tuple[Incident, bool]:
    """A person resolves the incident, saying how (``note``, required) and, optionally,
    the release that fixed it: the timeline says who and why, PagerDuty is told, and with
    a version each reporter gets a "fixed in" follow-up draft. (the incident, whether it
    changed). Raises ``InvalidReason`` (no note, or a "fixed in" that is not a version
    such as 1.2.1) before anything changes, ``UnknownIncident`` or ``IncidentError``."""
    note = _required_text(note, "a resolution's note (what fixed it, or why it is over)")
    version = None
    if fixed_in and fixed_in.strip():
        version = caro_version(f"v{fixed_in.strip().removeprefix('v')}")
        if version is None:
            raise InvalidReason(f"fixed in: {fixed_in.strip()[:40]!r} is not a version like 1.2.1")
    store = IncidentStore(services.connection)
    _require(store, incident_id)
    detail = note + (f" (fixed in {version})" if version else "")
    incident, changed = store.change_status(
        incident_id,
        "resolved",
        services.clock(),
        "resolved",
        detail,
        person,
        {"fixed_in": version} if version else None,
        lambda pipe, moved: enqueue_page(
            services, incident_id, "resolve", str(len(moved.timeline)), pipe
        ),
    )
    if changed and version:
        # imported here: services.follow_ups imports this module (UnknownIncident)
        from services.follow_ups import draft_fixed_in_follow_ups

        draft_fixed_in_follow_ups(services, incident_id, version, person)
        _offer_github_fixed_in(services, incident_id, version)
    return incident, changed


def _offer_github_fixed_in(services: Services, incident_id: str, version: str) -> None:
    """Queue the "Fixed in" comment on the incident's GitHub issues (``services.github_bot``:
    the worker posts it, or records it in a dry run); a failure to queue it is logged and
    costs the resolution nothing."""
    from services.github_bot import offer_fixed_in  # the GitHub side, loaded when used

    try:
        offer_fixed_in(services, incident_id, version)
    except Exception:
        _log.exception("could not queue the GitHub fixed-in comment for %s", incident_id)


def reopen_incident(services: Services, incident_id: str, person: str, reason: str) -> Incident:
    """A person reopens a resolved incident (``reason``, required): it is triggered again,
    paged on its key with an acknowledgement check (see the module for why). Raises
    ``InvalidReason``, ``UnknownIncident``, or ``IncidentError`` for an open incident or
    one merged into another."""
    reason = _required_text(reason, "a reopen's reason")
    store = IncidentStore(services.connection)
    current = _require(store, incident_id)
    if current.status != "resolved":
        raise IncidentError(f"{incident_id} is {current.status}: only a resolved one reopens")

    def page(pipe: Pipeline, moved: Incident) -> None:
        tag = f"reopen-{len(moved.timeline)}"
        enqueue_page(services, incident_id, "trigger", tag, pipe)
        schedule_escalation(services, incident_id, tag, pipe)

    incident, _ = store.change_status(
        incident_id,
        "triggered",
        services.clock(),
        "reopened",
        reason,
        person,
        {"fixed_in": None},
        page,
    )
    return incident


def split_report(
    services: Services, incident_id: str, mention_id: str, person: str
) -> tuple[Incident, Incident]:
    """A person moves one report out of the incident into a new one (another problem):
    the new incident is titled and grouped from that report, takes the incident's urgency
    from the report's triage, and is paged. Returns (what is left, the new incident).
    Raises ``UnknownIncident``, or ``IncidentError`` (not its report, its only report)."""
    store = IncidentStore(services.connection)
    _require(store, incident_id)
    mention = MentionStore(services.connection).get(mention_id)
    if mention is None:
        raise IncidentError(f"{mention_id} is not stored: it cannot open an incident")
    report = IncidentReport(
        mention_id=mention.id, channel=mention.channel, text=mention.text, url=mention.url
    )

    def page(pipe: Pipeline, opened: Incident) -> None:
        enqueue_page(services, opened.id, "trigger", "split", pipe)
        schedule_escalation(services, opened.id, "split", pipe)

    return store.split(incident_id, report, mention.triage, services.clock(), person, page)


def merge_incidents(
    services: Services, survivor_id: str, absorbed_id: str, person: str
) -> tuple[Incident, Incident]:
    """A person merges ``absorbed_id`` into ``survivor_id`` (one problem): the survivor
    takes its reports and history; the absorbed one is resolved here and, when its alert
    was open, in PagerDuty after a last note there naming the survivor
    (``resolve-merged``). A sure P0 merged into a possible one raises it. Returns (the
    survivor, the absorbed). Raises ``UnknownIncident`` or ``IncidentError``."""
    store = IncidentStore(services.connection)
    _require(store, survivor_id)
    _require(store, absorbed_id)

    def page(pipe: Pipeline, survivor: Incident, absorbed: Incident, raised: bool) -> None:
        tag = f"merged-{len(survivor.timeline)}"
        if absorbed.status != "resolved":
            enqueue_page(services, absorbed.id, "resolve-merged", tag, pipe)
        if raised:
            page_raised(services, survivor, tag, pipe)

    return store.merge(survivor_id, absorbed_id, services.clock(), person, page)


def confirm_incident(services: Services, incident_id: str, person: str) -> Incident:
    """A person confirms a possible P0: it becomes high urgency, is paged at high urgency
    on its own key and its low-urgency alert is resolved (``page_raised``), all queued with
    the change; the timeline says who. A high-urgency incident is returned as it is and
    nothing is paged. Raises ``UnknownIncident``, or ``IncidentError`` for a resolved one."""
    store = IncidentStore(services.connection)
    if store.get(incident_id) is None:
        raise UnknownIncident(f"no incident {incident_id}")
    detail = f"by {person}: a P0, paged again at high urgency; the low-urgency alert is resolved"
    incident, _ = store.raise_urgency(
        incident_id,
        services.clock(),
        detail,
        lambda pipeline, raised: page_raised(
            services, raised, f"c{len(raised.timeline)}", pipeline
        ),
    )
    return incident


def downgrade_incident(services: Services, incident_id: str, person: str, reason: str) -> Incident:
    """A person says the incident is not a P0: it is resolved with the reason in the
    timeline, and PagerDuty is told (a resolve on its current key). One already resolved
    is returned as it is. Raises ``InvalidReason`` for an empty or overlong reason (before
    anything is read or changed) and ``UnknownIncident``."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidReason("a downgrade needs a reason: say why this is not a P0")
    if len(reason) > MAX_REASON:
        raise InvalidReason(f"a downgrade's reason is at most {MAX_REASON:,} characters")
    store = IncidentStore(services.connection)
    if store.get(incident_id) is None:
        raise UnknownIncident(f"no incident {incident_id}")
    incident, changed = store.change_status(
        incident_id, "resolved", services.clock(), "downgraded", f"by {person}: {reason}", person
    )
    if changed:
        enqueue_page(services, incident_id, "resolve", str(len(incident.timeline)))
    return incident


def apply_pagerduty_event(
    services: Services, dedup_key: str, action: Action, by: str, pd_url: str | None = None
) -> Incident | None:
    """An acknowledge or resolve done in PagerDuty, which its webhook reports for the
    incident with ``dedup_key``: the incident changed to match, or None when the key is
    not a Hark incident's. The timeline names who did it there, and ``pd_url`` (PagerDuty's
    page of the incident, an http(s) URL) is kept for the page's links. Raises
    ``IncidentError`` for an event the incident's state no longer allows (acknowledged in
    PagerDuty after Hark resolved it), or about an alert the incident no longer pages on
    (its low-urgency one, resolved when it was raised)."""
    store = IncidentStore(services.connection)
    incident = store.by_dedup_key(dedup_key)
    if incident is None:
        return None
    if dedup_key != incident.dedup_key:
        # The low-urgency alert of an incident since raised: Hark resolved it itself.
        raise IncidentError(f"{dedup_key} was replaced by {incident.dedup_key}")
    status = STATUS_AFTER[action]
    link = pd_url if pd_url and pd_url.lower().startswith(("https://", "http://")) else None
    changed, _ = store.change_status(
        incident.id,
        status,
        services.clock(),
        status,
        f"in PagerDuty by {by}",
        by or "PagerDuty",
        {"pagerduty_url": link} if link else None,
    )
    return changed


__all__ = [
    "IncidentError",
    "InvalidReason",
    "UnknownIncident",
    "action_named",
    "apply_pagerduty_event",
    "change_incident",
    "confirm_incident",
    "downgrade_incident",
    "merge_incidents",
    "reopen_incident",
    "resolve_incident",
    "split_report",
]
