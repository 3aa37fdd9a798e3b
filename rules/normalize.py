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
# str.translate walks the text in Python-level steps: it only runs when a rare character
# is present; the common ones (backticks, the curly apostrophe) go through str.replace.
_TRANSLATION = {**_INVISIBLE, **_APOSTROPHES, **_LINE_SEPARATORS}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Only the whitespace that needs rewriting is matched, so ordinary text costs one scan.
_ODD_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_LINE_BREAK_RUNS = re.compile(r"\n\s+")
_INVISIBLE_OR_APOSTROPHE = re.compile("[" + "".join(map(chr, _TRANSLATION)) + "]")


def normalize(text: str) -> str:
    """Return the canonical form of ``text`` that rules are matched against."""
    if text.isascii():  # NFKC and the translation table leave ASCII unchanged
        text = text.lower()
    else:
        if _LONE_SURROGATE.search(text):  # invalid Unicode (a broken emoji from JSON)
            text = _LONE_SURROGATE.sub("\ufffd", text)
        text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
        if _INVISIBLE_OR_APOSTROPHE.search(text):
            text = text.translate(_TRANSLATION)
        text = text.casefold()
    if "`" in text:  # Markdown code quotes: "even `caro --version`" is "even caro --version"
        text = text.replace("`", " ")
    if "  " in text or "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text:
        text = _ODD_SPACES.sub(" ", text)
    if "\n" in text:
        text = _LINE_BREAK_RUNS.sub("\n", text.replace(" \n", "\n"))
    if "n't" in text:  # "doesn't" and the "doesnt" of quick typing read the same
        text = text.replace("n't", "nt")
    return text.strip()
