"""The support mailbox's automatic confirmation, as a ``ChannelBot`` and the RQ job it queues.

``MailBot.after_triage`` queues ``send_auto_reply`` for each triaged e-mail and returns: the
job, on the ``write-back`` queue (served after paging, the P0 lane and triage), decides
with ``desk.auto_reply``, takes the conversation's once-a-day key (``SET NX`` with a
two-day expiry) *before* it sends, and gives the key back only when the send failed in a
way a retry may fix, so that a redelivered mention, a re-run triage or a retried job never
mails twice.

One sender gets at most ``SENDER_DAILY_CAP`` confirmations a day, whatever the number of
conversations it opens: RFC 3834 (section 2) asks a responder to limit how often it
answers one address, and the count is what stops a loop with a machine that ignores
``Auto-Submitted`` (its every answer would be a new conversation). A send that failed in a
way a retry may fix gives its place in the count back, as it gives the thread's key. Without
``HARK_SMTP_HOST`` and ``HARK_SMTP_FROM`` the bot is a dry run: the same decisions, and a
record of what would have been sent instead of sending it.

Every outcome is pushed on the Redis list ``AUTO_REPLY_LOG`` (newest first, the last
``LOG_LENGTH`` kept): sent, dry-run, skipped (and why), already-answered (this thread
today), sender-capped, retrying, failed. A record names the recipient by an opaque tag,
never by address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, Protocol

from pydantic import SecretStr
from rq import Queue, Retry
from rq.job import get_current_job
from rq.serializers import JSONSerializer

from desk.auto_reply import AutoReply, Skip, build_message, once_key, plan_auto_reply
from desk.mentions import MentionStore
from desk.records import StoredMention
from monitor.smtp_sender import (
    SmtpRejected,
    SmtpSender,
    SmtpSettings,
    SmtpSettingsError,
    SmtpUnavailable,
    TlsMode,
)
from services.context import Services
from services.jobs import WRITE_BACK_QUEUE
from vocabulary.loggable import loggable

_log = logging.getLogger(__name__)

AUTO_REPLY_LOG = "hark:auto-reply:log"
LOG_LENGTH = 1_000
ONCE_TTL = timedelta(days=2)  # the key names its day; it only has to outlive it
SEND_RETRIES = (30, 120, 600)  # seconds before each retry of a send that may pass later
JOB_TIMEOUT_S = 60  # connect, STARTTLS, login and DATA, each bounded by SMTP_TIMEOUT_S
# Confirmations one address receives a day. Three covers a person who writes about two or
# three separate problems in a day (each is worth confirming); past that, a person has
# had their confirmation, and a machine that ignores Auto-Submitted (an auto-responder
# that opens a new conversation with each answer, a ticketing system) is held to three
# messages a day instead of a loop.
SENDER_DAILY_CAP = 3
SENDER_COUNT = "hark:auto-reply:sender:{day:%Y-%m-%d}:{digest}"
TLS_MODES: dict[str, TlsMode] = {"starttls": "starttls", "tls": "tls", "none": "none"}
_RELEASE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class MailBot:
    """``sender`` is None for the dry run. ``own_addresses`` are the support mailbox's
    (never answered, never answered to)."""

    from_address: str
    own_addresses: frozenset[str]
    sender: SmtpSender | None = None
    name: str = "email"

    def after_correction(self, services: Services, mention: StoredMention) -> None:
        """Nothing: a confirmation of receipt says nothing of the priority."""

    def after_triage(
        self, services: Services, mention: StoredMention, incident_id: str | None
    ) -> None:
        if mention.channel != "email":
            return
        digest = hashlib.sha256(mention.id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        Queue(WRITE_BACK_QUEUE, connection=services.connection, serializer=JSONSerializer).enqueue(
            send_auto_reply,
            mention.id,
            job_id=f"auto-reply-{digest}",
            description="e-mail auto-reply",
            retry=Retry(max=len(SEND_RETRIES), interval=list(SEND_RETRIES)),
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=0,
            failure_ttl=7 * 86_400,
        )


def send_auto_reply(services: Services, mention_id: str) -> str:
    """The job: confirm receipt of the stored e-mail ``mention_id`` at most once a day per
    conversation. Returns the outcome; raises ``SmtpUnavailable`` for RQ to retry."""
    bot = next((bot for bot in services.bots if isinstance(bot, MailBot)), None)
    mention = MentionStore(services.connection).get(mention_id)
    if bot is None or mention is None:
        reason = "this worker has no mail bot" if bot is None else "the mention is not stored"
        return _record(services, mention_id, "skipped", reason=reason)
    plan = plan_auto_reply(mention, bot.own_addresses)
    if isinstance(plan, Skip):
        return _record(services, mention_id, "skipped", reason=plan.reason)
    now = services.clock()
    key, token = once_key(plan.thread, now), uuid.uuid4().hex
    if not services.connection.set(key, token, nx=True, ex=ONCE_TTL):
        return _record(services, mention_id, "already-answered", reason="this thread, today")
    counted = sender_count_key(plan.to, now)
    if _count_sender(services, counted) > SENDER_DAILY_CAP:
        # The thread's key stays: today this conversation would be refused again anyway.
        services.connection.decr(counted)
        reason = f"this sender had {SENDER_DAILY_CAP} confirmations today"
        return _record(services, mention_id, "sender-capped", reason=reason)
    message = build_message(plan, bot.from_address, now)
    if bot.sender is None:
        return _record(
            services, mention_id, "dry-run", reply=plan, message_id=message["Message-ID"]
        )
    try:
        bot.sender.send(message)
    except SmtpUnavailable as error:
        services.connection.eval(_RELEASE_IF_OURS, 1, key, token)
        services.connection.decr(counted)
        job = get_current_job()
        outcome = "retrying" if job is not None and job.retries_left else "failed"
        _record(services, mention_id, outcome, reason=str(error), reply=plan)
        raise
    except SmtpRejected as error:  # the key stays: today's tries would be refused too
        _log.warning("auto-reply to %s refused: %s", loggable(mention_id), error)
        return _record(services, mention_id, "failed", reason=str(error), reply=plan)
    return _record(services, mention_id, "sent", reply=plan, message_id=message["Message-ID"])


def sender_count_key(address: str, day: datetime) -> str:
    """The Redis counter of confirmations sent to ``address`` on ``day`` (a digest of the
    address, never the address itself)."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]
    return SENDER_COUNT.format(day=day, digest=digest)


