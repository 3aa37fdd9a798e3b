"""Acknowledging and resolving an incident, wherever it is done.

From Hark (the JSON API and the page alike): change Hark's incident, then, if that changed
it, tell PagerDuty through the paging queue, so a PagerDuty outage never loses the action
and a repeated click pages nothing. From PagerDuty (its webhook): change Hark's incident
to match, and page nothing (PagerDuty already knows).
"""

from __future__ import annotations

from typing import Literal

from oncall.incidents import IncidentError, IncidentStore
from oncall.records import Incident, Status
from services.context import Services
from services.paging import enqueue_page

Action = Literal["acknowledge", "resolve"]
STATUS_AFTER: dict[Action, Status] = {"acknowledge": "acknowledged", "resolve": "resolved"}


class UnknownIncident(LookupError):
    pass


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


def apply_pagerduty_event(
    services: Services, dedup_key: str, action: Action, by: str
) -> Incident | None:
    """An acknowledge or resolve done in PagerDuty, which its webhook reports for the
    incident with ``dedup_key``: the incident changed to match, or None when the key is
    not a Hark incident's. Raises ``IncidentError`` for an event the incident's state no
    longer allows (acknowledged in PagerDuty after Hark resolved it)."""
    store = IncidentStore(services.connection)
    incident = store.by_dedup_key(dedup_key)
    if incident is None:
        return None
    status = STATUS_AFTER[action]
    return store.transition(incident.id, status, services.clock(), status, f"in PagerDuty by {by}")


__all__ = [
    "IncidentError",
    "UnknownIncident",
    "action_named",
    "apply_pagerduty_event",
    "change_incident",
]
