"""Launch-day awareness in a real headless Chromium against the shared ``hark run``: the
overview's volume card draws its sparklines, and a new item offers the reply given to a
similar answered one ("Use this reply" fills the editor) and links the same problem
reported on another channel, on both items."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(300)

REPLY = "Known since this morning: the wizard needs ~/.config writable, run caro setup --fix"


def _get(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait_until(check, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _call(base: str, token: str, path: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _queued(base: str, token: str, mention_id: str) -> bool:
    """Whether the item is in the queue (triaged by now): its mention's status says so."""
    query = urllib.parse.urlencode({"q": mention_id.split(":", 1)[1]})
    try:
        items = _get(base, f"/api/queue?{query}", token)["items"]
    except urllib.error.HTTPError:
        return False
    return any(item["mention_id"] == mention_id for item in items)


def test_the_overview_draws_the_volume_sparklines(page):
    tab, _ = page
    card = tab.locator("section.volume")
    # `hark run` shortens the window as it speeds up the sample: "10 s" here, "10 min" live
    expect(
        card.get_by_role("heading", name=re.compile(r"^Volume per \d+ (min|s)$"))
    ).to_be_visible()
    expect(card.locator("svg.sparkline").first).to_be_visible()
    expect(card.locator("tr[data-scope='all'] th")).to_have_text("All mentions")


def test_a_new_item_offers_an_answered_reply_and_links_the_other_channel(page, running):
    tab, base = page
    _, _, token = running
    stamp = time.time_ns()
    answered = {
        "channel": "discord",
        "id": f"aware-{stamp}-1",
        "author": "early_bird",
        "text": "the setup wizard crashes writing its config: permission denied on .config",
    }
    new = {
        "channel": "github",
        "id": f"aware-{stamp}-2",
        "author": "late_comer",
        "text": "Setup wizard: permission denied writing the config in .config, wizard crashes",
    }
    for mention in (answered, new):
        assert _call(base, token, "/api/mentions", mention) == 202
    first, second = (f"{m['channel']}:{m['id']}" for m in (answered, new))
    _wait_until(lambda: _queued(base, token, first) and _queued(base, token, second))
    quoted = urllib.parse.quote(first, safe="")
    assert _call(base, token, f"/api/queue/{quoted}/draft", {"by": "ana", "text": REPLY}) == 200
    assert _call(base, token, f"/api/queue/{quoted}/replied", {"by": "ana"}) == 200

    tab.goto(f"{base}/queue?" + urllib.parse.urlencode({"sel": second}))
    section = tab.locator("section.similar")
    expect(section.get_by_role("heading", name="Answered before")).to_be_visible()
    expect(section.locator("pre.draft").first).to_have_text(REPLY)
    section.get_by_role("button", name="Use this reply").first.click()
    editor = tab.get_by_label("Draft reply")
    expect(editor).to_have_value(REPLY)
    expect(tab.locator(f"section.linked a[data-linked='{first}']")).to_be_visible()

    tab.goto(f"{base}/queue?" + urllib.parse.urlencode({"sel": first}))
    expect(tab.locator(f"section.linked a[data-linked='{second}']")).to_be_visible()
