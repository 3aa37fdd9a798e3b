"""The inbox as the community manager works it: one reply to every report of an incident (each
report on its own, the one that does not fit named and left as it was), dismiss-all, a
refused save that keeps the text beside the editor, filters and search in the URL (the page
and the JSON API alike), and what the selected item says about its draft and about X."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

import web
from desk.mentions import MentionStore
from desk.records import QueueItem, StoredMention
from desk.reply_queue import ReplyQueue
from oncall.incidents import IncidentStore
from oncall.records import IncidentReport
from rules.result import TriageRecord
from services import queue as desk_queue
from services.context import Services
from services.queue import QueueError
from web.ids_in_urls import id_token
from web.users import load_users

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)
API = {"Authorization": "Bearer t"}
P0 = TriageRecord(
    priority="P0",
    category="command-generation",
    kind="bug",
    score=2.0,
    pages=True,
    scores={"P0": 2.0},
    rules=(
        {
            "id": "crash-for-everyone",
            "description": "Caro crashes on launch",
            "levels": ["P0"],
            "weight": 1.0,
            "category": "command-generation",
            "kind": "bug",
            "matches": [],
        },
    ),
    urgency="high",
)
REPORTS = {  # the incident's reports: mention id -> (author, text)
    "x:11": ("sam_on_x", "caro crashes on launch since 1.2.0"),
    "discord:12": ("ines", "caro crashes on launch since 1.2.0 here too"),
    "github:13": ("Ana <ana@example.com>", "Caro 1.2.0 crashes on launch"),
}


def item(mention_id: str, author: str, text: str, minutes: int, **fields) -> QueueItem:
    channel, native = mention_id.split(":")
    return QueueItem.model_validate(
        {
            "mention_id": mention_id,
            "native_id": native,
            "channel": channel,
            "author": author,
            "text": text,
            "url": f"https://example.com/{native}",
            "priority": "P0",
            "category": "command-generation",
            "kind": "bug",
            "received_at": NOW - timedelta(minutes=30),
            "due_at": NOW + timedelta(minutes=minutes),
            "draft": {"text": f"Sorry, {author}!", "template_id": "p0"},
            **fields,
        }
    )


@pytest.fixture
def app(write_users):
    people = {"rosa": "responder", "ana": "responder", "vera": "viewer"}
    users = write_users({name: (role, f"{name}-password") for name, role in people.items()})
    application = web.create_app(
        redis=fakeredis.FakeRedis(),
        api_token="t",
        clock=lambda: NOW,
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users),
        insecure_cookies=True,
    )
    connection = application.config["REDIS"]
    queue, incidents = ReplyQueue(connection), IncidentStore(connection)
    for minutes, (mention_id, (author, text)) in enumerate(REPORTS.items(), start=10):
        queue.add(item(mention_id, author, text, minutes))
        report = IncidentReport(mention_id=mention_id, channel=mention_id.split(":")[0], text=text)
        incidents.record_report(report, P0, NOW - timedelta(minutes=30), timedelta(hours=2))
    queue.add(item("discord:20", "lena", "how do I pick the model?", 5, priority="P3"))
    return application


@pytest.fixture
def services(app) -> Services:
    return app.config["SERVICES"]


@pytest.fixture
def browser(app, log_in, csrf_token_of):
    def client_of(name: str):
        client = app.test_client()
        assert log_in(client, name, f"{name}-password").status_code == 303
        client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_token_of(client.get("/").text)
        return client

    return client_of


def incident_id(services: Services) -> str:
    items, _ = IncidentStore(services.connection).list(None, 10, None)
    return items[0].id


def stored(services: Services, mention_id: str) -> QueueItem:
    found = ReplyQueue(services.connection).get(mention_id)
    assert found is not None
    return found


# ----------------------------------------------------------------------------- one reply to all


def test_one_reply_answers_each_report_and_names_the_one_too_long_for_x(services):
    before = stored(services, "x:11")
    text = "Hi {name}, thanks for the report. " + "We are on it. " * 20  # ~300: too long for X
    answer = desk_queue.reply_to_incident(services, incident_id(services), "rosa", text)
    outcome = {report.mention_id: report for report in answer.outcomes}
    assert outcome["x:11"].outcome == "untouched"
    assert "too long" in outcome["x:11"].detail and "over X's 280" in outcome["x:11"].detail
    assert stored(services, "x:11") == before  # nothing half-written
    for mention_id in ("discord:12", "github:13"):
        assert outcome[mention_id].outcome == "replied"
        assert stored(services, mention_id).status == "replied"
    assert stored(services, "discord:12").draft.text.startswith("Hi ines, thanks")
    assert stored(services, "github:13").draft.text.startswith("Hi Ana, thanks")  # no address
    assert answer.count("replied") == 2 and answer.count("untouched") == 1


def test_a_report_someone_else_answers_is_left_to_them(services):
    desk_queue.claim(services, "discord:12", "ana")
    answer = desk_queue.reply_to_incident(services, incident_id(services), "rosa", "On it, {name}.")
    outcome = {report.mention_id: report for report in answer.outcomes}
    assert outcome["discord:12"].outcome == "untouched"
    assert "ana is answering this" in outcome["discord:12"].detail
    assert stored(services, "discord:12").claimed_by == "ana"
    assert outcome["x:11"].outcome == "replied" and outcome["x:11"].detail == "post it by hand"


def test_a_destructive_reply_changes_no_report(services):
    before = [stored(services, mention_id) for mention_id in REPORTS]
    with pytest.raises(QueueError, match="destructive command"):
        desk_queue.reply_to_incident(
            services, incident_id(services), "rosa", "Try sudo rm -rf / and reinstall"
        )
    assert [stored(services, mention_id) for mention_id in REPORTS] == before


def test_with_a_poster_the_x_report_is_posted_once_approved(services):
    class Poster:
        def __init__(self):
            self.sent: list[tuple[str, str]] = []

        def reply(self, text, to):
            self.sent.append((text, to))
            return "777"

    poster = Poster()
    posting = replace(services, x_poster=poster)
    with pytest.raises(QueueError, match="approve"):
        desk_queue.reply_to_incident(posting, incident_id(services), "rosa", "Fixed, {name}.")
    assert poster.sent == [] and stored(services, "x:11").status == "open"
    answer = desk_queue.reply_to_incident(
        posting, incident_id(services), "rosa", "Fixed, {name}.", approve=True
    )
    outcome = {report.mention_id: report for report in answer.outcomes}
    assert poster.sent == [("Fixed, sam_on_x.", "11")]
    assert outcome["x:11"].outcome == "posted"
    assert stored(services, "x:11").reply_url == "https://x.com/i/status/777"
    assert outcome["discord:12"].outcome == "replied"


def test_dismiss_all_dismisses_each_report_it_may(services):
    desk_queue.claim(services, "github:13", "ana")
    with pytest.raises(QueueError, match="say why"):
        desk_queue.dismiss_incident(services, incident_id(services), "rosa", " ")
    answer = desk_queue.dismiss_incident(services, incident_id(services), "rosa", "a test post")
    assert {r.mention_id: r.outcome for r in answer.outcomes} == {
        "x:11": "dismissed",
        "discord:12": "dismissed",
        "github:13": "untouched",
    }
    assert stored(services, "x:11").dismissed_reason == "a test post"
    assert stored(services, "github:13").status == "claimed"


# ----------------------------------------------------------------------------- the page


def test_an_incidents_reports_are_one_row_answered_at_once_on_the_page(browser, services):
    rosa, incident = browser("rosa"), incident_id(services)
    html = rosa.get("/queue").text
    assert html.count("data-row") == 2  # the incident's three reports, and the lone item
    assert "3 reports" in html and f'id="item-incident-{incident}"' in html
    group = rosa.get(f"/queue?sel=incident:{incident}").text
    assert "One reply to all 3 reports" in group and "Dismiss all 3" in group
    assert "Sorry, {name}!" in group  # the first report's draft, its reporter's name made {name}
    assert "Posting on X is off: set HARK_X_API_KEY" in group

    page = rosa.post(
        f"/queue/incidents/{incident}/reply-all",
        data={"text": "Thanks {name}, a fix is coming.", "view": "channel=discord"},
    )
    assert page.status_code == 302
    assert page.headers["Location"] == f"/queue?channel=discord&sel=incident:{incident}"
    after = rosa.get(page.headers["Location"]).text
    assert f"3 of 3 reports of {incident} done: 3 marked replied." in after
    assert "to post by hand on X: x:11" in after
    assert all(stored(services, mention_id).status == "replied" for mention_id in REPORTS)
    assert "Every report answered" in after and "What was sent" in after
    assert "Thanks sam_on_x, a fix is coming." in after


def test_dismiss_all_on_the_page_says_which_were_left(browser, services):
    incident = incident_id(services)
    browser("ana").post(f"/queue/{id_token('github:13')}/claim")
    rosa = browser("rosa")
    page = rosa.post(f"/queue/incidents/{incident}/dismiss-all", data={"reason": "a test post"})
    html = rosa.get(page.headers["Location"]).text
    assert f"2 of 3 reports of {incident} done: 2 dismissed." in html
    assert "github:13 (Ana &lt;ana@example.com&gt;) left untouched: ana is answering this" in html
    assert stored(services, "github:13").status == "claimed"
    assert stored(services, "discord:12").status == "dismissed"


def test_a_refused_save_keeps_the_text_beside_the_editor(browser, services):
    before = stored(services, "discord:20")
    typed = "Easy: run rm -rf ~/.caro and start again, lena"
    page = browser("rosa").post(
        f"/queue/{id_token('discord:20')}/draft",
        data={"text": typed, "view": "priority=P3&q=model"},
    )
    assert page.status_code == 422  # the page itself, not a redirect that loses the text
    html = page.text
    editor = re.search(r'<textarea id="draft-discord-20"[^>]*>(.*?)</textarea>', html, re.S)
    assert editor is not None and editor.group(1) == typed
    assert 'aria-invalid="true"' in editor.group(0) and "autofocus" in editor.group(0)
    error = html[editor.start() - 400 : editor.start()]  # right above the text it is about
    assert 'class="field-error"' in error and "destructive command (rm -rf)" in error
    assert '<option value="P3" selected>' in html and 'value="model"' in html  # same view
    assert stored(services, "discord:20") == before


def test_a_refused_reply_to_all_keeps_the_text_too(browser, services):
    incident = incident_id(services)
    typed = "Hi {name}, run mkfs.ext4 /dev/sda1 to reset"
    page = browser("rosa").post(f"/queue/incidents/{incident}/reply-all", data={"text": typed})
    assert page.status_code == 422 and typed in page.text and "field-error" in page.text
    assert all(stored(services, mention_id).status == "open" for mention_id in REPORTS)


def test_filters_search_and_page_live_in_the_url(browser):
    rosa = browser("rosa")
    html = rosa.get("/queue?channel=discord&q=model").text
    assert html.count("data-row") == 1 and 'id="item-discord-20"' in html
    assert '<option value="discord" selected>discord (1)</option>' in html
    assert 'name="q" type="search" value="model"' in html
    assert 'data-poll="/partials/queue?channel=discord&amp;q=model&amp;sel=discord:20"' in html
    nothing = rosa.get("/queue?priority=P1").text
    assert "Nothing matches these filters." in nothing
    odd = rosa.get("/queue?priority=P7&status=gone&page=-4&overdue=maybe")
    assert odd.status_code == 200 and odd.text.count("data-row") == 2  # ignored, not an error


def test_the_selected_item_says_what_its_draft_knows(app, browser, services):
    connection = services.connection
    hints = {
        "text": "Done!",
        "template_id": "no-reply",
        "reply_needed": False,
        "already_given": ["version", "OS"],
        "note": "No Spanish template yet: the draft is in English.",
    }
    ReplyQueue(connection).add(
        item("x:30", "pat", "unsubscribe me please", 1, priority="P3", draft=hints)
    )
    html = browser("rosa").get("/queue?sel=x:30").text
    assert "No reply needed" in html and "Dismiss: no reply needed" in html
    assert "The message gave: version, OS" in html
    assert "No Spanish template yet: the draft is in English." in html
    assert "Posting on X is off: set HARK_X_API_KEY, HARK_X_API_SECRET" in html
    assert 'data-copy="draft-x-30"' in html  # the copy button (shown by hark.js)
    page = browser("rosa").post(
        f"/queue/{id_token('x:30')}/dismiss",
        data={"reason": "no reply needed: No Spanish template yet"},
    )
    assert page.status_code == 302 and stored(services, "x:30").status == "dismissed"
    app.config["SERVICES"] = replace(services, x_poster=object())
    assert "Posting on X is off" not in browser("rosa").get("/queue?sel=x:11").text


def test_the_selected_item_shows_the_message_it_answers(browser, services):
    store = MentionStore(services.connection)
    for native, text, reply_to in (("40", "is 1.2.0 out?", None), ("41", "it crashes", "40")):
        mention = {
            "id": f"discord:{native}",
            "channel": "discord",
            "native_id": native,
            "author": "kai",
            "text": text,
            "created_at": NOW.isoformat(),
            "received_at": NOW.isoformat(),
            "reply_to": reply_to,
        }
        store.save(StoredMention.triaged(mention, P0, NOW))
    ReplyQueue(services.connection).add(item("discord:41", "kai", "it crashes", 1))
    html = browser("vera").get("/queue?sel=discord:41").text
    assert "In reply to kai" in html and "is 1.2.0 out?" in html


def test_possible_p0s_have_their_filter_and_their_banner(browser, services):
    low = P0.model_copy(update={"urgency": "low", "rules": (), "category": "safety"})
    text = "caro ran rm -rf on my build folder, I think"
    mention = {
        "id": "discord:50",
        "channel": "discord",
        "native_id": "50",
        "author": "noor",
        "text": text,
        "created_at": NOW.isoformat(),
        "received_at": NOW.isoformat(),
    }
    MentionStore(services.connection).save(StoredMention.triaged(mention, low, NOW))
    report = IncidentReport(mention_id="discord:50", channel="discord", text=text)
    IncidentStore(services.connection).record_report(report, low, NOW, timedelta(hours=2))
    ReplyQueue(services.connection).add(item("discord:50", "noor", text, 50))
    html = browser("rosa").get("/queue").text
    assert html.index('id="possible-p0"') < html.index('id="item-discord-50"')
    assert html.index('id="item-discord-50"') < html.index('id="item-discord-20"')  # due first
    assert re.search(r'Possible P0 <span class="count">1</span>', html)
    only = browser("rosa").get("/queue?possible_p0=1").text
    assert only.count("data-row") == 1 and "P0?" in only
    assert "Confirm P0: page at high urgency" in only  # the selected item's banner


def test_an_escalated_post_is_flagged_on_top_and_has_its_filter(app, browser, services):
    """A Discord post the bot escalated (nobody of the team answered it within the hour)
    is above items due sooner, with a badge, and the "Escalated" filter finds it."""
    escalation = {
        "at": NOW - timedelta(minutes=5),
        "actor": "Hark",
        "event": "escalated",
        "detail": "no answer from the team on Discord within an hour",
    }
    question = item(
        "discord:60", "mo", "is there a dark theme?", 600, priority="P3", history=[escalation]
    )
    ReplyQueue(services.connection).add(question)
    html = browser("vera").get("/queue").text
    assert html.index('id="item-discord-60"') < html.index('id="item-discord-20"')  # due later
    row = html[html.index('id="item-discord-60"') :]
    assert re.search(r'class="tag tag-escalated"[^>]*>escalated</span>', row[: row.index("</li>")])
    assert re.search(r'Escalated <span class="count">1</span>', html)
    only = browser("vera").get("/queue?escalated=1").text
    assert only.count("data-row") == 1 and "escalated 5 min ago" in only  # its header
    assert "no answer from the team on Discord within an hour" in only
    listed = app.test_client().get("/api/queue?escalated=1", headers=API).get_json()
    assert [(entry["mention_id"], entry["escalated"]) for entry in listed["items"]] == [
        ("discord:60", True)
    ]


def test_an_item_the_team_answered_on_discord_does_not_claim_the_draft_was_sent(browser, services):
    answered = item(
        "discord:61",
        "mo",
        "where are the logs kept?",
        60,
        priority="P3",
        status="replied",
        replied_by="discord:300000000000000001",
        first_response_at=NOW,
    )
    ReplyQueue(services.connection).add(answered)
    html = browser("vera").get("/queue?status=answered&sel=discord:61").text
    assert "Hark's draft was not sent" in html and "What was sent" not in html


def test_the_page_lists_its_shortcuts_and_runs_no_inline_script(browser):
    html = browser("rosa").get("/queue?sel=discord:20").text  # a lone item: claim, reply
    assert "<kbd>j</kbd>" in html and "<kbd>c</kbd> claim" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert 'data-shortcut="c"' in html and 'data-shortcut="r"' in html


# ----------------------------------------------------------------------------- the JSON API


def test_the_api_takes_the_same_filters(app, services):
    client = app.test_client()
    answer = client.get("/api/queue?channel=discord&q=crashes", headers=API).get_json()
    assert [i["mention_id"] for i in answer["items"]] == ["discord:12"]
    assert answer["items"][0]["incident_id"] == incident_id(services)
    assert answer["total"] == 1 and answer["counts"]["channel"]["discord"] == 1
    paged = client.get("/api/queue?limit=2", headers=API).get_json()
    assert len(paged["items"]) == 2 and paged["next"] == "2" and paged["total"] == 4
    refused = client.get("/api/queue?priority=P9", headers=API)
    assert refused.status_code == 400
    assert client.get("/api/queue?mine=1", headers=API).status_code == 400  # whose?
    mine = client.get("/api/queue?mine=1&by=rosa", headers=API).get_json()
    assert mine["items"] == []


def test_the_api_replies_to_every_report_of_an_incident(app, services):
    client, incident = app.test_client(), incident_id(services)
    answer = client.post(
        f"/api/queue/incidents/{incident}/reply-all",
        json={"by": "rosa", "text": "Fixed in 1.2.1, {name}."},
        headers=API,
    )
    assert answer.status_code == 200
    outcomes = {r["mention_id"]: r["outcome"] for r in answer.get_json()["outcomes"]}
    assert outcomes == {"x:11": "replied", "discord:12": "replied", "github:13": "replied"}
    again = client.post(
        f"/api/queue/incidents/{incident}/dismiss-all",
        json={"by": "rosa", "reason": "dup"},
        headers=API,
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    "query",
    [
        "sel=incident:",
        "sel=incident:inc-nope",
        "sel=%00",
        "sel=x:11&status=answered",
        "page=99999999999999999999",
        "q=" + "a" * 5000,
        "priority=&channel=&status=",
        "mine=1&status=answered&possible_p0=1",
    ],
)
def test_odd_views_still_show_the_inbox(app, browser, query):
    assert browser("vera").get(f"/queue?{query}").status_code == 200
    assert browser("vera").get(f"/partials/queue?{query}").status_code == 200
    api = app.test_client().get(f"/api/queue?{query.replace('mine=1&', '')}", headers=API)
    assert api.status_code in (200, 400)
