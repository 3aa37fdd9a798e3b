"""Who is on call: the local YAML schedule (turns, overrides, layers, daylight saving),
PagerDuty's /oncalls behind the same API (with a fake REST client), and the web view.

Every time here is fixed; ``ny(...)`` is a wall-clock time in America/New_York as a UTC
instant. In 2026 New York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT) and falls
back on 2026-11-01 (02:00 EDT -> 01:00 EST).
"""

from __future__ import annotations

import itertools
import re
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.pagerduty import RotationError
from oncall.pagerduty_rotation import PagerDutyRotation
from oncall.rotation import (
    Handoff,
    LocalRotation,
    OnCall,
    ScheduleError,
    parse_schedule,
    rotation_view,
)

NY = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)
HOUR = timedelta(hours=1)


def ny(year, month, day, hour=0, minute=0, second=0, microsecond=0, fold=0) -> datetime:
    local = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=NY, fold=fold)
    return local.astimezone(UTC)


def utc(year, month, day, hour=0, minute=0, second=0, microsecond=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def local_clock(at: datetime) -> time:
    return at.astimezone(NY).time()


def rotation(text: str) -> LocalRotation:
    return LocalRotation.from_yaml(textwrap.dedent(text), "test.yaml")


def person(rot, at: datetime, level: int = 1) -> str | None:
    return next((s.person for s in rot.on_call(at) if s.level == level), None)


def shift(rot, at: datetime, level: int = 1) -> OnCall:
    [found] = [s for s in rot.on_call(at) if s.level == level]
    return found


# 2026-01-05 is a Monday.
DAILY = """
    levels:
      - layers:
          - name: primary
            rotation: daily
            handoff: "09:00"
            start: 2026-01-05
            members: [alice, bob, carol]
"""

WEEKLY = """
    timezone: America/New_York
    levels:
      - layers:
          - name: primary
            rotation: weekly
            handoff: "09:00"
            handoff_day: mon
            start: 2026-01-05
            members: [alice, bob, carol]
"""

TWO_LEVELS = """
    levels:
      - layers:
          - {name: primary, rotation: daily, handoff: "09:00", start: 2026-01-05,
             members: [alice, bob, carol]}
      - layers:
          - {name: backup, rotation: weekly, handoff: "09:00", handoff_day: mon,
             start: 2026-01-05, members: [dana, erin]}
    overrides:
      - {level: 2, person: frank, start: "2026-01-07T00:00", end: "2026-01-08T00:00"}
"""


# ----------------------------------------------------------------------------- turns


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (ny(2026, 1, 5, 9), "alice"),
        (ny(2026, 1, 5, 23, 59), "alice"),
        (ny(2026, 1, 6, 8, 59, 59), "alice"),
        (ny(2026, 1, 6, 9), "bob"),
        (ny(2026, 1, 7, 12), "carol"),
        (ny(2026, 1, 8, 9), "alice"),  # wraps to the first member
        (ny(2026, 1, 9, 8), "alice"),
        (ny(2026, 1, 9, 9), "bob"),
        (ny(2026, 2, 4, 10), "alice"),  # 30 days later: 30 % 3 == 0
        (ny(2027, 1, 5, 10), "carol"),  # 365 days later: 365 % 3 == 2
    ],
)
def test_daily_turns_follow_the_member_order_and_wrap(at, expected):
    assert person(rotation(DAILY), at) == expected


def test_a_shift_has_its_bounds_level_source_and_no_override():
    assert rotation(DAILY).on_call(ny(2026, 1, 6, 12)) == [
        OnCall(1, "bob", ny(2026, 1, 6, 9), ny(2026, 1, 7, 9), "local", False)
    ]


def test_the_new_person_is_on_call_at_the_handoff_instant_exactly():
    rot, handoff = rotation(DAILY), ny(2026, 1, 6, 9)
    assert shift(rot, handoff) == OnCall(1, "bob", handoff, ny(2026, 1, 7, 9), "local")
    assert shift(rot, handoff - US) == OnCall(1, "alice", ny(2026, 1, 5, 9), handoff, "local")


@pytest.mark.parametrize(
    ("at", "expected", "start"),
    [
        (ny(2026, 1, 11, 23), "alice", ny(2026, 1, 5, 9)),  # Sunday night: still week one
        (ny(2026, 1, 12, 8, 59), "alice", ny(2026, 1, 5, 9)),
        (ny(2026, 1, 12, 9), "bob", ny(2026, 1, 12, 9)),
        (ny(2026, 1, 19, 9), "carol", ny(2026, 1, 19, 9)),
        (ny(2026, 1, 25, 23, 59), "carol", ny(2026, 1, 19, 9)),
        (ny(2026, 1, 26, 9), "alice", ny(2026, 1, 26, 9)),  # wraps
    ],
)
def test_weekly_turns_hand_off_on_the_handoff_day(at, expected, start):
    found = shift(rotation(WEEKLY), at)
    assert (found.person, found.start, found.end) == (expected, start, start + timedelta(days=7))


def test_a_weekly_layer_may_hand_off_on_any_day_and_time():
    rot = rotation("""
        levels:
          - layers:
              - {name: p, rotation: weekly, handoff: "17:30", handoff_day: wed,
                 start: 2026-01-07, members: [alice, bob]}
    """)
    assert person(rot, ny(2026, 1, 14, 17, 29)) == "alice"
    assert person(rot, ny(2026, 1, 14, 17, 30)) == "bob"
    assert shift(rot, ny(2026, 1, 20)).end == ny(2026, 1, 21, 17, 30)


