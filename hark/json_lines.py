"""Reading one line of JSON Lines input (``classify``, ``replay``, ``rules test``) so that
no line can stop a run: everything Python's parser would raise on becomes ``BadJson``,
with the reason."""

from __future__ import annotations

import json
from typing import Any


class BadJson(ValueError):
    """A line that is not standard JSON; the message says why."""


def parse_json(text: str | bytes) -> Any:
    """The value of one JSON text. Refuses, as ``BadJson``: syntax errors, ``NaN`` and
    ``Infinity`` (not JSON, and they would be echoed into output that is then not JSON
    either), integers past Python's 4,300-digit limit, and nesting past the parser's."""
    try:
        return json.loads(text, parse_constant=_not_a_number)
    except json.JSONDecodeError as error:
        raise BadJson(f"not valid JSON: {error.msg} at column {error.colno}") from None
    except RecursionError:
        raise BadJson("not valid JSON here: nested too deeply") from None
    except ValueError as error:  # a constant, or an integer too long to convert
        reason = str(error)
        if "integer string conversion" in reason:
            reason = "an integer of more than 4,300 digits"
        raise BadJson(f"not valid JSON here: {reason}") from None


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
