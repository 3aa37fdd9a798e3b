"""The team's corrections to triage: a person changes a stored mention's priority, with a
reason, and every such change is kept as a label.

``decide`` is pure: the mention as stored in, the corrected mention and its label out, or
a ``CorrectionError`` saying why not. ``CorrectionStore.correct`` runs it under WATCH on
the mention and writes, in one MULTI, the corrected record, the move between the
priority indexes ``GET /api/mentions?priority=`` reads, and the label: a reader never sees
one without the others, and a refused correction writes nothing.

Labels are appended to one Redis list (``LABELS``) and never changed or removed: they are
what ``hark labels export`` turns into a corpus for ``hark rules test`` and ``hark model
train``. Nothing personal goes into one: the text and the reason are redacted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import cast

from pydantic import BaseModel, ConfigDict
from redis import Redis
from redis.client import Pipeline

from desk.mentions import BY, RECORD, read_mention
from desk.records import Moment, PriorityCorrection, QueueItem, StoredMention
from desk.sla import due
from rules import Rulebook
from rules.schema import LEVELS, Level
from vocabulary.channels import Channel
from vocabulary.redact import redact

LABELS = "hark:corrections"  # a list of ``CorrectionLabel`` JSON, oldest first
READ_BATCH = 500
MAX_REASON = 1000  # characters: a reason is a sentence or two, kept in every label


class CorrectionError(ValueError):
    """A correction that cannot be made; nothing was changed. ``code`` is for the API."""

    code = "invalid_field"


class UnknownMention(CorrectionError):
    code = "not_found"


class UnknownPriority(CorrectionError):
    code = "invalid_field"


class EmptyReason(CorrectionError):
    code = "invalid_field"


class ReasonTooLong(CorrectionError):
    code = "invalid_field"


class SamePriority(CorrectionError):
    code = "same_priority"


class CorrectionLabel(BaseModel):
    """One correction, as kept: which message (its text redacted), who changed its
    priority from what to what, when and why, and what the engine had said (its level,
    urgency, category, kind and the ids of the rules that fired)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mention_id: str
    channel: Channel
    text: str
    by: str
    at: Moment
    from_priority: str
    to_priority: str
    reason: str
    engine_priority: str
    engine_urgency: str | None = None
    category: str
    kind: str
    rules: tuple[str, ...] = ()


def check_request(priority: str, reason: str) -> str:
    """The reason as it will be kept (stripped), or the error for a level that does not
    exist or an empty reason: checked before anything is read."""
    if priority not in LEVELS:
        raise UnknownPriority(f"priority must be one of {', '.join(LEVELS)}, not {priority!r}")
    kept = reason.strip()
    if not kept:
        raise EmptyReason("reason: say why the priority is wrong")
    if len(kept) > MAX_REASON:
        raise ReasonTooLong(f"reason: at most {MAX_REASON} characters")
    return kept


def decide(
    mention: StoredMention,
    priority: str,
    reason: str,
    person: str,
    now: datetime,
) -> tuple[StoredMention, CorrectionLabel]:
    """The mention at ``priority`` with the correction beside its triage, and the label.

    The triage keeps everything the engine said but its level; its urgency becomes
    "high" for a P0 (a person's P0 is not a suspicion) and none below P0, and ``pages``
    follows P0."""
    kept = check_request(priority, reason)
    before = mention.triage.priority
    if before == priority:
        raise SamePriority(f"{mention.id} is already {priority}")
    engine = mention.correction
    engine_priority = engine.engine_priority if engine else before
    engine_urgency = engine.engine_urgency if engine else mention.triage.urgency
    why = redact(" ".join(kept.split()))
    correction = PriorityCorrection(
        by=person,
        at=now,
        from_priority=before,
        to_priority=priority,
        reason=why,
        engine_priority=engine_priority,
        engine_urgency=engine_urgency,
    )
    triage = mention.triage.model_copy(
        update={
            "priority": priority,
            "urgency": "high" if priority == "P0" else None,
            "pages": priority == "P0",
        }
    )
    corrected = mention.model_copy(update={"triage": triage, "correction": correction})
    label = CorrectionLabel(
        mention_id=mention.id,
        channel=mention.channel,
        text=redact(mention.text),
        by=person,
        at=now,
        from_priority=before,
        to_priority=priority,
        reason=why,
        engine_priority=engine_priority,
        engine_urgency=engine_urgency,
        category=mention.triage.category,
        kind=mention.triage.kind,
        rules=tuple(rule.id for rule in mention.triage.rules),
    )
    return corrected, label


class CorrectionStore:
    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def correct(
        self, mention_id: str, priority: str, reason: str, person: str, now: datetime
    ) -> tuple[StoredMention, StoredMention, CorrectionLabel]:
        """Correct the stored mention's priority: (as it was, as it is now, the label).
        Raises a ``CorrectionError`` (then nothing changed)."""
        check_request(priority, reason)  # refused before Redis is asked anything
        key = RECORD.format(id=mention_id)

        def write(pipe: Pipeline) -> tuple[StoredMention, StoredMention, CorrectionLabel]:
            before = read_mention(pipe, mention_id)
            if before is None:
                raise UnknownMention(f"no mention {mention_id}")
            corrected, label = decide(before, priority, reason, person, now)
            score = before.created_at.timestamp()
            pipe.multi()
            pipe.set(key, corrected.model_dump_json())
            pipe.zrem(BY.format(field="priority", value=before.triage.priority), mention_id)
            pipe.zadd(BY.format(field="priority", value=priority), {mention_id: score})
            pipe.rpush(LABELS, label.model_dump_json())
            return before, corrected, label

        done = self.connection.transaction(write, key, value_from_callable=True)
        return cast(tuple[StoredMention, StoredMention, CorrectionLabel], done)

    def count(self) -> int:
        return cast(int, self.connection.llen(LABELS))

    def labels(self) -> Iterator[CorrectionLabel]:
        """Every label, oldest first, read in batches."""
        start = 0
        while True:
            batch = cast(list[bytes], self.connection.lrange(LABELS, start, start + READ_BATCH - 1))
            for raw in batch:
                yield CorrectionLabel.model_validate_json(raw)
            if len(batch) < READ_BATCH:
                return
            start += READ_BATCH


def latest_per_mention(labels: Iterator[CorrectionLabel]) -> list[CorrectionLabel]:
    """The last label of each mention, in the order their mentions were first corrected:
    a corpus holds one label a message, and the last correction is the team's verdict."""
    latest: dict[str, CorrectionLabel] = {}
    for label in labels:
        latest[label.mention_id] = label
    return list(latest.values())


def reprioritized_item(item: QueueItem, priority: str, rulebook: Rulebook | None) -> QueueItem:
    """The reply-queue item of a corrected mention: at ``priority``, and, given the
    rulebook, due when that level (and the channel) says, counted from when the message
    arrived, as if the rules had said it. Without a rulebook its due times stay."""
    update: dict[str, object] = {"priority": priority}
    if rulebook is not None:
        level = rulebook.priorities[cast(Level, priority)]
        hours, channel, received = rulebook.business_hours, item.channel, item.received_at
        first = due(level, hours, channel, received, "first_response", level=priority)
        resolution = due(level, hours, channel, received, "resolution", level=priority)
        update |= {
            "due_at": first.at,
            "warn_at": first.warn_at,
            "due_reason": first.why,
            "resolution_due_at": resolution.at,
        }
    return item.model_copy(update=update)
