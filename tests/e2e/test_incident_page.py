"""The incident page as the on-call uses it on the launch-day sample: the why and who at the
top, a clean title, the escalation template, a timeline with authors; resolving takes a note
and a confirmation, and a resolved incident reopens. Other browser tests share this
``hark run``: the incidents are picked by what they hold, and what is resolved is reopened."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.system.test_hark_run import _get


def _incidents(running) -> list[dict]:
    base, _password, token = running
    port = urlsplit(base).port
    return _get(port, "/api/incidents?limit=200", token)["items"]


def test_the_launch_crash_page_puts_why_and_who_first(page, running):
    tab, base = page
    crash = max(_incidents(running), key=lambda incident: len(incident["mentions"]))
    tab.goto(f"{base}/incidents/{crash['id']}")
    heading = tab.get_by_role("heading", level=1)
    expect(heading).to_be_visible()
    assert "###" not in heading.inner_text() and "`" not in heading.inner_text()
    why = tab.get_by_role("heading", name=re.compile(r"^Why it is P0"))
    reports = tab.get_by_role("heading", name=re.compile(r"^Reports \("))
    assert why.bounding_box()["y"] < 900  # on the first screen, not under the reports
    assert why.bounding_box()["y"] < reports.bounding_box()["y"]
    expect(tab.get_by_text(re.compile(r"dry run: no PagerDuty key")).first).to_be_visible()
    escalation = tab.locator("dl.escalation")
    expect(escalation.get_by_text("Not acknowledged within")).to_be_visible()
    expect(escalation).not_to_contain_text("0:15:00")
    timeline = tab.locator("ol.incident-timeline")
    expect(timeline.locator("li.event-report").first).to_contain_text("by ")
    expect(timeline.get_by_role("link", name="in the inbox").first).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "incident-page.png"), full_page=True)


def test_resolve_with_a_note_and_a_confirmation_then_reopen(page, running):
    tab, base = page
    listed = _incidents(running)
    newest = listed[0]["id"] if listed else None  # another test acknowledges the newest
    open_ones = [
        incident
        for incident in listed
        if incident["status"] in ("triggered", "escalated") and incident["id"] != newest
    ]
    chosen = min(open_ones, key=lambda incident: len(incident["mentions"]))
    tab.goto(f"{base}/incidents/{chosen['id']}")
    tab.get_by_label("Resolution note").fill("false alarm in the e2e test")
    tab.get_by_role("button", name="Resolve…").click()
    expect(tab.get_by_role("heading", name="Resolve this incident?")).to_be_visible()
    expect(tab.get_by_text("false alarm in the e2e test")).to_be_visible()
    tab.screenshot(path=str(ARTIFACTS / "incident-resolve-confirm.png"), full_page=True)
    tab.get_by_role("button", name="Yes, resolve").click()
    expect(tab.get_by_text(f"Incident {chosen['id']} is resolved.")).to_be_visible()
    expect(tab.locator("dl.who")).to_contain_text("admin")
    tab.get_by_label("Why it is not over").fill("reopened by the e2e test")
    tab.get_by_role("button", name="Reopen").click()
    expect(tab.get_by_text(f"Incident {chosen['id']} is open again")).to_be_visible()
    expect(tab.locator("ol.incident-timeline")).to_contain_text("reopened by the e2e test")
