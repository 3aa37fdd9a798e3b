"""The e-mail confirmation sent for real: mentions go through intake and a burst worker, the
mail bot's job talks to an aiosmtpd server on loopback, and the tests read what it received."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hark.settings import Settings
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.mention import Mention
from monitor.smtp_sender import SmtpSender, SmtpSettings
from monitor.sources.email import mention_from_email
from monitor.sources.email_headers import HEADERS_KEY, kept_headers
from services import mail_bot as mail_bot_module
from services.context import Services
from services.intake import Intake
from services.mail_bot import MailBot, auto_reply_records, mail_bot_from, send_auto_reply

SUPPORT = "support@caro-cli.dev"
FROM = f"Caro support <{SUPPORT}>"
QUESTION = "How do I change the default shell caro uses for generated commands? Thank you!"
SECURITY = (
    "I found a command injection vulnerability in caro: a crafted prompt makes it run "
    "arbitrary code without asking."
)


class Inbox:
    """An aiosmtpd handler that keeps what it accepts; ``answers`` are DATA replies to
    give first (e.g. "451 ..." for a temporary failure)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.answers: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers:
            return self.answers.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def services(redis_conn, shipped_rules, smtp_server) -> Services:
    """A worker's services with the mail bot as ``mail_bot_from`` builds it for a loopback
    server without TLS; sends are retried at once (RQ's retry interval 0)."""
    _, port = smtp_server
    settings = Settings(
        _env_file=None, smtp_host="127.0.0.1", smtp_port=port, smtp_from=FROM, smtp_tls="none"
    )
    base = worker_services(redis_conn, shipped_rules)
    return dataclasses.replace(base, bots=(mail_bot_from(settings),))


@pytest.fixture(autouse=True)
def retry_at_once(monkeypatch):
    monkeypatch.setattr(mail_bot_module, "SEND_RETRIES", (0, 0))


