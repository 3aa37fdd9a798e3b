"""The inbox's view of the reply queue (``desk.inbox``): which items a filter, a search and a
page show, what each filter's count says, and an incident's reports folded into one row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from desk.inbox import Entry, InboxQuery, facet_counts, group_rows, inbox_page, matching
from desk.records import QueueItem

NOW = datetime(2026, 1, 26, 15, 0, tzinfo=UTC)


def entry(number: int, incident: str | None = None, suspect: bool = False, **fields) -> Entry:
    item = {
        "mention_id": f"x:{number}",
        "native_id": str(number),
        "channel": "x",
        "author": f"user{number}",
        "text": "caro suggests the wrong flag for tar",
        "priority": "P2",
        "category": "command-generation",
        "kind": "bug",
        "received_at": NOW - timedelta(hours=1),
        "due_at": NOW + timedelta(minutes=number),
        **fields,
    }
    clocked = QueueItem.model_validate(item).clocked(NOW)
    return Entry(item=clocked, incident_id=incident, possible_p0=suspect)


def ids(entries: list[Entry]) -> list[str]:
    return [e.item.mention_id for e in entries]


def test_each_filter_narrows_the_view():
    entries = [
        entry(1, priority="P0"),
        entry(2, channel="github"),
        entry(3, status="claimed", claimed_by="rosa"),
        entry(4, status="claimed", claimed_by="ana"),
        entry(5, due_at=NOW - timedelta(minutes=5)),  # overdue
        entry(6, suspect=True, priority="P0"),
        entry(7, status="replied", replied_by="rosa"),
    ]
    view = lambda **args: ids(matching(entries, InboxQuery(**args), "rosa"))  # noqa: E731
    assert view() == ["x:1", "x:2", "x:3", "x:4", "x:5", "x:6"]  # waiting: not the answered
    assert view(priority="P0") == ["x:1", "x:6"]
    assert view(channel="github") == ["x:2"]
    assert view(mine=True) == ["x:3"]
    assert view(unclaimed=True) == ["x:1", "x:2", "x:5", "x:6"]
    assert view(status="claimed") == ["x:3", "x:4"]
    assert view(overdue=True) == ["x:5"]
    assert view(possible_p0=True) == ["x:6"]
    assert view(status="answered") == ["x:7"]
    assert view(priority="P0", possible_p0=True) == ["x:6"]  # filters combine


def test_search_finds_every_word_in_the_text_or_the_author_in_any_case():
    entries = [
        entry(1, text="Caro CRASHES on launch"),
        entry(2, author="Ines Weber", text="how do I set the model?"),
        entry(3, text="the installer crashes"),
    ]
    search = lambda words: ids(matching(entries, InboxQuery(q=words), ""))  # noqa: E731
    assert search("crashes") == ["x:1", "x:3"]
    assert search("crashes launch") == ["x:1"]
    assert search("ines") == ["x:2"]
    assert search("nothing like it") == []


def test_a_count_says_what_the_view_would_show_with_that_filter_chosen():
    entries = [entry(1, priority="P0"), entry(2, priority="P0", channel="github"), entry(3)]
    entries.append(entry(4, due_at=NOW - timedelta(minutes=1)))
    counts = facet_counts(entries, InboxQuery(channel="x"), "rosa")
    assert counts["priority"] == {"any": 3, "P0": 1, "P1": 0, "P2": 2, "P3": 0}
    assert counts["channel"] == {"any": 4, "x": 3, "github": 1}  # its own filter set aside
    assert counts["overdue"] == {"true": 1}
    assert counts["status"]["waiting"] == 3 and counts["status"]["answered"] == 0


def test_an_incidents_reports_are_one_row_where_its_first_report_is():
    entries = [
        entry(1),
        entry(2, incident="inc-a"),
        entry(3),
        entry(4, incident="inc-a"),
        entry(5, incident="inc-b"),  # the only one of its incident: a row of its own
    ]
    rows = group_rows(entries)
    assert [row.key for row in rows] == ["x:1", "incident:inc-a", "x:3", "x:5"]
    assert [e.item.mention_id for e in rows[1].entries] == ["x:2", "x:4"]
    assert rows[1].grouped and not rows[3].grouped and rows[3].incident_id == "inc-b"


def test_a_page_at_a_time_and_past_the_end_the_last_page():
    entries = [entry(number) for number in range(1, 8)]
    first = inbox_page(entries, InboxQuery(), "", page_size=3)
    assert (first.page, first.pages, first.matched_items) == (1, 3, 7)
    assert [row.key for row in first.rows] == ["x:1", "x:2", "x:3"]
    last = inbox_page(entries, InboxQuery(page=99), "", page_size=3)
    assert last.page == 3 and [row.key for row in last.rows] == ["x:7"]


def test_possible_p0s_come_first_and_answered_items_are_never_folded():
    entries = [entry(1), entry(2, suspect=True), entry(3, incident="inc-a")]
    entries += [entry(4, incident="inc-a")]
    entries += [entry(n, incident="inc-a", status="replied") for n in (5, 6)]
    page = inbox_page(entries, InboxQuery(), "")
    assert [row.key for row in page.rows] == ["x:2", "x:1", "incident:inc-a"]
    assert page.rows[2].reports == 2
    filtered = inbox_page(entries, InboxQuery(q="x:4"), "")  # one of the incident's two
    assert filtered.rows[0].reports == 2 and len(filtered.rows[0].entries) == 1
    answered = inbox_page(entries, InboxQuery(status="answered"), "")
    assert [row.key for row in answered.rows] == ["x:5", "x:6"]


def test_the_url_query_is_read_leniently_and_written_short():
    query = InboxQuery.from_args(
        {
            "priority": "P9",
            "channel": "x",
            "status": "lost",
            "mine": "1",
            "page": "two",
            "q": " a  b ",
        }
    )
    assert (query.priority, query.channel, query.status, query.mine) == (None, "x", "waiting", True)
    assert (query.page, query.q) == (1, "a b")
    assert query.args() == {"channel": "x", "mine": "1", "q": "a b"}
    paged = query.model_copy(update={"page": 3})
    assert paged.args(sel="x:1")["page"] == "3"  # selecting keeps the page
    assert "page" not in paged.args(overdue=True)  # a new filter starts at page 1


def escalated(number: int, **fields) -> Entry:
    """An item a bot escalated: no answer from the team within the hour."""
    history = [
        {"at": NOW - timedelta(minutes=5), "actor": "Hark", "event": "escalated", "detail": "1 h"}
    ]
    return entry(number, history=history, **fields)


def test_escalated_items_are_listed_after_the_possible_p0s_and_p0s_and_flagged():
    entries = [entry(1), escalated(3), entry(2, suspect=True), escalated(4), entry(5)]
    entries.append(entry(9, priority="P0"))  # due last, but a P0 outranks an hour's wait
    page = inbox_page(entries, InboxQuery(), "")
    assert [row.key for row in page.rows] == ["x:2", "x:9", "x:3", "x:4", "x:1", "x:5"]
    assert [row.escalated for row in page.rows] == [False, False, True, True, False, False]


def test_the_escalated_filter_finds_them_and_counts_them():
    entries = [entry(1), escalated(2), escalated(3, status="claimed", claimed_by="ana")]
    only = inbox_page(entries, InboxQuery(escalated=True), "rosa")
    assert [row.key for row in only.rows] == ["x:2", "x:3"]
    assert only.counts["escalated"]["true"] == 2
    assert facet_counts(entries, InboxQuery(status="open"), "rosa")["escalated"]["true"] == 1
    assert InboxQuery.from_args({"escalated": "1"}).args() == {"escalated": "1"}


def test_an_answer_settles_an_escalation_even_if_the_item_is_reopened():
    answered = escalated(1, status="replied", replied_by="ana", first_response_at=NOW)
    reopened = escalated(2, first_response_at=NOW, reopened=1)
    assert not answered.escalated and not reopened.escalated
    page = inbox_page([entry(0), reopened], InboxQuery(), "")
    assert [row.key for row in page.rows] == ["x:0", "x:2"]  # soonest due first, as any
    assert inbox_page([answered], InboxQuery(escalated=True, status="answered"), "").rows == ()
