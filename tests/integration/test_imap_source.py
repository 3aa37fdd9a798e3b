"""The support mailbox: ``ImapPoller`` against a real dovecot over IMAPS on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desk.mentions import MentionStore
from hark.rulebook_files import shipped_rulebook_path
from hark.wiring import worker_services
from hark.worker import run_worker
from monitor.imap_source import ImapPoller, ImapSettings
from monitor.store import MonitorState
from services.intake import Intake
from tests.integration.imap_server import Dovecot

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)


def _mail(
    number: int, subject: str, body: str, *, html: bool = False, sender: str = "Sam Lee"
) -> bytes:
    kind = "text/html" if html else "text/plain"
    return (
        f"From: {sender} <sam.lee{number}@example.com>\r\nTo: support@caro-cli.dev\r\n"
        f"Subject: {subject}\r\nMessage-ID: <msg-{number}@example.com>\r\n"
        f"Date: Sat, 24 Jan 2026 14:0{number % 10}:00 +0000\r\n"
        f"Content-Type: {kind}; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def dovecot():
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def make_poller(dovecot, redis_conn):
    def build(password: str | None = None, mailbox: str = "INBOX") -> ImapPoller:
        settings = ImapSettings(
            "127.0.0.1",
            dovecot.port,
            dovecot.user,
            password or dovecot.password,
            mailbox,
            cafile=dovecot.cafile,
            timeout_s=10,
        )
        return ImapPoller(settings, Intake(redis_conn), MonitorState(redis_conn), lambda: NOW)

    return build


def test_new_messages_by_uid_are_triaged_once(dovecot, make_poller, redis_conn):
    quoted = (
        "Caro leaks my API key into the telemetry payload.\n\nBest,\nSam\n-- \nSam Lee, ACME\n\n"
        "On Fri, Jan 23, 2026 at 9:00 AM Support wrote:\n> Thanks, could you send details?\n"
    )
    dovecot.append(_mail(1, "Privacy problem", quoted))
    dovecot.append(_mail(2, "Question", "<p>How do I <b>change</b> the model?</p>", html=True))
    poller = make_poller()
    report = poller.poll_once()
    assert (report.submitted, report.errors) == (2, [])
    assert poller.poll_once().submitted == 0  # the UID cursor moved

    dovecot.append(_mail(3, "Thanks!", "Love the tool."))
    assert poller.poll_once().submitted == 1

    assert run_worker(worker_services(redis_conn, shipped_rulebook_path()), burst=True)
    store = MentionStore(redis_conn)
    leak = store.get("email:msg-1@example.com")
    assert leak.triage.priority == "P0"
    assert "telemetry payload" in leak.text and "could you send details" not in leak.text
    assert "Sam Lee, ACME" not in leak.text
    assert leak.author == "Sam Lee" and "example.com" not in leak.author
    question = store.get("email:msg-2@example.com")
    assert question.text == "Question\n\nHow do I change the model?"
    assert question.triage.kind == "question"


def test_lost_cursor_duplicates_nothing(dovecot, make_poller, redis_conn):
    poller = make_poller()
    first = poller.poll_once().submitted
    redis_conn.delete("hark:cursor:email:INBOX")  # as if the cursor save had been lost
    again = poller.poll_once()
    assert (again.submitted, again.duplicates) == (0, first)


def test_wrong_password_names_the_settings(make_poller, redis_conn):
    report = make_poller(password="wrong").poll_once()
    assert report.submitted == 0
    assert "HARK_IMAP_PASSWORD" in report.errors[0]
    assert MonitorState(redis_conn).health(NOW)[0]["last_error"] == report.errors[0]


def test_missing_mailbox_names_the_setting(make_poller):
    report = make_poller(mailbox="NoSuchBox").poll_once()
    assert "HARK_IMAP_MAILBOX" in report.errors[0]


def test_untrusted_certificate_is_refused(dovecot, redis_conn):
    settings = ImapSettings("127.0.0.1", dovecot.port, dovecot.user, dovecot.password)
    report = ImapPoller(
        settings, Intake(redis_conn), MonitorState(redis_conn), lambda: NOW
    ).poll_once()
    assert "SSLCertVerificationError" in report.errors[0]


@pytest.mark.system  # a whole `hark` process
def test_hark_poll_reads_the_mailbox(dovecot, redis_url, redis_conn):
    import os
    import subprocess

    from tests.integration.test_triage_quality import hark

    dovecot.append(_mail(8, "Install fails", "brew install caro fails on macOS 14"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_")}
    env.update(
        HARK_REDIS_URL=redis_url,
        HARK_IMAP_HOST="127.0.0.1",
        HARK_IMAP_PORT=str(dovecot.port),
        HARK_IMAP_USER=dovecot.user,
        HARK_IMAP_PASSWORD=dovecot.password,
        HARK_IMAP_CAFILE=dovecot.cafile,
    )
    polled = subprocess.run([hark(), "poll", "--once"], env=env, capture_output=True, text=True)
    assert polled.returncode == 0, polled.stderr
    assert "email: " in polled.stdout and " new," in polled.stdout
    assert dovecot.password not in polled.stdout + polled.stderr
