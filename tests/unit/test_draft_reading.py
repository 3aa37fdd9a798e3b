"""``draft_reply`` with the message: no reply where none is needed, nothing asked twice, the
writer's language (or English with a note), and every translation loads in the playbook's
voice. The messages are the launch-day sample's."""

from __future__ import annotations

import pytest

from desk.drafts import (
    CHANNELS,
    InvalidVersionError,
    ReplyTemplates,
    draft_fixed_in,
    draft_reply,
    load_templates,
)
from desk.drafts.language import TEMPLATE_LANGUAGES
from desk.drafts.template_set import RESERVED_IDS, sample_context
from desk.drafts.tone import destructive_command
from tests.unit.test_draft_facts import GITHUB_ISSUE

P0 = {"priority": "P0", "category": "other", "kind": "bug"}
P3 = {"priority": "P3", "category": "other", "kind": "other"}
RUSSIAN = (
    "caro падает сразу при запуске, любая команда → `Segmentation fault (core dumped)`. "
    "версия 1.2.0, arch linux. вообще ничего не работает 😢"
)
GERMAN = "caro 1.2.0 stürzt beim Start sofort ab, sogar `caro --version` → Speicherzugriffsfehler."
CHINESE = (
    "caro 1.2.0 一启动就崩溃 😭 随便输什么都是 `thread 'main' panicked`，连 `caro --version` 都不行"
)
SPANISH = "desde que actualicé a la 1.2.0 caro se cierra nada más abrirlo 😩 no funciona nada"
ITALIAN = "da quando ho aggiornato alla 1.2.0 caro si chiude subito, non funziona niente"


@pytest.fixture(scope="module")
def shipped() -> ReplyTemplates:
    return load_templates()


def test_an_unsubscribe_email_gets_a_no_reply_suggestion(shipped):
    text = "Subject: unsubscribe\n\nplease remove me from this list\n\nSent from my iPhone"
    draft = draft_reply(shipped, triage=P3, channel="email", author="Jo", message=text)
    assert (draft.template_id, draft.reply_needed) == ("no-reply-needed", False)
    assert "unsubscribe request" in draft.note
    assert "uname" not in draft.text and "version" not in draft.text


def test_spam_gets_no_reply_and_the_bug_template_is_never_used(shipped):
    text = "🚀 @CaroCLI Claim your $CARO airdrop before it's gone!!! https://t.co/x #airdrop"
    draft = draft_reply(shipped, triage=P3, channel="x", author="@bot", message=text)
    assert not draft.reply_needed and draft.template_id == "no-reply-needed"


def test_a_github_issue_that_gave_everything_is_asked_nothing_again(shipped):
    draft = draft_reply(shipped, triage=P0, channel="github", author="dev", message=GITHUB_ISSUE)
    assert draft.already_given == ("version", "os", "command", "error")
    assert "caro --version" not in draft.text and "uname -a" not in draft.text
    assert "error message" not in draft.text and "What you ran" not in draft.text
    assert "list files" not in draft.text and "panicked" not in draft.text  # never quoted
    fallback = draft_reply(shipped, triage=P3, channel="github", author="", message=GITHUB_ISSUE)
    assert fallback.template_id == "fallback" and "could you share" not in fallback.text


def test_only_what_is_missing_is_asked(shipped):
    draft = draft_reply(shipped, triage=P0, channel="github", author="", message="1.2.0 crashes")
    assert draft.already_given == ("version",)
    assert "caro --version" not in draft.text and "uname -a" in draft.text
    assert "What you ran" in draft.text and "error message" in draft.text


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        (RUSSIAN, "ru", "Спасибо"),
        (GERMAN, "de", "Danke"),
        (CHINESE, "zh", "感谢"),
        (SPANISH, "es", "Gracias"),
    ],
)
def test_launch_day_crash_reports_are_answered_in_their_language(shipped, text, language, words):
    for channel in CHANNELS:
        draft = draft_reply(shipped, triage=P0, channel=channel, author="", message=text)
        assert (draft.language, draft.template_id, draft.note) == (language, "p0", "")
        assert words in draft.text and draft.tone == []
        assert draft.fits_x or channel != "x"
        assert "version" in draft.already_given


