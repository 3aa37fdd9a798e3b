"""PagerDuty's v3 webhook deliveries as PagerDuty sends them: the JSON body of an
incident event, and its ``X-PagerDuty-Signature`` header (one ``v1=`` HMAC-SHA256 of the
body per secret; two while a secret is being rotated)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime


def incident_event(
    dedup_key: str,
    kind: str = "incident.acknowledged",
    event_id: str = "E1",
    agent: str = "Ana On-Call",
) -> bytes:
    """The body PagerDuty posts when someone acts on the incident Hark opened with
    ``dedup_key`` (PagerDuty reports it as the incident's ``incident_key``)."""
    return json.dumps(
        {
            "event": {
                "id": event_id,
                "event_type": kind,
                "resource_type": "incident",
                "occurred_at": datetime.now(UTC).isoformat(),
                "agent": {"summary": agent, "type": "user_reference"},
                "data": {"id": "Q1", "type": "incident", "incident_key": dedup_key},
            }
        }
    ).encode()


def signature(body: bytes, *secrets: str) -> str:
    """The ``X-PagerDuty-Signature`` header value for ``body``, one entry per secret."""
    return ",".join(
        "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in secrets
    )
