"""The logged-in pages run in Chromium under Hark's Content-Security-Policy (issue 14,
item 5) without one violation: every page's script and style come from the site, so
nothing is refused. And another site cannot frame the incident page."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.system.test_hark_run import _get

PAGES = ("/", "/incidents", "/queue", "/rotation", "/support-metrics", "/rules")
# Recorded in the page by the browser itself (an init script is not subject to the policy).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def _an_incident(running) -> str:
    base, _password, token = running
    items = _get(urlsplit(base).port, "/api/incidents?limit=200", token)["items"]
    return items[0]["id"]


def _watch(tab: Page) -> tuple[list[str], list[str]]:
    said: list[str] = []
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            said.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.add_init_script(RECORD_VIOLATIONS)
    return said, errors


def test_the_logged_in_pages_run_under_the_policy(page, running):
    tab, base = page
    said, errors = _watch(tab)
    for path in (*PAGES, f"/incidents/{_an_incident(running)}"):
        response = tab.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        expect(tab.get_by_role("heading", level=1).first).to_be_visible()
        tab.wait_for_load_state("load")
        recorded = tab.evaluate("window.__violations")
        assert recorded == [], f"{path}: {recorded}"
    # the queue's script runs: its filters and actions are bound by hark.js, not inline
    tab.goto(f"{base}/queue")
    tab.wait_for_load_state("load")
    assert said == [], said
    assert errors == [], errors


def test_the_login_page_runs_under_the_policy(page, running):
    tab, base = page
    context = tab.context.browser.new_context()
    try:
        anonymous = context.new_page()
        said, errors = _watch(anonymous)
        response = anonymous.goto(f"{base}/login")
        assert response is not None and response.status == 200
        expect(anonymous.get_by_role("heading", level=1)).to_be_visible()
        # the style sheet applied: the button is styled from login.css, not inline
        color = anonymous.get_by_role("button", name="Log in").evaluate(
            "button => getComputedStyle(button).backgroundColor"
        )
        assert color == "rgb(11, 79, 156)"
        assert anonymous.evaluate("window.__violations") == [] and said == [] and not errors
    finally:
        context.close()


def test_another_page_cannot_frame_the_incident_page(page, running):
    """The review framed the logged-in incident page from another port on the same host."""
    tab, base = page
    incident = f"{base}/incidents/{_an_incident(running)}"
    with tab.expect_console_message(lambda message: "frame-ancestors" in message.text):
        tab.set_content(f'<iframe src="{incident}" title="framed"></iframe>')
    framed = tab.frames[-1]
    assert framed is not tab.main_frame
    assert "Why it is" not in framed.content()  # the incident page never rendered in it
