"""SLA deadlines (``desk.sla``): channel vs priority targets, the 24/7 and business-hours
clocks, holidays, daylight saving, warnings, status, and the ``why`` text.

Every time here is fixed; ``ny(...)`` is a wall-clock time in America/New_York as a UTC
instant. In 2026 New York springs forward on Sunday 2026-03-08 (02:00 EST -> 03:00 EDT) and
falls back on Sunday 2026-11-01 (02:00 EDT -> 01:00 EST). 2026-01-16 is a Friday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.sla import CHANNEL_FIRST_RESPONSE, BusinessCalendar, Due, due, status
from rules.schema import BusinessHours, PriorityLevel

NY = ZoneInfo("America/New_York")
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# The shipped priority table (rules/data/rulebook.yaml).
LEVELS = {
    "P0": PriorityLevel(
        label="Critical", first_response="1h", resolution="24h", pages=True, clock="always"
    ),
    "P1": PriorityLevel(label="High", first_response="4h", resolution="3d"),
    "P2": PriorityLevel(label="Medium", first_response="24h", resolution="1w"),
    "P3": PriorityLevel(label="Low", first_response="48h", resolution="next-release"),
}
HOURS = BusinessHours()  # Mon-Fri 08:00-17:00 America/New_York, no holidays
MLK = BusinessHours(holidays=["2026-01-19"])  # Martin Luther King Jr. Day, a Monday


def ny(year, month, day, hour=0, minute=0, second=0, fold=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NY, fold=fold).astimezone(UTC)


def due_for(level, channel, received, kind="first_response", hours=HOURS) -> Due:
    return due(LEVELS[level], hours, channel, received, kind, level=level)


# ---------------------------------------------------------------------- the 24/7 clock


def test_p0_on_a_saturday_night_is_due_an_hour_later():
    result = due_for("P0", "github", ny(2026, 1, 17, 23, 0))
    assert result.at == ny(2026, 1, 18, 0, 0)
    assert result.at.tzinfo is UTC
    assert result.target == HOUR
    assert result.clock == "always"
    assert result.warn_at == ny(2026, 1, 17, 23, 45)
    assert "P0 first response within 1h" in result.why
    assert "P0's 1h is stricter than GitHub's 24h" in result.why
    assert "24/7" in result.why
    assert "Received Saturday 2026-01-17 23:00 EST" in result.why
    assert "Due Sunday 2026-01-18 00:00 EST" in result.why


def test_p0_resolution_across_spring_forward_counts_real_hours():
    """24 real hours from Saturday 12:00 EST end Sunday 13:00 EDT (the wall clock lost one)."""
    result = due_for("P0", "email", ny(2026, 3, 7, 12, 0), "resolution")
    assert result.at == ny(2026, 3, 8, 13, 0)
    assert result.at - ny(2026, 3, 7, 12, 0) == timedelta(hours=24)
    assert result.warn_at == ny(2026, 3, 8, 7, 0)  # 18 real hours
    assert "from EST to EDT on Sunday 2026-03-08" in result.why
    assert "Due Sunday 2026-03-08 13:00 EDT" in result.why


def test_p0_on_discord_takes_discords_stricter_30_minutes_around_the_clock():
    result = due_for("P0", "discord", ny(2026, 1, 18, 3, 0))  # Sunday 03:00
    assert result.target == timedelta(minutes=30)
    assert result.at == ny(2026, 1, 18, 3, 30)
    assert "Discord's 30 min is stricter than P0's 1h" in result.why


# ---------------------------------------------------------------------- business hours


def test_p1_received_friday_1600_is_due_monday_1100():
    result = due_for("P1", "github", ny(2026, 1, 16, 16, 0))
    assert result.at == ny(2026, 1, 19, 11, 0)
    assert result.clock == "business-hours"
    assert result.target == timedelta(hours=4)
    assert result.warn_at == ny(2026, 1, 19, 10, 0)  # 3 business hours: 1h Friday, 2h Monday
    assert "P1 first response within 4h (P1's 4h is stricter than GitHub's 24h)" in result.why
    assert "counted in business hours (Mon-Fri 08:00-17:00 America/New_York)" in result.why
    assert "inside business hours" in result.why
    assert "1h on Friday 2026-01-16 and 3h from Monday 2026-01-19 08:00 EST" in result.why
    assert "pausing overnight and over the weekend" in result.why
    assert "Due Monday 2026-01-19 11:00 EST" in result.why


def test_the_playbooks_p2_example_friday_1630():
    """30 min on Friday, then 23h30 of business time from Monday 08:00: 9h Monday, 9h
    Tuesday and 5h30 Wednesday."""
    result = due_for("P2", "github", ny(2026, 1, 16, 16, 30))
    assert result.at == ny(2026, 1, 21, 13, 30)
    assert "P2's and GitHub's targets are both 24h" in result.why
    assert "30 min on Friday 2026-01-16 and 23h30 from Monday 2026-01-19 08:00 EST" in result.why
    assert "over 3 business days" in result.why
    assert "Due Wednesday 2026-01-21 13:30 EST" in result.why


@pytest.mark.parametrize(
    ("received", "expected", "where"),
    [
        (ny(2026, 1, 13, 22, 0), ny(2026, 1, 14, 12, 0), "after closing"),  # Tuesday night
        (ny(2026, 1, 14, 3, 0), ny(2026, 1, 14, 12, 0), "before opening"),  # small hours
        (ny(2026, 1, 14, 6, 0), ny(2026, 1, 14, 12, 0), "before opening"),
        (ny(2026, 1, 14, 8, 0), ny(2026, 1, 14, 12, 0), "inside business hours"),  # opening
        (ny(2026, 1, 14, 17, 0), ny(2026, 1, 15, 12, 0), "after closing"),  # closing
        (ny(2026, 1, 14, 16, 59), ny(2026, 1, 15, 11, 59), "inside business hours"),
    ],
)
def test_p1_received_at_night_before_opening_at_opening_and_at_closing(received, expected, where):
    result = due_for("P1", "email", received)
    assert result.at == expected
    assert f", {where}" in result.why
    if where != "inside business hours":
        assert f"so the clock started {expected.astimezone(NY):%A %Y-%m-%d} 08:00 EST" in result.why


def test_a_target_running_out_at_closing_is_due_at_closing_not_next_opening():
    assert due_for("P1", "github", ny(2026, 1, 14, 13, 0)).at == ny(2026, 1, 14, 17, 0)


def test_resolution_targets_run_in_calendar_time():
    result = due_for("P1", "github", ny(2026, 1, 16, 16, 0), "resolution")  # a Friday
    assert result.at == ny(2026, 1, 19, 16, 0)  # three calendar days, over the weekend
    assert result.clock == "always"
    assert "P1 resolution within 3d = 72h (P1's resolution target, in calendar time)" in result.why


def test_received_on_the_weekend_starts_counting_monday():
    result = due_for("P1", "github", ny(2026, 1, 17, 10, 0))
    assert result.at == ny(2026, 1, 19, 12, 0)
    assert "on a Saturday, not a business day" in result.why
    assert "so the clock started Monday 2026-01-19 08:00 EST (paused over the weekend)" in (
        result.why
    )


# ---------------------------------------------------------------------- holidays


def test_a_holiday_is_skipped():
    result = due_for("P1", "github", ny(2026, 1, 16, 16, 0), hours=MLK)
    assert result.at == ny(2026, 1, 20, 11, 0)  # Tuesday, not Monday
    assert "3h from Tuesday 2026-01-20 08:00 EST" in result.why
    assert "over the weekend and on the holiday Monday 2026-01-19" in result.why


def test_received_on_a_holiday_starts_counting_the_next_business_day():
    result = due_for("P1", "github", ny(2026, 1, 19, 10, 0), hours=MLK)
    assert result.at == ny(2026, 1, 20, 12, 0)
    assert "on a holiday (2026-01-19)" in result.why
    assert "so the clock started Tuesday 2026-01-20 08:00 EST (paused on the holiday" in (
        result.why
    )


def test_a_holiday_is_a_whole_local_day():
    calendar = BusinessCalendar(MLK)
    assert calendar.window(date(2026, 1, 19)) is None
    assert calendar.elapsed(ny(2026, 1, 19, 0, 0), ny(2026, 1, 20, 0, 0)) == timedelta(0)
    assert calendar.elapsed(ny(2026, 1, 16, 0, 0), ny(2026, 1, 21, 0, 0)) == 2 * 9 * HOUR


# ---------------------------------------------------------------------- daylight saving


@pytest.mark.parametrize(
    ("friday", "monday"),
    [
        (ny(2026, 3, 6, 9, 0), ny(2026, 3, 9, 9, 0)),  # spring forward: EST -> EDT
        (ny(2026, 10, 30, 9, 0), ny(2026, 11, 2, 9, 0)),  # fall back: EDT -> EST
    ],
)
def test_business_time_across_a_dst_weekend_keeps_the_local_wall_time(friday, monday):
    calendar = BusinessCalendar(HOURS)
    landed = calendar.add(friday, 9 * HOUR)
    assert landed == monday
    assert landed.astimezone(NY).time() == time(9, 0)
    assert landed - friday != timedelta(days=3)  # not a fixed 72h later
    assert calendar.elapsed(friday, monday) == 9 * HOUR
    assert calendar.add(friday, 8 * HOUR + 30 * MIN).astimezone(NY).time() == time(8, 30)


def test_p2_across_spring_forward_says_so():
    result = due_for("P2", "email", ny(2026, 3, 6, 9, 0))
    assert result.at == ny(2026, 3, 10, 15, 0)  # 8h Friday, 9h Monday, 7h Tuesday
    assert "8h on Friday 2026-03-06 and 16h from Monday 2026-03-09 08:00 EDT" in result.why
    assert "The clocks changed from EST to EDT on Sunday 2026-03-08" in result.why
    assert "Due Tuesday 2026-03-10 15:00 EDT" in result.why


def test_p2_across_fall_back_says_so():
    result = due_for("P2", "email", ny(2026, 10, 30, 9, 0))
    assert result.at == ny(2026, 11, 3, 15, 0)
    assert "The clocks changed from EDT to EST on Sunday 2026-11-01" in result.why
    assert "Due Tuesday 2026-11-03 15:00 EST" in result.why


def test_an_opening_time_skipped_by_spring_forward_opens_when_the_clock_jumps():
    """Sunday hours 02:30-04:00: on 2026-03-08 02:30 never happens; the day opens at 03:00
    EDT (the jump) and has one hour."""
    calendar = BusinessCalendar(BusinessHours(days=["sun"], start="02:30", end="04:00"))
    opens, closes = calendar.window(date(2026, 3, 8))
    assert opens == datetime(2026, 3, 8, 7, 0, tzinfo=UTC) == ny(2026, 3, 8, 3, 0)
    assert closes - opens == HOUR
    assert calendar.window(date(2026, 3, 15))[1] - calendar.window(date(2026, 3, 15))[0] == (
        90 * MIN
    )


def test_a_closing_time_repeated_by_fall_back_closes_at_its_first_occurrence():
    calendar = BusinessCalendar(BusinessHours(days=["sun"], start="00:00", end="01:30"))
    opens, closes = calendar.window(date(2026, 11, 1))
    assert closes == ny(2026, 11, 1, 1, 30, fold=0)  # 01:30 EDT, not 01:30 EST
    assert closes - opens == 90 * MIN


# ---------------------------------------------------------------------- channels


def test_channel_targets_come_from_the_playbook():
    assert dict(CHANNEL_FIRST_RESPONSE) == {
        "discord": timedelta(minutes=30),
        "x": timedelta(hours=1),
        "github": timedelta(hours=24),
        "email": timedelta(hours=24),
    }


def test_discord_p3_takes_discords_30_minutes_over_48h():
    result = due_for("P3", "discord", ny(2026, 1, 13, 10, 0))
    assert result.target == timedelta(minutes=30)
    assert result.at == ny(2026, 1, 13, 10, 30)
    assert result.warn_at == ny(2026, 1, 13, 10, 22, 30)
    assert "P3 first response within 30 min" in result.why
    assert "Discord's 30 min is stricter than P3's 48h" in result.why


def test_x_p2_takes_xs_hour_over_24h_in_business_time():
    result = due_for("P2", "x", ny(2026, 1, 14, 16, 30))  # Wednesday 16:30
    assert result.target == HOUR
    assert result.at == ny(2026, 1, 15, 8, 30)
    assert "X's 1h is stricter than P2's 24h" in result.why
    assert "30 min on Wednesday 2026-01-14 and 30 min from Thursday 2026-01-15 08:00" in (
        result.why
    )


def test_github_p3_takes_githubs_24h_over_48h():
    result = due_for("P3", "github", ny(2026, 1, 12, 8, 0))  # Monday opening
    assert result.target == timedelta(hours=24)
    assert result.at == ny(2026, 1, 14, 14, 0)  # 9h + 9h + 6h
    assert "GitHub's 24h is stricter than P3's 48h" in result.why


def test_email_p1_keeps_p1s_4h():
    result = due_for("P1", "email", ny(2026, 1, 12, 9, 0))
    assert result.target == timedelta(hours=4)
    assert "P1's 4h is stricter than email's 24h" in result.why


def test_channel_targets_do_not_apply_to_resolution():
    result = due_for("P2", "discord", ny(2026, 1, 12, 8, 0), "resolution")
    assert result.target == timedelta(weeks=1)  # not Discord's 30 minutes
    assert "P2 resolution within 1w = 168h" in result.why
    assert result.at == ny(2026, 1, 19, 8, 0)


def test_next_release_resolution_has_no_deadline():
    result = due_for("P3", "github", ny(2026, 1, 12, 8, 0), "resolution")
    assert result.at is None
    assert result.target is None
    assert result.warn_at is None
    assert "next release" in result.why
    assert status(result, ny(2030, 1, 1)) == "ok"


# ---------------------------------------------------------------------- warn_at and status


def test_warn_at_is_75_percent_of_the_target_on_the_same_clock():
    calendar = BusinessCalendar(HOURS)
    received = ny(2026, 1, 16, 16, 30)
    result = due_for("P2", "github", received)
    assert calendar.elapsed(received, result.warn_at) == timedelta(hours=18)
    assert result.warn_at == ny(2026, 1, 20, 16, 30)
    assert "warn at Tuesday 2026-01-20 16:30 EST (75% of the target)" in result.why


def test_status_goes_ok_warning_overdue():
    result = due_for("P1", "github", ny(2026, 1, 16, 16, 0))  # warn Mon 10:00, due Mon 11:00
    assert status(result, ny(2026, 1, 16, 16, 0)) == "ok"
    assert status(result, ny(2026, 1, 18, 23, 0)) == "ok"  # the weekend used none of it
    assert status(result, ny(2026, 1, 19, 9, 59)) == "ok"
    assert status(result, ny(2026, 1, 19, 10, 0)) == "warning"
    assert status(result, ny(2026, 1, 19, 11, 0)) == "warning"  # "within": on time at due
    assert status(result, ny(2026, 1, 19, 11, 0) + timedelta(microseconds=1)) == "overdue"
    assert status(result, ny(2026, 2, 1)) == "overdue"


# ---------------------------------------------------------------------- the calendar


def test_elapsed_over_a_weekend():
    calendar = BusinessCalendar(HOURS)
    assert calendar.elapsed(ny(2026, 1, 16, 16, 0), ny(2026, 1, 19, 11, 0)) == 4 * HOUR
    assert calendar.elapsed(ny(2026, 1, 19, 11, 0), ny(2026, 1, 16, 16, 0)) == -4 * HOUR
    assert calendar.elapsed(ny(2026, 1, 17, 0, 0), ny(2026, 1, 19, 8, 0)) == timedelta(0)


def test_add_zero_is_the_start_even_outside_hours():
    calendar = BusinessCalendar(HOURS)
    assert calendar.add(ny(2026, 1, 17, 10, 0), timedelta(0)) == ny(2026, 1, 17, 10, 0)


def test_inputs_in_any_zone_give_utc_out():
    calendar = BusinessCalendar(HOURS)
    paris = datetime(2026, 1, 16, 22, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 16:00 EST
    landed = calendar.add(paris, 4 * HOUR)
    assert landed == ny(2026, 1, 19, 11, 0)
    assert landed.tzinfo is UTC


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 1, 16, 16, 0)
    calendar = BusinessCalendar(HOURS)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.add(naive, HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.elapsed(ny(2026, 1, 16), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        due(LEVELS["P1"], HOURS, "github", naive)
    result = due_for("P1", "github", ny(2026, 1, 16, 16, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        status(result, naive)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown channel"):
        due(LEVELS["P1"], HOURS, "slack", ny(2026, 1, 16))
    with pytest.raises(ValueError, match="negative"):
        BusinessCalendar(HOURS).add(ny(2026, 1, 16), -HOUR)
    with pytest.raises(ValueError, match="close after"):
        BusinessCalendar(BusinessHours(start="17:00", end="08:00"))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        BusinessCalendar(BusinessHours(holidays=["Jan 19"]))


def test_without_a_level_name_why_uses_the_label():
    result = due(LEVELS["P1"], HOURS, "github", ny(2026, 1, 16, 16, 0))
    assert result.why.startswith("High first response within 4h")


def test_the_shipped_rulebook_runs_p0_around_the_clock_and_the_rest_in_business_hours(shipped):
    rulebook = shipped.rulebook
    assert rulebook.priorities["P0"].clock == "always"
    assert {rulebook.priorities[level].clock for level in ("P1", "P2", "P3")} == {"business-hours"}
    BusinessCalendar(rulebook.business_hours)  # valid


# ---------------------------------------------------------------------- properties
#
# The reference is a brute-force walk, independent of BusinessCalendar: step through time a
# minute at a time in UTC, read each minute's local wall clock with zoneinfo, and count the
# minute when its local day is a business weekday, not a holiday, and its wall time is in
# [start, end).

US_HOLIDAYS = [
    "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
    "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25",
    "2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
    "2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-12-24", "2027-12-31",
]  # fmt: skip
CONFIGS = [
    HOURS,
    BusinessHours(holidays=US_HOLIDAYS),
    BusinessHours(timezone="Europe/London", start="09:00", end="17:30"),
    # Opening skipped on the Friday Egypt springs forward (00:00 -> 01:00).
    BusinessHours(timezone="Africa/Cairo", start="00:00", end="09:00"),
    # Lord Howe moves its clocks by 30 minutes at 02:00 on a Sunday, inside these hours.
    BusinessHours(timezone="Australia/Lord_Howe", days=["sun", "mon", "wed"], start="01:00",
                  end="03:00"),
    # New York's own changes inside business hours: 02:00-03:00 skipped, 01:00-02:00 twice.
    BusinessHours(days=["sun", "mon"], start="01:00", end="03:00"),
    BusinessHours(days=["sun", "thu"], start="02:30", end="04:00", holidays=["2026-11-01"]),
]  # fmt: skip
FIRST = datetime(2026, 1, 1, tzinfo=UTC)
LAST = datetime(2028, 1, 1, tzinfo=UTC)


def _business_minutes(hours: BusinessHours) -> int:
    opens, closes = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    return (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)


def _transition_days(zone: ZoneInfo) -> list[datetime]:
    """Noon UTC of each day whose local noon has a different UTC offset than the day before."""
    days, day = [], FIRST
    while day < LAST:
        if (day + timedelta(days=1)).astimezone(zone).utcoffset() != day.astimezone(
            zone
        ).utcoffset():
            days.append(day + timedelta(days=1))
        day += timedelta(days=1)
    return days


TRANSITIONS = {hours.timezone: _transition_days(ZoneInfo(hours.timezone)) for hours in CONFIGS}


def _is_business_minute(hours: BusinessHours, zone: ZoneInfo, instant: datetime) -> bool:
    local = instant.astimezone(zone)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    return (
        weekday in hours.days
        and local.date().isoformat() not in hours.holidays
        and time.fromisoformat(hours.start) <= local.time() < time.fromisoformat(hours.end)
    )


def brute_force_add(hours: BusinessHours, start: datetime, minutes: int) -> datetime:
    zone, instant = ZoneInfo(hours.timezone), start
    while minutes:
        if _is_business_minute(hours, zone, instant):
            minutes -= 1
        instant += MIN
    return instant


@st.composite
def scenarios(draw):
    """A config, a received instant (whole minutes, often near a clock change) and a
    duration of whole minutes up to three business days."""
    hours = draw(st.sampled_from(CONFIGS))
    minutes_in_range = int((LAST - FIRST) / MIN) - 1
    if draw(st.booleans()):
        start = FIRST + draw(st.integers(0, minutes_in_range)) * MIN
    else:
        anchor = draw(st.sampled_from(TRANSITIONS[hours.timezone]))
        start = anchor + draw(st.integers(-5 * 24 * 60, 2 * 24 * 60)) * MIN
    minutes = draw(st.integers(0, 3 * _business_minutes(hours)))
    return hours, start, minutes


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_add_agrees_with_a_minute_by_minute_walk(scenario):
    hours, start, minutes = scenario
    calendar = BusinessCalendar(hours)
    assert calendar.add(start, minutes * MIN) == brute_force_add(hours, start, minutes)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(0, 6 * 24 * 60))
def test_elapsed_agrees_with_a_minute_by_minute_count(scenario, span):
    hours, start, _ = scenario
    zone = ZoneInfo(hours.timezone)
    expected = sum(_is_business_minute(hours, zone, start + i * MIN) for i in range(span))
    assert BusinessCalendar(hours).elapsed(start, start + span * MIN) == expected * MIN


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CONFIGS),
    instants,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=45)),
)
def test_elapsed_inverts_add(hours, start, duration):
    calendar = BusinessCalendar(hours)
    landed = calendar.add(start, duration)
    assert landed >= start
    assert calendar.elapsed(start, landed) == duration
    if duration:
        assert calendar.is_open(landed - timedelta(microseconds=1))  # the earliest instant


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CONFIGS), instants, instants, instants)
def test_elapsed_adds_up(hours, a, b, c):
    calendar = BusinessCalendar(hours)
    assert calendar.elapsed(a, c) == calendar.elapsed(a, b) + calendar.elapsed(b, c)