def test_nobody_is_on_call_before_the_first_turn():
    rot = rotation(DAILY)
    assert rot.on_call(ny(2026, 1, 5, 8, 59)) == []
    assert rot.handoffs(ny(2026, 1, 1), 2) == [
        Handoff(ny(2026, 1, 5, 9), 1, None, "alice"),
        Handoff(ny(2026, 1, 6, 9), 1, "alice", "bob"),
    ]
    assert rot.on_call(ny(2026, 1, 5, 9))[0].start == ny(2026, 1, 5, 9)


def test_consecutive_turns_of_one_person_are_one_shift():
    rot = rotation("""
        levels:
          - layers:
              - {name: p, rotation: daily, handoff: "09:00", start: 2026-01-05,
                 members: [alice, bob, alice]}
    """)
    # turns: alice (01-05), bob (01-06), alice (01-07), alice (01-08, wrapped), bob (01-09)
    assert shift(rot, ny(2026, 1, 8, 3)) == OnCall(
        1, "alice", ny(2026, 1, 7, 9), ny(2026, 1, 9, 9), "local"
    )
    assert [h.at for h in rot.handoffs(ny(2026, 1, 6, 12), 2)] == [
        ny(2026, 1, 7, 9),
        ny(2026, 1, 9, 9),
    ]


def test_a_one_person_layer_never_ends():
    rot = rotation("""
        levels:
          - layers:
              - {name: boss, rotation: weekly, handoff: "09:00", handoff_day: mon,
                 start: 2026-01-05, members: [zed]}
    """)
    assert rot.on_call(ny(2027, 6, 1)) == [OnCall(1, "zed", ny(2026, 1, 5, 9), None, "local")]
    assert rot.handoffs(ny(2026, 2, 1), 5) == []
    assert rot.week(ny(2026, 3, 1)) == rot.on_call(ny(2026, 3, 1))


# ----------------------------------------------------------------------------- overrides

OVERRIDDEN = (
    DAILY
    + """
    overrides:
      - {level: 1, person: dave, start: "2026-01-05T12:00", end: "2026-01-05T14:00"}
      - {level: 1, person: erin, start: "2026-01-06T08:00", end: "2026-01-06T10:00"}
"""
)


def test_an_override_inside_a_shift_splits_it():
    rot = rotation(OVERRIDDEN)
    assert shift(rot, ny(2026, 1, 5, 11)) == OnCall(
        1, "alice", ny(2026, 1, 5, 9), ny(2026, 1, 5, 12), "local", False
    )
    assert shift(rot, ny(2026, 1, 5, 13)) == OnCall(
        1, "dave", ny(2026, 1, 5, 12), ny(2026, 1, 5, 14), "local", True
    )
    # alice again until erin's override begins, an hour before alice's turn would end
    assert shift(rot, ny(2026, 1, 5, 15)) == OnCall(
        1, "alice", ny(2026, 1, 5, 14), ny(2026, 1, 6, 8), "local", False
    )


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (ny(2026, 1, 5, 12) - US, "alice"),
        (ny(2026, 1, 5, 12), "dave"),  # the start is included
        (ny(2026, 1, 5, 14) - US, "dave"),
        (ny(2026, 1, 5, 14), "alice"),  # the end is not
    ],
)
def test_override_edges(at, expected):
    assert person(rotation(OVERRIDDEN), at) == expected


@pytest.mark.parametrize("at", [ny(2026, 1, 6, 8), ny(2026, 1, 6, 9) - US, ny(2026, 1, 6, 9)])
def test_an_override_spanning_a_handoff_is_one_shift(at):
    assert shift(rotation(OVERRIDDEN), at) == OnCall(
        1, "erin", ny(2026, 1, 6, 8), ny(2026, 1, 6, 10), "local", True
    )


def test_after_an_override_spanning_a_handoff_the_next_person_takes_over():
    rot = rotation(OVERRIDDEN)
    assert shift(rot, ny(2026, 1, 6, 10)) == OnCall(
        1, "bob", ny(2026, 1, 6, 10), ny(2026, 1, 7, 9), "local", False
    )
    assert rot.handoffs(ny(2026, 1, 5, 10), 5) == [
        Handoff(ny(2026, 1, 5, 12), 1, "alice", "dave"),
        Handoff(ny(2026, 1, 5, 14), 1, "dave", "alice"),
        Handoff(ny(2026, 1, 6, 8), 1, "alice", "erin"),
        Handoff(ny(2026, 1, 6, 10), 1, "erin", "bob"),  # none at 09:00: erin stays
        Handoff(ny(2026, 1, 7, 9), 1, "bob", "carol"),
    ]


def test_the_later_of_overlapping_overrides_wins():
    rot = rotation(
        DAILY
        + """
    overrides:
      - {level: 1, person: dave, start: "2026-01-05T10:00", end: "2026-01-05T16:00"}
      - {level: 1, person: erin, start: "2026-01-05T12:00", end: "2026-01-05T13:00"}
"""
    )
    assert [person(rot, ny(2026, 1, 5, h)) for h in (11, 12, 13)] == ["dave", "erin", "dave"]


