"""What every browser test shares: one ``hark run`` for the whole e2e session (the
launch-day sample replayed, every mention stored before the first test), one Chromium
(Debian's package, driven by Playwright), and a logged-in tab in a browser context of its
own per test.

Under pytest-xdist the session is a worker's: each worker that runs browser tests starts a
``hark run`` of its own, in its own temporary folder (``tmp_path_factory`` is per worker)
on a free port. ``make test`` keeps them on one worker (``XDIST_GROUPS`` in
tests/reliability/conftest.py)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from hark.embedded_redis import free_port
from hark.replay import launch_day_sample
from tests.system.test_hark_run import _get, _start, _stop, _wait_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page shares two loaded cores with ``hark run``, its workers, Redis and Chromium:
# Playwright's 5 s default for expect() is too tight there. Actions and navigations get
# 30 s, set on each page (Playwright's default today, made explicit).
expect.set_options(timeout=20_000)
PAGE_TIMEOUT_MS = 30_000


def _stored_mentions(port: int, token: str) -> int:
    """How many mentions the store holds (every page of ``/api/mentions``)."""
    count, cursor = 0, None
    while True:
        query = "limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        answer = _get(port, f"/api/mentions?{query}", token)
        count += len(answer["items"])
        cursor = answer["next"]
        if not cursor:
            return count


@pytest.fixture(scope="session")
def running(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hark-run")
    port = free_port()
    process, token = _start(directory, port)
    try:
        _wait_for(lambda: [i for i in _get(port, "/api/incidents", token)["items"] if i["pages"]])
        _wait_for(lambda: _get(port, "/api/queue", token)["items"])
        # Every sample mention stored (so triaged): none lands ahead of an item a test acts on
        sample = launch_day_sample().read_text("utf-8").splitlines()
        expected = sum(1 for line in sample if line.strip())
        _wait_for(lambda: _stored_mentions(port, token) >= expected)
        password = _admin_password(directory)
        yield f"http://127.0.0.1:{port}", password, token
    finally:
        _stop(process, directory)


def _admin_password(directory: Path) -> str:
    return json.loads((directory / "var" / "secrets.json").read_text())["admin_password"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One Chromium for the session (a launch costs a core for a second or more on a loaded
    machine); each test gets a browser context of its own, so no cookie, storage or
    permission passes from one test to the next."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(running, chromium):
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.set_default_timeout(PAGE_TIMEOUT_MS)
        tab.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        base, password, _token = running
        tab.goto(f"{base}/")
        expect(tab).to_have_url(re.compile(r"/login"))
        tab.get_by_label("Name").fill("admin")
        tab.get_by_label("Password").fill(password)
        tab.get_by_role("button", name="Log in").click()
        # the login page has a level-1 heading too: wait until it is left for the overview
        expect(tab).not_to_have_url(re.compile(r"/login"))
        expect(tab.get_by_role("heading", level=1, name="Overview")).to_be_visible()
        yield tab, base
    finally:
        context.close()
