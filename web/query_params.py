"""A list endpoint's paging parameters, checked before anything reaches Redis.

Redis refuses integers outside 64 bits and scores that are not finite numbers; Python's
``int`` and ``float`` accept far more (``"99999999999999999999"``, ``"1_0"``, Arabic-Indic
digits, ``"nan"``, ``"1e999"``). Every list endpoint reads ``limit`` and ``cursor`` through
these functions, so that whatever a client sends is either a value in range or a 400 in the
API's one error shape (``invalid_parameter``, the message starting with the parameter's name).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from web.errors import ApiError

MAX_OFFSET = 10_000_000  # an offset cursor: far past any list Hark keeps, far inside int64
MAX_CURSOR_CHARS = 512  # a "<score>:<id>" cursor: a score and an id, each well under this
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only; 19 digits still fit int64


def whole_number(
    args: Mapping[str, str], name: str, default: int, minimum: int, maximum: int
) -> int:
    """``args[name]`` as an int in [minimum, maximum], ``default`` when it is absent;
    ApiError(400) for anything else (signs, spaces, exponents and non-ASCII digits too)."""
    text = args.get(name)
    if text is None:
        return default
    value = int(text) if _DIGITS.fullmatch(text) else None
    if value is None or not minimum <= value <= maximum:
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} must be a whole number from {minimum} to {maximum} (got {_shown(text)})",
        )
    return value


def page_limit(args: Mapping[str, str], default: int, maximum: int) -> int:
    """How many items a page holds: ``limit``, 1 to ``maximum``."""
    return whole_number(args, "limit", default, 1, maximum)


def page_offset(args: Mapping[str, str], name: str = "cursor") -> int:
    """An offset cursor (how many items came before): 0 to ``MAX_OFFSET``, 0 when absent."""
    return whole_number(args, name, 0, 0, MAX_OFFSET)


def score_cursor(args: Mapping[str, str], name: str = "cursor") -> str | None:
    """A "<score>:<id>" cursor as the stores write it (the ``next`` of the page before),
    or None when absent; ApiError(400) unless the score is a finite number and the whole
    is of a cursor's length."""
    text = args.get(name)
    if text is None or text == "":
        return None
    score, separator, _ = text.partition(":")
    if not separator or len(text) > MAX_CURSOR_CHARS or not _finite(score):
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} is not one this API returned: send the previous page's next as it was",
        )
    return text


def _finite(text: str) -> bool:
    if not text.isascii():
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _shown(text: str) -> str:
    """The value as sent, short enough for a message."""
    return repr(text if len(text) <= 24 else text[:21] + "...")
