"""Text normalization applied before any matching.

Users (and spammers) write the same word many ways: fullwidth letters, ligatures, capitals,
zero-width joiners inside a word, typographic apostrophes. Matching runs on one canonical
form so that none of these can hide a keyword: Unicode NFKC, case folding, invisible
characters removed, apostrophes unified, and runs of whitespace collapsed to one space
(or one line break, which the engine treats as the end of a clause).

Spans reported by the engine are offsets into this normalized text.
"""

from __future__ import annotations

import re
import string
import unicodedata

# Format characters that render as nothing but split a word for a naive matcher.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
        "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\ufeff",
    )
)
_APOSTROPHES = {ord(c): "'" for c in "\u2018\u2019\u02bc\u2032\uff07"}
_LINE_SEPARATORS = {ord(c): "\n" for c in "\x85\u2028\u2029"}
_ASCII_CAPITALS = {ord(c): c.lower() for c in string.ascii_uppercase}
_TRANSLATION = {**_ASCII_CAPITALS, **_INVISIBLE, **_APOSTROPHES, **_LINE_SEPARATORS, ord("`"): " "}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize_reference(text: str) -> str:
    """Return the canonical form of ``text`` that rules are matched against.

    ``rules._fastpath.normalize`` does the same in C; tests hold them equal.
    """
    if not text.isascii():  # NFKC and case folding leave ASCII as it is, but for capitals
        text = unicodedata.normalize("NFKC", text).casefold()
    return tidy_reference(text)


def tidy_reference(text: str) -> str:
    """The rest of ``normalize``, after NFKC and case folding, in Python: ASCII capitals
    lowered, invisible characters dropped, apostrophes and line separators unified,
    Markdown code quotes read as spaces ("even `caro --version`"), each run of whitespace
    made one space (one line break if it holds one, the end of a clause for the engine),
    the ends stripped, and "n't" read as "nt" ("doesn't" and the "doesnt" of quick typing).

    ``rules._fastpath`` does the same in one pass in C.
    """
    text = _LONE_SURROGATE.sub("\ufffd", text.translate(_TRANSLATION))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line).replace("n't", "nt")


try:  # built by `pip install` from rules/_fastpath_src
    from rules._fastpath import normalize
except ImportError:  # pragma: no cover - tests assert the fast path is there
    normalize = normalize_reference
