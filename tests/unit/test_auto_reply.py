"""The e-mail confirmation's decisions (RFC 3834), its text and its settings; no network."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from desk.auto_reply import AutoReply, Skip, build_message, once_key, plan_auto_reply
from desk.auto_reply_text import CONFIRMATIONS
from desk.drafts.tone import tone_problems
from desk.records import StoredMention
from hark.settings import Settings
from monitor.smtp_sender import SmtpSettings, SmtpSettingsError
from monitor.sources.email import mention_from_email
from monitor.sources.email_headers import HEADERS_KEY, kept_headers
from rules import Engine
from services.mail_bot import mail_bot_from

NOW = datetime(2026, 1, 24, 15, 0, tzinfo=UTC)
SUPPORT = "support@caro-cli.dev"
QUESTION = "How do I change the default shell caro uses for generated commands? Thanks a lot."
SECURITY = (
    "I found a command injection vulnerability in caro: a crafted prompt makes it run "
    "arbitrary code without asking."
)


def stored_email(
    engine: Engine,
    body: str = QUESTION,
    *,
    subject: str = "Question about the shell",
    sender: str = "Ana Example <ana@example.org>",
    headers: dict[str, str] | None = None,
    keep_headers: bool = True,
) -> StoredMention:
    """A stored, triaged e-mail as the IMAP poller and the triage job would leave it, with
    its headers kept (what monitor/sources/email.py is asked to add)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = "<first.1@example.org>"
    message["Date"] = "Sat, 24 Jan 2026 14:00:00 +0000"
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = value
    message.set_content(body)
    raw = message.as_bytes()
    mention = mention_from_email(raw, "uid-1-1", NOW).model_dump(mode="json")
    parsed = message_from_bytes(raw, policy=policy.default)
    assert mention["raw"][HEADERS_KEY] == kept_headers(parsed)  # the parser keeps them
    if not keep_headers:  # a mention stored before the headers were kept
        del mention["raw"][HEADERS_KEY]
    triage = engine.classify(mention["text"], "email").record()
    return StoredMention.triaged(mention, triage, NOW)


def planned(engine: Engine, *args, **kwargs) -> AutoReply:
    plan = plan_auto_reply(stored_email(engine, *args, **kwargs), {SUPPORT})
    assert isinstance(plan, AutoReply), plan
    return plan


def test_a_question_is_confirmed_to_its_sender_in_the_thread(shipped):
    plan = planned(shipped)
    assert plan.to == "ana@example.org"
    assert plan.subject == "Re: Question about the shell"
    assert plan.in_reply_to == "<first.1@example.org>"
    assert plan.references == ("<first.1@example.org>",)
    assert plan.thread == "<first.1@example.org>"
    assert plan.language == "en" and not plan.security
    assert "4 hours" not in plan.text


def test_reply_to_wins_over_from(shipped):
    plan = planned(shipped, headers={"Reply-To": "Ana <ana.work@example.com>"})
    assert plan.to == "ana.work@example.com"


def test_a_follow_up_joins_the_first_message_thread(shipped):
    plan = planned(
        shipped,
        headers={
            "Message-ID": "<third.3@example.org>",
            "In-Reply-To": "<second.2@caro-cli.dev>",
            "References": "<first.1@example.org> <second.2@caro-cli.dev>",
        },
    )
    assert plan.thread == "<first.1@example.org>"
    assert plan.in_reply_to == "<third.3@example.org>"
    assert plan.references == (
        "<first.1@example.org>",
        "<second.2@caro-cli.dev>",
        "<third.3@example.org>",
    )
    assert once_key(plan.thread, NOW) == once_key("<first.1@example.org>", NOW)
    assert once_key(plan.thread, NOW) != once_key(plan.thread, datetime(2026, 1, 25, tzinfo=UTC))


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, None, "Auto-Submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y.org"}, None, "Auto-Submitted"),
        ({"Auto-Submitted": "Auto-Notified (out of office)"}, None, "Auto-Submitted"),
        ({"Precedence": "bulk"}, None, "Precedence"),
        ({"Precedence": "List"}, None, "Precedence"),
        ({"Precedence": "junk"}, None, "Precedence"),
        ({"List-Id": "Caro users <users.caro-cli.dev>"}, None, "mailing-list"),
        ({"List-Unsubscribe": "<mailto:leave@lists.example.org>"}, None, "mailing-list"),
        ({"Return-Path": "<>"}, None, "bounce"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, None, "Suppress"),
        ({}, "Shop <noreply@shop.example>", "no-reply"),
        ({}, "no-reply@github.com", "no-reply"),
        ({}, "Mail Delivery System <MAILER-DAEMON@mx.example.org>", "no-reply"),
        ({}, "postmaster@example.org", "no-reply"),
        ({}, f"Caro support <{SUPPORT}>", "support address"),
        ({"Reply-To": SUPPORT}, None, "support address"),
        ({"Reply-To": "donotreply@example.org"}, None, "no-reply"),
    ],
)
def test_machines_lists_no_reply_senders_and_ourselves_get_no_answer(
    shipped, headers, sender, reason
):
    mention = stored_email(shipped, headers=headers, sender=sender or "ana@example.org")
    plan = plan_auto_reply(mention, {SUPPORT})
    assert isinstance(plan, Skip)
    assert reason in plan.reason


