"""Whether pages are getting through to PagerDuty, as the paging jobs last saw it.

Every send records its outcome: a success clears the failure, a failure keeps the first
moment of the current run of failures. The overview and ``/healthz`` show it, so that
while PagerDuty answers 500s (and RQ keeps retrying) the team sees pages are held up,
not only after the last retry gives up. Error texts are PagerDuty's status lines and
Hark's own messages: no event content, so no PII.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis import Redis

KEY = "hark:health:pagerduty"
_MAX_ERROR_CHARS = 300


class PagerHealth:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def succeeded(self, now: datetime) -> None:
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(KEY, "last_ok_at", now.isoformat())
            pipe.hdel(KEY, "failing_since")
            pipe.execute()

    def failed(self, now: datetime, error: str) -> None:
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(
                KEY,
                mapping={"last_error": error[:_MAX_ERROR_CHARS], "last_error_at": now.isoformat()},
            )
            pipe.hsetnx(KEY, "failing_since", now.isoformat())
            pipe.execute()

    def report(self) -> dict[str, Any]:
        """``ok`` is False while the latest send failed; the rest say since when and why."""
        fields = {k.decode(): v.decode() for k, v in self.connection.hgetall(KEY).items()}
        return {
            "ok": "failing_since" not in fields,
            "failing_since": fields.get("failing_since"),
            "last_ok_at": fields.get("last_ok_at"),
            "last_error": fields.get("last_error"),
            "last_error_at": fields.get("last_error_at"),
        }
