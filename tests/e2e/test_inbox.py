"""The reply queue as an inbox, in a real headless Chromium against the shared ``hark run``
(the launch-day sample): the page stays short at launch-day volume, filters and search live
in the URL, the keyboard moves through the list and acts, one reply answers every report of
an incident, and a refused save keeps what was typed beside the editor. Other browser tests
act on the same instance, so the items are picked by what they are, not by counts."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS
from tests.system.test_hark_run import _get, _wait_for

# the shared `hark run` set-up may count against the first test: more than the 120 s default
pytestmark = pytest.mark.timeout(300)

HEIGHT_LIMIT_PX = 3000
WAITING_AT_LEAST = 100
SINGLE_ROW = "ol.rows li:not([id^='item-incident-']) a[data-row]"  # one item, not an incident


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _waiting(base: str, token: str) -> int:
    return _get(_port(base), "/api/queue?limit=1", token)["total"]


def _submit_mention(base: str, token: str, number: int) -> None:
    mention = {
        "channel": "discord",
        "id": f"inbox-e2e-{time.time_ns()}-{number}",
        "author": f"tester{number}",
        "text": f"caro install fails at step {number} with a permissions error",
    }
    request = urllib.request.Request(
        f"{base}/api/mentions",
        data=json.dumps(mention).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert urllib.request.urlopen(request, timeout=10).status == 202


def _selected_key(tab: Page) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlparse(tab.url).query)
    return query["sel"][0]


def test_the_queue_page_stays_short_with_a_hundred_waiting(page, running):
    tab, base = page
    _, _, token = running
    missing = WAITING_AT_LEAST - _waiting(base, token)
    for number in range(max(0, missing)):
        _submit_mention(base, token, number)
    _wait_for(lambda: _waiting(base, token) >= WAITING_AT_LEAST)
    tab.goto(f"{base}/queue")
    waiting = int(tab.locator(".summary strong").inner_text())
    assert waiting >= WAITING_AT_LEAST
    height = tab.evaluate("document.body.scrollHeight")
    print(f"\nqueue page at 1280 px wide with {waiting} waiting: {height} px tall")
    tab.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)
    assert height <= HEIGHT_LIMIT_PX
    # The answered items are a tab at the top, not below every waiting one.
    answered = tab.get_by_role("link", name=re.compile("^Answered recently"))
    assert answered.bounding_box()["y"] < 900


def test_filters_and_search_live_in_the_url(page):
    tab, base = page
    tab.goto(f"{base}/queue")
    tab.get_by_label("Channel").select_option("discord")  # applies as it changes
    expect(tab).to_have_url(re.compile(r"channel=discord"))
    chans = tab.locator(f"{SINGLE_ROW} .chan").all_inner_texts()
    assert chans and set(chans) == {"discord"}
    tab.get_by_label("Search text and author").fill("caro")
    tab.get_by_label("Search text and author").press("Enter")
    expect(tab).to_have_url(re.compile(r"q=caro"))
    shown = tab.locator(".showing").inner_text()
    tab.reload()  # the view survives a reload: it is the URL
    expect(tab.get_by_label("Channel")).to_have_value("discord")
    expect(tab.get_by_label("Search text and author")).to_have_value("caro")
    expect(tab.locator(".showing")).to_have_text(shown)
    for text in tab.locator(f"{SINGLE_ROW} .words").all_inner_texts():
        assert "caro" in text.lower() or "…" in text  # the match may be past the first words
    tab.get_by_label("Overdue").check()
    expect(tab).to_have_url(re.compile(r"overdue=1"))
    tab.screenshot(path=str(ARTIFACTS / "inbox-filtered.png"), full_page=True)


def test_select_and_work_an_item_from_the_keyboard(page):
    tab, base = page
    tab.goto(f"{base}/queue?channel=discord&unclaimed=1")
    tab.locator(SINGLE_ROW).first.click()
    expect(tab).to_have_url(re.compile(r"sel="))
    first = _selected_key(tab)
    rows = tab.locator("[data-inbox] a[data-row]")
    hrefs = [rows.nth(i).get_attribute("href") for i in range(rows.count())]
    current = next(i for i, href in enumerate(hrefs) if f"sel={first}" in href)
    assert current + 1 < len(hrefs), "the page has a row after the selected one"

    tab.keyboard.press("j")  # the next row
    expect(tab).not_to_have_url(re.compile(rf"sel={re.escape(first)}(&|$)"))
    assert tab.url.endswith(hrefs[current + 1])
    tab.wait_for_load_state()  # the new page's shortcuts are listening
    expect(tab.locator("a[data-row][aria-current]")).to_have_count(1)
    tab.keyboard.press("k")  # and back
    expect(tab).to_have_url(re.compile(rf"sel={re.escape(first)}(&|$)"))
    tab.wait_for_load_state()

    detail = tab.locator("#detail article")
    tab.keyboard.press("c")  # claim
    expect(tab.get_by_text(f"You are answering {first}.")).to_be_visible()
    expect(detail.get_by_text("claimed by admin")).to_be_visible()
    tab.keyboard.press("e")  # into the draft: keys typed there are text, not shortcuts
    editor = detail.locator("textarea")
    expect(editor).to_be_focused()
    before = editor.input_value()
    tab.keyboard.type(" jk")
    expect(editor).to_have_value(before + " jk")
    assert f"sel={first}" in tab.url
    editor.fill(before)  # nothing left unsaved
    tab.locator("h1").click()
    tab.keyboard.press("r")  # mark replied (posting on X is off in the sample)
    expect(tab.get_by_text(f"Marked {first} replied.")).to_be_visible()
    expect(tab.locator(f"#answered-{re.sub(r'[^0-9A-Za-z]', '-', first)}")).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "inbox-keyboard.png"), full_page=True)


def test_one_reply_to_every_report_of_an_incident(page):
    tab, base = page
    tab.goto(f"{base}/queue")
    groups = tab.locator("ol.rows li[id^='item-incident-'] a[data-row]")
    expect(groups.first).to_be_visible()
    sizes = [int(re.search(r"(\d+) reports", t).group(1)) for t in groups.all_inner_texts()]
    groups.nth(sizes.index(max(sizes))).click()
    detail = tab.locator("#detail article")
    expect(detail.get_by_text(re.compile(r"^One reply to all \d+ reports"))).to_be_visible()
    reports = int(re.search(r"all (\d+) reports", detail.locator("label").first.inner_text())[1])
    assert reports >= 2
    tab.screenshot(path=str(ARTIFACTS / "inbox-incident.png"), full_page=True)
    editor = detail.get_by_label(re.compile("^One reply to all"))
    editor.fill("Thanks {name}, we are on it: the fix for this crash ships in 1.2.1.")
    detail.get_by_role("button", name=re.compile(r"^Reply to all")).click()
    said = tab.locator(".flash").filter(has_text=re.compile(r"of \d+ reports of inc-\S+ done"))
    expect(said).to_be_visible()
    done = re.search(r"(\d+) of (\d+) reports", said.inner_text())
    assert int(done[2]) == reports and int(done[1]) >= 1
    if done[1] == done[2]:  # the incident stays selected: what became of each, what was sent
        expect(tab.locator("#detail article h2")).to_contain_text("Every report answered")
        expect(tab.locator("#detail").get_by_text("What was sent")).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "inbox-incident-answered.png"), full_page=True)


def test_a_refused_save_keeps_the_text_beside_the_editor(page):
    tab, base = page
    tab.goto(f"{base}/queue?unclaimed=1")
    tab.locator(SINGLE_ROW).first.click()
    expect(tab).to_have_url(re.compile(r"sel="))
    detail = tab.locator("#detail article")
    typed = "Easy fix: run rm -rf ~/.caro and install again."
    detail.get_by_label("Draft reply").fill(typed)
    with tab.expect_response(re.compile(r"/queue/.+/draft$")) as answer:
        detail.get_by_role("button", name="Save draft").click()
    assert answer.value.status == 422
    detail = tab.locator("#detail article")
    expect(detail.get_by_label("Draft reply")).to_have_value(typed)
    error = detail.locator(".field-error")
    expect(error).to_contain_text("destructive command")
    expect(error).to_be_in_viewport()  # shown where the eye is, not 12,000 px away
    expect(detail.get_by_label("Draft reply")).to_be_focused()
    editor_box = detail.get_by_label("Draft reply").bounding_box()
    error_box = error.bounding_box()
    assert 0 <= editor_box["y"] - (error_box["y"] + error_box["height"]) < 40  # right above it
    tab.screenshot(path=str(ARTIFACTS / "inbox-refused-save.png"))  # what the manager sees


def test_with_posting_off_an_x_item_says_why_and_copies_its_draft(page):
    tab, base = page
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    tab.goto(f"{base}/queue?channel=x&unclaimed=1")
    tab.locator(SINGLE_ROW).first.click()
    expect(tab).to_have_url(re.compile(r"sel=x"))
    detail = tab.locator("#detail article")
    expect(
        detail.get_by_text(re.compile(r"^Posting on X is off: set HARK_X_API_KEY"))
    ).to_be_visible()
    expect(detail.get_by_role("button", name="Send on X")).to_have_count(0)
    draft = detail.get_by_label("Draft reply").input_value()
    detail.get_by_role("button", name="Copy").click()
    expect(detail.get_by_role("button", name="Copied")).to_be_visible()
    assert tab.evaluate("navigator.clipboard.readText()") == draft
