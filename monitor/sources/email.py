"""Support-mailbox messages as Mentions; pure code (parsing, no network).

The text is the subject and the body: the plain-text part when there is one, HTML reduced
to text otherwise, with quoted replies and signatures trimmed so the rules see what the
sender wrote now. The sender's address is personal data: the author is their display name,
or an opaque tag when there is none.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from monitor.mention import Mention, make_mention
from monitor.sources.email_headers import HEADERS_KEY, kept_headers

_REPLY_HEADER = re.compile(
    r"^(On .{0,200}wrote:|Le .{0,200}a écrit ?:|Am .{0,200}schrieb .{0,100}:|El .{0,200}escribió:"
    r"|Em .{0,200}escreveu:|-{2,}\s*Original Message\s*-{2,}|From: .+)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(
    r"^(-- ?|Sent from my .+|Envoyé de mon .+|Enviado desde mi .+)$", re.MULTILINE
)


class _TextOfHtml(HTMLParser):
    _BLOCKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "head"}:
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    return html.unescape("".join(parser.parts))


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content().replace("\r\n", "\n")
    text = html_to_text(content) if part.get_content_subtype() == "html" else content
    return trim_reply(text)


def trim_reply(text: str) -> str:
    """Drop what the sender quoted (a reply header and everything after it, '>' lines)
    and their signature."""
    text = text.replace("\r\n", "\n")
    reply = _REPLY_HEADER.search(text)
    if reply:
        text = text[: reply.start()]
    signature = _SIGNATURE.search(text)
    if signature:
        text = text[: signature.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def mention_from_email(raw: bytes, fallback_id: str, now: datetime) -> Mention:
    message = message_from_bytes(raw, policy=policy.default)
    name, address = parseaddr(str(message.get("From", "")))
    subject = str(message.get("Subject", "")).strip()
    message_id = str(message.get("Message-ID", "")).strip().strip("<>")
    native_id = re.sub(r"\s", "", message_id)[:200] or fallback_id
    try:
        created = parsedate_to_datetime(str(message["Date"])) if message["Date"] else now
    except (TypeError, ValueError):
        created = now
    tag = "sender-" + hashlib.sha256(address.lower().encode()).hexdigest()[:10]
    return make_mention(
        channel="email",
        native_id=native_id,
        now=now,
        author=name.strip() or tag,
        text=f"{subject}\n\n{body_text(message)}".strip(),
        created_at=created,
        thread_id=str(message.get("In-Reply-To", "")).strip("<> ") or None,
        raw={
            "message_id": message_id,
            "subject": subject,
            "from": address,
            "uid": fallback_id,
            HEADERS_KEY: kept_headers(message),  # what the auto-reply needs (RFC 3834)
        },
    )
