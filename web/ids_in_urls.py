"""Ids in the pages' URLs, as opaque tokens.

A mention's id is ``<channel>:<native id>``, and the sender chooses the native id: an e-mail
Message-ID, a relayed id, anything the API accepts. Put in a path as it is, an id such as
``zy/../discord:1464…`` is rewritten by the browser before it is sent (``/a/b/../c`` becomes
``/a/c``), and the form acts on another item. The pages therefore carry ids as base64url
tokens (``MentionIdConverter``): letters, digits, ``-`` and ``_`` only, so no browser or
proxy can find a path segment to normalize in them, and every token decodes back to exactly
the id it was made from. The JSON API keeps ids readable (``<path:...>``); its clients build
their own URLs and percent-encode ``/`` as ``%2F``.
"""

from __future__ import annotations

import base64
import binascii

from werkzeug.routing import BaseConverter, ValidationError

MAX_TOKEN_CHARS = 2_000  # an id of about 1,500 bytes; longer is no id Hark stored


def id_token(value: str) -> str:
    """``value`` as a URL-safe token, padding left out."""
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")


def id_from_token(token: str) -> str:
    """The id ``token`` was made from; ``ValueError`` when it is no such token."""
    if not token or len(token) > MAX_TOKEN_CHARS or len(token) % 4 == 1:
        raise ValueError("not an id token")
    padded = token + "=" * (-len(token) % 4)
    try:
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise ValueError("not an id token") from None
    if id_token(value) != token:  # one token per id: no second spelling of the same id
        raise ValueError("not an id token")
    return value


class MentionIdConverter(BaseConverter):
    """``<mention:mention_id>``: the id in the view, its token in the URL."""

    regex = r"[A-Za-z0-9_-]+"

    def to_python(self, value: str) -> str:
        try:
            return id_from_token(value)
        except ValueError:
            raise ValidationError() from None

    def to_url(self, value: str) -> str:
        return id_token(value)
