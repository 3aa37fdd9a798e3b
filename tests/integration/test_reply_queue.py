"""The community manager's reply queue through the JSON API, on a real Redis."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from desk.records import QueueItem
from desk.reply_queue import ReplyQueue
from monitor.x_api import XPoster
from oncall.incidents import IncidentStore
from oncall.records import IncidentReport
from rules.result import TriageRecord
from services import queue as desk_queue
from services.context import Services
from tests.fakes.x_server import FakeX
from web import create_app

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def make_item():
    def build(number: int = 1, **overrides) -> QueueItem:
        item = {
            "mention_id": f"x:{number}",
            "native_id": str(number),
            "channel": "x",
            "priority": "P2",
            "category": "installation",
            "kind": "bug",
            "author": "sam",
            "text": "brew install fails",
            "url": f"https://x.com/sam/status/{number}",
            "received_at": (NOW - timedelta(minutes=50)).isoformat(),
            "due_at": (NOW + timedelta(minutes=10 * number)).isoformat(),
            "warn_at": (NOW - timedelta(minutes=5)).isoformat(),
            "draft": {"text": "Thanks for reporting this!", "template_id": "fallback", "tone": []},
        }
        return QueueItem.model_validate({**item, **overrides})

    return build


@pytest.fixture
def fake_x():
    server = FakeX("app-token").start()
    yield server
    server.stop()


@pytest.fixture
def client(redis_conn, fake_x):
    poster = XPoster("ck", "cs", "at", "ats", fake_x.url, timeout_s=10)
    app = create_app(redis=redis_conn, api_token="t", clock=lambda: NOW, x_poster=poster)
    return app.test_client()


def test_working_view_sorted_by_due_with_sla_state(redis_conn, client, make_item):
    queue = ReplyQueue(redis_conn)
    queue.add(make_item(3))
    queue.add(make_item(1, due_at=(NOW - timedelta(minutes=1)).isoformat()))
    queue.add(make_item(2, warn_at=(NOW + timedelta(minutes=1)).isoformat()))
    assert queue.add(make_item(2)) is False  # a re-run triage job queues nothing new
    items = client.get("/api/queue", headers=AUTH).get_json()["items"]
    assert [(i["mention_id"], i["sla_state"]) for i in items] == [
        ("x:1", "overdue"),
        ("x:2", "ok"),
        ("x:3", "warning"),
    ]


def test_answered_items_are_listed_latest_change_first_until_reopened(redis_conn, make_item):
    queue = ReplyQueue(redis_conn)
    for number in (1, 2, 3):
        queue.add(make_item(number))
    services = lambda minutes: Services(  # noqa: E731
        connection=redis_conn, clock=lambda: NOW + timedelta(minutes=minutes)
    )
    desk_queue.replied(services(0), "x:1", "maria")
    desk_queue.dismiss(services(1), "x:2", "tom", "spam")
    assert [i.mention_id for i in queue.recently_answered()] == ["x:2", "x:1"]
    desk_queue.resolve(services(2), "x:1", "maria")  # the latest change now
    assert [i.mention_id for i in queue.recently_answered()] == ["x:1", "x:2"]
    desk_queue.reopen(services(3), "x:2", "tom")
    assert [i.mention_id for i in queue.recently_answered()] == ["x:1"]
    assert [i.mention_id for i in queue.working_view(NOW)] == ["x:2", "x:3"]
    assert queue.recently_answered(limit=0) == []


def test_claiming_keeps_two_people_from_answering(redis_conn, client, make_item):
    ReplyQueue(redis_conn).add(make_item())
    first = client.post("/api/queue/x:1/claim", json={"by": "maria"}, headers=AUTH)
    assert first.status_code == 200 and first.get_json()["claimed_by"] == "maria"
    second = client.post("/api/queue/x:1/claim", json={"by": "tom"}, headers=AUTH)
    assert second.status_code == 409
    assert second.get_json()["error"]["message"] == "maria is already answering this"
    edit = client.post("/api/queue/x:1/draft", json={"by": "tom", "text": "hi"}, headers=AUTH)
    assert edit.status_code == 409


def test_simultaneous_claims_have_one_winner(redis_conn, make_item):
    ReplyQueue(redis_conn).add(make_item())
    results = []

    def claim(person):
        try:
            desk_queue.claim(Services(connection=redis_conn, clock=lambda: NOW), "x:1", person)
            results.append(person)
        except desk_queue.QueueError:
            pass

    threads = [threading.Thread(target=claim, args=(f"p{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 1
    assert ReplyQueue(redis_conn).get("x:1").claimed_by == results[0]


def test_edit_flags_tone_then_mark_replied_records_first_response(redis_conn, client, make_item):
    ReplyQueue(redis_conn).add(make_item())
    client.post("/api/queue/x:1/claim", json={"by": "maria"}, headers=AUTH)
    edited = client.post(
        "/api/queue/x:1/draft",
        headers=AUTH,
        json={"by": "maria", "text": "This is documented. Read the docs."},
    )
    assert edited.status_code == 200
    assert edited.get_json()["draft"]["tone"], "the tone check flags the playbook's don'ts"
    replied = client.post("/api/queue/x:1/replied", json={"by": "maria"}, headers=AUTH).get_json()
    assert (replied["status"], replied["first_response_at"]) == ("replied", NOW.isoformat())
    assert [h["event"] for h in replied["history"]] == ["claimed", "draft-edited", "replied"]
    assert client.get("/api/queue", headers=AUTH).get_json()["items"] == []


def test_dismiss_needs_a_reason(redis_conn, client, make_item):
    ReplyQueue(redis_conn).add(make_item())
    refused = client.post("/api/queue/x:1/dismiss", json={"by": "maria"}, headers=AUTH)
    assert refused.status_code == 422
    done = client.post(
        "/api/queue/x:1/dismiss", json={"by": "maria", "reason": "spam"}, headers=AUTH
    )
    assert done.get_json()["dismissed_reason"] == "spam"


def test_send_posts_an_x_reply_only_when_approved(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item(7))
    unapproved = client.post("/api/queue/x:7/send", json={"by": "maria"}, headers=AUTH)
    assert unapproved.status_code == 422 and fake_x.posted == []
    sent = client.post("/api/queue/x:7/send", json={"by": "maria", "approve": True}, headers=AUTH)
    assert sent.status_code == 200, sent.get_json()
    (tweet,) = fake_x.posted
    assert tweet["reply"]["in_reply_to_tweet_id"] == "7"
    assert tweet["text"] == "Thanks for reporting this!"
    assert sent.get_json()["reply_url"].endswith(tweet["id"])


def test_send_without_x_credentials_says_to_copy(redis_conn, make_item):
    ReplyQueue(redis_conn).add(make_item())
    client = create_app(redis=redis_conn, api_token="t", clock=lambda: NOW).test_client()
    response = client.post("/api/queue/x:1/send", json={"by": "m", "approve": True}, headers=AUTH)
    assert (
        response.status_code == 409 and "copy the draft" in response.get_json()["error"]["message"]
    )


def test_actions_need_a_person_and_a_known_item(client):
    assert client.post("/api/queue/x:404/claim", json={}, headers=AUTH).status_code == 422
    assert client.post("/api/queue/x:404/claim", json={"by": "m"}, headers=AUTH).status_code == 404
    assert client.post("/api/queue/x:404/claim", json={"by": "m"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ('{"by": "\\ud800"}', 422, "by: not valid Unicode (a lone surrogate)"),
        ('{"by": "m", "text": ["ok", "\\udfff"]}', 422, "text[1]: not valid Unicode"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
        ("null", 400, "must be a JSON object"),
    ],
)
def test_a_body_no_store_can_take_is_refused_and_changes_nothing(
    redis_conn, client, make_item, body, status, message
):
    ReplyQueue(redis_conn).add(make_item())
    response = client.post(
        "/api/queue/x:1/claim", data=body, content_type="application/json", headers=AUTH
    )
    assert response.status_code == status
    assert message in response.get_json()["error"]["message"]
    assert ReplyQueue(redis_conn).get("x:1").status == "open"


def test_triaged_messages_are_queued_with_a_draft_and_an_sla(redis_conn):
    from desk.config import DeskConfig
    from desk.drafts import load_templates
    from hark.rulebook_files import shipped_rulebook_path
    from hark.wiring import worker_services
    from hark.worker import run_worker
    from monitor.mention import make_mention
    from services.intake import Intake
    from services.support_report import period_report

    friday = datetime(2026, 1, 23, 21, 30, tzinfo=UTC)  # 16:30 in New York
    intake = Intake(redis_conn)
    messages = [
        ("github", "1", "brew install caro fails on macOS 14 with a SHA256 mismatch", "dana"),
        ("discord", "2", "how do I change the default model?", "lee"),
        ("x", "3", "love this tool, thank you!", "kim"),  # praise on X: a like, no reply
        ("x", "4", "@CaroCLI caro crashes on launch, mail me at kim@example.com", "kim"),
    ]
    for channel, native_id, text, author in messages:
        intake.submit(
            make_mention(channel=channel, native_id=native_id, text=text, author=author, now=friday)
        )
    desk = DeskConfig(replies=load_templates())
    services = worker_services(redis_conn, shipped_rulebook_path(), desk=desk)
    assert run_worker(services, burst=True)

    queue = ReplyQueue(redis_conn)
    assert queue.get("x:3") is None
    install = queue.get("github:1")
    assert (install.priority, install.draft.template_id) == ("P1", "p1-installation")
    assert install.due_at == datetime(2026, 1, 26, 16, 30, tzinfo=UTC)  # 4 business hours
    assert "Monday" in install.due_reason and install.draft.tone == ()
    question = queue.get("discord:2")
    assert question.due_at == datetime(2026, 1, 23, 22, tzinfo=UTC)  # Discord: 30 min
    crash = queue.get("x:4")
    assert crash.priority == "P0" and crash.draft.fits_x is True
    filed_into = IncidentStore(redis_conn).list(None, 10, None)[0][0].id
    assert crash.incident_id == filed_into  # the row links to its incident from the start
    assert install.incident_id is None
    assert "kim@example.com" not in crash.draft.text
    assert crash.due_at == datetime(2026, 1, 23, 22, 30, tzinfo=UTC)  # P0 runs 24/7: one hour

    report = period_report(redis_conn, "day", friday + timedelta(hours=1))
    assert "P0" in report and "# " in report

    app = create_app(redis=redis_conn, api_token="t", clock=lambda: NOW)
    listed = lambda query: [  # noqa: E731
        item["id"]
        for item in app.test_client()
        .get(f"/api/mentions?{query}", headers=AUTH)
        .get_json()["items"]
    ]
    assert sorted(listed("status=queued")) == ["discord:2", "github:1", "x:4"]
    assert listed("status=new") == ["x:3"]  # praise on X: nothing to answer
    desk_queue.replied(app.config["SERVICES"], "github:1", "maria")
    desk_queue.dismiss(app.config["SERVICES"], "discord:2", "maria", "answered in a thread")
    assert listed("status=replied") == ["github:1"] and listed("status=dismissed") == ["discord:2"]
    client = app.test_client()
    for bad in ("status=bogus", "priority=p0", "channel=twitter"):
        response = client.get(f"/api/mentions?{bad}", headers=AUTH)
        assert (
            response.status_code == 400
            and "must be one of" in response.get_json()["error"]["message"]
        )


# ------------------------------------------------------------------ posting exactly once


def _send(client, number: int = 1, by: str = "maria", **extra):
    body = {"by": by, "approve": True, **extra}
    return client.post(f"/api/queue/x:{number}/send", json=body, headers=AUTH)


def test_a_second_send_is_refused_before_anything_is_posted(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    assert _send(client).status_code == 200
    again, someone_else = _send(client), _send(client, by="sam")
    assert (again.status_code, someone_else.status_code) == (409, 409)
    assert "the item is replied" in again.get_json()["error"]["message"]
    assert len(fake_x.posted) == 1


def test_a_dismissed_item_is_never_posted(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    client.post("/api/queue/x:1/dismiss", json={"by": "maria", "reason": "spam"}, headers=AUTH)
    assert _send(client).status_code == 409
    assert fake_x.posted == []


def test_simultaneous_sends_post_once(redis_conn, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    poster = XPoster("ck", "cs", "at", "ats", fake_x.url, timeout_s=5)
    app = create_app(redis=redis_conn, api_token="t", clock=lambda: NOW, x_poster=poster)
    fake_x.faults = [(200, 0.5)]  # the first post takes a while: the others arrive meanwhile
    answers: list[int] = []

    def send() -> None:
        answers.append(_send(app.test_client()).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [409] * 5
    assert len(fake_x.posted) == 1


def test_send_posts_only_the_saved_draft(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    other = _send(client, text="Write to alice@example.com with your key sk-ABCDEF0123456789abcd")
    assert other.status_code == 422 and "save a new text" in other.get_json()["error"]["message"]
    assert fake_x.posted == []


def test_an_edited_draft_is_redacted_and_measured_again(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    text = (
        "Thanks! Write to alice@example.com, call +1 415 555 0100, and never paste "
        "sk-ABCDEF0123456789abcdef or /home/alice/.ssh in public."
    )
    edited = client.post("/api/queue/x:1/draft", json={"by": "maria", "text": text}, headers=AUTH)
    draft = edited.get_json()["draft"]
    for secret in ("alice@example.com", "555 0100", "sk-ABCDEF", "/home/alice"):
        assert secret not in draft["text"]
    assert draft["redacted"] == ["email", "phone", "secret", "user"]
    assert draft["x_length"] == len(draft["text"]) and draft["fits_x"]
    assert "removed: email, phone, secret, user" in edited.get_json()["history"][-1]["detail"]
    assert _send(client).status_code == 200
    assert fake_x.posted[0]["text"] == draft["text"]


def test_a_draft_too_long_for_x_is_not_sent(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item())
    edited = client.post(
        "/api/queue/x:1/draft", json={"by": "maria", "text": "Thanks! " * 40}, headers=AUTH
    )
    assert edited.get_json()["draft"]["x_length"] == 319
    assert not edited.get_json()["draft"]["fits_x"]
    refused = _send(client)
    assert refused.status_code == 422 and "over X's 280" in refused.get_json()["error"]["message"]
    assert fake_x.posted == []


def test_a_destructive_command_in_an_edit_is_refused(redis_conn, client, make_item):
    ReplyQueue(redis_conn).add(make_item())
    edited = client.post(
        "/api/queue/x:1/draft",
        json={"by": "maria", "text": "Just run rm -rf / and retry"},
        headers=AUTH,
    )
    assert (
        edited.status_code == 422 and "destructive command" in edited.get_json()["error"]["message"]
    )
    assert ReplyQueue(redis_conn).get("x:1").draft.text == "Thanks for reporting this!"


def test_x_refusing_the_reply_changes_nothing_and_a_retry_posts(
    redis_conn, client, make_item, fake_x
):
    ReplyQueue(redis_conn).add(make_item())
    fake_x.faults = [(403, 0)]  # a refusal: nothing was posted
    refused = _send(client)
    assert refused.status_code == 502
    assert "X refused the reply" in refused.get_json()["error"]["message"]
    item = ReplyQueue(redis_conn).get("x:1")
    assert (item.status, item.claimed_by, item.sending_since) == ("claimed", "maria", None)
    assert [h.event for h in item.history] == ["sending", "send-failed"]
    assert _send(client).status_code == 200 and len(fake_x.posted) == 1


def test_an_unclear_answer_from_x_keeps_the_item_from_being_sent_twice(
    redis_conn, client, make_item, fake_x
):
    ReplyQueue(redis_conn).add(make_item())
    fake_x.faults = [(503, 0)]  # X may have posted before failing
    unclear = _send(client)
    assert unclear.status_code == 502
    assert "the reply may be posted: look on X" in unclear.get_json()["error"]["message"]
    assert ReplyQueue(redis_conn).get("x:1").sending_since is not None
    again = _send(client)
    assert (
        again.status_code == 409
        and "posting the reply on X right now" in again.get_json()["error"]["message"]
    )
    settled = client.post("/api/queue/x:1/replied", json={"by": "maria"}, headers=AUTH)
    assert settled.status_code == 200 and settled.get_json()["status"] == "replied"
    assert fake_x.posted == []  # the fake refused both; nothing was sent twice


def test_a_send_carrying_the_draft_it_approved_refuses_a_changed_one(
    redis_conn, client, make_item, fake_x
):
    ReplyQueue(redis_conn).add(make_item())
    (item,) = client.get("/api/queue", headers=AUTH).get_json()["items"]
    approved = item["draft_digest"]
    edited = client.post(
        "/api/queue/x:1/draft", json={"by": "sam", "text": "lol we broke it again"}, headers=AUTH
    )
    assert edited.get_json()["claimed_by"] == "sam"  # who writes the reply holds it
    client.post("/api/queue/x:1/release", json={"by": "sam"}, headers=AUTH)
    refused = _send(client, draft_digest=approved)
    assert refused.status_code == 409
    assert (
        "the draft changed since you read it (sam edited it)"
        in refused.get_json()["error"]["message"]
    )
    assert fake_x.posted == []
    (item,) = client.get("/api/queue", headers=AUTH).get_json()["items"]
    assert _send(client, draft_digest=item["draft_digest"]).status_code == 200
    assert fake_x.posted[0]["text"] == "lol we broke it again"


def test_only_a_resolution_undone_counts_as_reopened(redis_conn, client, make_item):
    queue = ReplyQueue(redis_conn)
    queue.add(make_item(1))
    queue.add(make_item(2))
    act = lambda number, action, **extra: client.post(  # noqa: E731
        f"/api/queue/x:{number}/{action}", json={"by": "maria", **extra}, headers=AUTH
    )
    for action in ("replied", "resolve", "reopen"):
        assert act(1, action).status_code == 200
    assert act(2, "dismiss", reason="spam").status_code == 200
    undone = act(2, "reopen").get_json()
    assert undone["reopened"] == 0 and undone["history"][-1]["detail"] == "not resolved before"
    assert queue.get("x:1").reopened == 1


def test_the_api_can_take_back_someone_elses_claim(redis_conn, client, make_item):
    ReplyQueue(redis_conn).add(make_item())
    client.post("/api/queue/x:1/claim", json={"by": "ana"}, headers=AUTH)
    refused = client.post("/api/queue/x:1/release", json={"by": "ben"}, headers=AUTH)
    assert refused.status_code == 409
    taken = client.post(
        "/api/queue/x:1/release", json={"by": "ben", "take_back": True}, headers=AUTH
    )
    assert taken.status_code == 200 and taken.get_json()["status"] == "open"


def test_the_whole_queue_is_counted_and_reachable_past_its_first_page(
    redis_conn, client, make_item
):
    queue = ReplyQueue(redis_conn)
    for number in range(1, 131):  # 130 waiting: 100 overdue, 30 near due
        due = NOW - timedelta(minutes=1) if number <= 100 else NOW + timedelta(minutes=5)
        queue.add(make_item(number, due_at=due))
    assert queue.sla_counts(NOW) == {"waiting": 130, "overdue": 100, "warning": 30}
    first = client.get("/api/queue?limit=100", headers=AUTH).get_json()
    rest = client.get(f"/api/queue?cursor={first['next']}", headers=AUTH).get_json()
    ids = [item["mention_id"] for item in first["items"] + rest["items"]]
    assert len(set(ids)) == 130 and rest["next"] is None
    assert client.get("/api/queue?limit=0", headers=AUTH).status_code == 400


def test_an_x_mention_without_a_post_id_is_not_sent(redis_conn, client, make_item, fake_x):
    ReplyQueue(redis_conn).add(make_item(native_id="relayed-by-hand"))
    refused = _send(client)
    assert refused.status_code == 409
    assert "not an X post id" in refused.get_json()["error"]["message"]
    assert fake_x.posted == [] and ReplyQueue(redis_conn).get("x:1").status == "open"


def _file_crash_reports(redis_conn, make_item) -> str:
    """Three reports of one crash (two on X, one on Discord) filed into one incident and
    queued; returns the incident's id."""
    crash = TriageRecord(
        priority="P0",
        category="installation",
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
                "category": "installation",
                "kind": "bug",
                "matches": [],
            },
        ),
        urgency="high",
    )
    incidents, queue = IncidentStore(redis_conn), ReplyQueue(redis_conn)
    items = [
        make_item(21, priority="P0", text="caro crashes on launch"),
        make_item(22, priority="P0", text="caro crashes on launch, me too", author="kai"),
        make_item(
            23,
            mention_id="discord:23",
            channel="discord",
            priority="P0",
            text="caro crashes on launch here",
        ),
    ]
    for item in items:
        queue.add(item)
        report = IncidentReport(mention_id=item.mention_id, channel=item.channel, text=item.text)
        incident, _ = incidents.record_report(report, crash, NOW, timedelta(hours=2))
    return incident.id


