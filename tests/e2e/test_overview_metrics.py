"""The overview, the metrics page and the rotation in headless Chromium, on the shared
``hark run`` with the launch-day sample (tests/e2e/conftest.py), as the on-call engineer
and the community manager read them: the pager's dry run said plainly, problems named
(never rule ids), knowledge-base candidates counting an incident's reports, targets judged
only on enough answers, and every time on the team's clock with UTC on hover.
Screenshots: test-artifacts/overview-dry-run.png, metrics-named.png, rotation-team-zone.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS

# The shared `hark run` set-up counts against the first test that asks for it.
pytestmark = pytest.mark.timeout(300)

RULE_IDS = ("question", "installation-topic", "generation-topic", "crash-for-everyone")
ZONE = re.compile(r"\b(EST|EDT)\b")  # the shipped rulebook's business hours: New York


def _times_are_the_teams(tab) -> None:
    """Every <time> shows the team's zone, its UTC time on hover; no text says UTC."""
    times = tab.locator("main time")
    assert times.count() > 0
    for index in range(min(times.count(), 20)):
        element = times.nth(index)
        assert ZONE.search(element.inner_text()), element.inner_text()
        assert (element.get_attribute("title") or "").endswith(" UTC")
    visible = tab.locator("main").inner_text().replace("hover one for UTC", "")
    assert "UTC" not in visible


def test_the_overview_says_the_pager_is_a_dry_run_with_its_pages(page):
    tab, _base = page
    pager = tab.locator("#pager-state")
    expect(pager).to_contain_text("Dry run: no PagerDuty key is set (HARK_PD_ROUTING_KEY)")
    text = pager.inner_text()
    recorded = re.search(r"(\d+) pages? recorded in the last 24 hours, not sent \((.+)\)", text)
    assert recorded, text
    assert int(recorded.group(1)) >= 1 and "trigger" in recorded.group(2)
    assert "no page sent yet" not in tab.locator("main").inner_text()
    _times_are_the_teams(tab)
    tab.screenshot(path=str(ARTIFACTS / "overview-dry-run.png"), full_page=True)


def test_the_metrics_page_names_problems_and_its_kb_candidates(page):
    tab, base = page
    tab.goto(f"{base}/support-metrics")
    top = tab.locator("section[aria-labelledby='top-h'] tbody tr")
    expect(top.first).to_be_visible()
    names = [top.nth(row).locator("td").first.inner_text() for row in range(top.count())]
    assert not set(names) & set(RULE_IDS), names
    assert any(name.endswith("(incident)") for name in names), names
    assert any(re.search(r"(bugs|questions)$", name) for name in names), names

    kb = tab.locator("section[aria-labelledby='kb-h'] tbody tr")
    expect(kb.first).to_be_visible()
    first = kb.first.locator("td")
    assert first.nth(0).inner_text().endswith("(incident)")
    assert int(first.nth(1).inner_text()) >= 10  # the launch crash's reports, as one problem
    _targets_have_enough_behind_them(tab)
    _times_are_the_teams(tab)
    tab.screenshot(path=str(ARTIFACTS / "metrics-named.png"), full_page=True)


def _targets_have_enough_behind_them(tab) -> None:
    rows = tab.locator("table.targets tbody tr")
    assert rows.count() == 6
    for index in range(rows.count()):
        verdict = rows.nth(index).locator("td").last.inner_text()
        assert re.match(r"(met|missed|too few .+ to judge|no data): ", verdict), verdict
        if verdict.startswith("met: "):
            behind = re.search(r"(?:of|over) (\d+)", verdict)
            assert behind and int(behind.group(1)) >= 10, verdict


def test_the_rotation_names_handoffs_on_the_teams_clock(page):
    tab, base = page
    tab.goto(f"{base}/rotation")
    levels = tab.locator("section[aria-labelledby='levels-h']")
    expect(levels).to_contain_text(re.compile(r"weekly, handoff Monday 09:00 E[SD]T"))
    assert "09:00:00" not in levels.inner_text() and " on mon" not in levels.inner_text()
    expect(tab.get_by_text("Times are the team's (America/New_York)")).to_be_visible()
    _times_are_the_teams(tab)
    tab.screenshot(path=str(ARTIFACTS / "rotation-team-zone.png"), full_page=True)
