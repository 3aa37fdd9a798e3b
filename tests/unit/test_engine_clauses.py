"""How far a counter-signal to P0 reaches (``rules.clauses.counters_elsewhere``), on a
small rulebook: the shipped rulebook's own cases are in ``test_counter_signals.py``."""

from __future__ import annotations

import pytest

RULES = """\
- id: wiped
  description: a destructive action told as done
  match: {phrase: ["wiped my disk"]}
  priority: P0
  weight: 1.0
- id: joking
  description: a laugh in the same clause undoes it
  match: {keyword: [lol]}
  priority: P0
  weight: -2.0
- id: joking-about-a-command
  description: a laugh, located only by a requirement
  match: {keyword: [haha]}
  require: {phrase: ["wiped my disk"]}
  priority: P0
  weight: -2.0
- id: windows-only
  description: a scope that speaks for the whole message
  match: {keyword: [windows]}
  priority: P0
  weight: -2.0
  reach: message
"""


@pytest.fixture
def engine(make_engine):
    return make_engine(RULES)


@pytest.mark.parametrize(
    ("text", "priority", "urgency", "set_aside"),
    [
        ("it wiped my disk lol", "P3", None, ()),
        ("it wiped my disk. lol, the docs are nice", "P0", "low", ("joking",)),
        # one report answered by a laugh, another standing on its own: the P0 stands
        ("it wiped my disk lol. It wiped my disk again today", "P0", "low", ("joking",)),
        # an example ("e.g.") belongs to the clause it illustrates
        ("a tool that, e.g. wiped my disk lol", "P3", None, ()),
        # located by its requirement only, the laugh is elsewhere: set aside
        ("it wiped my disk. haha", "P0", "low", ("joking-about-a-command",)),
        ("it wiped my disk. only on windows", "P3", None, ()),
        ("it wiped my disk", "P0", "high", ()),
    ],
)
def test_a_counter_signal_undoes_a_p0_only_in_its_clause(
    engine, text, priority, urgency, set_aside
):
    triage = engine.classify(text)
    assert (triage.priority, triage.urgency, triage.set_aside) == (priority, urgency, set_aside)
