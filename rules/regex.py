"""Rule regular expressions on RE2, behind a small interface built for the hot path.

RE2 runs in time linear in the text, so no pattern can hang a worker. Its Python wrapper,
though, re-encodes the text and maps offsets in Python on every call (about 8 µs a search);
the engine encodes each message once and calls the C++ binding directly (about 1.4 µs).
``google-re2`` is pinned in pyproject.toml because ``re2._re2`` is its binding module.
"""

from __future__ import annotations

import re2
from re2 import _re2

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_MATCH = (-1, -1)


def _options(*, capture: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    options.never_capture = not capture
    return options


class RegexError(ValueError):
    """A pattern RE2 refuses, with a message a rule author can act on."""


def check(pattern: str) -> None:
    """Raise ``RegexError`` unless ``pattern`` compiles and cannot match empty text."""
    compiled = _re2.RE2(pattern.encode(), _options(capture=True))
    if not compiled.ok():
        reason = compiled.error()
        reason = reason.decode() if isinstance(reason, bytes) else reason
        raise RegexError(
            f"invalid regular expression {pattern!r}: {reason} (RE2 syntax: no lookaround "
            "or backreferences; \\w and \\b are ASCII, use \\pL for any letter)"
        )
    if compiled.Match(_UNANCHORED, b"", 0, 0)[0] != _NO_MATCH:
        raise RegexError(
            f"regular expression {pattern!r} matches empty text: it would fire on every message"
        )


class LinearRegex:
    """One compiled rule regex; works on UTF-8 bytes and returns byte spans."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        check(pattern)
        self.pattern = pattern
        self._compiled = _re2.RE2(pattern.encode(), _options(capture=False))

    def spans(self, encoded: bytes, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` non-overlapping matches, as byte offsets into ``encoded``."""
        found: list[tuple[int, int]] = []
        position, end = 0, len(encoded)
        while len(found) < limit and position <= end:
            span = self._compiled.Match(_UNANCHORED, encoded, position, end)[0]
            if span == _NO_MATCH:
                break
            found.append(span)
            position = span[1] if span[1] > span[0] else _next_char(encoded, span[1])
        return found


class RegexSet:
    """Which of many regexes match a text, in one pass per group of ``GROUP`` (RE2::Set).

    RE2 builds a set's DFA lazily in a bounded cache, and a set's states multiply with its
    patterns: at the default 8 MB, a few dozen rule regexes with Unicode classes and counted
    windows thrash it. The shipped rulebook's 95 distinct regexes in one 64 MB set took
    30 µs a message (the bench mix); dealt round-robin into sets of at most 32, each with
    its own 64 MB ceiling, they take 6 µs and about 60 MB in all (one set at 256 MB: 6 µs,
    85 MB). A ceiling, not an allocation."""

    GROUP = 32

    def __init__(self, patterns: list[str]) -> None:
        options = _options(capture=False)
        options.max_mem = 64 << 20
        count = max(1, -(-len(patterns) // self.GROUP))  # sets, each with <= GROUP patterns
        self._sets = []
        for first in range(count):
            regex_set = _re2.Set(_UNANCHORED, options)
            for pattern in patterns[first::count]:
                if regex_set.Add(pattern.encode()) == -1:
                    raise RegexError(f"RE2 could not add {pattern!r} to the rulebook's set")
            if not regex_set.Compile():
                raise RegexError("RE2 could not compile the rulebook's regular expressions")
            self._sets.append(regex_set)

    def matching(self, encoded: bytes) -> list[int]:
        """Indexes (in the order given) of the patterns that match ``encoded``."""
        count = len(self._sets)
        if count == 1:
            return sorted(self._sets[0].Match(encoded))
        found = [
            first + local * count
            for first, regex_set in enumerate(self._sets)
            for local in regex_set.Match(encoded)
        ]
        return sorted(found)


def _next_char(encoded: bytes, position: int) -> int:
    """The byte offset of the next UTF-8 character after ``position``."""
    position += 1
    while position < len(encoded) and encoded[position] & 0xC0 == 0x80:
        position += 1
    return position


def char_offset(encoded: bytes, byte_offset: int) -> int:
    """A byte offset into UTF-8 ``encoded`` as a character offset."""
    return len(encoded[:byte_offset].decode("utf-8", errors="ignore"))
