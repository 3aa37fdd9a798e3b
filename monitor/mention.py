"""The normalized ``Mention``: one message about Caro from any channel."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vocabulary.channels import Channel

FUTURE_SLACK = timedelta(days=1)  # clocks disagree; a year ahead is a typo
# No message about Caro was written before X, GitHub or Discord existed: an older time is a
# default (the epoch, year 1) or a lie, and would sort last (or, far ahead, first) for ever.
EARLIEST_TIME = datetime(2006, 1, 1, tzinfo=UTC)
# The raw data's key for a time a source claimed outside the window (``sane_time``).
CLAIMED_TIME_KEY = "hark_claimed_created_at"
MAX_TEXT_CHARS = 100_000  # longer messages are cut; the raw payload keeps the original


class Mention(BaseModel):
    """A message to triage. ``raw`` keeps the source payload for the record; it is
    excluded from ``repr`` so that it never reaches a log line by accident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str  # "<channel>:<native id>"
    channel: Channel
    native_id: str = Field(min_length=1, max_length=200)
    author: str = Field("", max_length=200)
    text: str
    url: str | None = None
    created_at: datetime
    received_at: datetime
    thread_id: str | None = None
    reply_to: str | None = None
    language: str | None = None
    author_reach: int | None = None
    raw: dict[str, Any] | None = Field(default=None, repr=False)

    @field_validator("text")
    @classmethod
    def _bounded(cls, text: str) -> str:
        return text[:MAX_TEXT_CHARS]

    @field_validator("native_id", "author", "text", "url", "thread_id", "reply_to", "language")
    @classmethod
    def _valid_unicode(cls, value: str | None) -> str | None:
        """A lone surrogate (JSON can carry one) would fail later, in Redis or on a page."""
        if value is not None and not encodable(value):
            raise ValueError("not valid Unicode (a lone surrogate)")
        return value

    @field_validator("created_at", "received_at")
    @classmethod
    def _aware(cls, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def mention_id(channel: str, native_id: str) -> str:
    return f"{channel}:{native_id}"


def sane_time(moment: datetime, received: datetime) -> datetime | None:
    """``moment`` (naive: UTC) when a message can have been written then: not before 2006
    and not more than a day after ``received``; None outside that window. The one window
    every channel's time goes through (``make_mention``, ``incoming_mention``)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        if EARLIEST_TIME <= moment <= received + FUTURE_SLACK:
            return moment
    except OverflowError:  # year 1 at +14:00 has no UTC time
        pass
    return None


def make_mention(*, channel: str, native_id: str, now: datetime, **fields: Any) -> Mention:
    """Build a Mention with its id derived from channel and native id.

    A ``created_at`` outside the sanity window (``sane_time``) becomes ``now``, the time it
    was received; the claimed time is kept in ``raw`` under ``CLAIMED_TIME_KEY``."""
    claimed = fields.get("created_at")
    if isinstance(claimed, datetime) and sane_time(claimed, now) is None:
        fields["created_at"] = now
        fields["raw"] = {**(fields.get("raw") or {}), CLAIMED_TIME_KEY: claimed.isoformat()}
    fields.setdefault("created_at", now)
    return Mention(
        id=mention_id(channel, native_id),
        channel=channel,
        native_id=native_id,
        received_at=now,
        **fields,
    )


class IncomingMessage(BaseModel):
    """The documented shape for ``POST /api/mentions`` and ``hark replay``: one message
    from Discord, e-mail or any relay."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    id: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=MAX_TEXT_CHARS)
    author: str = Field("", max_length=200)
    url: str | None = Field(None, max_length=2000)
    created_at: datetime | None = None
    thread_id: str | None = Field(None, max_length=200)
    reply_to: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=20)
    author_reach: int | None = Field(None, ge=0)

    @field_validator("id")
    @classmethod
    def _printable_id(cls, value: str) -> str:
        """An id goes into keys, URLs and log lines: one printable word."""
        if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
            raise ValueError("one word, without spaces or control characters")
        return value


class InvalidMessage(ValueError):
    """An incoming message that does not fit ``IncomingMessage``; names the field."""


def incoming_mention(payload: Any, now: datetime) -> Mention:
    """Validate an incoming message and make it a Mention (the payload kept as raw)."""
    if not isinstance(payload, dict):
        raise InvalidMessage("body: a message is a JSON object")
    for key in payload:  # pydantic cannot even name such a key in its error
        if not key.isascii() and not encodable(key):
            raise InvalidMessage(f"{key!r}: a key that is not valid Unicode (a lone surrogate)")
    try:
        message = IncomingMessage.model_validate(payload)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidMessage(f"{_field_name(first['loc'])}: {first['msg']}") from None
    created = message.created_at
    if created is not None and sane_time(created, now) is None:
        # The caller can correct its request: refused, where a source's time is replaced.
        if created.year >= EARLIEST_TIME.year:  # it would top every newest-first list
            raise InvalidMessage("created_at: more than a day in the future")
        raise InvalidMessage(f"created_at: before {EARLIEST_TIME:%Y-%m-%d}, no message is that old")
    fields = message.model_dump(exclude={"channel", "id"}, exclude_none=True)
    return make_mention(
        channel=message.channel, native_id=message.id, now=now, raw=payload, **fields
    )


def encodable(text: str) -> bool:
    """False for text with an unpaired surrogate (JSON can carry one; UTF-8 cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_name(loc: tuple) -> str:
    """``author`` as is; a key sent that is not a name (``""``, ``"a b"``) quoted."""
    names = (part if isinstance(part, str) and part.isidentifier() else repr(part) for part in loc)
    return ".".join(names) or "body"


class MentionSink(Protocol):
    """Where a source hands the mentions it read (``services.intake.Intake``): True when
    the mention was new and is queued for triage."""

    def submit(self, mention: Mention) -> bool: ...