def email(
    text: str = QUESTION,
    *,
    uid: int = 1,
    subject: str = "Question about the shell",
    sender: str = "Ana Example <ana@example.org>",
    message_id: str = "<first.1@example.org>",
    **headers: str,
) -> Mention:
    """A mention as the IMAP poller makes it, with the headers the answer needs kept."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    raw = message.as_bytes()
    mention = mention_from_email(raw, f"uid-1-{uid}", datetime.now(UTC))
    parsed = message_from_bytes(raw, policy=policy.default)
    return mention.model_copy(
        update={"raw": {**(mention.raw or {}), HEADERS_KEY: kept_headers(parsed)}}
    )


def deliver(services: Services, *mentions: Mention) -> None:
    intake = Intake(services.connection)
    for mention in mentions:
        intake.submit(mention)
    run_worker(services, burst=True, with_scheduler=False)


def outcomes(services: Services) -> list[str]:
    return [record["outcome"] for record in reversed(auto_reply_records(services))]


def test_an_email_is_confirmed_once_threaded_and_marked_auto_replied(services, smtp_server):
    inbox, _ = smtp_server
    deliver(services, email(Reply_To="Ana <ana.work@example.com>"))
    assert len(inbox.received) == 1
    envelope_from, recipients, message = inbox.received[0]
    assert envelope_from == SUPPORT
    assert recipients == ["ana.work@example.com"]
    assert message["To"] == "ana.work@example.com"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Subject"] == "Re: Question about the shell"
    assert message["In-Reply-To"] == "<first.1@example.org>"
    assert message["References"] == "<first.1@example.org>"
    assert message["From"] == FROM
    body = message.get_content()
    assert "reached us" in body and "4 hours" not in body
    assert outcomes(services) == ["sent"]


def test_one_answer_per_thread_per_day(services, smtp_server):
    inbox, _ = smtp_server
    first = email()
    follow_up = email(
        "Also: the config file seems to be ignored.",
        uid=2,
        message_id="<second.2@example.org>",
        In_Reply_To="<first.1@example.org>",
        References="<first.1@example.org>",
    )
    deliver(services, first, follow_up)
    assert len(inbox.received) == 1
    assert outcomes(services) == ["sent", "already-answered"]

    # The same stored mention again (a redelivered job, a re-run triage): nothing more.
    send_auto_reply(services, first.id)
    assert len(inbox.received) == 1

    # The next day, the same conversation is confirmed again, threaded under its root.
    tomorrow = dataclasses.replace(services, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    send_auto_reply(tomorrow, follow_up.id)
    assert len(inbox.received) == 2
    message = inbox.received[1][2]
    assert message["In-Reply-To"] == "<second.2@example.org>"
    assert message["References"] == "<first.1@example.org> <second.2@example.org>"


def test_a_security_report_names_the_four_hour_target(services, smtp_server):
    inbox, _ = smtp_server
    deliver(services, email(SECURITY, subject="Security issue in caro"))
    assert len(inbox.received) == 1
    assert "within 4 hours" in inbox.received[0][2].get_content()


def test_one_sender_gets_at_most_the_cap_a_day(services, smtp_server):
    """A sender opening many conversations (or a machine that ignores Auto-Submitted and
    answers each confirmation with a new message) gets SENDER_DAILY_CAP confirmations a
    day, not one per conversation; others are still answered, and the next day counts anew."""
    inbox, _ = smtp_server
    cap = mail_bot_module.SENDER_DAILY_CAP
    loop = [
        email(f"Caro crashes again, attempt {n}.", uid=n, message_id=f"<loop.{n}@example.com>")
        for n in range(1, cap + 3)
    ]
    deliver(services, *loop)
    assert len(inbox.received) == cap
    assert outcomes(services) == ["sent"] * cap + ["sender-capped"] * 2
    assert {rcpt for _, rcpts, _ in inbox.received for rcpt in rcpts} == {"ana@example.org"}

    other = email(uid=90, sender="Bo <bo@example.net>", message_id="<bo.1@example.net>")
    deliver(services, other)
    assert inbox.received[-1][1] == ["bo@example.net"]

    tomorrow = dataclasses.replace(services, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    assert send_auto_reply(tomorrow, loop[-1].id) == "sent"


def test_the_cap_counts_replies_to_the_reply_to_address(services, smtp_server):
    """The cap is on the address answered: changing From while keeping Reply-To does not
    get round it."""
    inbox, _ = smtp_server
    cap = mail_bot_module.SENDER_DAILY_CAP
    deliver(
        services,
        *[
            email(
                uid=n,
                sender=f"Robot {n} <robot{n}@example.com>",
                message_id=f"<r.{n}@example.com>",
                Reply_To="tickets@example.com",
            )
            for n in range(1, cap + 2)
        ],
    )
    assert len(inbox.received) == cap


def test_a_temporary_failure_gives_the_senders_place_back(services, smtp_server, monkeypatch):
    monkeypatch.setattr(mail_bot_module, "SENDER_DAILY_CAP", 1)
    inbox, _ = smtp_server
    inbox.answers = ["451 4.3.0 try again later"]
    deliver(services, email())
    assert len(inbox.received) == 1
    assert outcomes(services) == ["retrying", "sent"]


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("Ana <ana@example.org>", {"Auto_Submitted": "auto-replied"}),
        ("Ana <ana@example.org>", {"Precedence": "bulk"}),
        ("Ana <ana@example.org>", {"List_Id": "<users.lists.example.org>"}),
        ("GitHub <noreply@github.com>", {}),
        ("MAILER-DAEMON@mx.example.org", {}),
        (FROM, {}),
    ],
)
def test_machines_lists_and_ourselves_are_not_answered(services, smtp_server, sender, headers):
    inbox, _ = smtp_server
    deliver(services, email(sender=sender, **headers))
    assert inbox.received == []
    assert outcomes(services) == ["skipped"]


def test_a_temporary_failure_is_retried_and_sent_once(services, smtp_server):
    inbox, _ = smtp_server
    inbox.answers = ["451 4.3.0 try again later"]
    deliver(services, email())
    assert len(inbox.received) == 1
    assert outcomes(services) == ["retrying", "sent"]


def test_a_permanent_refusal_is_recorded_and_not_retried(services, smtp_server):
    inbox, _ = smtp_server
    inbox.answers = ["550 5.7.1 relaying denied", "250 would have taken it"]
    deliver(services, email())
    assert inbox.received == []
    records = auto_reply_records(services)
    assert [record["outcome"] for record in records] == ["failed"]
    assert "550" in records[0]["reason"]


def test_the_dry_run_records_what_it_would_send(redis_conn, shipped_rules, smtp_server):
    inbox, _ = smtp_server
    dry = dataclasses.replace(
        worker_services(redis_conn, shipped_rules),
        bots=(mail_bot_from(Settings(_env_file=None)),),
    )
    deliver(dry, email(SECURITY, subject="Security issue"))
    assert inbox.received == []
    (record,) = auto_reply_records(dry)
    assert record["outcome"] == "dry-run"
    assert record["auto_submitted"] == "auto-replied"
    assert record["in_reply_to"] == "<first.1@example.org>"
    assert record["subject"] == "Re: Security issue"
    assert record["security"] and "within 4 hours" in record["text"]
    assert "ana@example.org" not in str(record)  # the recipient is a tag


def test_starttls_is_required_never_skipped(redis_conn, shipped_rules, smtp_server):
    """The test server offers no STARTTLS: nothing goes out in clear text."""
    inbox, port = smtp_server
    settings = Settings(
        _env_file=None, smtp_host="127.0.0.1", smtp_port=port, smtp_from=FROM, smtp_tls="starttls"
    )
    strict = dataclasses.replace(
        worker_services(redis_conn, shipped_rules), bots=(mail_bot_from(settings),)
    )
    deliver(strict, email())
    assert inbox.received == []
    (record,) = auto_reply_records(strict)
    assert record["outcome"] == "failed" and "STARTTLS" in record["reason"]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Inbox, int, str]]:
    """An SMTP server that requires STARTTLS, with a self-signed certificate for 127.0.0.1."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield inbox, port, str(cert)
    controller.stop()


def _starttls_bot(port: int, cafile: str | None) -> MailBot:
    smtp = SmtpSettings(host="127.0.0.1", port=port, sender=SUPPORT, tls="starttls", cafile=cafile)
    return MailBot(from_address=FROM, own_addresses=frozenset({SUPPORT}), sender=SmtpSender(smtp))


def test_starttls_with_a_verified_certificate_delivers(redis_conn, shipped_rules, tls_server):
    inbox, port, cafile = tls_server
    services = dataclasses.replace(
        worker_services(redis_conn, shipped_rules), bots=(_starttls_bot(port, cafile),)
    )
    deliver(services, email())
    assert len(inbox.received) == 1


def test_an_unverified_certificate_is_refused(redis_conn, shipped_rules, tls_server):
    inbox, port, _ = tls_server
    services = dataclasses.replace(
        worker_services(redis_conn, shipped_rules), bots=(_starttls_bot(port, None),)
    )
    deliver(services, email())
    assert inbox.received == []
    (record,) = auto_reply_records(services)
    assert record["outcome"] == "failed" and "certificate" in record["reason"]
