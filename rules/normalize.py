"""Text normalization applied before any matching.

Users (and spammers) write the same word many ways: fullwidth letters, ligatures, capitals,
zero-width joiners inside a word, typographic apostrophes. Matching runs on one canonical
form so that none of these can hide a keyword: Unicode NFKC, case folding, invisible
characters removed, apostrophes unified, and runs of whitespace collapsed to one space
(or one line break, which the engine treats as the end of a clause).

Spans reported by the engine are offsets into this normalized text.

Every step is one call into a C-implemented ``str`` method, ``unicodedata`` or ``re``:
the two thirds of messages that are ASCII skip NFKC and case folding (they leave ASCII as
it is, but for capitals, which ``str.lower`` handles), and the characters rewritten one by
one are found with a single regex search, since most messages hold none of them.
"""

from __future__ import annotations

import re
import unicodedata

# Format characters that render as nothing but split a word for a naive matcher.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)
_APOSTROPHES = "\u2018\u2019\u02bc\u2032\uff07"
_LINE_SEPARATORS = "\x85\u2028\u2029"
_LONE_SURROGATES = "\ud800-\udfff"  # invalid Unicode from broken JSON, as U+FFFD

# What each rewritten character becomes; Markdown code quotes read as spaces
# ("even `caro --version`").
_REWRITES = {
    **dict.fromkeys(_INVISIBLE, ""),
    **dict.fromkeys(_APOSTROPHES, "'"),
    **dict.fromkeys(_LINE_SEPARATORS, "\n"),
    "`": " ",
}
_REWRITTEN = re.compile(f"[{re.escape(''.join(_REWRITES))}{_LONE_SURROGATES}]")


def _rewrite(found: re.Match[str]) -> str:
    return _REWRITES.get(found[0], "\ufffd")  # not in the table: a lone surrogate


def normalize(text: str) -> str:
    """Return the canonical form of ``text`` that rules are matched against.

    NFKC and case folding (ASCII: capitals lowered), invisible characters dropped,
    apostrophes and line separators unified, Markdown code quotes read as spaces, each run
    of whitespace made one space (one line break if it holds one, the end of a clause for
    the engine), the ends stripped, and "n't" read as "nt" ("doesn't" and the "doesnt" of
    quick typing).
    """
    if type(text) is not str:
        if not isinstance(text, str):
            raise TypeError(f"normalize() takes a str, not {type(text).__name__}")
        text = str.__str__(text)  # the plain text: a subclass's own methods must not run
    if text.isascii():
        text = text.lower().replace("`", " ")
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = _REWRITTEN.sub(_rewrite, text)
    if "\n" in text:
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(filter(None, lines))
    else:
        text = " ".join(text.split())
    return text.replace("n't", "nt")
