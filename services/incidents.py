"""Acknowledging and resolving an incident from Hark (the JSON API and the page alike):
change Hark's incident, then, if that changed it, tell PagerDuty through the paging queue,
so a PagerDuty outage never loses the action and a repeated click pages nothing."""

from __future__ import annotations

from typing import Any, Literal

from oncall.incidents import IncidentError, IncidentStore
from services.context import Services
from services.paging import enqueue_page

Action = Literal["acknowledge", "resolve"]
STATUS_AFTER: dict[str, str] = {"acknowledge": "acknowledged", "resolve": "resolved"}


class UnknownIncident(LookupError):
    pass


def change_incident(
    services: Services, incident_id: str, action: Action, detail: str
) -> tuple[dict[str, Any], bool]:
    """Acknowledge or resolve; (the incident, whether it changed). Raises
    ``UnknownIncident``, or ``IncidentError`` when the change is not allowed."""
    store = IncidentStore(services.connection)
    if store.get(incident_id) is None:
        raise UnknownIncident(f"no incident {incident_id}")
    status = STATUS_AFTER[action]
    incident, changed = store.change_status(incident_id, status, services.clock(), status, detail)
    if changed:
        enqueue_page(services, incident_id, action, str(len(incident["timeline"])))
    return incident, changed


def acknowledge(services: Services, incident_id: str, by: str) -> tuple[dict[str, Any], bool]:
    return change_incident(services, incident_id, "acknowledge", by)


def resolve(services: Services, incident_id: str, by: str) -> tuple[dict[str, Any], bool]:
    return change_incident(services, incident_id, "resolve", by)


__all__ = ["IncidentError", "UnknownIncident", "acknowledge", "change_incident", "resolve"]