def test_an_override_by_the_next_person_ends_in_their_turn_without_a_handoff():
    rot = rotation(
        DAILY
        + """
    overrides:
      - {level: 1, person: bob, start: "2026-01-06T06:00", end: "2026-01-06T09:00"}
"""
    )
    assert shift(rot, ny(2026, 1, 6, 7)) == OnCall(
        1, "bob", ny(2026, 1, 6, 6), ny(2026, 1, 6, 9), "local", True
    )
    assert shift(rot, ny(2026, 1, 6, 9)).override is False
    assert rot.handoffs(ny(2026, 1, 6), 2) == [
        Handoff(ny(2026, 1, 6, 6), 1, "alice", "bob"),
        Handoff(ny(2026, 1, 7, 9), 1, "bob", "carol"),
    ]


# ----------------------------------------------------------------------------- levels, layers


def test_each_level_has_its_own_person_and_overrides_stay_on_their_level():
    rot = rotation(TWO_LEVELS)
    assert rot.on_call(ny(2026, 1, 7, 12)) == [
        OnCall(1, "carol", ny(2026, 1, 7, 9), ny(2026, 1, 8, 9), "local", False),
        OnCall(2, "frank", ny(2026, 1, 7), ny(2026, 1, 8), "local", True),
    ]
    assert [s.person for s in rot.on_call(ny(2026, 1, 8, 12))] == ["alice", "dana"]


def test_handoffs_are_merged_across_levels_in_time_then_level_order():
    rot = rotation(TWO_LEVELS)
    assert rot.handoffs(ny(2026, 1, 6, 12), 6) == [
        Handoff(ny(2026, 1, 7), 2, "dana", "frank"),
        Handoff(ny(2026, 1, 7, 9), 1, "bob", "carol"),
        Handoff(ny(2026, 1, 8), 2, "frank", "dana"),
        Handoff(ny(2026, 1, 8, 9), 1, "carol", "alice"),
        Handoff(ny(2026, 1, 9, 9), 1, "alice", "bob"),
        Handoff(ny(2026, 1, 10, 9), 1, "bob", "carol"),
    ]
    simultaneous = rot.handoffs(ny(2026, 1, 11, 12), 3)
    assert [(h.at, h.level) for h in simultaneous] == [
        (ny(2026, 1, 12, 9), 1),
        (ny(2026, 1, 12, 9), 2),
        (ny(2026, 1, 13, 9), 1),
    ]


def test_handoffs_are_strictly_after_the_given_time_and_counted():
    rot = rotation(DAILY)
    assert rot.handoffs(ny(2026, 1, 6, 9), 1) == [Handoff(ny(2026, 1, 7, 9), 1, "bob", "carol")]
    assert rot.handoffs(ny(2026, 1, 6, 9) - US, 1)[0].at == ny(2026, 1, 6, 9)
    assert rot.handoffs(ny(2026, 1, 6), 0) == []
    assert len(rot.handoffs(ny(2026, 1, 6), 40)) == 40


LAYERED = """
    levels:
      - layers:
          - {name: old, rotation: daily, handoff: "09:00", start: 2026-01-05,
             members: [alice, bob]}
          - {name: new, rotation: weekly, handoff: "09:00", handoff_day: mon,
             start: 2026-01-12, members: [carol, dave]}
"""


def test_a_later_layer_takes_over_the_level_from_its_start():
    rot = rotation(LAYERED)
    assert shift(rot, ny(2026, 1, 11, 12)) == OnCall(
        1, "alice", ny(2026, 1, 11, 9), ny(2026, 1, 12, 9), "local"
    )
    assert shift(rot, ny(2026, 1, 12, 9)) == OnCall(
        1, "carol", ny(2026, 1, 12, 9), ny(2026, 1, 19, 9), "local"
    )
    assert rot.handoffs(ny(2026, 1, 11, 12), 2) == [
        Handoff(ny(2026, 1, 12, 9), 1, "alice", "carol"),
        Handoff(ny(2026, 1, 19, 9), 1, "carol", "dave"),
    ]


def test_the_later_layer_in_the_list_wins_even_if_it_started_earlier():
    rot = rotation("""
        levels:
          - layers:
              - {name: a, rotation: daily, handoff: "09:00", start: 2026-02-01,
                 members: [alice, bob]}
              - {name: b, rotation: daily, handoff: "09:00", start: 2026-01-01,
                 members: [carol, dave]}
    """)
    seen = {person(rot, ny(2026, 2, 1) + k * HOUR * 7) for k in range(100)}
    assert seen == {"carol", "dave"}


# ----------------------------------------------------------------------------- daylight saving


def test_spring_forward_a_daily_shift_is_23_hours_and_handoffs_stay_at_0900_local():
    rot = rotation(DAILY)
    before = shift(rot, ny(2026, 3, 7, 12))
    assert (before.start, before.end) == (utc(2026, 3, 7, 14), utc(2026, 3, 8, 13))
    assert before.end - before.start == timedelta(hours=23)
    assert local_clock(before.start) == local_clock(before.end) == time(9, 0)
    after = shift(rot, ny(2026, 3, 8, 12))
    assert after.end - after.start == timedelta(hours=24)
    handoffs = rot.handoffs(ny(2026, 3, 1), 14)
    assert {local_clock(h.at) for h in handoffs} == {time(9, 0)}
    assert {h.at.hour for h in handoffs} == {14, 13}  # 09:00 EST, then 09:00 EDT (UTC hours)