def test_auto_submitted_no_is_a_person(shipped):
    assert planned(shipped, headers={"Auto-Submitted": "no"}).to == "ana@example.org"


def test_an_email_whose_headers_were_not_kept_is_not_answered(shipped):
    plan = plan_auto_reply(stored_email(shipped, keep_headers=False), {SUPPORT})
    assert isinstance(plan, Skip) and "headers" in plan.reason


def test_a_security_report_is_told_the_four_hour_target(shipped):
    plan = planned(shipped, SECURITY, subject="Security issue")
    assert plan.security
    assert "within 4 hours" in plan.text
    assert "do not send passwords" in plan.text
    # One promise, the one that applies: not "within one business day" beside it.
    assert "business day" not in plan.text


@pytest.mark.parametrize("language", sorted(CONFIRMATIONS))
def test_a_security_note_makes_one_promise_in_every_language(language):
    text = CONFIRMATIONS[language]
    assert text.timeline not in text.render(security=True)
    assert text.timeline in text.render(security=False)
    assert "4" in text.render(security=True)


def test_a_privacy_leak_is_a_security_report(shipped):
    text = "Caro sends my API keys and environment variables to the server in plain text."
    assert planned(shipped, text, subject="privacy").security


def test_the_confirmation_is_in_the_writers_language(shipped):
    plan = planned(
        shipped,
        "Hola, no sé cómo cambiar el shell que usa caro para los comandos generados. "
        "¿Me podéis ayudar, por favor? Muchas gracias por vuestro trabajo.",
        subject="Pregunta",
    )
    assert plan.language == "es"
    assert plan.text.startswith("Hola:")


def test_a_language_without_a_text_gets_english(shipped):
    plan = planned(
        shipped,
        "Buongiorno, vorrei sapere come cambiare la shell che caro usa per i comandi "
        "generati. Grazie mille per il vostro lavoro, è davvero utile.",
    )
    assert plan.language == "en"


def test_nothing_personal_is_quoted(shipped):
    plan = planned(
        shipped,
        "My key sk-abcdefghijklmnop1234 and my address ana@example.org, see /home/ana/x",
        subject="Re: RE: problem for ana@example.org with key sk-abcdefghijklmnop1234",
    )
    assert plan.subject.startswith("Re: ") and not plan.subject.lower().startswith("re: re")
    message = build_message(plan, f"Caro support <{SUPPORT}>", NOW)
    for secret in ("ana@example.org", "sk-abcdefghijklmnop1234", "/home/ana"):
        assert secret not in plan.subject
        assert secret not in message.get_content()


def test_a_subject_cannot_add_a_header(shipped):
    mention = stored_email(shipped)
    raw = {**(mention.raw or {}), "subject": "hi\r\nBcc: victim@example.net"}
    plan = plan_auto_reply(mention.model_copy(update={"raw": raw}), {SUPPORT})
    assert isinstance(plan, AutoReply)
    message = build_message(plan, SUPPORT, NOW)
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])


def test_the_message_is_marked_auto_replied_and_threaded(shipped):
    plan = planned(shipped)
    message = build_message(plan, f"Caro support <{SUPPORT}>", NOW)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<first.1@example.org>"
    assert message["References"] == "<first.1@example.org>"
    assert message["To"] == "ana@example.org"
    assert message["Message-ID"].endswith("@caro-cli.dev>")


@pytest.mark.parametrize("language", sorted(CONFIRMATIONS))
def test_every_text_keeps_the_playbook_tone(language):
    for security in (False, True):
        text = CONFIRMATIONS[language].render(security=security)
        assert not tone_problems(text)
        assert ("4" in text) == security


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]"])
def test_clear_text_smtp_is_allowed_on_loopback(host):
    assert SmtpSettings(host=host, port=2525, sender=SUPPORT, tls="none").tls == "none"


@pytest.mark.parametrize("host", ["smtp.example.org", "10.0.0.5", "0.0.0.0"])
def test_clear_text_smtp_is_refused_elsewhere(host):
    with pytest.raises(SmtpSettingsError, match="HARK_SMTP_TLS=none"):
        SmtpSettings(host=host, port=25, sender=SUPPORT, tls="none")


def test_the_bot_is_a_dry_run_until_host_and_sender_are_set():
    bot = mail_bot_from(Settings(_env_file=None))
    assert bot.sender is None
    live = mail_bot_from(
        Settings(_env_file=None, smtp_host="smtp.example.org", smtp_from=f"Caro <{SUPPORT}>")
    )
    assert live.sender is not None and live.sender.settings.sender == SUPPORT
    assert SUPPORT in live.own_addresses


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"smtp_host": "smtp.example.org"}, "HARK_SMTP_FROM"),
        ({"smtp_from": SUPPORT}, "HARK_SMTP_HOST"),
        ({"smtp_host": "smtp.example.org", "smtp_from": "support"}, "HARK_SMTP_FROM"),
        ({"smtp_host": "smtp.example.org", "smtp_from": SUPPORT, "smtp_tls": "none"}, "TLS"),
    ],
)
def test_half_or_unsafe_settings_are_refused_naming_the_variable(settings, variable):
    with pytest.raises(SmtpSettingsError, match=variable):
        mail_bot_from(Settings(_env_file=None, **settings))
