"""The web page's users, from a YAML file (``HARK_USERS_FILE``)::

    users:
      - name: maya
        role: admin            # viewer < responder < admin
        password_hash: "scrypt:32768:8:1$..."   # werkzeug generate_password_hash output

Passwords are never stored: ``hash_password`` makes the hash (``hark users add`` uses it).
``Users.check`` always runs one hash check, so an unknown name takes as long as a wrong
password.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.security import check_password_hash, generate_password_hash

Role = Literal["viewer", "responder", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "responder", "admin")  # lowest first
HASH_METHODS = ("scrypt", "pbkdf2")


def role_rank(role: str) -> int:
    """0 for viewer, 1 for responder, 2 for admin; ValueError for anything else."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}") from None


@dataclass(frozen=True)
class User:
    """Who is logged in: no secrets, safe to put in templates."""

    name: str
    role: Role

    def has_role(self, role: str) -> bool:
        """True when this user's role is ``role`` or higher."""
        return role_rank(self.role) >= role_rank(role)


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")  # what a users file may name

log = logging.getLogger(__name__)


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME.pattern)
    role: Role
    password_hash: str

    @field_validator("password_hash")
    @classmethod
    def _is_a_werkzeug_hash(cls, value: str) -> str:
        method, _, rest = value.partition(":")
        if method not in HASH_METHODS or value.count("$") != 2 or not rest:
            raise ValueError(
                "must be a werkzeug password hash ('scrypt:...' or 'pbkdf2:...'), "
                "not a password: make one with `hark users add NAME ROLE`"
            )
        return value


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserEntry]

    @field_validator("users")
    @classmethod
    def _names_are_unique(cls, users: list[UserEntry]) -> list[UserEntry]:
        seen: set[str] = set()
        for entry in users:
            if entry.name in seen:
                raise ValueError(f"user {entry.name!r} appears twice")
            seen.add(entry.name)
        return users


class UsersFileError(ValueError):
    """The users file is missing, not YAML, or not the documented shape."""


class Users:
    """The configured users; look them up with ``check`` (login) or ``get`` (session)."""

    def __init__(self, entries: Iterable[UserEntry] = ()) -> None:
        self._entries = {entry.name: entry for entry in entries}
        # An unknown name is checked against this, made with the same method and cost
        # as a configured hash, so that it takes as long as a wrong password.
        like = next(iter(self._entries.values()), None)
        method = like.password_hash.split("$", 1)[0] if like else "scrypt"
        self._dummy_hash = generate_password_hash(secrets.token_urlsafe(16), method=method)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> User | None:
        entry = self._entries.get(name)
        return User(entry.name, entry.role) if entry else None

    def check(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None; always runs one hash check."""
        entry = self._entries.get(name)
        ok = check_password_hash(entry.password_hash if entry else self._dummy_hash, password)
        return User(entry.name, entry.role) if entry and ok else None

    def stamp(self, name: str) -> str | None:
        """A short digest of the user's hash and role: it changes when either does, which
        ends that user's sessions. Reveals nothing usable about the password."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        return hashlib.sha256(f"{entry.role}\0{entry.password_hash}".encode()).hexdigest()[:16]


def load_users(path: str | os.PathLike[str]) -> Users:
    """Read and validate the users file; UsersFileError names the file and every problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsersFileError(f"{path}: no such users file (HARK_USERS_FILE)") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsersFileError(f"{path}: cannot read the users file: {error}") from None
    try:
        parsed = UsersFile.model_validate(data)
    except ValidationError as error:
        # Built from loc and msg only: pydantic's own text would echo the input, which may be
        # a password pasted where its hash belongs.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(top)'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise UsersFileError(f"{path}: {problems}") from None
    return Users(parsed.users)


class WatchedUsers:
    """The users of a users file, read again when the file changes, so that `hark users
    add` takes effect on a running page; a change that does not load is logged and the
    users loaded before stay. Looks up like ``Users``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._signature = self._stat()
        self._users = load_users(self.path)  # at start, a bad file is an error

    def __len__(self) -> int:
        return len(self._current())

    def get(self, name: str) -> User | None:
        return self._current().get(name)

    def check(self, name: str, password: str) -> User | None:
        return self._current().check(name, password)

    def stamp(self, name: str) -> str | None:
        return self._current().stamp(name)

    def _current(self) -> Users:
        signature = self._stat()
        if signature != self._signature:
            self._signature = signature
            try:
                self._users = load_users(self.path)
            except UsersFileError as error:
                log.error("%s; the users loaded before stay", error)
            else:
                log.info("users file %s read again: %d users", self.path, len(self._users))
        return self._users

    def _stat(self) -> tuple[int, int]:
        try:
            info = self.path.stat()
        except OSError:
            return (0, 0)
        return (info.st_mtime_ns, info.st_size)


def hash_password(password: str) -> str:
    """The ``password_hash`` for the users file (werkzeug's scrypt)."""
    if not password:
        raise ValueError("the password is empty")
    return generate_password_hash(password)