def test_fall_back_a_daily_shift_is_25_hours():
    rot = rotation(DAILY)
    found = shift(rot, ny(2026, 11, 1, 3))
    assert (found.start, found.end) == (utc(2026, 10, 31, 13), utc(2026, 11, 1, 14))
    assert found.end - found.start == timedelta(hours=25)
    assert local_clock(found.start) == local_clock(found.end) == time(9, 0)
    assert {local_clock(h.at) for h in rot.handoffs(ny(2026, 10, 25), 14)} == {time(9, 0)}


def test_weekly_shifts_across_daylight_saving_are_167_and_169_hours():
    rot = rotation(WEEKLY)
    spring = shift(rot, ny(2026, 3, 7))  # 2026-03-02 09:00 EST to 2026-03-09 09:00 EDT
    assert spring.end - spring.start == timedelta(hours=167)
    fall = shift(rot, ny(2026, 11, 1, 12))  # 2026-10-26 09:00 EDT to 2026-11-02 09:00 EST
    assert fall.end - fall.start == timedelta(hours=169)
    assert local_clock(spring.end) == local_clock(fall.end) == time(9, 0)


NIGHTLY_0230 = """
    levels:
      - layers:
          - {name: night, rotation: daily, handoff: "02:30", start: 2026-03-01,
             members: [alice, bob]}
"""


def test_a_handoff_at_a_nonexistent_local_time_happens_when_the_gap_ends():
    rot = rotation(NIGHTLY_0230)
    # 2026-03-08 02:30 does not exist in New York: the clock jumps from 02:00 EST to
    # 03:00 EDT at 07:00 UTC, and the handoff happens then.
    assert rot.handoffs(ny(2026, 3, 7, 12), 2) == [
        Handoff(utc(2026, 3, 8, 7), 1, "alice", "bob"),
        Handoff(utc(2026, 3, 9, 6, 30), 1, "bob", "alice"),  # 02:30 EDT
    ]
    assert person(rot, utc(2026, 3, 8, 7) - US) == "alice"
    turn = shift(rot, utc(2026, 3, 8, 7))
    assert (turn.person, local_clock(turn.start)) == ("bob", time(3, 0))
    assert turn.end - turn.start == timedelta(hours=23, minutes=30)
    previous = shift(rot, utc(2026, 3, 8, 6))  # from 2026-03-07 02:30 EST (07:30 UTC)
    assert (previous.start, previous.end) == (utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7))


def test_a_handoff_at_a_repeated_local_time_happens_at_its_first_occurrence():
    rot = rotation("""
        levels:
          - layers:
              - {name: night, rotation: daily, handoff: "01:30", start: 2026-10-25,
                 members: [alice, bob]}
    """)
    # 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    first = shift(rot, utc(2026, 11, 1, 5, 30))
    assert first.start == utc(2026, 11, 1, 5, 30)
    assert first.end == utc(2026, 11, 2, 6, 30)  # 01:30 EST on the next day: 25 hours
    assert shift(rot, utc(2026, 11, 1, 6, 30)) == first  # no second handoff
    assert shift(rot, utc(2026, 11, 1, 5)).end - shift(rot, utc(2026, 11, 1, 5)).start == (
        timedelta(hours=24)
    )


def test_override_times_in_the_gap_begin_when_the_gap_ends():
    rot = rotation(
        DAILY
        + """
    overrides:
      - {level: 1, person: zoe, start: "2026-03-08T02:15", end: "2026-03-08T04:00"}
"""
    )
    assert person(rot, utc(2026, 3, 8, 7) - US) != "zoe"
    assert shift(rot, utc(2026, 3, 8, 7)) == OnCall(
        1, "zoe", utc(2026, 3, 8, 7), ny(2026, 3, 8, 4), "local", True
    )


# ----------------------------------------------------------------------------- week


def test_week_lists_every_shift_overlapping_the_seven_days():
    rot = rotation(TWO_LEVELS)
    start = ny(2026, 1, 12)  # Monday 00:00
    shifts = rot.week(start)
    level_1 = [s for s in shifts if s.level == 1]
    level_2 = [s for s in shifts if s.level == 2]
    assert shifts == level_1 + level_2
    # the shift under way at the start (from Sunday 09:00), then one a day to Sunday 09:00
    assert [s.start for s in level_1] == [ny(2026, 1, 11, 9)] + [
        ny(2026, 1, day, 9) for day in range(12, 19)
    ]
    assert [s.person for s in level_1[:4]] == ["alice", "bob", "carol", "alice"]
    assert [(s.person, s.start, s.end) for s in level_2] == [
        ("dana", ny(2026, 1, 8), ny(2026, 1, 12, 9)),  # since frank's override ended
        ("erin", ny(2026, 1, 12, 9), ny(2026, 1, 19, 9)),
    ]
    for earlier, later in itertools.pairwise(level_1):
        assert earlier.end == later.start


def test_week_shows_overrides_and_skips_time_with_nobody_on_call():
    rot = rotation(TWO_LEVELS)
    level_2 = [s for s in rot.week(ny(2026, 1, 5)) if s.level == 2]
    assert [(s.person, s.override, s.start, s.end) for s in level_2] == [
        ("dana", False, ny(2026, 1, 5, 9), ny(2026, 1, 7)),
        ("frank", True, ny(2026, 1, 7), ny(2026, 1, 8)),
        ("dana", False, ny(2026, 1, 8), ny(2026, 1, 12, 9)),
    ]