def _count_sender(services: Services, key: str) -> int:
    with services.connection.pipeline() as pipe:
        pipe.incr(key)
        pipe.expire(key, ONCE_TTL)
        count, _ = pipe.execute()
    return int(count)


def auto_reply_records(services: Services, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` outcomes, newest first."""
    return [json.loads(raw) for raw in services.connection.lrange(AUTO_REPLY_LOG, 0, limit - 1)]


def _record(
    services: Services,
    mention_id: str,
    outcome: str,
    *,
    reason: str = "",
    reply: AutoReply | None = None,
    message_id: str | None = None,
) -> str:
    record: dict[str, Any] = {
        "at": services.clock().isoformat(),
        "mention_id": mention_id,
        "outcome": outcome,
    }
    if reason:
        record["reason"] = reason
    if reply is not None:
        record |= {
            "to": recipient_tag(reply.to),
            "subject": reply.subject,
            "in_reply_to": reply.in_reply_to,
            "references": list(reply.references),
            "auto_submitted": "auto-replied",
            "language": reply.language,
            "security": reply.security,
            "text": reply.text,
        }
    if message_id:
        record["message_id"] = message_id
    pipe = services.connection.pipeline()
    pipe.lpush(AUTO_REPLY_LOG, json.dumps(record, ensure_ascii=False))
    pipe.ltrim(AUTO_REPLY_LOG, 0, LOG_LENGTH - 1)
    pipe.execute()
    return outcome


def recipient_tag(address: str) -> str:
    """The opaque tag ``monitor.sources.email`` gives a sender without a display name."""
    return "sender-" + hashlib.sha256(address.lower().encode()).hexdigest()[:10]


# -- wiring ----------------------------------------------------------------------------------


class MailSettings(Protocol):
    """The settings the bot reads (``hark.settings.Settings`` has them)."""

    @property
    def smtp_host(self) -> str | None: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def smtp_user(self) -> str | None: ...
    @property
    def smtp_password(self) -> SecretStr | None: ...
    @property
    def smtp_from(self) -> str | None: ...
    @property
    def smtp_tls(self) -> str: ...
    @property
    def imap_user(self) -> str | None: ...


def mail_bot_from(settings: MailSettings) -> MailBot:
    """The mailbox's bot: it sends with HARK_SMTP_HOST and HARK_SMTP_FROM, and is a dry run
    with neither. Raises ``SmtpSettingsError`` (naming the variable) when only one is set,
    when HARK_SMTP_FROM is no address, or for HARK_SMTP_TLS=none on a host not loopback."""
    host, sender = (settings.smtp_host or "").strip(), (settings.smtp_from or "").strip()
    if bool(host) != bool(sender):
        missing = "HARK_SMTP_FROM" if host else "HARK_SMTP_HOST"
        raise SmtpSettingsError(
            f"the e-mail auto-reply needs both HARK_SMTP_HOST and HARK_SMTP_FROM: set {missing}"
            " (or unset the other for a dry run)"
        )
    own = frozenset(
        _address_of(address).lower()
        for address in (sender, settings.smtp_user or "", settings.imap_user or "")
        if "@" in address
    )
    if not host:
        return MailBot(from_address="support@localhost", own_addresses=own)
    if "@" not in sender or any(char in sender for char in "\r\n"):
        raise SmtpSettingsError(f"HARK_SMTP_FROM: {sender!r} is not an e-mail address")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    tls = TLS_MODES.get(settings.smtp_tls)
    if tls is None:
        raise SmtpSettingsError(
            f"HARK_SMTP_TLS: {settings.smtp_tls!r} is not starttls, tls or none"
        )
    smtp = SmtpSettings(
        host=host,
        port=settings.smtp_port,
        sender=_address_of(sender),
        tls=tls,
        user=settings.smtp_user or None,
        password=password,
    )
    return MailBot(from_address=sender, own_addresses=own, sender=SmtpSender(smtp))


def _address_of(sender: str) -> str:
    """'Caro support <support@caro-cli.dev>' -> 'support@caro-cli.dev' (the envelope's)."""
    return parseaddr(sender)[1] or sender
