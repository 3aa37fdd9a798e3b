"""The support mailbox's automatic confirmation: whether to send one, to whom, and what (pure).

RFC 3834 sets the rules for an automatic responder: never answer what a machine sent
(``Auto-Submitted`` other than "no"), a bounce (an empty ``Return-Path``), bulk or list mail
(``Precedence``, ``List-*``), a no-reply address, or ourselves; answer the ``Reply-To``
address, else ``From``; mark the answer ``Auto-Submitted: auto-replied`` and thread it with
``In-Reply-To`` and ``References``. Once a day per conversation, and a few a day per
address, are enforced by the caller (``services.mail_bot``), the first with the key
``once_key`` gives.

The headers are the ones ``monitor.sources.email_headers`` keeps in the mention's raw
payload; a stored e-mail without them is not answered, since nothing says it was not
sent by a machine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Any

from desk.auto_reply_text import confirmation_text
from desk.drafts.language import writer_language
from desk.records import StoredMention
from rules.result import TriageRecord
from vocabulary.redact import redact

HEADERS_KEY = "headers"  # monitor.sources.email_headers.HEADERS_KEY
NO_REPLY_LOCAL_PARTS = frozenset(
    {
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "mailer-daemon",
        "postmaster",
    }
)
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
SECURITY_CATEGORIES = frozenset({"privacy", "security"})
SECURITY_SIGNAL_CATEGORIES = frozenset({"privacy", "security", "safety"})
MAX_SUBJECT_CHARS = 150
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class Skip:
    """No confirmation for this message, and why (for the record; no personal data)."""

    reason: str


@dataclass(frozen=True)
class AutoReply:
    """A confirmation to send: ``thread`` is the conversation's first Message-ID (or the
    mention id when it has none), which ``once_key`` turns into the once-a-day key."""

    mention_id: str
    to: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    thread: str
    language: str
    security: bool
    text: str


def plan_auto_reply(mention: StoredMention, own_addresses: Collection[str]) -> AutoReply | Skip:
    """The confirmation ``mention`` gets, or why it gets none."""
    if mention.channel != "email":
        return Skip("not an e-mail")
    headers = kept_headers(mention.raw)
    if headers is None:
        return Skip("the message's headers were not kept: nothing says a person sent it")
    own = {address.lower() for address in own_addresses}
    reason = silence_reason(headers, own)
    if reason:
        return Skip(reason)
    to = reply_address(headers)
    if to is None:
        return Skip("no address to answer")
    if to.lower() in own:
        return Skip("the answer would go to the support address itself")
    if is_no_reply(to):
        return Skip("the reply address is a no-reply address")
    message_id = first_message_id(headers.get("message-id", ""))
    references = message_ids(headers.get("references", "")) or message_ids(
        headers.get("in-reply-to", "")
    )
    security = is_security_report(mention.triage)
    language, text = confirmation_text(
        writer_language(mention.text, mention.language), security=security
    )
    return AutoReply(
        mention_id=mention.id,
        to=to,
        subject=reply_subject(str((mention.raw or {}).get("subject", ""))),
        in_reply_to=message_id,
        references=(*references, message_id) if message_id else references,
        thread=references[0] if references else message_id or mention.id,
        language=language,
        security=security,
        text=text,
    )


def kept_headers(raw: Mapping[str, Any] | None) -> dict[str, str] | None:
    headers = (raw or {}).get(HEADERS_KEY)
    if not isinstance(headers, Mapping):
        return None
    return {str(name).lower(): str(value) for name, value in headers.items()}


def silence_reason(headers: Mapping[str, str], own: Collection[str]) -> str | None:
    """Why RFC 3834 (or plain sense) says not to answer a message with ``headers``."""
    auto_submitted = _token(headers.get("auto-submitted", "no"))
    if auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    if headers.get("return-path", "").strip() == "<>":
        return "a bounce (empty Return-Path)"
    precedence = _token(headers.get("precedence", ""))
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in LIST_HEADERS:
        if headers.get(name, "").strip():
            return f"mailing-list mail ({name})"
    suppress = {_token(part) for part in headers.get("x-auto-response-suppress", "").split(",")}
    if suppress & {"all", "autoreply", "oof"}:
        return "X-Auto-Response-Suppress"
    _, sender = parseaddr(headers.get("from", ""))
    if sender.lower() in own:
        return "sent by the support address itself"
    if sender and is_no_reply(sender):
        return "sent from a no-reply address"
    return None


def reply_address(headers: Mapping[str, str]) -> str | None:
    """The first valid address in Reply-To, else in From (RFC 5322 3.6.2)."""
    for name in ("reply-to", "from"):
        for _, address in getaddresses([headers.get(name, "")]):
            if _ADDRESS.match(address):
                return address
    return None


def is_no_reply(address: str) -> bool:
    local = address.rsplit("@", 1)[0].lower().split("+", 1)[0]
    return local in NO_REPLY_LOCAL_PARTS or local.startswith(("bounce", "noreply", "no-reply"))


def is_security_report(triage: TriageRecord) -> bool:
    """A privacy or security category, a safety report at P0 (a destructive command let
    through), or any P0 rule of those categories that fired (a security signal that a
    counter-signal kept from deciding the level)."""
    if triage.category in SECURITY_CATEGORIES:
        return True
    if triage.category == "safety" and triage.priority == "P0":
        return True
    return any(
        "P0" in rule.levels and rule.weight > 0 and rule.category in SECURITY_SIGNAL_CATEGORIES
        for rule in triage.rules
    )


def reply_subject(subject: str) -> str:
    """'Re: ' and the subject, redacted, on one line, bounded; one 'Re:' only."""
    line = " ".join(redact(subject).split())[:MAX_SUBJECT_CHARS]
    while line[:3].lower() == "re:":
        line = line[3:].lstrip()
    return f"Re: {line}" if line else "Re: your message to Caro support"


def message_ids(value: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value))


def first_message_id(value: str) -> str | None:
    found = message_ids(value)
    return found[0] if found else None


def once_key(thread: str, day: datetime) -> str:
    """The Redis key that stands for "this conversation was answered on ``day``"."""
    digest = hashlib.sha256(thread.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"hark:auto-reply:once:{day:%Y-%m-%d}:{digest}"


def build_message(reply: AutoReply, sender: str, now: datetime) -> EmailMessage:
    """The confirmation as a message: RFC 3834's ``Auto-Submitted: auto-replied``, threaded
    under the message it answers, with Microsoft's header asking other responders not to
    answer it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply.to
    message["Subject"] = reply.subject
    message["Date"] = format_datetime(now)
    _, sender_address = parseaddr(sender)
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or None)
    if reply.in_reply_to:
        message["In-Reply-To"] = reply.in_reply_to
    if reply.references:
        message["References"] = " ".join(reply.references)
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = reply.language
    message.set_content(reply.text)
    return message


def _token(value: str) -> str:
    """A header's value without parameters or comments, lower case: 'Auto-Replied; x=y'
    is 'auto-replied'."""
    return re.sub(r"\(.*?\)", "", value).split(";", 1)[0].strip().lower()
