"""The page in a real headless Chromium (Debian's package, driven by Playwright) against a
running ``hark run``: log in, see the rotation, open an incident and acknowledge it, claim
and answer an item in the queue. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

# The shared `hark run` set-up (tests/e2e/conftest.py) counts against the first test: more
# than the 120 s default.
pytestmark = pytest.mark.timeout(300)
# A row of the queue's list that is one item (an incident's reports are one row too).
ONE_ITEM = "ol.rows li:not([id^='item-incident-']) a[data-row]"


def test_log_in_and_see_who_is_on_call(page):
    tab, base = page
    tab.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    tab.goto(f"{base}/rotation")
    expect(tab.get_by_text("Ben Okafor").or_(tab.get_by_text("Ana Ruiz")).first).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "rotation.png"), full_page=True)


def test_open_an_incident_and_acknowledge_it(page):
    tab, base = page
    tab.goto(f"{base}/incidents")
    tab.locator("a[href^='/incidents/inc-']").first.click()
    expect(tab.get_by_role("button", name="Acknowledge")).to_be_visible()
    tab.get_by_role("button", name="Acknowledge").click()
    expect(tab.get_by_text("acknowledged").first).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "incident.png"), full_page=True)


def test_claim_and_answer_an_item_in_the_queue(page):
    tab, base = page
    tab.goto(f"{base}/queue?unclaimed=1")
    # Select one item (not an incident's reports) and pin it by its heading's id: the
    # selected item is found again at every action, and a mention arriving meanwhile can
    # put another item first.
    tab.locator(ONE_ITEM).first.click()
    expect(tab).to_have_url(re.compile(r"sel="))
    heading_id = tab.locator("#detail article").get_attribute("aria-labelledby")
    item = tab.locator(f'article[aria-labelledby="{heading_id}"]')
    item.get_by_role("button", name="Claim").click()
    expect(item.get_by_text("claimed by admin")).to_be_visible()
    item.get_by_role("button", name="Mark replied").click()
    tab.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)
    expect(tab.get_by_text(re.compile("replied", re.I)).first).to_be_visible()
    # Answered, it leaves the waiting list and stays selected: resolved there, then reopened.
    answered = tab.locator(f"#answered-{heading_id.removeprefix('h-')}")
    expect(answered.get_by_text("Replied by admin")).to_be_visible()
    answered.get_by_role("button", name="Mark resolved").click()
    expect(answered.get_by_text(re.compile("^resolved "))).to_be_visible()
    answered.get_by_role("button", name="Reopen").click()
    expect(tab.get_by_text(re.compile("it is back in the queue"))).to_be_visible()
    expect(tab.locator(f'article[aria-labelledby="{heading_id}"]')).to_be_visible()


def test_the_queue_refreshes_again_once_typing_is_undone(page, running):
    """The queue stops refreshing while something typed is unsent; typing a reason and
    clearing it again used to stop the refresh for good."""
    tab, base = page
    token = running[2]
    tab.goto(f"{base}/queue?unclaimed=1")
    tab.locator(ONE_ITEM).first.click()
    expect(tab).to_have_url(re.compile(r"sel="))
    waiting = tab.locator(".summary strong")
    before = waiting.inner_text()
    reason = tab.locator("#detail article").get_by_label("Why it needs no answer")
    reason.fill("spam")
    reason.fill("")
    tab.locator("h1").click()  # the focus leaves the queue: nothing is left unsent
    mention = {"channel": "discord", "id": f"e2e-{time.time_ns()}", "text": "caro install fails"}
    request = urllib.request.Request(
        f"{base}/api/mentions",
        data=json.dumps(mention).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request, timeout=10).status == 202
    expect(waiting).not_to_have_text(before, timeout=40_000)  # refreshed every 10 s


def test_usable_on_a_phone(page):
    tab, base = page
    tab.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/incidents", "/queue", "/rotation"):
        tab.goto(f"{base}{path}")
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    tab.goto(f"{base}/")
    tab.screenshot(path=str(ARTIFACTS / "overview-phone.png"), full_page=True)


def test_keyboard_reaches_the_navigation(page):
    tab, base = page
    tab.goto(f"{base}/")
    tab.keyboard.press("Tab")  # the skip link comes first
    assert tab.evaluate("document.activeElement.textContent").strip() == "Skip to content"
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.tagName") == "A"
