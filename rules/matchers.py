"""The typed registry of condition types: ``keyword``, ``phrase``, ``regex`` and ``shell``.

Keywords and phrases become literals for one shared Aho-Corasick automaton (a single pass
over the text finds every literal of every rule); regular expressions run on RE2, a
linear-time engine, so a pattern such as ``(a+)+$`` cannot hang a worker. ``shell`` names a
kind of destructive command (``destructive``: any), found by ``rules.shell`` with shell
quoting undone, the detector the drafts' refusal uses too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rules import regex
from rules.normalize import normalize
from rules.shell import KINDS

ANY_DESTRUCTIVE = "destructive"  # the ``shell`` pattern for every kind of ``rules.shell``
SHELL_PATTERNS = (ANY_DESTRUCTIVE, *(kind for kind, _ in KINDS))


@dataclass(frozen=True)
class LiteralForm:
    """A literal to look for in normalized text, and whether its ends must sit on word
    boundaries (``crash`` must not match inside ``crashpad``; ``abstürz*`` may run on)."""

    text: str
    left_bounded: bool = True
    right_bounded: bool = True


# Chinese and Japanese have no spaces between words, so for them every position is a
# boundary: ``崩溃`` must be found inside ``程序崩溃了``. Every character from U+2E80 on
# (the CJK blocks and all that follow them) is read that way.
_CJK_AND_AFTER = "\u2e80"

# Every word character: a letter, digit or "_" below U+2E80; the engine's hot loop asks
# ``char in WORD_CHARS`` (a set lookup, cheaper than the str methods behind it).
WORD_CHARS: frozenset[str] = frozenset(
    char for char in map(chr, range(ord(_CJK_AND_AFTER))) if char.isalnum() or char == "_"
)


def is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces (or "_")."""
    return char in WORD_CHARS


_VOWELS = set("aeiou")


def english_forms(word: str) -> list[str]:
    """The regular inflections of an English verb or noun: crash, crashes, crashed, crashing.

    Irregular forms (froze, frozen) are listed by the rule's author.
    """
    forms = {word}
    if word.endswith("e"):
        forms |= {word + "s", word + "d", word[:-1] + "ing"}
    elif word.endswith("y") and len(word) > 2 and word[-2] not in _VOWELS:
        forms |= {word[:-1] + "ies", word[:-1] + "ied", word + "ing"}
    else:
        plural = word + "es" if word.endswith(("s", "sh", "ch", "x", "z")) else word + "s"
        stem = word
        consonant_vowel_consonant = (
            len(word) >= 3
            and word[-1] not in _VOWELS | set("wxy")
            and word[-2] in _VOWELS
            and word[-3] not in _VOWELS
        )
        one_syllable = len(re.findall(r"[aeiou]+", word)) == 1
        if consonant_vowel_consonant and one_syllable:
            stem = word + word[-1]  # stop -> stopped, stopping (but open -> opened)
        forms |= {plural, stem + "ed", stem + "ing"}
    return sorted(forms)


def bounded(text: str, prefix: bool = False) -> LiteralForm:
    """A literal that must stand as whole words; an edge that is punctuation ("?",
    "error:") needs no boundary, and a prefix may run on into a longer word."""
    return LiteralForm(
        text,
        left_bounded=is_word_char(text[0]),
        right_bounded=is_word_char(text[-1]) and not prefix,
    )


def keyword_forms(pattern: str) -> list[LiteralForm]:
    """``crash`` -> its inflections; ``abstürz*`` -> a prefix; ``dyld`` -> itself."""
    text = normalize(pattern)
    if text.endswith("*"):
        return [bounded(text[:-1], prefix=True)]
    if text.isascii() and text.isalpha():
        return [bounded(form) for form in english_forms(text)]
    return [bounded(text)]


def phrase_forms(pattern: str) -> list[LiteralForm]:
    return [bounded(normalize(pattern))]


def _check_keyword(pattern: str) -> None:
    text = normalize(pattern)
    if not text.rstrip("*"):
        raise ValueError("a keyword cannot be empty")
    if " " in text:
        raise ValueError(f"keyword {pattern!r} has a space: write it as a phrase")
    if "*" in text[:-1]:
        raise ValueError(f"keyword {pattern!r}: '*' is allowed only at the end (a prefix)")


def _check_phrase(pattern: str) -> None:
    if not normalize(pattern):
        raise ValueError("a phrase cannot be empty")


def _check_regex(pattern: str) -> None:
    regex.check(pattern)


def _check_shell(pattern: str) -> None:
    if pattern not in SHELL_PATTERNS:
        raise ValueError(
            f"unknown shell pattern {pattern!r}: use {', '.join(map(repr, SHELL_PATTERNS))}"
        )


@dataclass(frozen=True)
class MatcherType:
    """How one condition type is validated and compiled."""

    check: Callable[[str], None]
    literal_forms: Callable[[str], list[LiteralForm]] | None  # None: a regex or a detector
    detector: bool = False  # found by ``rules.shell``, not by a pattern of its own


MATCHER_TYPES: dict[str, MatcherType] = {
    "keyword": MatcherType(_check_keyword, keyword_forms),
    "phrase": MatcherType(_check_phrase, phrase_forms),
    "regex": MatcherType(_check_regex, None),
    "shell": MatcherType(_check_shell, None, detector=True),
}
