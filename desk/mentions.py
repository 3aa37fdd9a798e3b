"""Triaged mentions in Redis, indexed for ``GET /api/mentions``.

Each mention is one ``StoredMention`` as JSON at ``hark:mention:<id>``; sorted sets index
it by time (score: created_at, epoch seconds) overall, per priority, per channel and per
status. A save writes the record and all its indexes in one MULTI/EXEC transaction, so a
reader never sees half of it; saving the same mention again rewrites the same keys
(idempotent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from redis import Redis
from redis.client import Pipeline

from desk.records import MENTION_STATUSES, MentionStatus, StoredMention

RECORD = "hark:mention:{id}"
BY_TIME = "hark:mentions:by-time"
BY = "hark:mentions:{field}:{value}"  # field: priority, channel, status
FILTER_FIELDS = ("priority", "channel", "status")
STATUSES = MENTION_STATUSES


def status_writes(pipe: Pipeline, mention: StoredMention | None, status: MentionStatus) -> None:
    """Queue, in ``pipe``'s MULTI, the writes moving ``mention`` (read under WATCH) to
    ``status``: nothing when it is not stored or already there. The reply queue calls it
    inside its own transactions, so item and mention change together."""
    if mention is None or mention.status == status:
        return
    moved = mention.model_copy(update={"status": status})
    pipe.set(RECORD.format(id=mention.id), moved.model_dump_json())
    pipe.zrem(BY.format(field="status", value=mention.status), mention.id)
    pipe.zadd(BY.format(field="status", value=status), {mention.id: _score(mention)})


def read_mention(pipe: Pipeline | Redis, mention_id: str) -> StoredMention | None:
    """The stored mention (on a pipeline under WATCH, read at once), or None."""
    raw = cast(bytes | str | None, pipe.get(RECORD.format(id=mention_id)))
    return StoredMention.model_validate_json(raw) if raw else None


@dataclass(frozen=True)
class Page:
    items: list[StoredMention]
    next: str | None


def _kept_from(old: StoredMention, new: StoredMention) -> StoredMention:
    """A re-triaged mention keeps what people gave it: the reply queue's status, and a
    correction with the priority it set (the engine's new triage is kept under it)."""
    if old.correction is None:
        return new.model_copy(update={"status": old.status})
    level = old.triage.priority
    triage = new.triage.model_copy(
        update={"priority": level, "urgency": old.triage.urgency, "pages": old.triage.pages}
    )
    return new.model_copy(
        update={"status": old.status, "correction": old.correction, "triage": triage}
    )


class MentionStore:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def save(self, mention: StoredMention) -> StoredMention:
        """Store a triaged mention (the raw payload is kept in the record); a re-triage
        keeps the status the reply queue gave it (read and written in one transaction, so
        a queue action in between is not undone). Returns the mention as stored."""
        key = RECORD.format(id=mention.id)

        def write(pipe: Pipeline) -> StoredMention:
            old = read_mention(pipe, mention.id)
            record = _kept_from(old, mention) if old else mention
            pipe.multi()
            if old:  # a re-triage may change the priority: drop the old index entries
                for field in FILTER_FIELDS:
                    pipe.zrem(BY.format(field=field, value=_value(old, field)), mention.id)
            pipe.set(key, record.model_dump_json())
            pipe.zadd(BY_TIME, {mention.id: _score(record)})
            for field in FILTER_FIELDS:
                pipe.zadd(
                    BY.format(field=field, value=_value(record, field)),
                    {mention.id: _score(record)},
                )
            return record

        return cast(
            StoredMention, self.connection.transaction(write, key, value_from_callable=True)
        )

    def set_status(self, mention_id: str, status: MentionStatus) -> None:
        """Move a stored mention to ``status`` (one of ``STATUSES``), record and index
        together; a mention not stored (yet) is left alone."""

        def move(pipe: Pipeline) -> None:
            mention = read_mention(pipe, mention_id)
            pipe.multi()
            status_writes(pipe, mention, status)

        self.connection.transaction(move, RECORD.format(id=mention_id))

    def get(self, mention_id: str) -> StoredMention | None:
        return read_mention(self.connection, mention_id)

    def between(self, since: datetime, until: datetime) -> list[StoredMention]:
        """Every mention created in [since, until), oldest first."""
        ids = self.connection.zrangebyscore(BY_TIME, since.timestamp(), f"({until.timestamp()}")
        records = (self.get(_text(raw)) for raw in ids)
        return [record for record in records if record]

    def count(self) -> int:
        return cast(int, self.connection.zcard(BY_TIME))

    def list(self, filters: dict[str, str | None], limit: int, cursor: str | None) -> Page:
        """Newest first. ``cursor`` is the ``next`` of the previous page: "<score>:<id>"."""
        keys = [BY.format(field=f, value=v) for f, v in filters.items() if v] or [BY_TIME]
        smallest, *others = sorted(keys, key=self.connection.zcard)
        max_score, after_id = _parse_cursor(cursor)
        items: list[StoredMention] = []
        offset = 0
        while len(items) < limit:
            batch = self.connection.zrevrangebyscore(
                smallest, max_score, "-inf", start=offset, num=limit * 2, withscores=True
            )
            if not batch:
                return Page(items, None)
            offset += len(batch)
            for member, score in batch:
                mention_id = _text(member)
                if after_id is not None and (score, mention_id) >= (max_score, after_id):
                    continue
                if any(self.connection.zscore(key, mention_id) is None for key in others):
                    continue
                record = self.get(mention_id)
                if record:
                    items.append(record)
                if len(items) == limit:
                    return Page(items, f"{score!r}:{mention_id}")
        return Page(items, None)


def _value(record: StoredMention, field: str) -> str:
    if field == "priority":
        return record.triage.priority
    return record.channel if field == "channel" else record.status


def _score(record: StoredMention) -> float:
    return record.created_at.timestamp()


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member


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