def test_week_across_spring_forward_is_seven_local_days():
    shifts = rotation(DAILY).week(ny(2026, 3, 5, 9))
    assert [s.start for s in shifts] == [ny(2026, 3, day, 9) for day in range(5, 12)]
    assert [s.end - s.start for s in shifts].count(timedelta(hours=23)) == 1


# ----------------------------------------------------------------------------- the view


def test_rotation_view_of_a_local_schedule():
    view = rotation_view(rotation(TWO_LEVELS), ny(2026, 1, 7, 12), handoffs=2)
    assert view == {
        "source": "local",
        "now": "2026-01-07T17:00:00+00:00",
        "on_call": [
            {
                "level": 1,
                "person": "carol",
                "start": "2026-01-07T14:00:00+00:00",
                "end": "2026-01-08T14:00:00+00:00",
                "override": False,
            },
            {
                "level": 2,
                "person": "frank",
                "start": "2026-01-07T05:00:00+00:00",
                "end": "2026-01-08T05:00:00+00:00",
                "override": True,
            },
        ],
        "next_handoffs": [
            {"at": "2026-01-08T05:00:00+00:00", "level": 2, "from": "frank", "to": "dana"},
            {"at": "2026-01-08T14:00:00+00:00", "level": 1, "from": "carol", "to": "alice"},
        ],
        "error": None,
    }


def test_naive_datetimes_are_refused():
    rot = rotation(DAILY)
    with pytest.raises(ValueError, match="naive"):
        rot.on_call(datetime(2026, 1, 6, 12))
    with pytest.raises(ValueError, match="naive"):
        rotation_view(rot, datetime(2026, 1, 6, 12))


# ----------------------------------------------------------------------------- validation

PROBLEM = re.compile(r"^test\.yaml:\d+: -: \S+: .+$")


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(textwrap.dedent(text).lstrip("\n"), "test.yaml")
    lines = str(caught.value).splitlines()
    assert all(PROBLEM.match(line) for line in lines), lines
    assert len(lines) == len(caught.value.problems)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def assert_problems(found, expected):
    """Exactly the expected (line, field, message substring) problems, in line order."""
    assert len(found) == len(expected), found
    for (line, field, message), (want_line, want_field, want_message) in zip(
        found, expected, strict=True
    ):
        assert (line, field) == (want_line, want_field), found
        assert want_message in message, (line, field, message)


def test_every_problem_is_reported_at_once_with_its_line():
    found = problems("""
        timezone: Mars/Olympus_Mons
        levels:
          - layers:
              - name: primary
                rotation: daily
                handoff: "25:00"
                start: 2026-01-05
                members: []
                memebers: [alice]
              - name: weekly
                rotation: weekly
                handoff: "09:00"
                handoff_day: mon
                start: 2026-01-07
                members: [bob]
        overrides:
          - level: 1
            person: carol
            start: "2026-01-06T10:00"
            end: "2026-01-06T09:00"
          - level: 2
            person: dave
            start: "2026-01-06T10:00"
            end: "2026-01-06T12:00"
          - level: 1
            person: erin
            start: "2026-01-06T10:00-05:00"
            end: tomorrow
    """)
    assert_problems(
        found,
        [
            (1, "timezone", "'Mars/Olympus_Mons' is not an IANA time zone"),
            (6, "levels[0].layers[0].handoff", "'25:00' is not a time of day"),
            (8, "levels[0].layers[0].members", "empty"),
            (9, "levels[0].layers[0].memebers", "unknown key 'memebers': did you mean 'members'?"),
            (14, "levels[0].layers[1].start", "is a wed, but the first turn of a weekly layer"),
            (20, "overrides[0].end", "is not after start"),
            (21, "overrides[1].level", "level 2 does not exist: the schedule has only level 1"),
            (27, "overrides[2].start", "has a UTC offset"),
            (28, "overrides[2].end", "'tomorrow' is not a local date and time"),
        ],
    )
    assert "use 2026-01-05 or 2026-01-12" in found[4][2]


def test_missing_and_misplaced_fields():
    found = problems("""
        levels:
          - layers:
              - name: a
                handoff: "09:00"
                start: 2026-01-05
                members: [x]
              - name: b
                rotation: weekly
                handoff: "09:00"
                start: 2026-01-05
                members: [x]
              - name: c
                rotation: daily
                handoff: "09:00"
                handoff_day: tue
                start: 2026-01-05
                members: [x]
          - layers: []
          - lyers: []
        overides: []
    """)
    assert_problems(
        found,
        [
            (3, "levels[0].layers[0].rotation", "required field 'rotation' is missing"),
            (7, "levels[0].layers[1].handoff_day", "a weekly layer needs handoff_day"),
            (15, "levels[0].layers[2].handoff_day", "handoff_day is for weekly layers"),
            (18, "levels[1].layers", "empty"),
            (19, "levels[2].layers", "required field 'layers' is missing"),
            (19, "levels[2].lyers", "unknown key 'lyers': did you mean 'layers'?"),
            (20, "overides", "unknown key 'overides': did you mean 'overrides'?"),
        ],
    )


def test_a_schedule_needs_levels():
    assert_problems(
        problems("timezone: UTC\n"), [(1, "levels", "required field 'levels' is missing")]
    )