def test_one_reply_to_an_incident_posts_its_x_reports_and_marks_the_rest(
    redis_conn, client, make_item, fake_x
):
    incident_id = _file_crash_reports(redis_conn, make_item)
    listed = client.get("/api/queue?q=crashes&channel=x", headers=AUTH).get_json()
    assert [i["mention_id"] for i in listed["items"]] == ["x:21", "x:22"]
    assert {i["incident_id"] for i in listed["items"]} == {incident_id}
    answer = client.post(
        f"/api/queue/incidents/{incident_id}/reply-all",
        json={"by": "maria", "text": "Sorry {name}, a fix is on its way.", "approve": True},
        headers=AUTH,
    )
    assert answer.status_code == 200, answer.get_json()
    outcomes = {r["mention_id"]: r["outcome"] for r in answer.get_json()["outcomes"]}
    assert outcomes == {"x:21": "posted", "x:22": "posted", "discord:23": "replied"}
    posted = {t["reply"]["in_reply_to_tweet_id"]: t["text"] for t in fake_x.posted}
    assert posted == {
        "21": "Sorry sam, a fix is on its way.",
        "22": "Sorry kai, a fix is on its way.",
    }
    queue = ReplyQueue(redis_conn)
    assert queue.get("discord:23").status == "replied"
    assert queue.get("x:21").reply_url.endswith(fake_x.posted[0]["id"])
