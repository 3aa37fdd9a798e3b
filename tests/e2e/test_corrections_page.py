"""A responder changes a queue item's priority in a real headless Chromium against a running
``hark run`` (the launch-day sample): the form wants a reason, the item then shows its new
level with the correction beside it, and the change is kept as a label."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.system.test_hark_run import _get
from web.ids_in_urls import id_from_token

# the shared `hark run` set-up may count against this test: more than the 120 s default
pytestmark = pytest.mark.timeout(300)


def test_change_a_priority_with_a_reason_on_the_queue_page(page, running):
    tab, base = page
    _, _, token = running
    tab.goto(f"{base}/queue")
    # The first item of the main list (not a possible P0, not an incident's reports),
    # selected and pinned by its heading's id (a refresh or a new mention can put another
    # item first).
    tab.locator("ol.rows:not(.suspects) li:not([id^='item-incident-']) a[data-row]").first.click()
    expect(tab).to_have_url(re.compile(r"sel="))
    heading_id = tab.locator("#detail article").get_attribute("aria-labelledby")
    item = tab.locator(f'article[aria-labelledby="{heading_id}"]')
    before = item.locator("h2").inner_text()
    current = re.search(r"\bP[0-3]\b", before).group(0)
    target = "P3" if current != "P3" else "P2"

    form = item.locator("form.priority")
    form.get_by_label("Change priority to").select_option(target)
    form.get_by_role("button", name="Change priority").click()
    # The reason is required: the browser does not send the form without it.
    expect(tab.get_by_text(re.compile(r"is P\d now"))).to_have_count(0)
    form.get_by_label("Why").fill("checked with the reporter: one machine only")
    form.get_by_role("button", name="Change priority").click()

    expect(tab.get_by_text(re.compile(rf"is {target} now \(was {current}\)"))).to_be_visible()
    moved = tab.locator(f'article[aria-labelledby="{heading_id}"]')
    expect(moved.locator("h2")).to_contain_text(
        f"{target} (corrected from {current} by admin: checked with the reporter"
    )
    moved.screenshot(path=str(ARTIFACTS / "queue-corrected.png"))
    action = form.get_attribute("action")
    mention_id = id_from_token(action.removeprefix("/queue/").removesuffix("/priority"))
    stored = _mentions(int(base.rsplit(":", 1)[1]), token, target)
    assert stored[mention_id]["correction"]["from_priority"] == current
    assert stored[mention_id]["correction"]["by"] == "admin"


def _mentions(port: int, token: str, priority: str) -> dict[str, dict]:
    """Every stored mention at ``priority`` (every page of the API), by id."""
    found, cursor = {}, None
    while True:
        query = f"priority={priority}&limit=200"
        if cursor:
            query += f"&cursor={urllib.parse.quote(cursor)}"
        answer = _get(port, f"/api/mentions?{query}", token)
        found |= {item["id"]: item for item in answer["items"]}
        cursor = answer["next"]
        if not cursor:
            return found
