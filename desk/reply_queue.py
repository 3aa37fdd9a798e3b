"""The community manager's reply queue in Redis: one ``QueueItem`` per message that needs a
public answer, as JSON at ``hark:queue:item:<mention id>``, with the indexes the working
view, the answered list and the SLA counts read.

Changes are optimistic transactions (WATCH on the item and its mention): ``apply`` reads
the item, lets an action of ``desk.queue_actions`` decide what it becomes, and writes it
with its indexes and its mention's status at once. Two people claiming the same post at
once cannot both win, and the second is told who has it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from redis import Redis
from redis.client import Pipeline

from desk.mentions import RECORD, read_mention, status_writes
from desk.queue_actions import Change, QueueError
from desk.records import ClockedItem, HistoryEntry, MentionStatus, QueueItem

ITEM = "hark:queue:item:{id}"
BY_DUE = "hark:queue:by-due"  # open and claimed items; score: first-response due time
# Waiting items not yet answered (a reopened item was): by due time and by "near due" time.
UNANSWERED_BY_DUE = "hark:queue:unanswered:by-due"
UNANSWERED_BY_WARN = "hark:queue:unanswered:by-warn"
ALL = "hark:queue:by-received"
ANSWERED = "hark:queue:answered"  # replied and dismissed items; score: when last changed
NO_DUE = 4_102_444_800.0  # 2100-01-01: items without a due time sort last

Action = Callable[[QueueItem], Change]


class ReplyQueue:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def add(self, item: QueueItem) -> bool:
        """Queue an item once (a re-run triage job adds nothing)."""
        mention_id = item.mention_id
        key, mention_key = ITEM.format(id=mention_id), RECORD.format(id=mention_id)

        def write(pipe: Pipeline) -> bool:
            if pipe.exists(key):
                return False
            mention = read_mention(pipe, mention_id)
            pipe.multi()
            pipe.set(key, item.model_dump_json())
            pipe.zadd(ALL, {mention_id: item.received_at.timestamp()})
            _index_writes(pipe, item)
            status_writes(pipe, mention, "queued")
            return True

        added = self.connection.transaction(write, key, mention_key, value_from_callable=True)
        return cast(bool, added)

    def get(self, mention_id: str) -> QueueItem | None:
        return _read(self.connection, mention_id)

    def apply(self, mention_id: str, person: str, now: datetime, action: Action) -> QueueItem:
        """Do ``action`` to the item as ``person`` at ``now``, in one transaction with its
        indexes and its mention's status (what ``GET /api/mentions?status=`` filters on);
        returns the item as changed. Raises ``QueueError`` (``not_found``, or the action's
        refusal: then nothing changed)."""
        key, mention_key = ITEM.format(id=mention_id), RECORD.format(id=mention_id)

        def transaction(pipe: Pipeline) -> QueueItem:
            item = _read(pipe, mention_id)
            if item is None:
                raise QueueError("not_found", f"no queue item for {mention_id}")
            mention = read_mention(pipe, mention_id)
            change = action(item)
            entry = HistoryEntry(at=now, actor=person, event=change.event, detail=change.detail)
            changed = change.item.model_copy(update={"history": (*item.history, entry)})
            pipe.multi()
            pipe.set(key, changed.model_dump_json())
            _index_writes(pipe, changed)
            status_writes(pipe, mention, _mention_status(changed))
            return changed

        changed = self.connection.transaction(
            transaction, key, mention_key, value_from_callable=True
        )
        return cast(QueueItem, changed)

    def working_view(self, now: datetime, limit: int = 100, offset: int = 0) -> list[ClockedItem]:
        """Open and claimed items, soonest due first (from ``offset``), flagged overdue or
        warning."""
        ids = self.connection.zrange(BY_DUE, offset, offset + limit - 1)
        return [item.clocked(now) for item in self._items(ids)]

    def all_waiting(self, now: datetime) -> list[ClockedItem]:
        """Every open and claimed item, soonest due first: what the inbox filters and counts
        (a few hundred on launch day, read in one round trip)."""
        return [item.clocked(now) for item in self._items(self.connection.zrange(BY_DUE, 0, -1))]

    def waiting(self) -> int:
        """How many items are open or claimed (the working view shows the first 100)."""
        return cast(int, self.connection.zcard(BY_DUE))

    def sla_counts(self, now: datetime) -> dict[str, int]:
        """Of all the waiting items (not only a view's first 100): how many, how many past
        their due time, how many near it."""
        moment = now.timestamp()
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.zcard(BY_DUE)
            pipe.zcount(UNANSWERED_BY_DUE, "-inf", moment)
            pipe.zcount(UNANSWERED_BY_WARN, "-inf", moment)
            waiting, overdue, warned = pipe.execute()
        return {"waiting": waiting, "overdue": overdue, "warning": max(0, warned - overdue)}

    def recently_answered(self, limit: int = 20) -> list[QueueItem]:
        """Replied and dismissed items, the latest changed first: where they are resolved,
        or reopened when the answer did not hold."""
        if limit <= 0:  # ZREVRANGE's stop of -1 would mean "all of them"
            return []
        return self._items(self.connection.zrevrange(ANSWERED, 0, limit - 1))

    def items(self, since: datetime, until: datetime) -> list[QueueItem]:
        """Every item received in [since, until), oldest first."""
        ids = self.connection.zrangebyscore(ALL, since.timestamp(), f"({until.timestamp()}")
        return self._items(ids)

    def _items(self, ids: list[bytes]) -> list[QueueItem]:
        """The items of ``ids`` in that order (one MGET); an id whose item is gone is left out."""
        if not ids:
            return []
        keys = [ITEM.format(id=raw.decode()) for raw in ids]
        found = cast(list[bytes | None], self.connection.mget(keys))
        return [QueueItem.model_validate_json(raw) for raw in found if raw]


def _read(pipe: Pipeline | Redis, mention_id: str) -> QueueItem | None:
    raw = cast(bytes | str | None, pipe.get(ITEM.format(id=mention_id)))
    return QueueItem.model_validate_json(raw) if raw else None


def _mention_status(item: QueueItem) -> MentionStatus:
    if item.status == "replied" or item.status == "dismissed":
        return item.status
    return "queued"


def _index_writes(pipe: Pipeline, item: QueueItem) -> None:
    """Queue the index writes for the item's state: the working view's order, and the
    unanswered items' due and near-due times that ``sla_counts`` counts."""
    mention_id = item.mention_id
    if item.waiting:
        pipe.zadd(BY_DUE, {mention_id: _score(item.due_at)})
    else:
        pipe.zrem(BY_DUE, mention_id)
    if item.waiting and item.first_response_at is None:
        pipe.zadd(UNANSWERED_BY_DUE, {mention_id: _score(item.due_at)})
        pipe.zadd(UNANSWERED_BY_WARN, {mention_id: _score(item.warn_at)})
    else:
        pipe.zrem(UNANSWERED_BY_DUE, mention_id)
        pipe.zrem(UNANSWERED_BY_WARN, mention_id)
    changed = item.last_changed
    if item.waiting or changed is None:
        pipe.zrem(ANSWERED, mention_id)
    else:  # replied or dismissed: scored by its latest change (the history's last entry)
        pipe.zadd(ANSWERED, {mention_id: changed.timestamp()})


def _score(moment: datetime | None) -> float:
    return moment.timestamp() if moment else NO_DUE
