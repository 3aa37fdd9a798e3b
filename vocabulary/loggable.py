"""Sender-controlled text made fit for a log line.

A mention's id, author, subject and URL are chosen by whoever sent the message: an id once
carried an e-mail address and an API key into the worker log. ``loggable(value)`` is what a
log call (or an RQ job description, which RQ logs) shows of such a value: redacted
(``vocabulary.redact``, and a key glued on by a hyphen), on one line (no line break, escape
or other control character to forge a line with) and at most ``MAX_LOGGED_CHARS`` long.

``install_log_redaction()`` is the net under it, installed by the worker: every log record the
process creates, RQ's own included, has its message, arguments and traceback redacted as it
is made. It works through ``logging``'s record factory rather than a filter because a filter
is per logger or per handler, and RQ adds its own handlers when it starts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from vocabulary.redact import PLACEHOLDERS, find_pii, redact

__all__ = ["MAX_LOGGED_CHARS", "install_log_redaction", "loggable", "redacted"]

MAX_LOGGED_CHARS = 120  # a mention id is at most 200; a log line needs only enough to find it
_MAX_ARGUMENT_CHARS = 8_000  # a traceback passed as an argument (RQ's failures) stays readable
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARK = "_hark_redacting"  # set on the installed factory, so that it wraps only once


def loggable(value: object, limit: int = MAX_LOGGED_CHARS) -> str:
    """``value`` as it may appear in a log line: redacted, one line, at most ``limit``
    characters (an ellipsis marks a cut)."""
    text = _CONTROL.sub(" ", redacted(str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redacted(text: str) -> str:
    """``redact(text)``, stricter where a log line needs it: a key glued to what precedes it by
    a hyphen ("m2-ghp_...", which ``redact`` reads as part of a longer word and keeps) goes
    too. Hyphens are read as spaces in a second search for secrets only (a number after a
    hyphen is an id, not a phone number), one character for one, so that the spans of both
    searches are offsets into ``text``."""
    glued = [span for span in find_pii(text.replace("-", " ")) if span[0] == "secret"]
    spans = sorted([*find_pii(text), *glued], key=lambda span: (span[1], -span[2]))
    merged: list[tuple[str, int, int]] = []
    for kind, start, end in spans:
        if merged and start < merged[-1][2]:
            first_kind, first_start, first_end = merged[-1]
            merged[-1] = (first_kind, first_start, max(first_end, end))
        else:
            merged.append((kind, start, end))
    parts, last = [], 0
    for kind, start, end in merged:
        parts += [text[last:start], PLACEHOLDERS[kind]]
        last = end
    return redact("".join(parts) + text[last:])


def install_log_redaction() -> None:
    """Redact every log record this process creates from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, _MARK, False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _redact_record(record)
        return record

    setattr(redacting_factory, _MARK, True)
    logging.setLogRecordFactory(redacting_factory)


def _redact_record(record: logging.LogRecord) -> None:
    """Redact ``record``'s message, arguments and traceback in place. A number stays a
    number (``%d`` must still format it); anything else is shown as redacted text."""
    if isinstance(record.msg, str):
        record.msg = redacted(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {key: _argument(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_argument(value) for value in record.args)
    if record.exc_info and not record.exc_text:
        record.exc_text = redacted(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redacted(record.stack_info)


def _argument(value: object) -> object:
    """A log call's argument, redacted and cut; its line breaks kept (RQ passes a failed
    job's traceback as one). The values a sender controls reach log calls through
    ``loggable``, which also keeps them on one line."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = redacted(str(value))
    return text if len(text) <= _MAX_ARGUMENT_CHARS else text[: _MAX_ARGUMENT_CHARS - 1] + "…"
