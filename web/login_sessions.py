"""Server-side login sessions: one random id per login, kept in Redis until logout or expiry.

The signed session cookie carries only the id (Flask-Login's user id). A login is valid
while its record exists, so logging out (or the record's expiry) ends it on the server: a
copy of the cookie taken before is worth nothing afterwards. Redis holds a digest of the
id, not the id itself, so what Redis holds cannot be replayed as a cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from redis import Redis

SESSION_KEY = "hark:login-session:{digest}"


@dataclass(frozen=True)
class LoginRecord:
    """Who a login session belongs to, and the stamp of their entry when they logged in."""

    name: str
    stamp: str


class LoginSessions:
    """Start, find and end login sessions in Redis; each expires ``lifetime`` after login."""

    def __init__(self, connection: Redis, lifetime: timedelta) -> None:
        self.connection = connection
        self.lifetime = lifetime

    def start(self, name: str, stamp: str) -> str:
        """A new session for ``name``; returns its id (for the cookie)."""
        session_id = secrets.token_urlsafe(32)
        key = _key(session_id)
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"name": name, "stamp": stamp})
            pipe.expire(key, self.lifetime)
            pipe.execute()
        return session_id

    def find(self, session_id: str) -> LoginRecord | None:
        """The session's record, or None once it was ended or has expired."""
        fields = {_text(k): _text(v) for k, v in self.connection.hgetall(_key(session_id)).items()}
        if not fields.get("name") or not fields.get("stamp"):
            return None
        return LoginRecord(fields["name"], fields["stamp"])

    def end(self, session_id: str) -> None:
        self.connection.delete(_key(session_id))


def _key(session_id: str) -> str:
    return SESSION_KEY.format(digest=hashlib.sha256(session_id.encode()).hexdigest())


def _text(value: bytes | str) -> str:
    """A Redis reply as text, whether or not the client decodes replies itself."""
    return value.decode() if isinstance(value, bytes) else value
