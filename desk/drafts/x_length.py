"""The length of a post as X counts it, and fitting a draft into X's limit.

X does not count characters. Its open-source counter (twitter-text, config v3) gives every
code point a weight: 1 for the ranges that hold Latin, Greek, Cyrillic, Hebrew, Arabic,
Devanagari, Thai and the like (U+0000-U+10FF) and for a few punctuation blocks (U+2000-U+200D,
U+2010-U+201F, U+2032-U+2037); 2 for everything else (CJK, Hangul, emoji...). On top of that:

* the text is NFC-normalized first, so "e" + U+0301 counts like "é";
* every URL counts 23 (the length of a t.co link) whatever its own length: ``http(s)://``
  URLs, and bare domains such as ``example.com/path`` when the top-level domain is known;
* an emoji counts 2 however many code points it is made of: ZWJ sequences (👩‍👩‍👧), skin
  tones (👍🏽), flags (🇺🇸, and tag flags such as Scotland's), keycaps (1️⃣).

Why our own code and not a library: on PyPI, ``twitter-text-parser`` (3.0.0, May 2023, the one
port that computes weighted lengths) carries emoji data from 2019, so newer ZWJ sequences count
per code point (🏳️‍⚧️ as 7, ❤️‍🔥 as 5, 🧑‍🧑‍🧒 as 8), and it imports ``pkg_resources`` at runtime,
a deprecated setuptools API it does not declare; ``twitter-text-python`` (1.1.1, 2019) and
``twitter-text`` (3.0, 2017) have no weighted count at all. Recognising emoji sequences by
their structure (UTS #51) instead of a list keeps new emoji right without data updates.

Deliberate simplifications: the TLD list holds the common generic TLDs and the country codes,
not all ~1,500 generic ones; ``t.co`` links and URLs longer than 4,096 characters get no
special treatment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["URL_LENGTH", "X_LIMIT", "find_urls", "fit_to_x", "x_weighted_length"]

X_LIMIT = 280
URL_LENGTH = 23

# ---------------------------------------------------------------------------------------------
# URLs (after twitter-text's extractUrlsWithIndices)
# ---------------------------------------------------------------------------------------------

_GENERIC_TLDS = (
    "com net org edu gov mil int info biz name pro aero coop museum mobi asia tel travel jobs "
    "app dev page new blog cloud online site website tech xyz top club shop store news live "
    "link wiki design art codes tools software systems digital email network social chat team "
    "zone world today space host run build agency studio media solutions services support help "
    "community foundation company center guide academy training school university website "
    "google microsoft apple amazon github gitlab docker"
)
# Country-code TLDs (ISO 3166-1 alpha-2 as delegated, plus ac, eu, su, uk).
_COUNTRY_TLDS = (
    "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br "
    "bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz "
    "ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw "
    "gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw "
    "ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu "
    "mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt "
    "pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy sz tc "
    "td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws "
    "ye yt za zm zw"
)
_TLDS = sorted(set((_GENERIC_TLDS + " " + _COUNTRY_TLDS).split()), key=lambda t: (-len(t), t))
_TLD = "(?:" + "|".join(_TLDS) + r"|xn--[a-z0-9-]{2,59})(?![a-z0-9@+-])"

_ACCENTS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257"
_CYRILLIC = "\u0400-\u04ff"
_ASCII_LABEL = rf"[a-z0-9{_ACCENTS}]++(?:[_-]++[a-z0-9{_ACCENTS}]++)*+"
_ANY_LABEL = r"[^\W_]++(?:[_-]++[^\W_]++)*+"  # any script: only after http(s)://

_URL = re.compile(
    r"(?<![a-z0-9@\uff20$#\uff03\u202a-\u202e])"
    rf"(?:(?P<scheme>https?://)(?P<host>(?:{_ANY_LABEL}\.)+{_TLD})"
    rf"|(?<![-_./])(?P<bare>(?:{_ASCII_LABEL}\.)+{_TLD}))"
    r"(?P<port>:[0-9]++)?",
    re.IGNORECASE,
)
_PATH_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*';:=+,.$/%#[]-\u2013_~@|&"
)
_PATH_END = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-=_#/")
_QUERY_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!?*'@();:&=+$/%#[]-_.,~|"
)
_QUERY_END = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_&=#/")
_LETTERS = re.compile(rf"[{_ACCENTS}{_CYRILLIC}]")


def _path_char(ch: str, ending: bool) -> bool:
    return ch in (_PATH_END if ending else _PATH_CHARS) or bool(_LETTERS.match(ch))


def _path_end(text: str, start: int) -> int:
    """End of the URL path starting at ``text[start] == "/"``: path characters and balanced
    parentheses, ending on a character a URL may end with (so a closing full stop stays out)."""
    depth, position, end = 0, start, start + 1
    while position < len(text):
        ch = text[position]
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif not _path_char(ch, ending=False):
            break
        position += 1
        if depth == 0 and (ch == ")" or _path_char(ch, ending=True)):
            end = position
    return end


def _query_end(text: str, start: int) -> int:
    """End of the query starting at ``text[start] == "?"``, or ``start`` if there is none."""
    position, end = start + 1, start
    while position < len(text) and text[position] in _QUERY_CHARS:
        position += 1
        if text[position - 1] in _QUERY_END:
            end = position
    return end


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _url_spans(text: str) -> list[tuple[int, int]]:
    """URL spans in prepared (NFC, LF) text."""
    if "." not in text:
        return []
    spans = []
    for match in _URL.finditer(text):
        end = match.end()
        path_start = end
        if text.startswith("/", end):
            end = _path_end(text, end)
        has_path = end > path_start
        if text.startswith("?", end) and (match["scheme"] or has_path):
            end = _query_end(text, end)
        if match["bare"] and not has_path:
            end = match.end("bare")  # "example.com:8080" without a path: only the domain
        spans.append((match.start(), end))
    return spans


def find_urls(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each URL X would shorten, as offsets into ``text`` after NFC
    normalization and line-ending conversion (equal to ``text``'s own offsets when it is
    already NFC with LF line ends, as ``fit_to_x`` output is)."""
    return _url_spans(_prepare(text))


