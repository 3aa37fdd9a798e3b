"""Incident titles and what a report says about its problem (version, platform, cause)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall.paging import human_duration
from oncall.signatures import caro_version, named_cause, platform
from oncall.titles import PAGERDUTY_SUMMARY_CHARS, clean_title, cut_at_word


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "[Bug]: 1.2.0 segfaults on launch (macOS 14, Homebrew)\n\n### Caro Version\n\n1.2.0",
            "1.2.0 segfaults on launch (macOS 14, Homebrew)",
        ),
        ("Subject: Caro crashes on launch\n\nHi,\n\nbody", "Caro crashes on launch"),
        ("### Caro Version\n\n1.2.0\n\n### Operating System\n\nmacOS 14", "1.2.0 macOS 14"),
        ("**Caro version:** 1.1.4\n**OS:** Debian 12\n\nFork bomb", "1.1.4 Debian 12 Fork bomb"),
        (
            "see [the docs](https://caro.dev/x) and `caro --help` *now*",
            "see the docs and caro --help now",
        ),
        ("```\n$ caro\nsegfault\n```\nmail ana@example.com", "$ caro segfault mail [email]"),
    ],
)
def test_a_title_has_no_markdown_and_no_personal_data(text, title):
    assert clean_title(text) == title
    assert clean_title(title) == title  # cleaning twice changes nothing


def test_a_long_title_is_cut_at_a_word_with_an_ellipsis():
    text = "caro crashes on launch every single time " * 10
    title = clean_title(text, 60)
    assert len(title) <= 60 and title.endswith("…")
    assert text.startswith(title[:-1]) and text[len(title) - 1] == " "  # a whole word kept
    assert len(cut_at_word("x" * 2000, PAGERDUTY_SUMMARY_CHARS)) == PAGERDUTY_SUMMARY_CHARS


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("caro 1.2.0 crashes, rolled back to 1.1.3", "1.2.0"),
        ("### Caro Version\ncaro 1.2.0 (x86_64)\n### OS\nUbuntu 22.04.4 LTS", "1.2.0"),
        ("Ubuntu 22.04.4 LTS, crashes", None),
        ("crashes talking to 203.0.113.7 since this morning", None),
        ("the proxy at 203.0.113 is down", None),
        ("@CaroCLI 1.2.2 is DOA on apple silicon", "1.2.2"),
    ],
)
def test_the_caro_version_is_only_version_shaped_text(text, version):
    assert caro_version(text) == version


def test_platform_and_cause():
    assert platform("macOS 14.4 (Apple Silicon)") == "macOS (Apple Silicon)"
    assert platform("Ubuntu 24.04 (not WSL)") == "Linux (Ubuntu)"
    assert named_cause("thread 'main' panicked at src/platform/detect.rs: sw_vers") == (
        "platform-detection"
    )
    assert named_cause("panicked at src/config/loader.rs:88: unknown field `model_path`") == (
        "config"
    )
    assert named_cause("launch → `zsh: killed     caro`") == "killed"
    assert named_cause("zsh: segmentation fault  caro --version") is None


@pytest.mark.parametrize(
    ("window", "text"),
    [(timedelta(minutes=15), "15 min"), (timedelta(hours=1), "1 h"),
     (timedelta(minutes=90), "1 h 30 min"), (timedelta(seconds=1), "1 s")],
)  # fmt: skip
def test_durations_read_as_people_say_them(window, text):
    assert human_duration(window) == text
