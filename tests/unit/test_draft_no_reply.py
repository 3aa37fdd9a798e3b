"""Messages that need no support answer (unsubscribe, automatic replies, spam, off-topic,
nothing to answer), and the ones that look like them but do."""

from __future__ import annotations

import pytest

from desk.drafts.no_reply import no_reply_reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "Subject: unsubscribe\n\nplease remove me from this list\n\nSent from my iPhone",
            "unsubscribe",
        ),
        ("Тема: рассылка\n\nОтпишите меня, пожалуйста", "unsubscribe"),
        (
            "Subject: Automatic reply: [caro-announce] v1.2.2 released\n\nThank you for your "
            "message. I am out of the office until 24 February.",
            "auto-reply",
        ),
        (
            "🚀🚀 @CaroCLI @rustlang Claim your $CARO airdrop before it's gone!!! 💰 limited spots "
            "https://t.co/fr33m0n3y #airdrop #web3",
            "spam",
        ),
        (
            "Best cheap SEO backlinks 2026 – guaranteed rank #1\n\nWe offer high DA backlinks, "
            "guest posts and PBN packages. Contact on telegram for price list!!!",
            "spam",
        ),
        ("ma quanto è caro il caffè a Milano ☕😩 3,50€!!! #caro #milano", "off-topic"),
        (
            "todo está carísimo, hasta el café está #caro ☕😤 y el alquiler ni hablemos",
            "off-topic",
        ),
        (
            "can't wait for the Caro Emerald concert tonight!!! @CaroCLI oops wrong Caro lol",
            "off-topic",
        ),
        ("@CaroCLI 👀", "no-content"),
        ("", "no-content"),
    ],
)
def test_messages_that_need_no_answer(text, reason):
    found = no_reply_reason(text)
    assert found is not None and found.reason == reason
    assert found.note.startswith("No reply needed")


@pytest.mark.parametrize(
    "text",
    [
        "how do I unsubscribe from telemetry? `caro config telemetry --disable` didn't work",
        "caro 1.2.0 crashes on launch, segfault every single time",
        "caro es super útil pero quisiera un flag `--copy`",
        "the airdrop folder prompt gives `find: illegal option` on macOS",  # a word, a bug
        "Not a bug, just a thank you ❤️\n\nCaro replaced about 40 shell aliases I had.",
        "is caro gdpr compliant? my boss is asking",
    ],
)
def test_support_messages_are_not_taken_for_noise(text):
    assert no_reply_reason(text) is None


def test_a_huge_message_is_read_only_in_its_first_screens():
    assert no_reply_reason("caro crashes on launch " * 100_000 + " unsubscribe") is None
