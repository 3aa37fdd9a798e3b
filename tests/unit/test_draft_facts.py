"""What a message gave (version, platform, command, error), read from its redacted text, so
that its draft does not ask for it again; shapes from the launch-day sample and the corpus."""

from __future__ import annotations

import pytest

from desk.drafts.facts import facts_given
from vocabulary.redact import redact

GITHUB_ISSUE = (
    "[Bug]: 1.2.0 panics on every invocation, including --help\n\n### Caro Version\n\n"
    "caro 1.2.0 (x86_64-unknown-linux-gnu)\n\n### Operating System\n\nUbuntu 22.04.4 LTS\n\n"
    "### Bug Description\n\n```\n$ caro \"list files\"\nthread 'main' panicked at "
    "src/main.rs:42:10\n```"
)


@pytest.mark.parametrize(
    ("text", "given"),
    [
        (GITHUB_ISSUE, ("version", "os", "command", "error")),
        (
            "caro падает сразу при запуске, любая команда → `Segmentation fault (core dumped)`. "
            "версия 1.2.0, arch linux. вообще ничего не работает 😢",
            ("version", "os", "error"),
        ),
        (
            "caro 1.2.0 stürzt beim Start sofort ab, sogar `caro --version` → "
            "Speicherzugriffsfehler. komplett unbenutzbar",
            ("version", "command", "error"),
        ),
        (
            "caro 1.2.0 一启动就崩溃 😭 随便输什么都是 `thread 'main' panicked`，"
            "连 `caro --version` 都不行",
            ("version", "command", "error"),
        ),
        (
            "Todos os comandos retornam erro\n\n**Versão:** 1.2.2\n**SO:** Pop!_OS 22.04\n\n"
            "```\nError: command validation failed: unknown tool `find`\n```",
            ("version", "os", "error"),
        ),
        ("Subject: unsubscribe\n\nplease remove me from this list\n\nSent from my iPhone", ()),
        ("any plans for a VS Code extension?", ()),
        ("", ()),
    ],
)
def test_the_facts_a_message_gave(text, given):
    assert facts_given(redact(text)).names() == given


@pytest.mark.parametrize(
    "text",
    [
        "my server is 10.1.2.3 and it fails",  # an IP address is no version
        "Ubuntu 22.04.4 LTS",  # the OS's version
        "python 3.11.4 here, requires rustc 1.80.0",  # other programs' versions
        "version 1.2.0.1",  # four parts: an address, redacted as one
        "it costs 3,50€",
    ],
)
def test_other_numbers_are_not_caro_versions(text):
    assert not facts_given(redact(text)).version


@pytest.mark.parametrize(
    "text",
    ["caro 1.2.0", "v1.2.0", "caro@1.2.1", "1.2.0 via brew", "since 1.2.1.", "is 1.2.0 broken?"],
)
def test_version_shaped_text_is_a_version(text):
    assert facts_given(text).version


def test_a_huge_message_is_read_quickly_and_only_its_start_counts():
    text = "caro is great " * 50_000 + "caro 1.2.0 panicked"
    assert facts_given(text).names() == ()
