"""Support metrics (desk.metrics) and the daily/weekly Markdown report (desk.report),
on small synthetic records whose figures are worked out by hand."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from desk.issues import category_name, problem_name, short_text, signature, similarity, top_rule
from desk.metrics import IncidentFacts, compute_metrics
from desk.records import QueueItem, StoredMention
from desk.report import humanize, render_report
from desk.targets import verdict_text
from rules.result import TriageRecord

SINCE = datetime(2026, 1, 24, tzinfo=UTC)  # a Saturday
NEW_YORK = ZoneInfo("America/New_York")
UNTIL = SINCE + timedelta(days=1)


def at(hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """The moment ``hours`` (etc.) after SINCE."""
    return SINCE + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def rule(rule_id: str, weight: float = 1.0, levels: tuple[str, ...] = ("P0",)) -> dict:
    return {
        "id": rule_id,
        "description": rule_id,
        "weight": weight,
        "levels": list(levels),
        "category": None,
        "kind": None,
        "matches": [
            {"condition": "match[0].keyword", "pattern": "x", "text": "x", "start": 0, "end": 1}
        ],
    }


def triage(
    priority: str = "P0",
    rules: list[dict] | None = None,
    kind: str = "bug",
    category: str = "command-generation",
) -> dict:
    fired = rules if rules is not None else [rule("crash-for-everyone", levels=(priority,))]
    return {
        "priority": priority,
        "category": category,
        "kind": kind,
        "score": 1.0,
        "pages": priority == "P0",
        "scores": {priority: 1.0},
        "rules": fired,
    }


@pytest.fixture
def make_mention():
    numbers = itertools.count(1)

    def make(
        text: str = "caro crashes on launch",
        priority: str = "P0",
        rules: list[dict] | None = None,
        kind: str = "bug",
        category: str = "command-generation",
        **overrides,
    ) -> StoredMention:
        number = next(numbers)
        received = overrides.pop("received_at", at(1))
        return StoredMention.model_validate(
            {
                "id": f"x:{number}",
                "channel": "x",
                "native_id": str(number),
                "created_at": received,
                "received_at": received,
                "triaged_at": received,
                "text": text,
                "triage": triage(priority, rules, kind, category),
                **overrides,
            }
        )

    return make


@pytest.fixture
def make_item():
    numbers = itertools.count(1)

    def make(**overrides) -> QueueItem:
        number = next(numbers)
        item = {
            "mention_id": f"x:{number}",
            "native_id": str(number),
            "channel": "x",
            "text": "brew install caro fails",
            "priority": "P1",
            "category": "installation",
            "kind": "bug",
            "received_at": at(1),
            "due_at": at(5),
            "resolution_due_at": at(73),
        }
        return QueueItem.model_validate({**item, **overrides})

    return make


@pytest.fixture
def make_incident():
    def make(**overrides) -> IncidentFacts:
        return IncidentFacts(**{"opened_at": at(1), "status": "triggered", **overrides})

    return make


def metrics(mentions=(), items=(), incidents=(), **kwargs) -> dict:
    since, until = kwargs.pop("since", SINCE), kwargs.pop("until", UNTIL)
    return compute_metrics(list(mentions), list(items), list(incidents), since, until, **kwargs)


# --- first response -------------------------------------------------------------------


@pytest.fixture
def response_items(make_item):
    return [
        # answered: P0 in 30 min (within), P0 in 1 h 30 min (late), P1 in 2 h (within)
        make_item(
            priority="P0",
            received_at=at(1),
            due_at=at(2),
            status="replied",
            first_response_at=at(1, 30),
        ),
        make_item(
            priority="P0",
            received_at=at(2),
            due_at=at(3),
            status="replied",
            first_response_at=at(3, 30),
        ),
        make_item(received_at=at(3), due_at=at(7), status="replied", first_response_at=at(5)),
        # answered in 10 min, with no due time: averaged, not in the SLA percentage
        make_item(
            priority="P2",
            received_at=at(4),
            due_at=None,
            status="replied",
            first_response_at=at(4, 10),
        ),
        make_item(received_at=at(10), due_at=at(14)),  # waiting past due: an SLA miss
        make_item(priority="P2", received_at=at(20), due_at=at(44)),  # waiting, not due: pending
        make_item(priority="P3", received_at=at(23), due_at=at(71), status="claimed"),  # pending
        make_item(received_at=at(6), due_at=at(8), status="dismissed"),  # never answered: out
    ]


def test_first_response_figures(response_items):
    first = metrics(items=response_items)["first_response"]
    assert {key: value for key, value in first.items() if key != "p0"} == {
        "count": 4,
        "average_s": (1800 + 5400 + 7200 + 600) / 4,  # 3750
        "median_s": (1800 + 5400) / 2,
        "max_s": 7200,
        "within_sla": 2,
        "sla_counted": 4,  # three answered with a due time, one waiting past it
        "within_sla_pct": 50.0,
        "overdue": 1,
        "pending": 2,
    }
    assert first["p0"] == {
        "count": 2,
        "average_s": 3600.0,
        "median_s": 3600.0,
        "max_s": 5400.0,
        "within_sla": 1,
        "sla_counted": 2,
        "within_sla_pct": 50.0,
        "overdue": 0,
        "pending": 0,
    }


def test_a_response_at_the_due_time_is_within_sla(make_item):
    item = make_item(due_at=at(5), status="replied", first_response_at=at(5))
    late = make_item(due_at=at(5), status="replied", first_response_at=at(5, seconds=1))
    first = metrics(items=[item, late])["first_response"]
    assert (first["within_sla"], first["sla_counted"]) == (1, 2)


@pytest.mark.parametrize(
    ("now", "overdue", "pending"),
    [
        (SINCE + timedelta(hours=4, minutes=59), 0, 1),
        (SINCE + timedelta(hours=5), 1, 0),
        (None, 1, 0),
    ],
)
def test_due_is_judged_at_now_default_until_as_the_queue_does(make_item, now, overdue, pending):
    first = metrics(items=[make_item(due_at=at(5))], now=now)["first_response"]
    assert (first["overdue"], first["pending"]) == (overdue, pending)


def test_a_response_before_the_received_time_counts_as_zero(make_item):
    skewed = make_item(received_at=at(2), status="replied", first_response_at=at(1, 59))
    assert metrics(items=[skewed])["first_response"]["average_s"] == 0.0


# --- resolution, reopened, escalation ---------------------------------------------------


def test_resolution_by_priority(make_item):
    items = [
        make_item(
            priority="P0",
            received_at=at(1),
            resolved_at=at(5),
            resolution_due_at=at(25),
            status="replied",
        ),
        make_item(
            priority="P0",
            received_at=at(2),
            resolved_at=at(4),
            resolution_due_at=at(26),
            status="replied",
        ),
        make_item(received_at=at(3), resolved_at=at(13), status="replied"),
        make_item(priority="P2", received_at=at(3), resolution_due_at=at(5)),  # overdue
        make_item(priority="P3", received_at=at(3), resolution_due_at=None),  # next release
    ]
    result = metrics(items=items)
    by_priority = result["resolution_by_priority"]
    assert list(by_priority) == ["P0", "P1", "P2", "P3"]
    assert by_priority["P0"] == {
        "count": 2,
        "average_s": 10800.0,  # (4 h + 2 h) / 2
        "median_s": 10800.0,
        "max_s": 14400.0,
        "within_sla": 2,
        "sla_counted": 2,
        "within_sla_pct": 100.0,
        "overdue": 0,
        "pending": 0,
    }
    assert (by_priority["P1"]["count"], by_priority["P1"]["average_s"]) == (1, 36000.0)
    assert by_priority["P2"]["count"] == 0 and by_priority["P2"]["average_s"] is None
    assert (by_priority["P2"]["overdue"], by_priority["P2"]["within_sla_pct"]) == (1, 0.0)
    assert (by_priority["P3"]["pending"], by_priority["P3"]["within_sla_pct"]) == (1, None)
    overall = result["resolution"]
    assert (overall["count"], overall["within_sla"], overall["sla_counted"]) == (3, 3, 4)
    assert result["targets"]["resolved_within_sla"] == {
        "target_pct": 90.0,
        "value": 75.0,
        "met": None,  # 4 resolutions judged: too few to say
        "verdict": "too few",
        "measured": 4,
        "within": 3,
        "waiting": 1,
        "overdue": 1,
    }


def test_reopened_rate_is_reopened_items_over_items_ever_resolved(make_item):
    items = [
        make_item(status="replied", first_response_at=at(2), resolved_at=at(3)),
        make_item(status="replied", first_response_at=at(2), resolved_at=at(9), reopened=2),
        make_item(status="open", reopened=1),  # reopened, waiting again: it was resolved once
        make_item(status="open"),
    ]
    result = metrics(items=items)
    assert result["reopened"] == {"count": 2, "resolved": 3, "rate": 2 / 3}
    assert result["reopened_rate"] == 2 / 3
    assert result["targets"]["reopened_rate"]["verdict"] == "too few"


def test_escalation_rate_counts_incidents_escalated_however_recorded(make_incident):
    incidents = [
        make_incident(status="acknowledged", escalations=1),
        make_incident(status="escalated"),
        make_incident(events=("opened", "escalated", "acknowledged")),
        make_incident(status="resolved"),
        make_incident(),
        make_incident(opened_at=at(-1), escalations=3),  # before the period: not counted
    ]
    result = metrics(incidents=incidents)
    assert result["escalation_rate"] == 3 / 5
    assert result["incidents"] == {
        "count": 5,
        "escalated": 3,
        "open": 4,
        "by_status": {"acknowledged": 1, "escalated": 1, "resolved": 1, "triggered": 2},
        "rate": 0.6,
    }


@pytest.mark.parametrize(("escalated", "met"), [(0, True), (1, False)])
def test_escalation_target_is_strictly_below_ten_percent(make_incident, escalated, met):
    incidents = [make_incident(escalations=int(n < escalated)) for n in range(10)]
    targets = metrics(incidents=incidents)["targets"]
    assert targets["escalation_rate"] == {
        "target_rate": 0.1,
        "value": escalated / 10,
        "met": met,
        "verdict": "met" if met else "missed",
        "measured": 10,
        "within": escalated,
        "waiting": 0,
    }


# --- the period -----------------------------------------------------------------------


def test_only_records_received_in_the_half_open_period(make_mention, make_item, make_incident):
    edges = [at(0), at(-1, seconds=59, minutes=59), at(24), at(23, 59, 59)]  # in, out, out, in
    result = metrics(
        mentions=[make_mention(received_at=moment) for moment in edges],
        items=[
            make_item(received_at=moment, status="replied", first_response_at=moment)
            for moment in edges
        ],
        incidents=[make_incident(opened_at=moment) for moment in edges],
    )
    assert result["volume"]["total"] == 2
    assert result["first_response"]["count"] == 2
    assert result["incidents"]["count"] == 2
    assert result["period"] == {
        "since": "2026-01-24T00:00:00+00:00",
        "until": "2026-01-25T00:00:00+00:00",
        "now": "2026-01-25T00:00:00+00:00",
    }


def test_empty_inputs_give_zeros_and_none_not_errors():
    result = metrics()
    json.dumps(result)  # JSON-ready
    first = result["first_response"]
    assert (first["count"], first["average_s"], first["median_s"]) == (0, None, None)
    assert first["within_sla_pct"] is None and first["p0"]["within_sla_pct"] is None
    assert all(block["count"] == 0 for block in result["resolution_by_priority"].values())
    assert result["escalation_rate"] is None and result["reopened_rate"] is None
    assert result["volume"]["by_channel"] == {"x": 0, "github": 0, "discord": 0, "email": 0}
    assert result["volume"]["by_priority"] == {"P0": 0, "P1": 0, "P2": 0, "P3": 0}
    assert len(result["volume"]["per_hour"]) == 24
    assert result["top_issues"] == [] and result["kb_candidates"] == []
    assert result["queue"]["waiting"] == 0 and result["queue"]["oldest_waiting_s"] is None
    assert {name: target["met"] for name, target in result["targets"].items()} == dict.fromkeys(
        result["targets"]
    )


# --- volume ---------------------------------------------------------------------------


def test_volume_by_channel_and_priority(make_mention):
    mentions = [
        make_mention(channel="discord", priority="P3"),
        make_mention(channel="discord", priority="P2"),
        make_mention(channel="github", priority="P3"),
        make_mention(channel="email", priority="P3"),
    ]
    volume = metrics(mentions=mentions)["volume"]
    assert volume["total"] == 4
    assert volume["by_channel"] == {"x": 0, "github": 1, "discord": 2, "email": 1}
    assert volume["by_priority"] == {"P0": 0, "P1": 0, "P2": 1, "P3": 3}


def test_per_hour_buckets_every_hour_with_zeros_and_exact_boundaries(make_mention):
    mentions = [
        make_mention(priority="P0", received_at=at(0)),
        make_mention(priority="P1", received_at=at(0, 59, 59)),
        make_mention(priority="P3", received_at=at(2, 59)),
        make_mention(priority="P1", received_at=at(3)),  # == until: outside
    ]
    per_hour = metrics(mentions=mentions, until=SINCE + timedelta(hours=3))["volume"]["per_hour"]
    assert per_hour == [
        {"hour": "2026-01-24T00:00:00+00:00", "P0": 1, "P1": 1, "P2": 0, "P3": 0},
        {"hour": "2026-01-24T01:00:00+00:00", "P0": 0, "P1": 0, "P2": 0, "P3": 0},
        {"hour": "2026-01-24T02:00:00+00:00", "P0": 0, "P1": 0, "P2": 0, "P3": 1},
    ]


def test_per_hour_starts_at_the_hour_holding_since_in_utc(make_mention):
    paris = timezone(timedelta(hours=1))
    since = datetime(2026, 1, 24, 1, 30, tzinfo=paris)  # 00:30 UTC
    until = datetime(2026, 1, 24, 3, 15, tzinfo=paris)  # 02:15 UTC
    mentions = [make_mention(received_at=at(0, 10)), make_mention(received_at=at(0, 40))]
    per_hour = metrics(mentions=mentions, since=since, until=until)["volume"]["per_hour"]
    assert [bucket["hour"][11:16] for bucket in per_hour] == ["00:00", "01:00", "02:00"]
    assert [bucket["P0"] for bucket in per_hour] == [1, 0, 0]  # 00:10 is before since


def test_per_hour_is_empty_for_an_empty_period():
    assert metrics(until=SINCE)["volume"]["per_hour"] == []


# --- the queue --------------------------------------------------------------------------


def test_queue_status_counts_items_waiting_for_a_first_response(make_item):
    items = [
        make_item(priority="P0", received_at=at(23), due_at=at(25)),  # not due yet
        make_item(received_at=at(20), due_at=at(24), status="claimed"),  # due now: past due
        make_item(priority="P2", received_at=at(-30), due_at=at(100)),  # before since: waiting
        make_item(status="replied", first_response_at=at(2)),
        make_item(received_at=at(25)),  # after until
    ]
    assert metrics(items=items)["queue"] == {
        "waiting": 3,
        "claimed": 1,
        "by_priority": {"P0": 1, "P1": 1, "P2": 1, "P3": 0},
        "past_due": 1,
        "oldest_waiting_s": 54 * 3600.0,
    }


# --- top issues -----------------------------------------------------------------------


def test_top_issues_are_incidents_by_title_and_categories_in_words(make_mention, make_incident):
    crash = [make_mention(text=f"crash {n}", received_at=at(1, n)) for n in range(4)]
    question = [rule("question", levels=("P3",))]
    install = {"category": "installation"}
    mentions = [
        *crash,
        *(
            make_mention(f"how to install {n}", "P3", question, kind="question", **install)
            for n in range(3)
        ),
        make_mention("install fails", "P1", kind="bug", **install),
        make_mention("love it", "P3", kind="praise", **install),  # praise is not an issue
        make_mention("gm", "P3", kind="other", category="other"),  # nor the catch-all
    ]
    incident = make_incident(
        id="inc-1",
        title="Caro 1.2.0 crashes on launch",
        mention_ids=tuple(mention.id for mention in crash),
    )
    top = metrics(mentions=mentions, incidents=[incident])["top_issues"]
    assert [(issue["name"], issue["count"], issue["priority"]) for issue in top] == [
        ("Caro 1.2.0 crashes on launch", 4, "P0"),  # its reports are not counted again
        ("Installation questions", 3, "P3"),
        ("Installation bugs", 1, "P1"),
    ]
    assert top[0]["incident_id"] == "inc-1" and top[1]["incident_id"] is None
    assert not any(issue["name"] == "question" or "`" in issue["name"] for issue in top)


def test_top_issues_keep_the_ten_most_frequent(make_incident):
    incidents = [
        make_incident(id=f"inc-{n}", title=f"Problem {n:02}", mention_ids=tuple("m" * (n + 1)))
        for n in range(12)
    ]
    top = metrics(incidents=incidents)["top_issues"]
    assert [issue["name"] for issue in top] == [f"Problem {n:02}" for n in range(11, 1, -1)]
    assert top[0]["count"] == 12


def test_category_names_are_words():
    assert category_name("command-generation") == "Command generation"
    assert problem_name("installation", "question") == "Installation questions"
    assert problem_name("privacy", "feature") == "Privacy feature requests"
    assert problem_name("other", "bug") == "Other bugs"


def test_a_tied_priority_goes_to_the_more_severe(make_mention):
    shared = rule("installation-broken", levels=("P1", "P2"))
    mentions = [make_mention(priority="P2", rules=[shared]), make_mention("x", "P1", [shared])]
    assert metrics(mentions=mentions)["top_issues"][0]["priority"] == "P1"


# --- KB candidates --------------------------------------------------------------------


def test_top_rule_is_the_heaviest_positive_rule_at_the_chosen_priority():
    fired = [
        rule("p0-only", 2.0, ("P0",)),
        rule("light", 0.5, ("P1",)),
        rule("heavy", 1.0, ("P0", "P1")),
        rule("counter", -3.0, ("P1",)),
    ]
    assert top_rule(TriageRecord.model_validate(triage("P1", fired))) == "heavy"
    only_negative = triage("P3", [rule("counter", -1.0, ("P3",))])
    assert top_rule(TriageRecord.model_validate(only_negative)) is None


def test_signature_normalizes_words():
    assert signature("Caro CRASHES on launch!! https://x.com/a/1 @carocli") == {"crash", "launch"}
    assert signature("caro crashed at launch") == signature("crashing on ｌａｕｎｃｈ")
    assert signature("issues with fixes on macOS") == {"issue", "fix", "macos"}
    assert signature("it is on") == frozenset()
    assert similarity(frozenset(), frozenset({"a"})) == 0.0


def test_three_similar_reports_group_two_do_not(make_mention):
    def report(text: str, hour: int, rule_id: str = "installation-broken") -> dict:
        return make_mention(
            text, "P1", [rule(rule_id, levels=("P1",))], received_at=at(hour), channel="github"
        )

    mentions = [
        report("caro: command not found after brew install", 3),
        report("zsh: command not found: caro", 1),
        report("Getting 'command not found' for caro on my mac", 2),
        report("install script fails with permission denied", 4),  # two alike: not enough
        report("install fails: permission denied", 5),
        report("command not found again", 6, rule_id="other-rule"),  # a different top rule
    ]
    assert metrics(mentions=mentions)["kb_candidates"] == [
        {
            "name": "zsh: command not found: caro",  # named by its first report
            "count": 3,
            "priority": "P1",
            "incident_id": None,
            "source": "problem",
            "rule": "installation-broken",
            "words": ["command", "found"],
            "example_mention_ids": ["x:2", "x:3", "x:1"],  # oldest first
        }
    ]


def test_an_incident_is_one_kb_candidate_counting_all_its_reports(make_mention, make_incident):
    """22 reports of one crash, in many languages and words: one candidate of 22."""
    texts = ["caro crashes on launch", "segfault al iniciar", "stürzt beim Start ab", "闪退"]
    crash = [make_mention(texts[n % 4] + f" #{n}", received_at=at(1, n)) for n in range(22)]
    two = [make_mention("panics on config", received_at=at(2, n)) for n in range(2)]
    incidents = [
        make_incident(
            id="inc-crash",
            title="1.2.0 crashes on launch",
            mention_ids=tuple(mention.id for mention in crash),
        ),
        make_incident(id="inc-two", title="Config panic", mention_ids=(two[0].id, two[1].id)),
    ]
    [candidate] = metrics(mentions=[*crash, *two], incidents=incidents)["kb_candidates"]
    assert (candidate["name"], candidate["count"], candidate["source"]) == (
        "1.2.0 crashes on launch",
        22,
        "incident",
    )
    assert candidate["incident_id"] == "inc-crash"
    assert candidate["example_mention_ids"] == ["x:1", "x:2", "x:3"]


def test_repeated_questions_outside_incidents_are_candidates(make_mention):
    question = [rule("question", levels=("P3",))]
    asked = [
        make_mention(text, "P3", question, kind="question", received_at=at(n))
        for n, text in enumerate(
            [
                "How do I update caro if I installed it with the curl script?",
                "+1, how do i update caro if i installed it with the curl script",
                "how to update caro installed with the curl install script?",
            ]
        )
    ]
    [candidate] = metrics(mentions=asked)["kb_candidates"]
    assert candidate["source"] == "question" and candidate["count"] == 3
    assert candidate["name"] == "How do I update caro if I installed it with the curl script?"


def test_a_long_first_report_names_the_candidate_cut_at_a_word():
    text = "Subject: " + "word " * 40 + "\n\nbody mail me at kim@example.com"
    name = short_text(text)
    assert name.endswith("word…") and len(name) <= 91 and "\n" not in name
    assert short_text("mail kim@example.com now") == "mail [email] now"


def test_kb_examples_are_capped_and_praise_is_not_an_issue(make_mention):
    question = [rule("question", levels=("P3",))]
    praise = [rule("praise", levels=("P3",))]
    mentions = [
        *(
            make_mention("how do I disable telemetry?", "P3", question, received_at=at(n))
            for n in range(4)
        ),
        *(make_mention("love caro, great tool", "P3", praise, kind="praise") for _ in range(3)),
    ]
    [candidate] = metrics(mentions=mentions)["kb_candidates"]
    assert candidate["rule"] == "question" and candidate["count"] == 4
    assert candidate["example_mention_ids"] == ["x:1", "x:2", "x:3"]
    assert candidate["words"] == ["disable", "telemetry"]


def test_reports_with_no_rule_group_by_words(make_mention):
    mentions = [
        make_mention(text, "P3", [], received_at=at(n))
        for n, text in enumerate(["dark mode please", "any dark mode?", "dark mode when", "hi"])
    ]
    [candidate] = metrics(mentions=mentions)["kb_candidates"]
    assert (candidate["rule"], candidate["count"], candidate["words"]) == (
        None,
        3,
        ["dark", "mode"],
    )


# --- targets --------------------------------------------------------------------------


def test_targets_met(make_item, make_incident):
    items = [
        make_item(
            priority=priority,
            received_at=at(1),
            due_at=at(2),
            resolution_due_at=at(20),
            status="replied",
            first_response_at=at(1, 20),
            resolved_at=at(3),
        )
        for priority in ("P0", "P1", "P2") * 4
    ]
    incidents = [make_incident() for _ in range(10)]
    targets = metrics(items=items, incidents=incidents)["targets"]
    assert {name: target["met"] for name, target in targets.items()} == {
        "average_first_response": True,
        "first_response_within_sla": True,
        "p0_first_response": None,  # 4 P0s answered in time: too few to say it is met
        "resolved_within_sla": True,
        "reopened_rate": True,
        "escalation_rate": True,
    }
    assert targets["average_first_response"] == {
        "target_s": 7200,
        "value": 1200.0,
        "met": True,
        "verdict": "met",
        "measured": 12,
        "within": 12,
        "waiting": 0,
    }
    assert targets["p0_first_response"]["verdict"] == "too few"
    assert verdict_text("first_response_within_sla", targets["first_response_within_sla"]) == (
        "met: 12 of 12 answered within target"
    )


def test_targets_not_met(response_items):
    targets = metrics(items=response_items)["targets"]
    assert targets["average_first_response"]["verdict"] == "too few"  # 4 answered
    assert targets["first_response_within_sla"]["verdict"] == "too few"
    assert targets["p0_first_response"]["met"] is False  # one P0 late misses "100%"
    assert verdict_text("p0_first_response", targets["p0_first_response"]) == (
        "missed: 1 of 2 P0 reports answered within 1 h"
    )


def test_one_answered_of_218_is_too_few_to_judge(make_item):
    answered = make_item(due_at=at(5), status="replied", first_response_at=at(1, 5))
    waiting = [make_item(received_at=at(20), due_at=at(30)) for _ in range(217)]
    target = metrics(items=[answered, *waiting])["targets"]["first_response_within_sla"]
    assert (target["value"], target["met"], target["verdict"]) == (100.0, None, "too few")
    assert verdict_text("first_response_within_sla", target) == (
        "too few answered to judge: 1 of 218"
    )


def test_twelve_of_thirteen_answered_in_time_is_met_and_says_how_many(make_item):
    on_time = [make_item(status="replied", first_response_at=at(2)) for _ in range(12)]
    late = make_item(status="replied", first_response_at=at(6))
    waiting = [make_item(received_at=at(20), due_at=at(30)) for _ in range(217)]
    target = metrics(items=[*on_time, late, *waiting])["targets"]["first_response_within_sla"]
    assert target["verdict"] == "missed"  # 92.3% is not > 95%
    on_time.append(make_item(status="replied", first_response_at=at(2)))
    targets = metrics(items=[*on_time, *waiting])["targets"]
    assert verdict_text("first_response_within_sla", targets["first_response_within_sla"]) == (
        "met: 13 of 13 answered within target; 217 still waiting"
    )
    assert verdict_text("average_first_response", targets["average_first_response"]) == (
        "met: over 13 answered; 217 still waiting"
    )


@pytest.mark.parametrize(
    ("escalated", "incidents", "text"),
    [
        (0, 0, "no data: no incident"),
        (2, 5, "too few incidents to judge: 2 of 5 escalated"),
        (2, 12, "missed: 2 of 12 incidents escalated"),
    ],
)
def test_escalation_verdict_in_words(make_incident, escalated, incidents, text):
    made = [make_incident(escalations=int(n < escalated)) for n in range(incidents)]
    target = metrics(incidents=made)["targets"]["escalation_rate"]
    assert verdict_text("escalation_rate", target) == text


def test_targets_are_strict_at_the_boundary(make_item):
    on_time = [
        make_item(due_at=at(3), status="replied", first_response_at=at(3)) for _ in range(19)
    ]
    late = make_item(received_at=at(0), due_at=at(1), status="replied", first_response_at=at(2))
    targets = metrics(items=[*on_time, late])["targets"]
    assert targets["first_response_within_sla"]["value"] == 95.0
    assert targets["first_response_within_sla"]["met"] is False  # "> 95%"
    assert targets["average_first_response"]["value"] == 7200.0
    assert targets["average_first_response"]["met"] is False  # "< 2 hours"


# --- the report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (45, "45 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (4320, "1 h 12 min"),
        (86400, "1 d"),
        (93600, "1 d 2 h"),
    ],
)
def test_humanize(seconds, text):
    assert humanize(seconds) == text


@pytest.fixture
def busy_day(make_mention, make_item, make_incident, response_items):
    crash = [rule("crash-for-everyone")]
    mentions = [
        make_mention("caro crashes on launch", received_at=at(1)),
        make_mention("caro crashed on launch again", received_at=at(2), channel="discord"),
        make_mention("crashing on launch for me too", received_at=at(2, 30), rules=crash),
        make_mention("how to install?", "P3", [rule("question", levels=("P3",))], kind="question"),
    ]
    incidents = [
        make_incident(
            status="acknowledged",
            escalations=1,
            id="inc-1",
            title="Caro crashes on launch",
            mention_ids=("x:1", "x:2", "x:3"),
        ),
        make_incident(id="inc-2", title="Config panic", mention_ids=("x:9",)),
    ]
    return metrics(mentions, response_items, incidents, zone=NEW_YORK)


def test_daily_report(busy_day):
    report = render_report(busy_day, "day", UNTIL + timedelta(hours=6), zone=NEW_YORK)
    lines = report.splitlines()
    assert lines[0] == "# Daily support report: Sat 24 Jan 2026"  # to 19:00 in New York
    assert lines[2] == (
        "_Covers reports received 2026-01-23 19:00 EST to 2026-01-24 19:00 EST; "
        "generated 2026-01-25 01:00 EST._"
    )
    for line in [
        "## Queue status",
        "**Queue:** 3 waiting for a first response (P0 0 · P1 1 · P2 1 · P3 1), 1 of them "
        "claimed; 1 past due ❌; oldest waiting 14 h.",
        "| Metric | Value | Target | Met |",
        "| Average first response | 1 h 2 min | < 2 h | too few answered to judge: 4 of 7 |",
        "| First responses within SLA | 50% (2 of 4) | > 95% | too few answered to judge: 3 of 6 |",
        "| P0 first responses within 1 h | 50% (1 of 2) | 100% under 1 h | "
        "❌ missed: 1 of 2 P0 reports answered within 1 h |",
        "| Resolved within SLA | — | > 90% | no data: nothing resolved yet |",
        "| Escalation rate | 50% (1 of 2 incidents) | < 10% | "
        "too few incidents to judge: 1 of 2 escalated |",
        "| P0 | 0 | — | — | — |",
        "## P0 issues",
        "- Reports: 3 P0 mentions; incidents: 2 (1 escalated, 2 not resolved)",
        "- First response: average 1 h, median 1 h, slowest 1 h 30 min",
        "- Within SLA (1 h): 50% (1 of 2) ❌ missed: 1 of 2 P0 reports answered within 1 h",
        "## Top issues (top 5)",
        "| # | Problem | Reports | Priority |",
        "| 1 | Caro crashes on launch (incident inc-1) | 3 | P0 |",
        "| 2 | Config panic (incident inc-2) | 1 | P0 |",
        "| 3 | Command generation questions | 1 | P3 |",
        "## KB updates needed",
        "- **Caro crashes on launch (incident inc-1)**: 3 reports (P0); e.g. x:1, x:2, x:3",
        "- 4 mentions received",
        "- By channel: x 3 · github 0 · discord 1 · email 0",
        "- By priority: P0 3 · P1 0 · P2 0 · P3 1",
        "- Busiest hour: 2026-01-23 20:00 EST (2 mentions)",
    ]:
        assert line in lines, line
    assert "`" not in report.split("## Top issues")[1].split("## Volume")[0]  # no rule ids
    assert " UTC" not in report


def test_the_report_in_a_zone_off_utc_by_half_hours_and_across_dst(make_mention):
    kolkata = ZoneInfo("Asia/Kolkata")
    result = metrics(mentions=[make_mention(received_at=at(1, 10))], zone=kolkata)
    report = render_report(result, "day", UNTIL, zone=kolkata)
    assert "- Busiest hour: 2026-01-24 06:00 IST (1 mentions)" in report
    assert "_Covers reports received 2026-01-24 05:30 IST to 2026-01-25 05:30 IST;" in report
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    july = render_report(
        metrics(since=summer - timedelta(days=1), until=summer), "day", summer, zone=NEW_YORK
    )
    assert "2026-06-30 20:00 EDT" in july


def test_per_hour_follows_the_team_clock_over_a_dst_change(make_mention):
    """8 March 2026, 2 AM in New York: the clocks go forward; 02:00 EST never happens."""
    since = datetime(2026, 3, 8, 5, tzinfo=UTC)  # 00:00 EST
    until = since + timedelta(hours=4)  # 01:00 EDT... 05:00 EDT
    early = make_mention(received_at=since + timedelta(hours=1, minutes=30))  # 01:30 EST
    late = make_mention(received_at=since + timedelta(hours=2, minutes=30))  # 03:30 EDT
    per_hour = metrics(mentions=[early, late], since=since, until=until, zone=NEW_YORK)
    hours = per_hour["volume"]["per_hour"]
    assert [bucket["hour"] for bucket in hours] == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]
    assert [bucket["P0"] for bucket in hours] == [0, 1, 1, 0]


def test_weekly_report_has_no_queue_and_the_top_ten(make_incident):
    incidents = [
        make_incident(id=f"inc-{n}", title=f"Problem {n:02}", mention_ids=("m",) * (12 - n))
        for n in range(12)
    ]
    since = SINCE - timedelta(days=6)
    result = metrics(incidents=incidents, since=since)
    report = render_report(result, "week", UNTIL)
    assert report.startswith("# Weekly support report: 18 Jan to 24 Jan 2026\n")
    assert "## Queue status" not in report and "## Top issues (top 10)" in report
    assert "| 10 | Problem 09 (incident inc-9) | 3 | P0 |" in report
    assert "Problem 10" not in report.split("## KB")[0]
    assert render_report(result, "day", UNTIL).split("## KB")[0].count("(incident") == 5


def test_report_of_an_empty_period():
    report = render_report(metrics(), "week", UNTIL)
    for line in [
        "| Average first response | — | < 2 h | no data: nothing answered yet |",
        "_No issue was reported in this period._",
        "_No problem was reported 3+ times._",
        "- 0 mentions received",
    ]:
        assert line in report, line
    assert "Busiest hour" not in report
    assert "**Queue:** empty" in render_report(metrics(), "day", UNTIL)


def test_report_is_the_same_after_a_json_round_trip(busy_day):
    now = UNTIL + timedelta(hours=6)
    assert render_report(json.loads(json.dumps(busy_day)), "day", now) == render_report(
        busy_day, "day", now
    )


def test_report_refuses_an_unknown_period():
    with pytest.raises(ValueError, match="day"):
        render_report(metrics(), "month", UNTIL)  # type: ignore[arg-type]
