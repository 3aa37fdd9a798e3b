"""Logging in the way a browser does: a real users file, the login form's CSRF token, and
``POST /login`` (web.login). Used by the login, route-security and page tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

FAST_HASH = "pbkdf2:sha256:1000"  # a cheap hash keeps the tests quick; the format is the real one
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = CSRF_FIELD.search(html)
    assert match, "the page has no form with a csrf_token field"
    return match.group(1)


@pytest.fixture
def write_users(tmp_path: Path) -> Callable[[Mapping[str, tuple[str, str]]], Path]:
    """Write ``{name: (role, password)}`` as the users file (again on each call)."""
    path = tmp_path / "users.yaml"

    def write(users: Mapping[str, tuple[str, str]]) -> Path:
        lines = ["users:"]
        for name, (role, password) in users.items():
            hashed = generate_password_hash(password, method=FAST_HASH)
            lines += [f"  - name: {name}", f"    role: {role}", f'    password_hash: "{hashed}"']
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def log_in() -> Callable[..., TestResponse]:
    """``log_in(client, name, password, next_=None, ip=...)``: fill in and send the login
    form of a client that is not logged in; returns the answer to the POST."""

    def send(
        client: FlaskClient,
        name: str,
        password: str,
        *,
        next_: str | None = None,
        ip: str = "10.0.0.1",
    ) -> TestResponse:
        form = client.get("/login")
        assert form.status_code == 200, "log_in needs a client that is not logged in"
        data = {"name": name, "password": password, "csrf_token": csrf_token_of(form.text)}
        if next_ is not None:
            data["next"] = next_
        return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})

    return send


@pytest.fixture(name="csrf_token_of")
def _csrf_token_of() -> Callable[[str], str]:
    """``csrf_token_of(html)``: the token a page's forms carry."""
    return csrf_token_of