def test_duplicate_keys_bad_yaml_and_non_mappings():
    duplicated = problems("""
        levels:
          - layers:
              - name: a
                name: b
                rotation: daily
                handoff: "09:00"
                start: 2026-01-05
                members: [x]
    """)
    assert_problems(duplicated, [(4, "levels[0].layers[0].name", "duplicate key 'name'")])
    assert_problems(problems("levels: [\n  - a\n"), [(2, "yaml", "not valid YAML")])
    assert_problems(problems("- a\n"), [(1, "-", "a schedule is a mapping; found list")])
    assert_problems(problems(""), [(1, "-", "found an empty file")])


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-02-30", "'2026-02-30' is not a date such as 2026-03-02"),
        ("9999-12-31", "'9999-12-31' is out of range: give a date between 1970 and 2999"),
        ("0001-01-01", "'0001-01-01' is out of range"),
    ],
)
def test_an_impossible_start_date_is_named_with_its_line(start, message):
    text = f"""
        levels:
          - layers:
              - {{name: a, rotation: daily, handoff: "09:00", start: {start}, members: [x]}}
    """
    assert_problems(problems(text), [(3, "levels[0].layers[0].start", message)])


def test_yaml_1_1_surprises_are_avoided():
    schedule = parse_schedule(
        textwrap.dedent("""
            timezone: Europe/Paris
            levels:
              - layers:
                  - {name: p, rotation: daily, handoff: 9:00, start: 2026-01-05,
                     members: [no, yes, on]}
        """)
    )
    layer = schedule.levels[0].layers[0]
    assert layer.handoff == time(9, 0)  # not the base-60 number 540
    assert layer.members == ["no", "yes", "on"]  # not booleans
    assert layer.start == date(2026, 1, 5)


def test_a_schedule_error_is_a_rotation_error():
    with pytest.raises(RotationError):
        LocalRotation.from_yaml("levels: []\n")


# ----------------------------------------------------------------------------- PagerDuty


def pd_entry(level, name, start, end, policy="PPOLICY1"):
    """One entry of ``GET /oncalls`` as PagerDuty documents it."""
    user_id = "P" + name.upper()
    return {
        "user": {
            "id": user_id,
            "type": "user_reference",
            "summary": name,
            "self": f"https://api.pagerduty.com/users/{user_id}",
            "html_url": f"https://caro.pagerduty.com/users/{user_id}",
        },
        "schedule": None
        if start is None
        else {
            "id": "PSCHED1",
            "type": "schedule_reference",
            "summary": "Support primary",
            "self": "https://api.pagerduty.com/schedules/PSCHED1",
            "html_url": "https://caro.pagerduty.com/schedules/PSCHED1",
        },
        "escalation_policy": {
            "id": policy,
            "type": "escalation_policy_reference",
            "summary": "Support",
            "self": f"https://api.pagerduty.com/escalation_policies/{policy}",
            "html_url": f"https://caro.pagerduty.com/escalation_policies/{policy}",
        },
        "escalation_level": level,
        "start": start,
        "end": end,
    }


def pd_entries() -> list[dict]:
    """Level 1 daily at 14:00 UTC (Alice, Bob, Carol) from 2026-03-02 for three weeks;
    level 2 weekly (Dana, Erin) written with local offsets, listed under two escalation
    policies; level 3 a manager on call permanently (no schedule, no start or end)."""
    entries = []
    for day in range(21):
        begins = utc(2026, 3, 2, 14) + timedelta(days=day)
        name = ("Alice", "Bob", "Carol")[day % 3]
        ends = begins + timedelta(days=1)
        entries.append(
            pd_entry(1, name, begins.isoformat().replace("+00:00", "Z"), ends.isoformat())
        )
    for policy in ("PPOLICY1", "PPOLICY2"):
        entries.append(
            pd_entry(2, "Dana", "2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00", policy)
        )
        entries.append(
            pd_entry(2, "Erin", "2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00", policy)
        )
    entries.append(pd_entry(3, "Manager", None, None))
    return entries


class FakeRest:
    """Stands in for ``PagerDutyRest``: answers like ``GET /oncalls`` (entries overlapping
    since..until) and counts the requests."""

    def __init__(self, entries: list[dict] | None = None) -> None:
        self.entries = pd_entries() if entries is None else entries
        self.calls: list[tuple[list[str], datetime, datetime]] = []
        self.error: Exception | None = None

    def oncalls(self, schedule_ids: list[str], since: datetime, until: datetime) -> list[dict]:
        self.calls.append((schedule_ids, since, until))
        if self.error is not None:
            raise self.error

        def overlaps(entry: dict) -> bool:
            try:
                start = entry["start"] and datetime.fromisoformat(entry["start"])
                end = entry["end"] and datetime.fromisoformat(entry["end"])
            except ValueError:
                return True  # let the rotation find out
            return (start is None or start < until) and (end is None or end > since)

        return [entry for entry in self.entries if overlaps(entry)]


