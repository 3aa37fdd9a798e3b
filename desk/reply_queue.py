"""The community manager's reply queue: one item per message that needs a public answer.

An item holds the message, its triage, the drafted reply, its SLA due times, a status
(open -> claimed -> replied, or dismissed) and a history of who did what. Changes are
optimistic transactions (WATCH on the item): two people claiming the same post at once
cannot both win, and the second is told who has it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import redis
from redis import Redis

from desk.drafts import X_LIMIT, UnsafeReplyError, revise_draft
from desk.mentions import RECORD, status_writes

ITEM = "hark:queue:item:{id}"
BY_DUE = "hark:queue:by-due"  # open and claimed items; score: first-response due time
# Waiting items not yet answered (a reopened item was): by due time and by "near due" time.
UNANSWERED_BY_DUE = "hark:queue:unanswered:by-due"
UNANSWERED_BY_WARN = "hark:queue:unanswered:by-warn"
ALL = "hark:queue:by-received"
ANSWERED = "hark:queue:answered"  # replied and dismissed items; score: when last changed
NO_DUE = 4_102_444_800.0  # 2100-01-01: items without a due time sort last

STATUSES = ("open", "claimed", "replied", "dismissed")
SENDING_STALE_S = 120  # a send still unfinished after this died mid-post (X's timeout: 15 s)


class QueueError(ValueError):
    """A queue action that cannot be done now; ``code`` is for the API's error shape."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReplyQueue:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def add(self, item: dict[str, Any]) -> bool:
        """Queue an item once (a re-run triage job adds nothing)."""
        item = {
            "status": "open",
            "claimed_by": None,
            "first_response_at": None,
            "resolved_at": None,
            "reopened": 0,
            "history": [],
            **item,
        }
        mention_id = item["mention_id"]
        key, mention_key = ITEM.format(id=mention_id), RECORD.format(id=mention_id)

        def write(pipe: redis.client.Pipeline) -> bool:
            if pipe.exists(key):
                return False
            mention = pipe.get(mention_key)
            pipe.multi()
            pipe.set(key, json.dumps(item))
            pipe.zadd(ALL, {mention_id: datetime.fromisoformat(item["received_at"]).timestamp()})
            _index_writes(pipe, item)
            status_writes(pipe, mention_id, mention, "queued")
            return True

        return self.connection.transaction(write, key, mention_key, value_from_callable=True)

    def get(self, mention_id: str) -> dict[str, Any] | None:
        raw = self.connection.get(ITEM.format(id=mention_id))
        return json.loads(raw) if raw else None

    def working_view(
        self, now: datetime, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Open and claimed items, soonest due first (from ``offset``), flagged overdue or
        warning."""
        ids = [raw.decode() for raw in self.connection.zrange(BY_DUE, offset, offset + limit - 1)]
        items = [self.get(i) for i in ids]
        return [with_clock(item, now) for item in items if item]

    def waiting(self) -> int:
        """How many items are open or claimed (the working view shows the first 100)."""
        return self.connection.zcard(BY_DUE)

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

    def recently_answered(self, limit: int = 20) -> list[dict[str, Any]]:
        """Replied and dismissed items, the latest changed first: where they are resolved,
        or reopened when the answer did not hold."""
        if limit <= 0:  # ZREVRANGE's stop of -1 would mean "all of them"
            return []
        ids = self.connection.zrevrange(ANSWERED, 0, limit - 1)
        return [item for item in (self.get(raw.decode()) for raw in ids) if item]

    def items(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        ids = self.connection.zrangebyscore(ALL, since.timestamp(), f"({until.timestamp()}")
        return [item for item in (self.get(raw.decode()) for raw in ids) if item]

    def claim(self, mention_id: str, person: str, now: datetime) -> dict:
        def change(item):
            if item["status"] == "claimed" and item["claimed_by"] != person:
                raise QueueError("claimed", f"{item['claimed_by']} is already answering this")
            _require(item, {"open", "claimed"}, "claim")
            item.update(status="claimed", claimed_by=person)
            return "claimed", ""

        return self._change(mention_id, person, now, change)

    def release(
        self, mention_id: str, person: str, now: datetime, *, take_back: bool = False
    ) -> dict:
        """Give a claimed item back to the queue. Its holder may; with ``take_back`` (an
        admin, or the API asked to) anyone may, so that an item claimed by someone who
        went off shift does not stay stuck."""

        def change(item):
            _require(item, {"claimed"}, "release")
            if not take_back:
                _owner(item, person)
            _not_sending(item, now, "release it")
            holder = item["claimed_by"]
            item.update(status="open", claimed_by=None)
            return "released", "" if holder == person else f"taken back from {holder}"

        return self._change(mention_id, person, now, change)

    def edit_draft(self, mention_id: str, person: str, text: str, now: datetime) -> dict:
        """Save a person's text as the draft, made safe by ``revise_draft``: what was
        removed and the tone warnings are in the draft and the history."""

        def change(item):
            _require(item, {"open", "claimed"}, "edit")
            _owner(item, person)
            _not_sending(item, now, "edit the draft")
            # Whoever writes the reply holds it: nobody else edits or sends it meanwhile.
            item.update(status="claimed", claimed_by=person)
            try:
                draft = revise_draft(item.get("draft") or {}, text, item["channel"])
            except UnsafeReplyError as error:
                raise QueueError("invalid_field", f"text: {error}") from None
            item["draft"] = {**draft, "edited_by": person}
            notes = [f"removed: {', '.join(draft['redacted'])}"] if draft["redacted"] else []
            if draft["tone"]:
                notes.append(f"{len(draft['tone'])} tone warning(s)")
            if not draft["fits_x"] and item["channel"] == "x":
                notes.append(f"{draft['x_length']} of {X_LIMIT} characters on X: too long")
            return "draft-edited", "; ".join(notes)

        return self._change(mention_id, person, now, change)

    def begin_send(
        self, mention_id: str, person: str, now: datetime, approved: str | None = None
    ) -> dict:
        """Reserve the item for posting its draft: it becomes claimed by ``person`` and
        marked as sending, so a second send (a double click, another tab, someone else)
        is refused until this one ends with ``mark_replied`` or ``send_failed``.

        Refused when the item is not open or claimed by ``person``, has no draft, has a
        draft too long for X, or (with ``approved``, the ``draft_digest`` of the text the
        person read) when the draft changed since; a send that began more than
        ``SENDING_STALE_S`` ago and never ended (the process died mid-post) no longer
        blocks."""

        def change(item):
            _require(item, {"open", "claimed"}, "send")
            _owner(item, person)
            _not_sending(item, now, "send it again")
            draft = item.get("draft") or {}
            if not draft.get("text"):
                raise QueueError("invalid_field", "text: there is no draft to send")
            if approved is not None and approved != draft_digest(draft["text"]):
                editor = draft.get("edited_by") or "someone"
                raise QueueError(
                    "conflict",
                    f"the draft changed since you read it ({editor} edited it): "
                    "read it again, then send",
                )
            if item["channel"] == "x" and not draft.get("fits_x", True):
                raise QueueError(
                    "invalid_field",
                    f"text: the draft is {draft.get('x_length')} characters as X counts them, "
                    f"over X's {X_LIMIT}: shorten it first",
                )
            item.update(status="claimed", claimed_by=person, sending_since=now.isoformat())
            return "sending", ""

        return self._change(mention_id, person, now, change)

    def send_failed(self, mention_id: str, person: str, now: datetime, reason: str) -> dict:
        """End ``person``'s send that X refused (nothing was posted): the item stays
        claimed by them, and can be sent again."""

        def change(item):
            if item.get("sending_since") is None or item["claimed_by"] != person:
                raise QueueError("conflict", f"no send of {person}'s under way to end")
            item["sending_since"] = None
            return "send-failed", reason

        return self._change(mention_id, person, now, change)

    def mark_replied(
        self, mention_id: str, person: str, now: datetime, how: str, reply_url: str | None = None
    ) -> dict:
        """Record the reply: by hand (``reply_url`` None; the sender may, to settle a send
        whose outcome X left unclear), or as the end of ``person``'s own send."""

        def change(item):
            _require(item, {"open", "claimed"}, "mark replied")
            _owner(item, person)
            item.update(status="replied", replied_by=person, reply_url=reply_url)
            item["sending_since"] = None
            item["first_response_at"] = item["first_response_at"] or now.isoformat()
            return "replied", how

        return self._change(mention_id, person, now, change)

    def dismiss(self, mention_id: str, person: str, reason: str, now: datetime) -> dict:
        if not reason.strip():
            raise QueueError("invalid_field", "reason: say why this needs no answer")

        def change(item):
            _require(item, {"open", "claimed"}, "dismiss")
            _owner(item, person)
            _not_sending(item, now, "dismiss it")
            item.update(status="dismissed", dismissed_reason=reason)
            return "dismissed", reason

        return self._change(mention_id, person, now, change)

    def resolve(self, mention_id: str, person: str, now: datetime) -> dict:
        def change(item):
            _require(item, {"replied"}, "resolve")
            item["resolved_at"] = now.isoformat()
            return "resolved", ""

        return self._change(mention_id, person, now, change)

    def reopen(self, mention_id: str, person: str, now: datetime) -> dict:
        def change(item):
            _require(item, {"replied", "dismissed"}, "reopen")
            was_resolved = bool(item.get("resolved_at"))
            item.update(status="open", claimed_by=None, resolved_at=None)
            if was_resolved:  # the playbook's reopened rate: resolutions that did not hold
                item["reopened"] += 1
            return "reopened", "" if was_resolved else "not resolved before"

        return self._change(mention_id, person, now, change)

    def _change(self, mention_id: str, person: str, now: datetime, change) -> dict:
        """Apply ``change`` to the item in one transaction with its indexes and its
        mention's status (what ``GET /api/mentions?status=`` filters on)."""
        key, mention_key = ITEM.format(id=mention_id), RECORD.format(id=mention_id)

        def transaction(pipe: redis.client.Pipeline):
            raw = pipe.get(key)
            if raw is None:
                raise QueueError("not_found", f"no queue item for {mention_id}")
            mention = pipe.get(mention_key)
            item = json.loads(raw)
            event, detail = change(item)
            item["history"].append(
                {"at": now.isoformat(), "actor": person, "event": event, "detail": detail}
            )
            pipe.multi()
            pipe.set(key, json.dumps(item))
            _index_writes(pipe, item)
            status = {"replied": "replied", "dismissed": "dismissed"}.get(item["status"], "queued")
            status_writes(pipe, mention_id, mention, status)
            return item

        return self.connection.transaction(transaction, key, mention_key, value_from_callable=True)


def _index_writes(pipe: redis.client.Pipeline, item: dict) -> None:
    """Queue the index writes for the item's state: the working view's order, and the
    unanswered items' due and near-due times that ``sla_counts`` counts."""
    mention_id = item["mention_id"]
    waiting = item["status"] in ("open", "claimed")
    if waiting:
        pipe.zadd(BY_DUE, {mention_id: _due_score(item)})
    else:
        pipe.zrem(BY_DUE, mention_id)
    if waiting and not item.get("first_response_at"):
        pipe.zadd(UNANSWERED_BY_DUE, {mention_id: _due_score(item)})
        pipe.zadd(UNANSWERED_BY_WARN, {mention_id: _due_score(item, "warn_at")})
    else:
        pipe.zrem(UNANSWERED_BY_DUE, mention_id)
        pipe.zrem(UNANSWERED_BY_WARN, mention_id)
    if waiting or not item["history"]:
        pipe.zrem(ANSWERED, mention_id)
    else:  # replied or dismissed: scored by its latest change (the history's last entry)
        changed = datetime.fromisoformat(item["history"][-1]["at"]).timestamp()
        pipe.zadd(ANSWERED, {mention_id: changed})


def draft_digest(text: str) -> str:
    """A short digest of a draft's text: the page sends back the one it showed, so that
    a draft edited meanwhile is not posted unread."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def with_clock(item: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The item with its SLA state for ``now``: ok, warning or overdue."""
    state = "ok"
    if item.get("due_at") and not item.get("first_response_at"):
        if now >= datetime.fromisoformat(item["due_at"]):
            state = "overdue"
        elif item.get("warn_at") and now >= datetime.fromisoformat(item["warn_at"]):
            state = "warning"
    text = (item.get("draft") or {}).get("text") or ""
    return {**item, "sla_state": state, "draft_digest": draft_digest(text)}


def _due_score(item: dict, field: str = "due_at") -> float:
    due = item.get(field)
    return datetime.fromisoformat(due).timestamp() if due else NO_DUE


def _require(item: dict, allowed: set[str], action: str) -> None:
    if item["status"] not in allowed:
        raise QueueError("conflict", f"cannot {action}: the item is {item['status']}")


def _not_sending(item: dict, now: datetime, action: str) -> None:
    since = item.get("sending_since")
    if since and (now - datetime.fromisoformat(since)).total_seconds() < SENDING_STALE_S:
        raise QueueError(
            "conflict",
            f"cannot {action}: {item['claimed_by']} is posting the reply on X right now",
        )


def _owner(item: dict, person: str) -> None:
    if item["status"] == "claimed" and item["claimed_by"] != person:
        raise QueueError(
            "claimed",
            f"{item['claimed_by']} is answering this: ask them to release it "
            "(an admin can take it back)",
        )
