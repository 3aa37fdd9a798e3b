"""The server-rendered pages, against fakeredis and the real stores.

Every client logs in through the real login form (web.login) with a users file of its own;
after that it sends its session's CSRF token in the ``X-CSRF-Token`` header, standing in for
the hidden field every form carries (``test_every_form_carries_the_csrf_token`` checks the
forms' own tokens).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import fakeredis
import pytest
from rq import Queue
from rq.serializers import JSONSerializer

import web
from desk.mentions import MentionStore
from desk.records import QueueItem, StoredMention
from desk.reply_queue import ReplyQueue
from monitor.store import MonitorState
from oncall.incidents import IncidentStore
from oncall.records import IncidentReport, PageFacts
from oncall.rotation import LocalRotation
from rules.result import TriageRecord
from services import queue as desk_queue
from services.context import Services
from services.jobs import PAGING_QUEUE
from web import charts
from web.ids_in_urls import id_token
from web.users import load_users

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 24, 15, 30, tzinfo=UTC)  # a Saturday: Chen Wei's week (level 1)
ROLE_OF = {
    "vera": "viewer",
    "rosa": "responder",
    "ana": "responder",
    "ben": "responder",
    "cam": "responder",
    "dee": "responder",
    "ada": "admin",
}


def _password(name: str) -> str:
    return f"{name}-password"


# ----------------------------------------------------------------------------- login


@pytest.fixture
def redis_server():
    return fakeredis.FakeServer()


@pytest.fixture
def app(shipped, write_users, redis_server):
    users_file = write_users({name: (role, _password(name)) for name, role in ROLE_OF.items()})
    schedule = (ROOT / "oncall" / "data" / "schedule.yaml").read_text(encoding="utf-8")
    application = web.create_app(
        redis=fakeredis.FakeRedis(server=redis_server),
        api_token="t",
        clock=lambda: NOW,
        rotation_source=LocalRotation.from_yaml(schedule),
        secret_key="a-test-secret-of-at-least-32-characters",
        users=load_users(users_file),
        insecure_cookies=True,
    )
    application.config.update(RULEBOOK=shipped)
    _seed(application.config["REDIS"])
    return application


@pytest.fixture
def sign_in(app, log_in, csrf_token_of):
    """``sign_in(name)``: a client logged in as ``name`` that sends its CSRF token."""

    def client_of(name: str):
        client = app.test_client()
        assert log_in(client, name, _password(name)).status_code == 303
        token = csrf_token_of(client.get("/").get_data(as_text=True))
        client.environ_base["HTTP_X_CSRF_TOKEN"] = token
        return client

    return client_of


@pytest.fixture
def viewer(sign_in):
    return sign_in("vera")


@pytest.fixture
def responder(sign_in):
    return sign_in("rosa")


# ----------------------------------------------------------------------------- seed data

P0_TRIAGE = {
    "priority": "P0",
    "category": "command-generation",
    "kind": "bug",
    "score": 2.0,
    "pages": True,
    "scores": {"P0": 2.0, "P1": 0, "P2": 0, "P3": 0},
    "rules": [
        {
            "id": "crash-for-everyone",
            "description": "Caro crashes on launch",
            "levels": ["P0"],
            "weight": 1.0,
            "category": "command-generation",
            "kind": "bug",
            "matches": [
                {
                    "condition": "match[0].keyword",
                    "pattern": "crash",
                    "text": "crashes",
                    "start": 5,
                    "end": 12,
                }
            ],
        }
    ],
}


def _mention(native: str, channel: str, text: str, at: datetime, triage: dict) -> dict:
    return {
        "id": f"{channel}:{native}",
        "native_id": native,
        "channel": channel,
        "text": text,
        "author": "sam",
        "url": f"https://example.com/{native}",
        "created_at": at.isoformat(),
        "received_at": at.isoformat(),
    }


def _item(mention: dict, priority: str, due: datetime, warn: datetime, draft: str) -> QueueItem:
    return QueueItem.model_validate(
        {
            "mention_id": mention["id"],
            "native_id": mention["native_id"],
            "channel": mention["channel"],
            "author": mention["author"],
            "text": mention["text"],
            "url": mention["url"],
            "priority": priority,
            "category": "command-generation",
            "kind": "bug",
            "received_at": mention["received_at"],
            "due_at": due.isoformat(),
            "warn_at": warn.isoformat(),
            "due_reason": f"{priority} first response: 1 h, counted 24/7",
            "resolution_due_at": None,
            "draft": {"text": draft, "template_id": "t", "tone": [], "x_length": len(draft)},
        }
    )


def _seed(connection) -> None:
    at = NOW - timedelta(minutes=90)
    crash = _mention("100", "x", "caro crashes on launch since 1.2.0", at, P0_TRIAGE)
    MentionStore(connection).save(
        StoredMention.triaged(crash, TriageRecord.model_validate(P0_TRIAGE), at)
    )
    incidents = IncidentStore(connection)
    report = IncidentReport(
        mention_id=crash["id"], channel="x", text=crash["text"], url=crash["url"]
    )
    triage = TriageRecord.model_validate(P0_TRIAGE)
    incident, _ = incidents.record_report(report, triage, at, timedelta(hours=2))
    incidents.note(
        incident.id,
        at,
        "page-sent",
        "trigger sent (dry run)",
        PageFacts(action="trigger", dry_run=True, summary="Caro crashes on launch"),
    )
    queue = ReplyQueue(connection)
    queue.add(_item(crash, "P0", at + timedelta(hours=1), at + timedelta(minutes=45), "Sorry!"))
    gh_at = NOW - timedelta(minutes=20)
    issue = _mention("7", "github", "caro suggests the wrong flag for tar", gh_at, P0_TRIAGE)
    queue.add(_item(issue, "P2", gh_at + timedelta(hours=24), gh_at + timedelta(hours=18), "Hi"))
    answered = _mention("5", "discord", "how do I set the model?", NOW - timedelta(hours=3), {})
    queue.add(_item(answered, "P3", NOW, NOW - timedelta(hours=1), "Try caro --model"))
    replied_at = NOW - timedelta(hours=2, minutes=40)
    desk_queue.replied(
        Services(connection=connection, clock=lambda: replied_at), "discord:5", "Rosa"
    )
    MonitorState(connection).record_success("x", NOW - timedelta(minutes=1), 60)
    MonitorState(connection).record_error("imap", NOW - timedelta(hours=1), 60, "login refused")


def _incident_id(app) -> str:
    items, _ = IncidentStore(app.config["REDIS"]).list(None, 10, None)
    return items[0].id


# ----------------------------------------------------------------------------- reading


def test_overview_shows_rotation_incidents_queue_and_sources(viewer):
    page = viewer.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<meta name="viewport"' in html and "<nav" in html
    assert "Chen Wei" in html and "Eli Marsh" in html  # levels 1 and 2 this week
    assert "Next handoff" in html and "Dana Kowalski" in html
    assert "caro crashes on launch" in html and "triggered" in html
    assert "1 overdue" in html  # the X item is past its hour
    assert "healthy" in html and "unhealthy" in html and "login refused" in html
    assert 'data-poll="/partials/overview"' in html


def test_pages_need_a_signed_in_user(app):
    response = app.test_client().get("/queue")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/queue"


def test_a_signed_in_page_says_when_redis_is_down(viewer, redis_server):
    redis_server.connected = False  # the login session cannot be looked up either
    page = viewer.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 503 and "Redis is unreachable" in html
    assert page.headers["Retry-After"] == "5" and "Signed in as" not in html
    redis_server.connected = True
    assert "Signed in as <strong>vera</strong>" in viewer.get("/").get_data(as_text=True)


def test_partials_are_fragments(viewer):
    for path in ("/partials/overview", "/partials/queue"):
        page = viewer.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<html" not in html and "<nav" not in html
    assert "caro crashes on launch" in viewer.get("/partials/overview").get_data(as_text=True)
    assert "wrong flag for tar" in viewer.get("/partials/queue").get_data(as_text=True)


def test_incident_log_filters_and_detail(viewer, app):
    html = viewer.get("/incidents").get_data(as_text=True)
    assert "caro crashes on launch" in html
    assert "caro crashes" in viewer.get("/incidents?status=triggered&channel=x").get_data(
        as_text=True
    )
    assert "No incident matches" in viewer.get("/incidents?channel=email").get_data(as_text=True)
    assert "No incident matches" in viewer.get("/incidents?from=2026-01-25").get_data(as_text=True)
    assert "No incident matches" in viewer.get("/incidents?to=2026-01-23").get_data(as_text=True)
    detail = viewer.get(f"/incidents/{_incident_id(app)}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200
    assert "caro crashes on launch since 1.2.0" in html  # the linked mention's text
    assert "dry run" in html and "Timeline" in html
    assert "Acknowledge" not in html  # a viewer gets no action buttons
    assert viewer.get("/incidents/inc-nope").status_code == 404


def test_incident_log_pages_with_a_cursor(viewer, app):
    store = IncidentStore(app.config["REDIS"])
    for number in range(30):  # same opened-at time: the cursor must not repeat or skip
        triage = TriageRecord.model_validate({**P0_TRIAGE, "rules": [], "category": f"c{number}"})
        report = IncidentReport(
            mention_id=f"email:{number}", channel="email", text=f"word{number} broken"
        )
        store.record_report(report, triage, NOW - timedelta(hours=5), timedelta(minutes=1))
    first = viewer.get("/incidents?channel=email").get_data(as_text=True)
    match = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', first)
    assert match
    second = viewer.get(match.group(1).replace("&amp;", "&")).get_data(as_text=True)
    ids = re.findall(r"inc-\d{8}-[0-9a-f]{8}", first) + re.findall(r"inc-\d{8}-[0-9a-f]{8}", second)
    assert len(set(ids)) == 30
    assert 'rel="next"' not in second


@pytest.mark.parametrize(
    "query",
    [
        "to=9999-12-31",
        "from=0001-01-01&to=9999-12-31",
        "to=not-a-day",
        "cursor=nan:0",
        "cursor=inf:0",
        "cursor=1e400:0",
        "cursor=1:99999999999999999999",
        "cursor=1:-3",
        "cursor=:",
    ],
)
def test_odd_filters_and_cursors_show_the_log(viewer, query):
    page = viewer.get(f"/incidents?{query}")
    assert page.status_code == 200 and "<h1" in page.get_data(as_text=True)


def test_queue_page_shows_sla_states_in_words(viewer):
    html = viewer.get("/queue").get_data(as_text=True)
    assert "Overdue" in html and "On time" in html
    assert html.index("item-x-100") < html.index("item-github-7")  # soonest due first
    assert "P0 first response: 1 h, counted 24/7" in html
    assert "Claim" not in html  # viewers read only


def test_rotation_page(viewer):
    html = viewer.get("/rotation").get_data(as_text=True)
    assert "Chen Wei" in html and "Next handoffs" in html
    assert "The coming week" in html and "engineering-lead" in html


def test_metrics_page_charts(viewer):
    page = viewer.get("/support-metrics")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 3
    assert all("<title" in svg and "aria-labelledby" in svg for svg in svgs)
    volume, sla, histogram = svgs
    assert volume.count('<g class="bar">') == 25  # 15:00 yesterday .. 15:00 today, hourly
    assert volume.count("seg-P0") == 1  # one P0 mention, at 14:00
    assert sla.count('<g class="bar">') == 2
    assert histogram.count('<g class="bar">') == 9
    assert "<title>15-30 min: 1</title>" in histogram  # the Discord reply, after 20 min
    assert "Targets" in html and "95%" in html
    assert viewer.get("/support-metrics?period=week").status_code == 200


def test_charts_are_pure_svg():
    svg = charts.histogram([("a", 1), ("b", 0), ("c", 3)], "T")
    assert svg.count('<g class="bar">') == 3 and "<title" in svg
    none = charts.sla_chart([("All", None, 95.0)])
    assert "no data" in none


def test_only_http_links_are_clickable(viewer, app):
    queue = ReplyQueue(app.config["REDIS"])
    sneaky = _mention("66", "discord", "hi", NOW, {})
    sneaky["url"] = "javascript:alert(1)"
    queue.add(_item(sneaky, "P3", NOW + timedelta(days=1), NOW + timedelta(hours=20), "Hi"))
    html = viewer.get("/queue").get_data(as_text=True)
    assert "javascript:" not in html and 'href="https://example.com/100"' in html


def test_rules_page_explains_a_text(viewer):
    html = viewer.get("/rules").get_data(as_text=True)
    assert "crash-for-everyone" in html and "Critical" in html
    html = viewer.post(
        "/rules", data={"text": "caro crashes on launch, every time", "channel": "x"}
    ).get_data(as_text=True)
    assert "P0 (Critical)" in html and "pages the on-call" in html
    assert "matched “crashes”" in html
    ignored = viewer.get("/rules", query_string={"text": "caro crashes on launch"})
    assert "P0 (Critical)" not in ignored.get_data(as_text=True)  # never from the URL


def test_rules_page_without_rulebook(viewer, app):
    app.config.pop("RULEBOOK")
    assert "No rulebook configured" in viewer.get("/rules").get_data(as_text=True)


def test_every_form_carries_the_csrf_token(responder, app, csrf_token_of):
    del responder.environ_base["HTTP_X_CSRF_TOKEN"]  # only what the forms themselves carry
    for path in ("/queue", f"/incidents/{_incident_id(app)}"):
        html = responder.get(path).get_data(as_text=True)
        posts = re.findall(r'<form[^>]*method="post".*?</form>', html, re.S)
        assert posts
        assert all(re.search(r'name="csrf_token" value="[^"]+"', form) for form in posts)
    html = responder.get("/queue").get_data(as_text=True)
    claim = re.search(r'<form[^>]*action="[^"]*/claim".*?</form>', html, re.S).group(0)
    action = re.search(r'action="([^"]+)"', claim).group(1).replace("&#39;", "'")
    assert responder.post(action).status_code == 400  # without the form's token
    assert responder.post(action, data={"csrf_token": csrf_token_of(claim)}).status_code == 302


# ----------------------------------------------------------------------------- acting


def test_viewer_cannot_act(viewer, app):
    assert viewer.post(f"/queue/{id_token('x:100')}/claim").status_code == 403
    assert viewer.post(f"/incidents/{_incident_id(app)}/acknowledge").status_code == 403
    assert ReplyQueue(app.config["REDIS"]).get("x:100").status == "open"


def test_responder_claims_edits_and_dismisses(responder, app):
    queue = ReplyQueue(app.config["REDIS"])
    page = responder.post(f"/queue/{id_token('x:100')}/claim", follow_redirects=True)
    assert page.status_code == 200 and "You are answering x:100" in page.get_data(as_text=True)
    assert queue.get("x:100").claimed_by == "rosa"

    page = responder.post(
        f"/queue/{id_token('x:100')}/draft",
        data={"text": "Thanks! Please read the docs."},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert "Draft saved" in html and "Tone warnings" in html and "read the docs" in html
    assert queue.get("x:100").draft.text == "Thanks! Please read the docs."
    assert 'data-x-count="count-x-100"' in html

    page = responder.post(
        f"/queue/{id_token('x:100')}/dismiss", data={"reason": ""}, follow_redirects=True
    )
    assert "say why" in page.get_data(as_text=True)
    page = responder.post(
        f"/queue/{id_token('x:100')}/dismiss", data={"reason": "spam"}, follow_redirects=True
    )
    assert "Dismissed x:100" in page.get_data(as_text=True)
    assert queue.get("x:100").status == "dismissed"


def test_answered_items_are_resolved_and_reopened_on_the_page(responder, app):
    queue = ReplyQueue(app.config["REDIS"])
    html = responder.get("/queue").get_data(as_text=True)
    assert 'id="item-discord-5"' not in html  # not among the waiting items
    assert "Answered recently" in html  # a tab at the top, not below every item
    html = responder.get("/queue?status=answered").get_data(as_text=True)
    answered = html[html.index('id="answered-discord-5"') :]
    assert "Replied by Rosa" in answered and "Mark resolved" in answered
    assert "What was sent" in answered and "Try caro --model" in answered

    page = responder.post(
        f"/queue/{id_token('discord:5')}/resolve",
        data={"view": "status=answered"},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert "Resolved discord:5." in html
    assert queue.get("discord:5").resolved_at == NOW
    assert "Mark resolved" not in html[html.index('id="answered-discord-5"') :]

    page = responder.post(f"/queue/{id_token('discord:5')}/reopen", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert "Reopened discord:5: it is back in the queue." in html
    item = queue.get("discord:5")
    assert (item.status, item.reopened) == ("open", 1)
    assert 'id="item-discord-5"' in html and 'id="answered-discord-5"' not in html
    assert "reopened</span>" in html  # marked so in its row and its detail


def test_an_item_that_is_not_answered_cannot_be_resolved(responder, app):
    page = responder.post(f"/queue/{id_token('x:100')}/resolve", follow_redirects=True)
    assert page.status_code == 200
    assert ReplyQueue(app.config["REDIS"]).get("x:100").status == "open"
    assert "cannot resolve: the item is open" in page.get_data(as_text=True)


def test_viewers_see_answered_items_but_cannot_resolve_them(viewer, app):
    html = viewer.get("/queue?status=answered").get_data(as_text=True)
    assert "Replied by Rosa" in html and "Mark resolved" not in html
    assert viewer.post(f"/queue/{id_token('discord:5')}/resolve").status_code == 403
    assert ReplyQueue(app.config["REDIS"]).get("discord:5").resolved_at is None


def test_someone_elses_claim_is_a_message_not_an_error(sign_in):
    sign_in("ana").post(f"/queue/{id_token('github:7')}/claim")
    page = sign_in("ben").post(f"/queue/{id_token('github:7')}/claim", follow_redirects=True)
    assert page.status_code == 200
    assert "ana is already answering this" in page.get_data(as_text=True)


def test_send_needs_approval_and_a_poster(responder, app):
    page = responder.post(f"/queue/{id_token('x:100')}/send", follow_redirects=True)
    assert "Approve and post" in page.get_data(as_text=True)

    class Poster:
        def __init__(self):
            self.sent = []

        def reply(self, text, to):
            self.sent.append((text, to))
            return "999"

    poster = Poster()
    app.config["SERVICES"] = replace(app.config["SERVICES"], x_poster=poster)
    page = responder.get("/queue").get_data(as_text=True)
    assert "Send on X" in page
    shown = {"approve": "yes", "draft_digest": _shown_digest(page, "x:100")}
    responder.post(f"/queue/{id_token('x:100')}/send", data=shown)
    assert poster.sent == [("Sorry!", "100")]
    assert ReplyQueue(app.config["REDIS"]).get("x:100").status == "replied"
    again = responder.post(f"/queue/{id_token('x:100')}/send", data=shown, follow_redirects=True)
    assert "cannot send: the item is replied" in again.get_data(as_text=True)
    assert poster.sent == [("Sorry!", "100")], "a second press posted again"


def _shown_digest(page: str, mention_id: str) -> str:
    """The draft digest a browser would send back with the item's send form."""
    action = f'action="/queue/{id_token(mention_id)}/send"'
    form = page[page.index(action) :]
    return re.search(r'name="draft_digest" value="([0-9a-f]+)"', form).group(1)


