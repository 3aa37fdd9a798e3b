"""Volume spikes (``desk.volume``): a window against the hour before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from desk.volume import (
    ALL,
    UNFLAGGED,
    SpikeRule,
    detect,
    is_unflagged,
    spikes_in,
    window_start,
    window_starts,
)

RULE = SpikeRule()
T0 = datetime(2026, 1, 24, 13, 0, tzinfo=UTC)


def _starts(n: int) -> list[datetime]:
    return window_starts(T0 + RULE.window * (n - 1), n, RULE.window)


def test_a_burst_from_a_quiet_hour_is_a_spike_with_its_figures():
    counts = [2, 3, 1, 2, 3, 2, 14]
    spike = detect(ALL, counts, _starts(7), RULE)
    assert spike is not None
    assert spike.count == 14 and spike.window_start == T0 + RULE.window * 6
    assert round(spike.baseline_mean, 2) == 2.17
    assert spike.threshold == 10  # mean + 3 sd is under the minimum of 10
    assert "14 mentions in 10 min" in spike.describe()


def test_ordinary_ups_and_downs_are_not_spikes():
    counts = [4, 1, 5, 5, 7, 8, 10]  # the launch-day sample's lunch: busier, not a surge
    assert detect(ALL, counts, _starts(7), RULE) is None


def test_a_busy_baseline_raises_the_bar():
    busy = [20, 30, 25, 35, 22, 28]
    assert detect(ALL, [*busy, 30], _starts(7), RULE) is None
    assert detect(ALL, [*busy, 60], _starts(7), RULE) is not None


def test_the_minimum_count_holds_even_against_an_empty_baseline():
    assert detect(ALL, [0, 0, 0, 0, 0, 0, 9], _starts(7), RULE) is None
    assert detect(ALL, [0, 0, 0, 0, 0, 0, 10], _starts(7), RULE) is not None
    assert detect("discord", [0, 0, 0, 0, 0, 0, 6], _starts(7), RULE) is not None
    assert detect(UNFLAGGED, [0, 0, 0, 0, 0, 0, 5], _starts(7), RULE) is not None


def test_a_flat_baseline_does_not_make_a_small_rise_a_spike():
    # sd 0: without the floor of 1, 11 after a steady 10 would be "3 sd" above it
    assert detect(ALL, [10] * 6 + [11], _starts(7), RULE) is None
    assert detect(ALL, [10] * 6 + [13], _starts(7), RULE) is not None


def test_only_the_baseline_windows_just_before_count():
    old_storm = [90, 90, 90]
    assert detect(ALL, [*old_storm, 0, 0, 0, 0, 0, 0, 12], _starts(10), RULE) is not None


def test_a_surge_that_goes_on_is_the_new_baseline_after_its_first_window():
    counts = [0, 0, 17, 18, 4, 3]
    found = spikes_in(ALL, counts, _starts(6), RULE)
    assert [s.window_start for s in found] == [T0 + RULE.window * 2]


def test_windows_are_aligned_whatever_the_moment():
    moment = datetime(2026, 1, 24, 13, 17, 45, tzinfo=UTC)
    assert window_start(moment) == datetime(2026, 1, 24, 13, 10, tzinfo=UTC)
    assert window_starts(moment, 3) == [
        datetime(2026, 1, 24, 12, 50, tzinfo=UTC),
        datetime(2026, 1, 24, 13, 0, tzinfo=UTC),
        datetime(2026, 1, 24, 13, 10, tzinfo=UTC),
    ]
    short = SpikeRule(window=timedelta(seconds=10))
    assert window_start(moment, short.window) == datetime(2026, 1, 24, 13, 17, 40, tzinfo=UTC)


def test_unflagged_is_the_lowest_level_without_a_kind_that_explains_it():
    assert is_unflagged("P3", "other") and is_unflagged("P3", "bug")
    assert not is_unflagged("P3", "praise") and not is_unflagged("P3", "question")
    assert not is_unflagged("P2", "bug")