def test_pagerduty_entries_map_to_shifts():
    rest = FakeRest()
    pd = PagerDutyRotation(rest, ["PSCHED1"])
    assert pd.on_call(utc(2026, 3, 3, 12, 0, 30)) == [
        OnCall(1, "Alice", utc(2026, 3, 2, 14), utc(2026, 3, 3, 14), "pagerduty", False),
        OnCall(2, "Dana", utc(2026, 3, 2, 14), utc(2026, 3, 9, 13), "pagerduty", False),
        OnCall(3, "Manager", None, None, "pagerduty", False),
    ]
    [(ids, since, until)] = rest.calls
    assert ids == ["PSCHED1"]
    assert since == utc(2026, 3, 3, 12)  # the minute of the asked time
    assert until - since >= timedelta(days=7)
    assert since.tzinfo is not None and until.tzinfo is not None


def test_pagerduty_handoffs_come_from_the_entries_end_times():
    pd = PagerDutyRotation(FakeRest(), [])
    assert pd.handoffs(utc(2026, 3, 3, 12), 3) == [
        Handoff(utc(2026, 3, 3, 14), 1, "Alice", "Bob"),
        Handoff(utc(2026, 3, 4, 14), 1, "Bob", "Carol"),
        Handoff(utc(2026, 3, 5, 14), 1, "Carol", "Alice"),
    ]
    later = pd.handoffs(utc(2026, 3, 3, 12), 50)
    assert Handoff(utc(2026, 3, 9, 13), 2, "Dana", "Erin") in later
    assert [h.at for h in later] == sorted(h.at for h in later)
    assert all(h.to_person is not None for h in later)  # nothing past what PagerDuty told
    assert pd.handoffs(utc(2026, 3, 3, 14), 1)[0].at == utc(2026, 3, 4, 14)  # strictly after


def test_pagerduty_answers_are_cached_for_cache_s_by_the_passed_in_time():
    rest = FakeRest()
    pd = PagerDutyRotation(rest, ["PSCHED1"], cache_s=60)
    first = pd.on_call(utc(2026, 3, 3, 12, 0, 5))
    assert pd.on_call(utc(2026, 3, 3, 12, 0, 50)) == first
    pd.handoffs(utc(2026, 3, 3, 12, 0, 59), 5)
    assert len(rest.calls) == 1
    pd.on_call(utc(2026, 3, 3, 12, 1, 10))  # a new minute, 65 s later: expired
    assert len(rest.calls) == 2
    assert rest.calls[1][1] == utc(2026, 3, 3, 12, 1)


def test_a_short_cache_expires_within_the_minute():
    rest = FakeRest()
    pd = PagerDutyRotation(rest, ["PSCHED1"], cache_s=10)
    pd.on_call(utc(2026, 3, 3, 12, 0, 0))
    pd.on_call(utc(2026, 3, 3, 12, 0, 9))
    assert len(rest.calls) == 1
    pd.on_call(utc(2026, 3, 3, 12, 0, 10))
    assert len(rest.calls) == 2
    PagerDutyRotation(rest, [], cache_s=0).on_call(utc(2026, 3, 3, 12))
    assert len(rest.calls) == 3


def test_pagerduty_week():
    pd = PagerDutyRotation(FakeRest(), [])
    shifts = pd.week(utc(2026, 3, 9))
    assert [s.person for s in shifts if s.level == 2] == ["Dana", "Erin"]
    assert len([s for s in shifts if s.level == 1]) == 8
    assert [s.person for s in shifts if s.level == 3] == ["Manager"]


def test_a_pagerduty_error_is_raised_not_cached_and_shown_by_the_view():
    rest = FakeRest()
    rest.error = RotationError("PagerDuty /oncalls answered 401 (check HARK_PD_API_TOKEN)")
    pd = PagerDutyRotation(rest, ["PSCHED1"])
    now = utc(2026, 3, 3, 12)
    with pytest.raises(RotationError, match="401"):
        pd.on_call(now)
    assert rotation_view(pd, now) == {
        "source": "pagerduty",
        "now": "2026-03-03T12:00:00+00:00",
        "on_call": [],
        "next_handoffs": [],
        "error": "PagerDuty /oncalls answered 401 (check HARK_PD_API_TOKEN)",
    }
    rest.error = None
    view = rotation_view(pd, now, handoffs=2)
    assert view["error"] is None
    assert [s["person"] for s in view["on_call"]] == ["Alice", "Dana", "Manager"]
    assert view["on_call"][2] == {
        "level": 3,
        "person": "Manager",
        "start": None,
        "end": None,
        "override": False,
    }
    assert view["next_handoffs"] == [
        {"at": "2026-03-03T14:00:00+00:00", "level": 1, "from": "Alice", "to": "Bob"},
        {"at": "2026-03-04T14:00:00+00:00", "level": 1, "from": "Bob", "to": "Carol"},
    ]


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"escalation_level": 1, "start": None, "end": None}, "no 'user'"),
        ({**pd_entry(1, "Alice", None, None), "escalation_level": "one"}, "escalation_level"),
        ({**pd_entry(1, "Alice", None, None), "start": "yesterday"}, "yesterday"),
        ({**pd_entry(1, "Alice", None, None), "user": {"type": "user_reference"}}, "summary"),
    ],
)
def test_an_unreadable_pagerduty_entry_is_a_rotation_error(broken, reason):
    pd = PagerDutyRotation(FakeRest([broken]), [])
    with pytest.raises(RotationError, match="cannot read") as caught:
        pd.on_call(utc(2026, 3, 3))
    assert reason in str(caught.value)
    assert "cannot read" in rotation_view(pd, utc(2026, 3, 3))["error"]


# ----------------------------------------------------------------------------- property