def test_a_draft_edited_after_it_was_read_is_not_sent(app, sign_in):
    sent: list[str] = []

    class Poster:
        def reply(self, text, to):
            sent.append(text)
            return "999"

    app.config["SERVICES"] = replace(app.config["SERVICES"], x_poster=Poster())
    reader, editor = sign_in("cam"), sign_in("dee")
    digest = _shown_digest(reader.get("/queue").get_data(as_text=True), "x:100")
    editor.post(f"/queue/{id_token('x:100')}/draft", data={"text": "lol we broke it again"})
    page = reader.post(
        f"/queue/{id_token('x:100')}/send",
        data={"approve": "yes", "draft_digest": digest},
        follow_redirects=True,
    )
    assert sent == []
    assert "dee is answering this" in page.get_data(as_text=True)  # the edit claimed it


def test_a_saved_draft_loses_personal_data_and_says_so(responder, app):
    page = responder.post(
        f"/queue/{id_token('x:100')}/draft",
        data={"text": "Sorry! Mail ana@example.com the log from /Users/ana/caro.log"},
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert "Personal data taken out of the public reply: email, user." in html
    draft = ReplyQueue(app.config["REDIS"]).get("x:100").draft
    assert "ana@example.com" not in draft.text and "/Users/ana" not in draft.text
    assert draft.x_length == len(draft.text)


def test_responder_acknowledges_then_resolves(responder, app):
    incident_id = _incident_id(app)
    page = responder.post(f"/incidents/{incident_id}/acknowledge", follow_redirects=True)
    assert page.status_code == 200 and "is acknowledged" in page.get_data(as_text=True)
    paging = Queue(PAGING_QUEUE, connection=app.config["REDIS"], serializer=JSONSerializer)
    queued = paging.count
    again = responder.post(f"/incidents/{incident_id}/acknowledge", follow_redirects=True)
    assert "was already acknowledged" in again.get_data(as_text=True)
    assert paging.count == queued, "a second click queued another PagerDuty event"
    unnoted = responder.post(f"/incidents/{incident_id}/resolve", follow_redirects=True)
    assert IncidentStore(app.config["REDIS"]).get(incident_id).status == "acknowledged"
    assert unnoted.status_code in (200, 400)
    page = responder.post(
        f"/incidents/{incident_id}/resolve",
        data={"note": "fixed in the config loader", "confirmed": "yes"},
        follow_redirects=True,
    )
    assert "is resolved" in page.get_data(as_text=True)
    assert IncidentStore(app.config["REDIS"]).get(incident_id).status == "resolved"
    conflict = responder.post(f"/incidents/{incident_id}/acknowledge", follow_redirects=True)
    assert conflict.status_code == 200
    assert "cannot become acknowledged" in conflict.get_data(as_text=True)


def test_a_browser_gets_pages_for_errors_and_the_api_keeps_json(viewer, app, caplog):
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    missing = viewer.get("/no-such-page", headers=html)
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.get_data(as_text=True)
    wrong_method = viewer.get(f"/queue/{id_token('x:100')}/claim", headers=html)
    assert wrong_method.status_code == 405 and "<h1>Error 405</h1>" in wrong_method.get_data(
        as_text=True
    )
    assert viewer.get("/api/nope", headers=html).get_json()["error"]["code"] == "not_found"
    assert viewer.get("/no-such-page").get_json()["error"]["code"] == "not_found"

    class Broken:
        def classify(self, text, channel):
            raise RuntimeError("the engine fell over")

    app.config["RULEBOOK"] = Broken()
    failed = viewer.post("/rules", data={"text": "hello"}, headers=html)
    page = failed.get_data(as_text=True)
    assert failed.status_code == 500 and "the server log has the details" in page
    assert "RuntimeError" not in page and "the engine fell over" in caplog.text


@pytest.mark.parametrize(
    ("name", "row", "expected"),
    [
        (
            "p0_first_response",
            {"target_s": 3600, "target_pct": 100.0, "value": 50.0},
            ("100% within 1 h", "50.0%"),
        ),
        ("average_first_response", {"target_s": 7200, "value": 258}, ("< 2 h", "4 min")),
        ("reopened_rate", {"target_rate": 0.05, "value": 0.1}, ("< 5%", "10.0%")),
        ("first_response_within_sla", {"target_pct": 95.0, "value": None}, ("> 95%", "—")),
    ],
)
def test_each_target_is_shown_in_its_own_unit(name, row, expected):
    from web.ui.insight import _target_text

    assert _target_text(name, row) == expected  # P0's share was shown as "1 min" (100 s)


def test_an_admin_takes_back_a_claim_left_by_someone_off_shift(app, sign_in):
    sign_in("ana").post(f"/queue/{id_token('github:7')}/claim")
    other = sign_in("ben").post(f"/queue/{id_token('github:7')}/release", follow_redirects=True)
    assert "ana is answering this: ask them to release it" in other.get_data(as_text=True)
    admin = sign_in("ada")
    assert "Take back from ana" in admin.get("/queue?sel=github:7").get_data(as_text=True)
    admin.post(f"/queue/{id_token('github:7')}/release")
    item = ReplyQueue(app.config["REDIS"]).get("github:7")
    assert (item.status, item.claimed_by) == ("open", None)
    assert item.history[-1].detail == "taken back from ana"


def test_the_queue_page_counts_every_waiting_item_past_the_first_hundred(viewer, app):
    queue = ReplyQueue(app.config["REDIS"])
    before = queue.sla_counts(NOW)
    for number in range(120):
        mention = _mention(f"bulk-{number}", "discord", "help", NOW, {})
        due = NOW - timedelta(minutes=5)  # all overdue
        queue.add(_item(mention, "P2", due, due - timedelta(minutes=10), "Hi"))
    html = viewer.get("/queue").get_data(as_text=True)
    waiting, overdue = before["waiting"] + 120, before["overdue"] + 120
    assert f"<strong>{waiting}</strong> waiting:\n  {overdue} overdue" in html
    assert "page 1 of 5" in html and html.count("data-row") == 25  # a page at a time
    later = viewer.get("/queue?page=5").get_data(as_text=True)
    assert "page 5 of 5" in later and 0 < later.count("data-row") <= 25


def test_the_overview_says_when_a_failing_pagerduty_has_no_retry_left(viewer, app):
    from oncall.pager_health import PagerHealth

    PagerHealth(app.config["REDIS"]).failed(NOW, "PagerDuty answered 500")
    html = viewer.get("/").get_data(as_text=True)
    assert "no retry left: <code>hark jobs retry --queue paging</code>" in html
    paging = Queue(PAGING_QUEUE, connection=app.config["REDIS"], serializer=JSONSerializer)
    paging.enqueue("services.paging.page_incident", "inc-1", "trigger")
    assert "(retrying; last try" in viewer.get("/").get_data(as_text=True)


def test_rules_page_names_the_problem_when_the_rulebook_read_on_first_use_does_not_load(
    viewer, app
):
    from rules import Problem, RulebookError

    def broken_model():
        problem = Problem("rules.yaml", 3, "-", "model_file", "model.json.gz: not gzip")
        raise RulebookError([problem])

    app.config["RULEBOOK"] = broken_model
    page = viewer.get("/rules").get_data(as_text=True)
    assert "The rulebook does not load" in page and "rules.yaml:3" in page
    assert "model.json.gz: not gzip" in page


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("America/New_York", "2026-01-24 10:25 EST"), ("Europe/Paris", "2026-01-24 16:25 CET")],
)
def test_times_are_shown_on_the_teams_clock_with_utc_on_hover(app, zone, shown):
    from web.ui import when

    app.config["TEAM_TIMEZONE"] = zone
    with app.test_request_context("/"):
        html = str(when(NOW - timedelta(minutes=5)))
    assert f">{shown}</time>" in html
    assert 'title="2026-01-24 15:25 UTC"' in html
    assert "(5 min ago)" in html


