"""Turning support e-mails into the text the rules should see."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.sources.email import html_to_text, mention_from_email, trim_reply

NOW = datetime(2026, 1, 24, tzinfo=UTC)


def test_quoted_replies_and_signatures_are_trimmed():
    text = (
        "It crashes on launch.\n\nThanks,\nAna\n-- \nAna, Corp\n\nOn Mon, Jan 5, Bob wrote:\n> old"
    )
    assert trim_reply(text) == "It crashes on launch.\n\nThanks,\nAna"
    assert trim_reply("Fixed!\n\nSent from my iPhone") == "Fixed!"
    assert trim_reply("new\n> quoted line\nmore") == "new\nmore"
    assert trim_reply("Bonjour\n\nLe lun. 5 janv. 2026, Bob a écrit :\n> vieux") == "Bonjour"


def test_html_is_reduced_to_text():
    markup = (
        "<html><head><style>p{}</style></head>"
        "<body><p>Hi&nbsp;there</p><div>rm -rf &amp; co</div></body></html>"
    )
    assert html_to_text(markup).split() == ["Hi", "there", "rm", "-rf", "&", "co"]


def test_plain_part_is_preferred_and_sender_address_is_not_the_author():
    raw = (
        b"From: <only.address@example.com>\r\nSubject: Bug\r\nMessage-ID: <m1@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nplain body\r\n"
        b"--XX\r\nContent-Type: text/html\r\n\r\n<p>html body</p>\r\n--XX--\r\n"
    )
    mention = mention_from_email(raw, "uid-1-1", NOW)
    assert mention.id == "email:m1@x"
    assert mention.text == "Bug\n\nplain body"
    assert mention.author.startswith("sender-") and "@" not in mention.author
    assert "only.address" not in repr(mention)  # the raw payload stays out of repr


def test_message_without_id_or_date_gets_the_uid_and_now():
    mention = mention_from_email(b"Subject: x\r\n\r\nhello", "uid-7-42", NOW)
    assert (mention.id, mention.created_at) == ("email:uid-7-42", NOW)
