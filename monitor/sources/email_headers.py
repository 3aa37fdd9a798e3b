"""The headers of a support e-mail that an automatic answer depends on, kept with the mention.

RFC 3834 says when a responder must stay silent (``Auto-Submitted``, a null
``Return-Path``) and the mailing-list and bulk headers say when a person did not write to
us; ``Reply-To``, ``From``, ``Message-ID`` and ``References`` say where an answer goes and
which conversation it joins. They are kept in the mention's raw payload under
``HEADERS_KEY`` (lower-case names, one bounded line each), read by ``desk.auto_reply``.
"""

from __future__ import annotations

from email.message import EmailMessage, Message

HEADERS_KEY = "headers"
KEPT_HEADERS = (
    "message-id",
    "in-reply-to",
    "references",
    "reply-to",
    "from",
    "return-path",
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-auto-response-suppress",
)
MAX_HEADER_CHARS = 2_000  # a References chain of some 30 ids; longer ones are cut from the front


def kept_headers(message: EmailMessage | Message) -> dict[str, str]:
    """The ``KEPT_HEADERS`` that ``message`` has, each unfolded to one line. A header
    that does not parse (a broken encoded word) is kept as its raw text."""
    kept: dict[str, str] = {}
    for name in KEPT_HEADERS:
        value = _header(message, name)
        if value is None:
            continue
        line = " ".join(value.split())
        kept[name] = line[-MAX_HEADER_CHARS:] if name == "references" else line[:MAX_HEADER_CHARS]
    return kept


def _header(message: EmailMessage | Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # the policy's parser gave up on it
        raw = dict((key.lower(), text) for key, text in message.raw_items()).get(name)
        return str(raw) if raw is not None else None
    return None if value is None else str(value)
