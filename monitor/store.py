"""The monitor's own Redis state: source cursors, remembered ids and source health."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis import Redis

CURSOR = "hark:cursor:{feed}"
REMEMBERED = "hark:remembered:{name}"
HEALTH = "hark:source:{source}"
SOURCES = "hark:sources"


class MonitorState:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def cursor(self, feed: str) -> str | None:
        value = self.connection.get(CURSOR.format(feed=feed))
        return value.decode() if value else None

    def save_cursor(self, feed: str, value: str) -> None:
        self.connection.set(CURSOR.format(feed=feed), value)

    def remembered(self, name: str) -> str | None:
        value = self.connection.get(REMEMBERED.format(name=name))
        return value.decode() if value else None

    def remember(self, name: str, value: str) -> None:
        self.connection.set(REMEMBERED.format(name=name), value)

    def record_success(self, source: str, now: datetime, interval_s: float) -> None:
        self._update(source, interval_s, last_success=now.isoformat())

    def record_error(self, source: str, now: datetime, interval_s: float, message: str) -> None:
        self._update(source, interval_s, last_error=message, last_error_at=now.isoformat())

    def pause(self, source: str, until: datetime) -> None:
        self.connection.hset(HEALTH.format(source=source), "paused_until", until.isoformat())

    def paused_until(self, source: str) -> datetime | None:
        value = self.connection.hget(HEALTH.format(source=source), "paused_until")
        return datetime.fromisoformat(value.decode()) if value else None

    def health(self, now: datetime) -> list[dict[str, Any]]:
        """Every source's last success and error; silent for 3 intervals, or paused (rate
        limited) until a time still to come, means unhealthy."""
        report = []
        for raw_name in sorted(self.connection.smembers(SOURCES)):
            name = raw_name.decode()
            fields = {
                k.decode(): v.decode()
                for k, v in self.connection.hgetall(HEALTH.format(source=name)).items()
            }
            interval = float(fields.get("interval_s", 60))
            last = fields.get("last_success")
            silent_s = (now - datetime.fromisoformat(last)).total_seconds() if last else None
            paused = fields.get("paused_until")
            if paused and datetime.fromisoformat(paused) <= now:
                paused = None  # the pause is over: not shown once X has reset
            report.append(
                {
                    "source": name,
                    "last_success": last,
                    "last_error": fields.get("last_error"),
                    "last_error_at": fields.get("last_error_at"),
                    "paused_until": paused,
                    "interval_s": interval,
                    "healthy": not paused and silent_s is not None and silent_s <= 3 * interval,
                }
            )
        return report

    def _update(self, source: str, interval_s: float, **fields: str) -> None:
        with self.connection.pipeline() as pipe:
            pipe.sadd(SOURCES, source)
            # Keyed as redis's hset types it (str | bytes, invariant): a dict[str, str] is refused.
            mapping: dict[str | bytes, str] = {"interval_s": json.dumps(interval_s)}
            mapping.update(fields.items())
            pipe.hset(HEALTH.format(source=source), mapping=mapping)
            pipe.execute()
