"""Which labels the GitHub write-back puts on an issue, and that it never fights a person
(monitor.github_labels, pure)."""

from __future__ import annotations

from monitor.github_labels import (
    Written,
    label_style,
    person_priority,
    plan_labels,
    wanted_labels,
)

BUG_P1 = wanted_labels("P1", "bug", "installation")


def test_a_triage_gives_kind_priority_and_category_labels():
    assert BUG_P1.all == ("bug", "area: installation", "P1")
    assert wanted_labels("P3", "question", "other").all == ("question", "P3")
    assert wanted_labels("P2", "praise", "documentation").all == ("area: documentation", "P2")


def test_labels_hark_creates_have_colours_and_descriptions():
    assert label_style("P0")[0] == "b60205"
    assert label_style("bug") == ("d73a4a", "Something does not work as it should")
    colour, description = label_style("area: installation")
    assert len(colour) == 6 and "installation" in description


def test_a_fresh_issue_gets_every_label():
    plan = plan_labels(BUG_P1, set(), Written())
    assert plan.add == ("bug", "area: installation", "P1")
    assert plan.remove == () and plan.person_priority is None


def test_a_redelivery_changes_nothing():
    current = {"bug", "area: installation", "P1"}
    written = Written(frozenset(current), priority="P1")
    assert plan_labels(BUG_P1, current, written).empty


def test_labels_the_issue_already_has_are_not_added_again():
    plan = plan_labels(BUG_P1, {"bug", "good first issue"}, Written())
    assert plan.add == ("area: installation", "P1")


def test_a_priority_a_person_set_wins():
    current = {"bug", "area: installation", "P0"}
    written = Written(frozenset({"bug", "area: installation", "P1"}), priority="P1")
    plan = plan_labels(BUG_P1, current, written)
    assert plan.empty and plan.person_priority == "P0"


def test_a_priority_on_the_issue_before_hark_came_is_a_persons():
    plan = plan_labels(BUG_P1, {"P2"}, Written())
    assert "P1" not in plan.add and plan.remove == () and plan.person_priority == "P2"


def test_hark_does_not_put_back_a_priority_a_person_took_off():
    written = Written(frozenset({"bug", "P1"}), priority="P1")
    plan = plan_labels(BUG_P1, {"bug"}, written)
    assert plan.person_priority == "none" and "P1" not in plan.add


def test_hark_does_not_put_back_a_kind_a_person_took_off():
    written = Written(frozenset({"bug", "area: installation", "P1"}), priority="P1")
    plan = plan_labels(BUG_P1, {"area: installation", "P1"}, written)
    assert plan.empty


def test_a_new_triage_swaps_harks_own_priority():
    current = {"bug", "area: installation", "P2"}
    written = Written(frozenset(current), priority="P2")
    plan = plan_labels(BUG_P1, current, written)
    assert plan.add == ("P1",) and plan.remove == ("P2",)


def test_a_label_hark_was_adding_when_its_job_died_is_still_harks():
    """The job set ``pending`` and added P1, then died before recording it: the retry
    must not take P1 for a person's label."""
    current = {"bug", "area: installation", "P1"}
    written = Written(frozenset({"bug", "area: installation"}), pending="P1")
    assert person_priority(current, written) is None
    assert plan_labels(BUG_P1, current, written).empty


def test_a_job_that_died_before_adding_adds_on_retry():
    written = Written(frozenset(), pending="P1")
    assert "P1" in plan_labels(BUG_P1, set(), written).add
