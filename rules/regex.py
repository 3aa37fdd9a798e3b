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
    """Which of many regexes match a text, in one pass (RE2::Set)."""

    def __init__(self, patterns: list[str]) -> None:
        options = _options(capture=False)
        # RE2 builds the set's DFA lazily in a bounded cache. At the default 8 MB, a few
        # dozen rule regexes with Unicode classes and counted windows thrash it (about
        # 40 µs a message); 64 MB holds it (about 2.5 µs). A ceiling, not an allocation.
        options.max_mem = 64 << 20
        self._set = _re2.Set(_UNANCHORED, options)
        for pattern in patterns:
            if self._set.Add(pattern.encode()) == -1:
                raise RegexError(f"RE2 could not add {pattern!r} to the rulebook's set")
        if not self._set.Compile():
            raise RegexError("RE2 could not compile the rulebook's regular expressions")

    def matching(self, encoded: bytes) -> list[int]:
        """Indexes (in the order given) of the patterns that match ``encoded``."""
        return self._set.Match(encoded)


def _next_char(encoded: bytes, position: int) -> int:
    """The byte offset of the next UTF-8 character after ``position``."""
    position += 1
    while position < len(encoded) and encoded[position] & 0xC0 == 0x80:
        position += 1
    return position


def char_offset(encoded: bytes, byte_offset: int) -> int:
    """A byte offset into UTF-8 ``encoded`` as a character offset."""
    return len(encoded[:byte_offset].decode("utf-8", errors="ignore"))
