"""The rulebook loader: every problem reported at once, each at its line, rule and field.

Each file in ``tests/data/rulebooks/broken/`` is a rulebook with one kind of problem (one
has several). It opens with the problems it must produce, one comment line each::

    # expect: <line>: <rule-id>: <field>: <message substring>

and the loader must report exactly those: every expected problem, and nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hark.cli import cli
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules import Engine, Problem, RulebookError, parse_rulebook
from rules.engine import MissingSecondOpinion
from tests.broken_files import assert_exactly, expectations

RULEBOOKS = Path(__file__).resolve().parent.parent / "data" / "rulebooks"
MINIMAL = RULEBOOKS / "minimal.yaml"
BROKEN = sorted((RULEBOOKS / "broken").glob("*.yaml"))
PROBLEM_LINE = re.compile(r"^(?P<source>.+?):(?P<line>\d+): (?P<rule_id>\S+): (?P<field>\S+): .+$")


def problems_of(path: Path) -> list[Problem]:
    try:
        parse_rulebook(path.read_text(encoding="utf-8"), str(path))
    except RulebookError as error:
        return error.problems
    pytest.fail(f"{path.name} loaded without any problem")


def test_every_kind_of_problem_has_a_broken_rulebook():
    assert len(BROKEN) >= 20
    for path in BROKEN:
        assert expectations(path.read_text(encoding="utf-8")), f"{path.name} expects nothing"


@pytest.mark.parametrize("path", BROKEN, ids=lambda path: path.stem)
def test_broken_rulebook_reports_exactly_the_expected_problems(path: Path):
    expected = expectations(path.read_text(encoding="utf-8"))
    assert_exactly(expected, problems_of(path), str(path))


def test_several_problems_are_all_reported_in_one_run():
    path = RULEBOOKS / "broken" / "several_problems.yaml"
    problems = problems_of(path)
    assert len(problems) == len(expectations(path.read_text(encoding="utf-8"))) >= 6
    assert {p.rule_id for p in problems} == {"-", "bad-weight", "bad-keyword", "bad-regex"}
    assert problems == sorted(problems), "problems are listed in file order"


def test_empty_text_is_reported():
    with pytest.raises(RulebookError) as raised:
        parse_rulebook("", "empty.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "empty.yaml:1: -: -: a rulebook is a mapping; found an empty file"
    ]


def test_minimal_rulebook_loads():
    rulebook = parse_rulebook(MINIMAL.read_text(encoding="utf-8"), str(MINIMAL))
    assert [rule.id for rule in rulebook.rules] == ["crash"]
    assert Engine(rulebook).classify("Caro crashed twice today").priority == "P1"


def test_shipped_rulebook_loads():
    path = shipped_rulebook_path()
    rulebook = parse_rulebook(path.read_text(encoding="utf-8"), str(path))
    assert rulebook.rules
    assert len({rule.id for rule in rulebook.rules}) == len(rulebook.rules)
    with pytest.raises(MissingSecondOpinion):  # its model rules need the model beside it
        Engine(rulebook)
    assert read_rulebook(path).second_opinion is not None


def test_catastrophic_backtracking_pattern_is_accepted_and_runs_in_linear_time():
    header = MINIMAL.read_text(encoding="utf-8").split("rules:\n")[0]
    text = header + (
        "rules:\n"
        "  - id: many-a\n"
        "    description: a pattern that backtracks exponentially in a backtracking engine\n"
        "    match: {regex: '(a+)+$'}\n"
        "    priority: P2\n"
        "    weight: 1.0\n"
    )
    engine = Engine(parse_rulebook(text, "catastrophic.yaml"))
    # A backtracking engine tries exponentially many splits of the a's before failing on 'b'.
    assert engine.classify("a" * 100_000 + "b").rules == ()
    assert [rule.id for rule in engine.classify("a" * 100_000).rules] == ["many-a"]


def test_problem_prints_as_path_line_rule_field_message():
    problem = Problem("book.yaml", 7, "crash", "match[0].regex", "invalid regular expression")
    assert str(problem) == "book.yaml:7: crash: match[0].regex: invalid regular expression"

    path = RULEBOOKS / "broken" / "wrong_type.yaml"
    with pytest.raises(RulebookError) as raised:
        parse_rulebook(path.read_text(encoding="utf-8"), str(path))
    (problem,) = raised.value.problems
    printed = PROBLEM_LINE.match(str(problem))
    assert printed, str(problem)
    assert (printed["source"], int(printed["line"]), printed["rule_id"], printed["field"]) == (
        str(path),
        problem.line,
        problem.rule_id,
        problem.field,
    )
    assert str(problem).endswith(f": {problem.message}")
    assert str(raised.value) == str(problem)


def test_check_command_prints_problems_and_exits_2_on_a_broken_rulebook():
    path = RULEBOOKS / "broken" / "several_problems.yaml"
    result = CliRunner().invoke(cli, ["rules", "check", str(path)])
    assert result.exit_code == 2, result.output
    printed = result.stdout.splitlines()
    assert printed == [str(problem) for problem in problems_of(path)]


def test_check_command_exits_0_on_a_good_rulebook():
    result = CliRunner().invoke(cli, ["rules", "check", str(MINIMAL)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{MINIMAL}: ok, 1 rules\n"


def test_check_command_exits_2_when_any_of_several_rulebooks_is_broken():
    broken = RULEBOOKS / "broken" / "missing_description.yaml"
    result = CliRunner().invoke(cli, ["rules", "check", str(MINIMAL), str(broken)])
    assert result.exit_code == 2, result.output
    assert f"{MINIMAL}: ok, 1 rules" in result.stdout
    assert f"{broken}:12: crash: description: required field 'description' is missing" in (
        result.stdout
    )