def test_the_channels_language_label_is_trusted(shipped):
    draft = draft_reply(shipped, triage=P3, channel="x", author="", message="ok", language="ja")
    assert draft.language == "ja" and "ありがとう" in draft.text


def test_a_language_without_templates_is_drafted_in_english_with_a_note(shipped):
    draft = draft_reply(shipped, triage=P0, channel="discord", author="", message=ITALIAN)
    assert (
        draft.language == "en" and draft.note == "No Italian template for this: drafted in English."
    )
    untranslated = {"priority": "P0", "category": "privacy", "kind": "bug"}
    japanese = "社内検証の結果、caro 1.2.1 がプロンプトのコンテキストとして環境変数を送信しています"
    leak = draft_reply(shipped, triage=untranslated, channel="email", author="", message=japanese)
    assert leak.template_id == "p0-privacy" and leak.language == "en"
    assert leak.note == "No Japanese template for this: drafted in English."


def test_without_the_message_drafts_are_as_before(shipped):
    draft = draft_reply(shipped, triage=P0, channel="github", author="")
    assert (draft.language, draft.reply_needed, draft.already_given, draft.note) == (
        "en",
        True,
        (),
        "",
    )
    assert "caro --version" in draft.text


@pytest.mark.parametrize("text", ["", "   ", "x" * 2_000_000, "Hola 你好 hello привет"])
def test_bad_input_still_gives_a_draft(shipped, text):
    draft = draft_reply(shipped, triage=P0, channel="x", author="", message=text)
    assert draft.text and draft.fits_x


def test_personal_data_in_the_message_never_reaches_the_draft(shipped):
    text = "caro 1.2.0 crashes, mail me at ana@example.com, server 10.0.0.7, macOS 14"
    draft = draft_reply(shipped, triage=P0, channel="email", author="", message=text)
    assert "ana@example.com" not in draft.text and "10.0.0.7" not in draft.text
    assert draft.already_given == ("version", "os")  # "crashes" is no error text


LANGUAGES = [language for language in TEMPLATE_LANGUAGES if language != "en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_translates_the_most_used_templates(shipped, language):
    translation = shipped.translations[language]
    ids = {template.id for template in translation}
    assert ids >= {
        "p0",
        "generated-command",
        "question",
        "p1-installation",
        "feature-request",
        "praise",
        "fallback",
        "no-reply-needed",
        "fixed-in",
    }
    for template in translation:
        base = shipped[template.id]
        for channel in CHANNELS:
            body = template.x_text if channel == "x" and template.x_text else template.text
            text = body.render(sample_context(base.when, channel, author="Ana"))
            assert text.strip() and destructive_command(text) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_fixed_in_follow_up_in_each_language(shipped, language):
    draft = draft_fixed_in(
        shipped, version="v1.2.1", channel="x", author="", message="", language=language
    )
    assert draft.template_id == "fixed-in" and draft.language == language
    assert "v1.2.1" in draft.text and draft.fits_x and draft.tone == []


@pytest.mark.parametrize(
    "version", ["1.2", "v1.2.1-beta", "latest", "1.2.1; rm -rf /", "", "v 1.2.1"]
)
def test_fixed_in_refuses_what_is_not_a_release_number(shipped, version):
    with pytest.raises(InvalidVersionError):
        draft_fixed_in(shipped, version=version, channel="github", author="")


def test_reserved_templates_are_never_chosen_by_triage(shipped):
    for template_id in RESERVED_IDS:
        assert shipped.get(template_id) is not None
    for kind in ("bug", "feature", "question", "praise", "other"):
        chosen = shipped.select(priority="P3", category="other", kind=kind, channel="email")
        assert chosen.id not in RESERVED_IDS