PROPERTY_SCHEDULE = """
    levels:
      - layers:
          - {name: primary, rotation: daily, handoff: "09:00", start: 2026-01-05,
             members: [alice, bob, carol]}
      - layers:
          - {name: backup, rotation: weekly, handoff: "02:30", handoff_day: sun,
             start: 2026-01-04, members: [dana, erin]}
          - {name: backup-2027, rotation: weekly, handoff: "01:30", handoff_day: sun,
             start: 2027-01-03, members: [frank, gina, dana]}
    overrides:
      - {level: 1, person: zoe, start: "2026-03-08T02:00", end: "2026-03-08T10:00"}
      - {level: 1, person: bob, start: "2026-11-01T01:30", end: "2026-11-02T09:00"}
      - {level: 2, person: erin, start: "2027-11-06T12:00", end: "2027-11-07T01:45"}
"""
PROPERTY_ROTATION = LocalRotation.from_yaml(textwrap.dedent(PROPERTY_SCHEDULE))
BEGIN, END = utc(2026, 1, 6), utc(2028, 1, 6)
INTERESTING = [  # daylight-saving days, override edges, layer start
    utc(2026, 3, 8, 7),
    utc(2026, 3, 8, 7) - US,
    ny(2026, 3, 8, 10),
    ny(2026, 11, 1, 1, 30),
    ny(2026, 11, 1, 1, 30, fold=1),
    ny(2027, 1, 3, 1, 30),
    ny(2027, 3, 14, 3),
    ny(2027, 11, 7, 1, 30),
    ny(2027, 11, 7, 1, 30, fold=1),
    ny(2027, 11, 7, 1, 45, fold=1),
]


def reference_level_1(at: datetime) -> str:
    """The daily 09:00 layer from the local wall clock alone."""
    local = at.astimezone(NY)
    days = (local.date() - date(2026, 1, 5)).days - (local.time() < time(9, 0))
    return ("alice", "bob", "carol")[days % 3]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(0, (END - BEGIN) // US).map(lambda n: BEGIN + n * US),
        st.sampled_from(INTERESTING),
    )
)
def test_one_person_per_level_and_shift_ends_are_handoffs(at):
    rot = PROPERTY_ROTATION
    shifts = rot.on_call(at)
    assert [s.level for s in shifts] == [1, 2]
    for found in shifts:
        assert found.start <= at < found.end
        if found.level == 1 and not found.override:
            assert found.person == reference_level_1(at)
        before = shift(rot, found.end - US, found.level)
        after = shift(rot, found.end, found.level)
        assert (before.person, before.override) == (found.person, found.override)
        assert (after.person, after.override) != (found.person, found.override)
        handoff_here = any(
            h.at == found.end and h.level == found.level for h in rot.handoffs(found.end - US, 2)
        )
        assert (before.person != after.person) == handoff_here
        earlier = [s for s in rot.on_call(found.start - US) if s.level == found.level]
        if earlier:
            assert (earlier[0].person, earlier[0].override) != (found.person, found.override)
            assert earlier[0].end == found.start
        else:  # nobody before: the level's first layer starts then
            assert found.start in (ny(2026, 1, 5, 9), ny(2026, 1, 4, 2, 30))


# ----------------------------------------------------------------------------- in words


def _layer(rot: LocalRotation):
    return rot.schedule.levels[0].layers[0]


def test_a_weekly_handoff_is_named_by_day_time_and_zone_on_the_teams_clock():
    rot = rotation(WEEKLY)
    text = rot.describe_layer(_layer(rot), ny(2026, 1, 24, 12), NY)
    assert text == "weekly, handoff Monday 09:00 EST"
    assert "09:00:00" not in text and " mon" not in text


def test_the_handoff_zone_follows_daylight_saving():
    """New York springs forward on Sunday 2026-03-08: Monday's handoff is 09:00 EDT."""
    rot = rotation(WEEKLY)
    layer = _layer(rot)
    assert rot.describe_layer(layer, ny(2026, 3, 1, 12), NY).endswith("Monday 09:00 EST")
    assert rot.describe_layer(layer, ny(2026, 3, 7, 12), NY).endswith("Monday 09:00 EDT")


def test_a_team_in_another_zone_sees_the_handoff_on_its_own_clock():
    rot = rotation(WEEKLY)
    layer = _layer(rot)
    kolkata = rot.describe_layer(layer, ny(2026, 1, 24, 12), ZoneInfo("Asia/Kolkata"))
    assert kolkata == "weekly, handoff Monday 19:30 IST (09:00 America/New_York)"
    # Berlin's clocks change three weeks after New York's: the gap is 5 h, then 6 h.
    berlin = ZoneInfo("Europe/Berlin")
    assert "Monday 14:00 CET" in rot.describe_layer(layer, ny(2026, 3, 12), berlin)
    assert "Monday 15:00 CET" in rot.describe_layer(layer, ny(2026, 1, 10), berlin)
    tokyo = rot.describe_layer(layer, ny(2026, 1, 10), ZoneInfo("Asia/Tokyo"))
    assert tokyo.startswith("weekly, handoff Monday 23:00 JST")


def test_a_daily_handoff_names_no_day():
    rot = rotation(DAILY)
    assert rot.describe_layer(_layer(rot), ny(2026, 1, 6, 10), NY) == "daily, handoff 09:00 EST"
