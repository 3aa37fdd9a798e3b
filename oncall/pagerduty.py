"""PagerDuty through pdpyras: the only module that imports it.

- ``PagerDutyEvents``: Events API v2 (trigger, acknowledge, resolve) with ``url`` set from
  ``HARK_PD_EVENTS_URL``. pdpyras's own retry loops are turned off (its default retries a
  429 forever, inside the job): RQ's ``Retry`` schedules the retries instead, so a failure
  is visible in RQ's registries and a worker is never stuck.
- ``PagerDutyRest``: the REST API's ``GET /oncalls`` for the rotation view.

Errors become ``PagingError`` with ``retryable`` and ``retry_after_s``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

with warnings.catch_warnings():  # the issue pins pdpyras 5.4; its successor is `pagerduty`
    warnings.simplefilter("ignore", UserWarning)
    import pdpyras

RETRIED_BY_RQ = (429, 500, 502, 503, 504)


class PagingError(Exception):
    """A failed PagerDuty call. ``retryable``: try again later; otherwise (a 400, a bad
    routing key) it is a configuration error that retrying cannot fix."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable, self.status = retryable, status
        self.retry_after_s: float | None = 60.0 if status == 429 else None


@dataclass(frozen=True)
class PageEvent:
    action: str  # trigger, acknowledge or resolve
    dedup_key: str
    summary: str = ""
    source: str = ""
    severity: str = "critical"
    custom_details: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)


class PagerDutyEvents:
    dry_run = False

    def __init__(self, routing_key: str, events_url: str, timeout_s: float = 10.0) -> None:
        session = pdpyras.EventsAPISession(routing_key)
        session.url = events_url.rstrip("/")
        session.timeout = timeout_s
        # One attempt per job run: a status listed in `retry` with max_http_attempts < 0
        # returns at once, and a network error raises at once (max_network_attempts 0).
        session.retry = dict.fromkeys(RETRIED_BY_RQ, 1)
        session.max_http_attempts = -1
        session.max_network_attempts = 0
        self._session = session

    def send(self, event: PageEvent) -> str:
        """Send one event; returns PagerDuty's dedup_key."""
        try:
            if event.action == "trigger":
                return self._session.trigger(
                    event.summary[:1024],
                    event.source,
                    dedup_key=event.dedup_key,
                    severity=event.severity,
                    custom_details=event.custom_details,
                    links=event.links or None,
                )
            return self._session.send_event(event.action, dedup_key=event.dedup_key)
        except pdpyras.PDHTTPError as error:
            status = error.response.status_code
            retryable = status in RETRIED_BY_RQ
            detail = "" if retryable else f": {error.response.text[:300]}"
            hint = "" if retryable else " (check HARK_PD_ROUTING_KEY and the event)"
            raise PagingError(
                f"PagerDuty answered {status}{detail}{hint}", retryable=retryable, status=status
            ) from None
        except pdpyras.PDClientError as error:
            raise PagingError(f"PagerDuty unreachable: {error.msg[:200]}", retryable=True) from None


class DryRunPager:
    """Used when no ``HARK_PD_ROUTING_KEY`` is set: sends nothing; the caller records the
    event it would have sent in the incident's timeline, marked dry-run."""

    dry_run = True

    def send(self, event: PageEvent) -> str:
        return event.dedup_key


class RotationError(Exception):
    """The rotation could not be read; the message says why and what to check."""


class PagerDutyRest:
    def __init__(self, api_token: str, api_url: str, timeout_s: float = 10.0) -> None:
        session = pdpyras.APISession(api_token)
        session.url = api_url.rstrip("/")
        session.timeout = timeout_s
        session.max_network_attempts = 0
        self._session = session

    def oncalls(self, schedule_ids: list[str], since: datetime, until: datetime) -> list[dict]:
        """``GET /oncalls`` for the schedules, every page."""
        params: dict[str, str | list[str]] = {
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        if schedule_ids:
            params["schedule_ids[]"] = schedule_ids
        try:
            return list(self._session.iter_all("oncalls", params=params))
        except pdpyras.PDHTTPError as error:
            status = error.response.status_code
            hint = " (check HARK_PD_API_TOKEN)" if status in (401, 403) else ""
            raise RotationError(f"PagerDuty /oncalls answered {status}{hint}") from None
        except pdpyras.PDClientError as error:
            raise RotationError(f"PagerDuty /oncalls unreachable: {error.msg[:200]}") from None
