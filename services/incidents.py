"""Acknowledging, resolving, confirming and downgrading an incident, wherever it is done.

From Hark (the JSON API and the page alike): change Hark's incident, then, if that changed
it, tell PagerDuty through the paging queue, so a PagerDuty outage never loses the action
and a repeated click pages nothing. From PagerDuty (its webhook): change Hark's incident
to match, and page nothing (PagerDuty already knows).

A possible P0 (low urgency, paged at low severity on "hark-<id>-low": ``oncall.paging``)
is settled by a person: confirmed, it becomes a sure P0 paged at high urgency on
"hark-<id>" and its low alert is resolved; downgraded, it is resolved with the reason.
"""

from __future__ import annotations

from typing import Literal

from oncall.incidents import IncidentError, IncidentStore
from oncall.records import Incident, Status
from services.context import Services
from services.paging import enqueue_page, page_raised

Action = Literal["acknowledge", "resolve"]
STATUS_AFTER: dict[Action, Status] = {"acknowledge": "acknowledged", "resolve": "resolved"}


class UnknownIncident(LookupError):
    pass


MAX_REASON = 1000  # characters of a downgrade's reason


class InvalidReason(ValueError):
    """A downgrade without a reason (the timeline must say why it is not a P0), or with
    one over ``MAX_REASON`` characters."""


def action_named(name: str) -> Action | None:
    """The action called ``name`` (from a URL), or None when there is no such action."""
    return next((action for action in STATUS_AFTER if action == name), None)


def change_incident(
    services: Services, incident_id: str, action: Action, detail: str
) -> tuple[Incident, bool]:
    """Acknowledge or resolve; (the incident, whether it changed). Raises
    ``UnknownIncident``, or ``IncidentError`` when the change is not allowed."""
    store = IncidentStore(services.connection)
    if store.get(incident_id) is None:
        raise UnknownIncident(f"no incident {incident_id}")
    status = STATUS_AFTER[action]
    incident, changed = store.change_status(incident_id, status, services.clock(), status, detail)
    if changed:
        enqueue_page(services, incident_id, action, str(len(incident.timeline)))
    return incident, changed


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
        incident_id, "resolved", services.clock(), "downgraded", f"by {person}: {reason}"
    )
    if changed:
        enqueue_page(services, incident_id, "resolve", str(len(incident.timeline)))
    return incident


def apply_pagerduty_event(
    services: Services, dedup_key: str, action: Action, by: str
) -> Incident | None:
    """An acknowledge or resolve done in PagerDuty, which its webhook reports for the
    incident with ``dedup_key``: the incident changed to match, or None when the key is
    not a Hark incident's. Raises ``IncidentError`` for an event the incident's state no
    longer allows (acknowledged in PagerDuty after Hark resolved it), or about an alert
    the incident no longer pages on (its low-urgency one, resolved when it was raised)."""
    store = IncidentStore(services.connection)
    incident = store.by_dedup_key(dedup_key)
    if incident is None:
        return None
    if dedup_key != incident.dedup_key:
        # The low-urgency alert of an incident since raised: Hark resolved it itself.
        raise IncidentError(f"{dedup_key} was replaced by {incident.dedup_key}")
    status = STATUS_AFTER[action]
    return store.transition(incident.id, status, services.clock(), status, f"in PagerDuty by {by}")


__all__ = [
    "IncidentError",
    "InvalidReason",
    "UnknownIncident",
    "action_named",
    "apply_pagerduty_event",
    "change_incident",
    "confirm_incident",
    "downgrade_incident",
]