# ------------------------------------------------------------------ overview, metrics, times


def _text(html: str) -> str:
    """What a reader sees of ``html``, spaces squeezed (no space before a colon)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).replace(" :", ":")


def test_the_overview_says_the_pager_is_a_dry_run_and_counts_its_pages(viewer, app):
    incident_id, store = _incident_id(app), IncidentStore(app.config["REDIS"])
    later = NOW - timedelta(minutes=70)
    store.transition(incident_id, "escalated", later, "escalated", "not acknowledged")
    escalate = PageFacts(action="escalate", dry_run=True)
    store.note(incident_id, later, "page-sent", "escalate sent (dry run)", escalate)
    text = _text(viewer.get("/").get_data(as_text=True))
    assert (
        "Dry run: no PagerDuty key is set (HARK_PD_ROUTING_KEY); 2 pages recorded in the last "
        "24 hours, not sent (1 trigger, 1 escalation)."
    ) in text
    assert "1 incident escalated in the last 24 hours: nobody acknowledged in time" in text
    assert "no page sent yet" not in text


def test_with_a_routing_key_the_overview_does_not_say_dry_run(viewer, app):
    class Pager:
        dry_run = False

        def send(self, event):
            return event.dedup_key

    app.config["SERVICES"] = replace(app.config["SERVICES"], pager=Pager())
    text = _text(viewer.get("/").get_data(as_text=True))
    assert "Dry run" not in text and "PagerDuty: no page sent yet" in text


def test_metrics_page_names_problems_and_lists_kb_candidates(viewer, app):
    connection = app.config["REDIS"]
    triage = TriageRecord.model_validate(P0_TRIAGE)
    for number in ("101", "102"):
        at = NOW - timedelta(minutes=80)
        again = _mention(number, "x", "caro crashes on launch since 1.2.0 here too", at, P0_TRIAGE)
        MentionStore(connection).save(StoredMention.triaged(again, triage, at))
        report = IncidentReport(mention_id=again["id"], channel="x", text=again["text"])
        IncidentStore(connection).record_report(report, triage, at, timedelta(hours=2))
    incident = IncidentStore(connection).get(_incident_id(app))
    assert incident is not None and len(incident.mentions) == 3
    html = viewer.get("/support-metrics").get_data(as_text=True)
    top = _text(html.split('id="top-h"')[1].split('id="kb-h"')[0])
    assert f"{incident.title} (incident) 3 P0" in top
    assert "crash-for-everyone" not in top and "question" not in top
    kb = _text(html.split('id="kb-h"')[1])
    assert "Knowledge-base candidates (1)" in kb and f"{incident.title} (incident) 3 P0" in kb
    assert f'href="/incidents/{incident.id}"' in html.split('id="kb-h"')[1]


def test_metrics_targets_are_not_met_on_too_few_answers(viewer):
    html = viewer.get("/support-metrics").get_data(as_text=True)
    targets = _text(html.split('id="targets-h"')[1].split("</table>")[0])
    # one answered in time, the X crash past due, the GitHub issue not yet due
    assert "First responses within SLA > 95% 50.0% too few answered to judge: 1 of 3" in targets
    assert "P0 first responses within 1 h 100% within 1 h 0.0% missed: 0 of 1" in targets
    assert " met " not in f" {targets} "


def test_rotation_page_names_handoffs_on_the_teams_clock(viewer):
    text = _text(viewer.get("/rotation").get_data(as_text=True))
    assert "engineers: weekly, handoff Monday 09:00 EST, since Mon 05 Jan 2026" in text
    assert "Times are the team's (America/New_York); hover one for UTC." in text
    assert "Times in UTC" not in text and "09:00:00" not in text


def test_rotation_page_for_a_team_in_another_zone(viewer, app):
    app.config["TEAM_TIMEZONE"] = "Europe/Berlin"
    text = _text(viewer.get("/rotation").get_data(as_text=True))
    assert "handoff Monday 15:00 CET (09:00 America/New_York)" in text
    assert "kept in America/New_York" in text and "(Europe/Berlin)" in text
