"""Which items say the same thing (``desk.similar``), and the inbox showing it: the answered
items most like a new one with a "Use this reply" button, and the same problem on another
channel linked from both items."""

from __future__ import annotations

from datetime import timedelta

from desk.reply_queue import ReplyQueue
from desk.similar import answered_before, linked_reports, similarity, words
from services import queue as desk_queue
from services.context import Services
from tests.unit.test_inbox_page import NOW, app, browser, item, services  # noqa: F401

CRASH_X = "@CaroCLI 1.2.0 crashes on launch for me too, segfault before any output"
CRASH_GH = "[Bug]: 1.2.0 segfaults on launch (macOS 14): crashes before any output"
MODEL_Q = "how do I pick the ollama model caro uses?"


def _answered(mention_id: str, text: str, reply: str, status: str = "replied"):
    """An answered item as a record (for the pure functions)."""
    return item(
        mention_id,
        "someone",
        text,
        1,
        status=status,
        replied_by="Rosa",
        draft={"text": reply, "template_id": "t"},
    )


def _answer(connection, mention_id: str, text: str, reply: str) -> None:
    """An item queued, then replied to by Rosa an hour ago (as the page would)."""
    draft = {"text": reply, "template_id": "t"}
    ReplyQueue(connection).add(item(mention_id, "someone", text, 1, draft=draft))
    at = NOW - timedelta(hours=1)
    desk_queue.replied(Services(connection=connection, clock=lambda: at), mention_id, "Rosa")


def test_words_leave_out_links_handles_and_function_words():
    assert words("@CaroCLI see https://x.com/a: the tar flags are WRONG") == {
        "see",
        "tar",
        "flags",
        "wrong",
    }
    assert {"神ツ", "ツー", "ール"} <= words("神ツール")  # no spaces: character pairs


def test_similarity_is_symmetric_and_keeps_a_short_post_near_a_long_one():
    short, long = words(CRASH_X), words(CRASH_GH + " more words about the homebrew install path")
    assert similarity(short, long) == similarity(long, short) > 0.3
    assert similarity(words(CRASH_X), words(MODEL_Q)) == 0.0
    assert similarity(frozenset(), short) == 0.0


def test_answered_before_offers_the_closest_replies_not_the_dismissed_or_unrelated():
    new = item("discord:1", "kai", "caro 1.2.0 crashes on launch with a segfault", 5)
    crash = _answered("x:2", CRASH_X, "Fixed in 1.2.1: brew upgrade caro")
    model = _answered("x:3", MODEL_Q, "Set HARK... caro --model")
    dismissed = _answered("x:4", CRASH_X + " again", "", status="dismissed")
    found = answered_before(new, [model, dismissed, crash])
    assert [s.item.mention_id for s in found] == ["x:2"]
    assert {"crashes", "launch", "segfault"} <= set(found[0].shared)


def test_links_are_cross_channel_within_a_day_and_shown_both_ways():
    x = item("x:1", "sam", CRASH_X, 5)
    gh = item("github:2", "ana", CRASH_GH, 5)
    same_channel = item("x:3", "lee", CRASH_X + " here", 5)
    old = item("discord:4", "kai", CRASH_X, 5, received_at=NOW - timedelta(days=3))
    assert [s.item.mention_id for s in linked_reports(x, [gh, same_channel, old])] == ["github:2"]
    assert [s.item.mention_id for s in linked_reports(gh, [x, same_channel, old])] == [
        "x:1",
        "x:3",
    ]


def test_two_greetings_sharing_two_words_are_not_linked():
    a = item("discord:1", "a", "gm everyone, launch day 🎉", 5)
    b = item("x:2", "b", "launch day for @CaroCLI 🎉 installing it everywhere", 5)
    assert linked_reports(a, [b]) == []


def test_the_inbox_offers_an_answered_reply_and_links_both_items(browser, services):  # noqa: F811
    queue = ReplyQueue(services.connection)
    _answer(
        services.connection,
        "email:50",
        "Subject: pick a model\n\n" + MODEL_Q,
        "Run caro --model ollama",
    )
    queue.add(
        item(
            "x:51", "sam", "which ollama model does caro pick? how do I change it", 9, priority="P3"
        )
    )
    queue.add(
        item("github:52", "ana", "How to change which ollama model caro picks", 9, priority="P3")
    )

    html = browser("rosa").get("/queue?sel=x:51").text
    assert "Answered before" in html and "Run caro --model ollama" in html
    assert 'data-use-reply="reply-x-51-1"' in html and 'data-into="draft-x-51"' in html
    assert "Same problem on other channels" in html and 'data-linked="github:52"' in html
    other = browser("rosa").get("/queue?sel=github:52").text
    assert 'data-linked="x:51"' in other  # shown on both items

    viewer = browser("vera").get("/queue?sel=x:51").text  # nothing to fill: no button
    assert "Run caro --model ollama" in viewer and "data-use-reply" not in viewer


def test_an_answered_item_shows_its_links_but_offers_no_reply(browser, services):  # noqa: F811
    _answer(services.connection, "x:60", CRASH_X, "Fixed in 1.2.1")
    _answer(services.connection, "github:61", CRASH_GH, "Fixed in 1.2.1, thanks")
    html = browser("rosa").get("/queue?sel=x:60&view=answered").text
    assert 'data-linked="github:61"' in html and "Answered before" not in html


def test_services_alike_reads_the_queue(services):  # noqa: F811
    from services.similar_items import alike

    queue = ReplyQueue(services.connection)
    _answer(services.connection, "x:70", CRASH_X, "Fixed in 1.2.1")
    new = item("discord:71", "kai", "1.2.0 crashes on launch, segfault before any output", 5)
    queue.add(new)
    found = alike(Services(connection=services.connection, clock=lambda: NOW), new)
    assert [s.item.mention_id for s in found.answered_before] == ["x:70"]
    assert "x:70" in [s.item.mention_id for s in found.linked]
