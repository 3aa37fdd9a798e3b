"""Failed logins slow an attacker down without locking the real user out (issue 14, item
12): failures count per name from one address, and per address, in windows that grow; a
name is never locked from everywhere, so the right password from another address still
works. X-Forwarded-For is believed only from the proxies ``trusted_proxies`` counts."""

from __future__ import annotations

import time

import fakeredis
import pytest

from web import create_app
from web.users import load_users

USERS = {"rob": ("responder", "responder-pass-2"), "ada": ("admin", "admin-pass-3")}
ATTACKER, ROB_AT_HOME, OFFICE = "203.0.113.66", "198.51.100.7", "192.0.2.10"


def _app(write_users, **options):
    return create_app(
        redis=fakeredis.FakeRedis(),
        secret_key="k" * 40,
        users=load_users(write_users(USERS)),
        insecure_cookies=True,
        **options,
    )


@pytest.fixture
def app(write_users):
    return _app(write_users)


@pytest.fixture
def attempt(app, log_in):
    """``attempt(name, password, ip)``: one login from a fresh browser at ``ip``."""

    def send(name: str, password: str, ip: str, application=None, **environ):
        client = (application or app).test_client()
        if environ:
            client.environ_base.update(environ)
        return log_in(client, name, password, ip=ip)

    return send


def test_an_attacker_cannot_lock_the_real_user_out(attempt):
    for _ in range(60):  # far past every limit, from one address
        assert attempt("rob", "guess", ATTACKER).status_code in (401, 429)
    assert attempt("rob", "responder-pass-2", ATTACKER).status_code == 429
    assert attempt("rob", "responder-pass-2", ROB_AT_HOME).status_code == 303


def test_the_wait_grows_with_the_failures(attempt, monkeypatch):
    for _ in range(5):
        assert attempt("rob", "guess", ATTACKER).status_code == 401
    first = attempt("rob", "guess", ATTACKER)
    assert first.status_code == 429 and "try again in 1 minute" in first.text
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)  # fakeredis expires keys by this clock
    for _ in range(5):
        assert attempt("rob", "guess", ATTACKER).status_code == 401
    second = attempt("rob", "guess", ATTACKER)
    assert second.status_code == 429 and "try again in 14 minutes" in second.text


def test_a_block_refuses_even_the_right_password_from_that_address(attempt):
    for _ in range(5):
        attempt("rob", "guess", ATTACKER)
    assert attempt("rob", "responder-pass-2", ATTACKER).status_code == 429
    assert attempt("ada", "admin-pass-3", ATTACKER).status_code == 303  # another name


def test_guessing_across_names_blocks_the_address_only(attempt):
    for number in range(20):
        assert attempt(f"n{number % 5}", "guess", ATTACKER).status_code == 401
    assert attempt("ada", "admin-pass-3", ATTACKER).status_code == 429
    assert attempt("ada", "admin-pass-3", ROB_AT_HOME).status_code == 303


def test_forwarded_addresses_are_ignored_by_default(attempt):
    """Without a trusted proxy, X-Forwarded-For is the client's to write: it must not buy
    a fresh count per made-up address."""
    for number in range(20):
        forged = {"HTTP_X_FORWARDED_FOR": f"10.0.{number}.1"}
        assert attempt(f"n{number % 5}", "guess", ATTACKER, **forged).status_code == 401
    forged = {"HTTP_X_FORWARDED_FOR": "10.99.0.1"}
    assert attempt("ada", "admin-pass-3", ATTACKER, **forged).status_code == 429


def test_behind_a_trusted_proxy_each_client_counts_alone(write_users, attempt):
    behind = _app(write_users, trusted_proxies=1)
    for _ in range(25):  # the attacker's failures, all through the one proxy address
        forwarded = {"HTTP_X_FORWARDED_FOR": ATTACKER}
        attempt("rob", "guess", OFFICE, behind, **forwarded)
    assert attempt("rob", "guess", OFFICE, behind, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    home = {"HTTP_X_FORWARDED_FOR": ROB_AT_HOME}
    assert attempt("rob", "responder-pass-2", OFFICE, behind, **home).status_code == 303
    # a client that writes its own X-Forwarded-For gets the proxy's last entry: its own address
    spoofed = {"HTTP_X_FORWARDED_FOR": f"{ROB_AT_HOME}, {ATTACKER}"}
    assert attempt("rob", "guess", OFFICE, behind, **spoofed).status_code == 429


@pytest.mark.parametrize("count", [-1, 6, True])
def test_a_trusted_proxy_count_out_of_range_is_refused(write_users, count):
    with pytest.raises(ValueError, match="trusted_proxies"):
        _app(write_users, trusted_proxies=count)
