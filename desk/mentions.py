"""Triaged mentions in Redis, indexed for ``GET /api/mentions``.

Each mention is one JSON string at ``hark:mention:<id>``; sorted sets index it by time
(score: created_at, epoch seconds) overall, per priority, per channel and per status. A
save writes the record and all its indexes in one MULTI/EXEC transaction, so a reader never
sees half of it; saving the same mention again rewrites the same keys (idempotent).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis

RECORD = "hark:mention:{id}"
BY_TIME = "hark:mentions:by-time"
BY = "hark:mentions:{field}:{value}"  # field: priority, channel, status
FILTER_FIELDS = ("priority", "channel", "status")
# new: triaged (no public answer needed, or not queued yet); queued: in the reply queue;
# replied, dismissed: what the community manager did with it.
STATUSES = ("new", "queued", "replied", "dismissed")


def status_writes(pipe, mention_id: str, raw: bytes | None, status: str) -> None:
    """Queue, in ``pipe``'s MULTI, the writes moving the mention stored as ``raw`` (read
    under WATCH) to ``status``: nothing when it is not stored or already there. The reply
    queue calls it inside its own transactions, so item and mention change together."""
    if raw is None:
        return
    record = json.loads(raw)
    old = record.get("status", "new")
    if old == status:
        return
    record["status"] = status
    pipe.set(RECORD.format(id=mention_id), json.dumps(record))
    pipe.zrem(BY.format(field="status", value=old), mention_id)
    pipe.zadd(BY.format(field="status", value=status), {mention_id: _epoch(record["created_at"])})


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None


class MentionStore:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def save(
        self,
        mention: dict[str, Any],
        triage: dict[str, Any],
        triaged_at: datetime,
        status: str = "new",
    ) -> None:
        """Store a mention with its triage (the raw payload is kept in the record); a
        re-triage keeps the status the reply queue gave it (read and written in one
        transaction, so a queue action in between is not undone)."""
        key = RECORD.format(id=mention["id"])
        score = _epoch(mention["created_at"])

        def write(pipe) -> None:
            raw = pipe.get(key)
            old = json.loads(raw) if raw else None
            record = {
                **mention,
                "triage": triage,
                "triaged_at": triaged_at.isoformat(),
                "status": old.get("status", status) if old else status,
            }
            pipe.multi()
            if old:  # a re-triage may change the priority: drop the old index entries
                for field in FILTER_FIELDS:
                    pipe.zrem(BY.format(field=field, value=_value(old, field)), mention["id"])
            pipe.set(key, json.dumps(record))
            pipe.zadd(BY_TIME, {mention["id"]: score})
            for field in FILTER_FIELDS:
                pipe.zadd(
                    BY.format(field=field, value=_value(record, field)), {mention["id"]: score}
                )

        self.connection.transaction(write, key)

    def set_status(self, mention_id: str, status: str) -> None:
        """Move a stored mention to ``status`` (one of ``STATUSES``), record and index
        together; a mention not stored (yet) is left alone."""
        key = RECORD.format(id=mention_id)

        def move(pipe) -> None:
            raw = pipe.get(key)
            pipe.multi()
            status_writes(pipe, mention_id, raw, status)

        self.connection.transaction(move, key)

    def get(self, mention_id: str) -> dict[str, Any] | None:
        data = self.connection.get(RECORD.format(id=mention_id))
        return json.loads(data) if data else None

    def between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every mention created in [since, until), oldest first (the raw payload left out)."""
        ids = self.connection.zrangebyscore(BY_TIME, since.timestamp(), f"({until.timestamp()}")
        records = [self.get(raw.decode() if isinstance(raw, bytes) else raw) for raw in ids]
        return [_public(record) for record in records if record]

    def count(self) -> int:
        return self.connection.zcard(BY_TIME)

    def list(self, filters: dict[str, str], limit: int, cursor: str | None) -> Page:
        """Newest first. ``cursor`` is the ``next`` of the previous page: "<score>:<id>"."""
        keys = [BY.format(field=f, value=v) for f, v in filters.items() if v] or [BY_TIME]
        smallest, *others = sorted(keys, key=self.connection.zcard)
        max_score, after_id = _parse_cursor(cursor)
        items: list[dict[str, Any]] = []
        offset = 0
        while len(items) < limit:
            batch = self.connection.zrevrangebyscore(
                smallest, max_score, "-inf", start=offset, num=limit * 2, withscores=True
            )
            if not batch:
                return Page(items, None)
            offset += len(batch)
            for member, score in batch:
                mention_id = member.decode() if isinstance(member, bytes) else member
                if after_id is not None and (score, mention_id) >= (max_score, after_id):
                    continue
                if any(self.connection.zscore(key, mention_id) is None for key in others):
                    continue
                record = self.get(mention_id)
                if record:
                    items.append(_public(record))
                if len(items) == limit:
                    return Page(items, f"{score!r}:{mention_id}")
        return Page(items, None)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The API shape: everything but the raw payload."""
    return {key: value for key, value in record.items() if key != "raw"}


def _value(record: dict[str, Any], field: str) -> str:
    return record["triage"]["priority"] if field == "priority" else record[field]


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment).timestamp()


def _parse_cursor(cursor: str | None) -> tuple[float | str, str | None]:
    if not cursor:
        return "+inf", None
    score, _, mention_id = cursor.partition(":")
    return finite_score(score), mention_id


def finite_score(text: str) -> float:
    """A cursor's score; ValueError unless a finite number (Redis refuses NaN)."""
    score = float(text)
    if not math.isfinite(score):
        raise ValueError(f"not a finite score: {text!r}")
    return score