# ---------------------------------------------------------------------------------------------
# Emoji sequences (UTS #51: ZWJ, modifier, flag, tag and keycap sequences)
# ---------------------------------------------------------------------------------------------

# Extended_Pictographic, closely enough: the pictographs of the BMP blocks and the emoji
# planes, without regional indicators (U+1F1E6-1F1FF) and skin-tone modifiers (U+1F3FB-1F3FF),
# which have their own places in a sequence. Only © and ® lie in a weight-1 range: X counts
# them as emoji (2), as it does every other emoji.
_PICTOGRAPH = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388"
    "\u23cf\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf"
    "\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff\U0001fc00-\U0001fffd]"
)
_MODIFIER = "[\U0001f3fb-\U0001f3ff]"
_ELEMENT = (
    f"(?:{_PICTOGRAPH}[\ufe0e\ufe0f]?{_MODIFIER}?(?:[\U000e0020-\U000e007e]+\U000e007f)?"
    f"|{_MODIFIER}|[\U0001f1e6-\U0001f1ff]{{2}}|[0-9#*]\ufe0f?\u20e3)"
)
_EMOJI = re.compile(f"{_ELEMENT}(?:\u200d{_ELEMENT})*")


def _weight(ch: str) -> int:
    code = ord(ch)
    if (
        code <= 0x10FF
        or 0x2000 <= code <= 0x200D
        or 0x2010 <= code <= 0x201F
        or 0x2032 <= code <= 0x2037
    ):
        return 1
    return 2


def _weights(stretch: str) -> int:
    return len(stretch) if stretch.isascii() else sum(map(_weight, stretch))


def _length(text: str, urls: list[tuple[int, int]]) -> int:
    """Walks ``text`` from one URL or emoji to the next (``search`` finds the leftmost emoji
    from a position, which is where a character-by-character walk would find it), weighing
    the plain stretches between them in one go."""
    total, position, index = 0, 0, 0
    while position < len(text):
        if index < len(urls) and urls[index][0] == position:
            total += URL_LENGTH
            position = urls[index][1]
            index += 1
            continue
        next_url = urls[index][0] if index < len(urls) else len(text)
        emoji = _EMOJI.search(text, position)
        if emoji is None or emoji.start() >= next_url:
            total += _weights(text[position:next_url])
            position = next_url
            continue
        total += _weights(text[position : emoji.start()]) + 2
        position = emoji.end()
        while index < len(urls) and urls[index][0] < position:  # an emoji ran into a URL
            index += 1
    return total


def x_weighted_length(text: str) -> int:
    """The length X gives ``text`` (its limit is ``X_LIMIT``, 280)."""
    text = _prepare(text)
    return _length(text, _url_spans(text))


# ---------------------------------------------------------------------------------------------
# Fitting a draft
# ---------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|\n")


def _cut_points(text: str, urls: list[tuple[int, int]]) -> list[int]:
    """Where a sentence (or line) ends, outside URLs."""
    points = []
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if not any(start < end <= stop for start, stop in urls):
            points.append(end)
    return points


def fit_to_x(text: str, limit: int = X_LIMIT) -> str:
    """``text`` (NFC, LF line ends) cut to at most ``limit`` weighted characters.

    Deterministic: whole trailing sentences are dropped until the rest fits; if even the first
    sentence is too long, whole trailing words are dropped and "…" is added. A URL is never cut
    (it has no space or sentence end inside, so it goes whole or not at all)."""
    text = _prepare(text).strip()
    if x_weighted_length(text) <= limit:
        return text
    urls = _url_spans(text)
    points = _cut_points(text, urls)
    best = _longest(len(points), lambda i: text[: points[i]].rstrip(), limit)
    if best is not None:
        return text[: points[best]].rstrip()
    words = text.split()
    word_head = lambda n: " ".join(words[: n + 1]).rstrip(",;:-–—") + "…"  # noqa: E731
    best = _longest(len(words) - 1, word_head, limit)
    if best is not None:
        return word_head(best)
    # One word longer than a post (and not a URL, which counts 23): cut it, outside URLs.
    best = _longest(len(text) - 1, lambda i: text[: i + 1] + "…", limit) or 0
    cut = next((start for start, end in urls if start <= best < end), best + 1)
    return text[:cut].rstrip() + "…" if cut else ""


def _longest(count: int, head: Callable[[int], str], limit: int) -> int | None:
    """The largest ``i < count`` whose ``head(i)`` fits ``limit`` (heads grow with ``i``)."""
    low, high, best = 0, count - 1, None
    while low <= high:
        middle = (low + high) // 2
        if x_weighted_length(head(middle)) <= limit:
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best
