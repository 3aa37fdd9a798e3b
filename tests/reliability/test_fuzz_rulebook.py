"""The rulebook loader on mutations of the shipped rulebook (hypothesis).

Lines deleted, duplicated, swapped or re-indented, values swapped for YAML's surprising
scalars (``no``, ``12:30``, ``.nan``, tags, anchors, aliases), fields deleted, duplicated
and retyped: the loader either builds an engine that works, or raises ``RulebookError``,
never another exception, and every problem is one line, ``path:line: rule-id: field:
message``, on a line the file has. ``hark rules check`` prints the same for a few mutated
files and exits 2 (0 when they all load).

``tests/unit/test_properties.py`` covers random documents and random bytes; these start
from the real rulebook, so the mutations land inside rules, conditions and anchors.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from desk.business_hours import BusinessCalendar
from hark.cli import cli
from hark.rulebook_files import read_rulebook, shipped_rulebook_path
from rules import Engine, RulebookError, parse_rulebook
from rules.second_opinion import SecondOpinion
from tests.reliability.fuzz_support import json_paths

SHIPPED = shipped_rulebook_path().read_text(encoding="utf-8")
SHIPPED_LINES = SHIPPED.splitlines(keepends=True)
RULE_STARTS = [n for n, line in enumerate(SHIPPED_LINES) if line.startswith("  - id: ")]
# The header, the anchors and six rules: a third of the parse time of the whole file, so
# most examples use it; every fourth takes the whole file.
EXCERPT = "".join(SHIPPED_LINES[: RULE_STARTS[6]])
RULE_ID = re.compile(r"-|rules\[\d+\]|[^\s:]+")

LOADER = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# YAML 1.1 scalars that are not what they look like, tags, anchors, aliases, block
# indicators and directives, and text that is not YAML.
surprising_scalars = st.sampled_from(
    [
        "~",
        "null",
        "no",
        "yes",
        "on",
        "off",
        "0x1F",
        "0o17",
        "017",
        "1e400",
        "-.inf",
        ".nan",
        "12:30:00",
        "2026-01-16",
        "2026-01-16 10:00:00",
        "!!binary aGk=",
        "!!python/object/apply:os.system ['true']",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "!custom value",
        "&fresh_anchor value",
        "*undefined_alias",
        "*negations",
        "*crash_words",
        "<<: *crash_words",
        "'unterminated",
        '"\\x00 and \\ud800"',
        "[unclosed",
        "{unclosed: 1",
        "|",
        ">-",
        "- item",
        "? complex",
        "%YAML 1.1",
        "---",
        "...",
        "@reserved",
        "`reserved",
        "\t",
        "\x00",
        "\x85",
        "\ufeff",
        "",
        "P5",
        "-1",
        "1000",
        "[]",
        "{}",
        "[P0, P9]",
    ]
) | st.text(max_size=20)


def _value_position(line: str) -> int | None:
    """Where the value of ``key: value`` (or ``- value``) begins on a line, if it has one."""
    found = re.match(r"^(\s*(?:- )?[\w.-]+:\s)|^(\s*-\s)", line)
    return found.end() if found else None


@st.composite
def text_mutations(draw, text: str) -> tuple[str, list[str]]:
    """``text`` with one to three line edits; the list says what was done (for the log)."""
    lines = text.splitlines(keepends=True)
    done = []
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(
            st.sampled_from(
                [
                    "delete",
                    "duplicate",
                    "indent",
                    "dedent",
                    "tab",
                    "value",
                    "value",
                    "insert",
                    "swap",
                    "truncate",
                    "recursive alias",
                ]
            )
        )
        line = lines[at]
        if how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, line)
        elif how == "indent":
            lines[at] = " " * draw(st.integers(1, 4)) + line
        elif how == "dedent":
            lines[at] = line[draw(st.integers(1, 4)) :] if line.startswith(" ") else line
        elif how == "tab":
            lines[at] = "\t" + line.lstrip(" ")
        elif how == "value":
            start = _value_position(line)
            if start is None:
                continue
            lines[at] = line[:start] + draw(surprising_scalars) + "\n"
        elif how == "insert":
            indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
            key = draw(st.sampled_from(["id", "match", "weight", "priority", "extra", "- id"]))
            lines.insert(at, f"{indent}{key}: {draw(surprising_scalars)}\n")
        elif how == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
        elif how == "truncate":
            lines[at] = line[: draw(st.integers(0, len(line)))]
            del lines[at + 1 :]
        elif how == "recursive alias":  # an anchor used inside itself
            anchors = [n for n, text_line in enumerate(lines) if re.search(r"&\w+", text_line)]
            if not anchors:
                continue
            at = draw(st.sampled_from(anchors))
            name = re.search(r"&(\w+)", lines[at])[1]
            lines.insert(at + 1, f"    - *{name}\n" if "[" not in lines[at] else f"    *{name}\n")
        done.append(f"{how} at line {at + 1}")
    return "".join(lines), done


@cache
def _data(text: str) -> Any:
    return yaml.safe_load(text)


yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.dates(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=3)
    ),
    max_leaves=8,
)


HEADER = {("priorities",), ("business_hours",), ("defaults",)}  # and their fields
# Values of the right type that are wrong all the same.
PLAUSIBLE = [
    (("business_hours", "timezone"), "Mars/Olympus_Mons"),
    (("business_hours", "timezone"), "America"),
    (("business_hours", "timezone"), "../../etc/passwd"),
    (("business_hours", "timezone"), ""),
    (("business_hours", "days"), []),
    (("business_hours", "start"), "17:00"),
    (("business_hours", "end"), "08:00"),
    (("business_hours", "end"), "24:00"),
    (("business_hours", "holidays"), ["2026-02-30"]),
    (("business_hours", "holidays"), ["Jan 19"]),
    (("threshold",), 0),
    (("priorities", "P0", "first_response"), "0m"),
    (("priorities", "P2", "resolution"), "next release"),
    (("defaults", "priority"), "P4"),
    (("rules", 0, "weight"), 11),
    (("rules", 0, "negation_window"), 0),
    (("rules", 0, "id"), "Crash For Everyone"),
    (("rules", 1, "id"), "crash-for-everyone"),
    (("rules", 0, "channels"), ["slack"]),
    (("rules", 0, "match"), {"regex": "(a*)*b"}),
    (("rules", 0, "match"), {"regex": "x?"}),
    (("rules", 0, "match"), {"regex": "(?<=a)b"}),
    (("rules", 0, "match"), {"keyword": "cra*sh"}),
    (("rules", 0, "match"), {"phrase": ""}),
    (("rules", 0, "match"), []),
    (("rules", 0, "category"), "billing"),
]


@st.composite
def data_mutations(draw, text: str) -> tuple[str, list[str]]:
    """The rulebook's data with one to three fields deleted, duplicated or retyped."""
    document = copy.deepcopy(_data(text))
    done = []
    for _ in range(draw(st.integers(1, 3))):
        paths = json_paths(document)
        in_rules = [path for path in paths if path[:1] == ("rules",) and len(path) >= 3]
        rule_fields = [path for path in in_rules if len(path) == 3]  # id, match, weight...
        rule_fields += [path for path in paths if path[:1] in HEADER and len(path) == 2]
        path = draw(
            st.sampled_from(rule_fields) | st.sampled_from(in_rules) | st.sampled_from(paths)
        )
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        how = draw(st.sampled_from(["delete", "duplicate", "retype", "retype", "plausible"]))
        if how == "plausible":  # right type, wrong value
            path, value = draw(st.sampled_from(PLAUSIBLE))
            parent = document
            for part in path[:-1]:
                parent = parent.setdefault(part, {}) if isinstance(parent, dict) else parent[part]
            parent[path[-1]] = copy.deepcopy(value)
        elif how == "delete":
            del parent[path[-1]]
        elif how == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
        elif how == "duplicate":  # a key again under another name, or the rule twice
            parent[f"{path[-1]}"] = copy.deepcopy(parent[path[-1]])
        else:
            parent[path[-1]] = draw(yaml_values)
        done.append(f"{how} {'.'.join(map(str, path))}")
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False), done


@cache
def shipped_model() -> SecondOpinion | None:
    return read_rulebook(shipped_rulebook_path()).second_opinion


bases = st.sampled_from([EXCERPT, EXCERPT, EXCERPT, SHIPPED])


def assert_loads_or_reports(text: str, source: str) -> Engine | None:
    """The engine, or None when the loader reported problems in the agreed form."""
    try:
        rulebook = parse_rulebook(text, source)
    except RulebookError as error:
        assert error.problems, "a RulebookError without problems"
        for problem in error.problems:
            assert_problem(problem, source, text)
        event(f"refused: {error.problems[0].field.split('.')[0].split('[')[0]}")
        return None
    # its model rules ask the shipped model (its file is checked by read_rulebook's tests)
    engine = Engine(rulebook, shipped_model() if rulebook.model_rules() else None)
    # whatever loads works: it classifies, and its business hours make an SLA calendar
    triage = engine.classify("caro segfaults on launch, every command", "x")
    assert triage.priority in engine.rulebook.priorities
    BusinessCalendar(engine.rulebook.business_hours)
    event("loaded")
    return engine


def assert_problem(problem, source: str, text: str) -> None:
    rendered = str(problem)
    assert "\n" not in rendered and "\r" not in rendered, f"a problem on two lines: {rendered!r}"
    assert rendered.startswith(f"{source}:{problem.line}: "), rendered
    assert 1 <= problem.line <= len(text.splitlines()) + 1, rendered
    assert RULE_ID.fullmatch(problem.rule_id), f"rule id {problem.rule_id!r} in {rendered!r}"
    assert problem.field and problem.message.strip(), rendered
    assert "Traceback" not in rendered and "<unicode string>" not in rendered, rendered


@settings(LOADER, max_examples=90)
@given(base=bases, data=st.data())
def test_loader_on_edited_lines_of_the_shipped_rulebook(base, data):
    text, done = data.draw(text_mutations(base), label="edits")
    note(f"after: {done}")
    assert_loads_or_reports(text, "rules/data/rulebook.yaml")


@settings(LOADER, max_examples=40)
@given(base=bases, data=st.data())
def test_loader_on_deleted_duplicated_and_retyped_fields(base, data):
    text, done = data.draw(data_mutations(base), label="fields")
    note(f"after: {done}")
    assert_loads_or_reports(text, "mutated.yaml")


def test_loader_refuses_aliases_that_nest_forever_or_explode():
    """An anchor used inside itself, and a "billion laughs" of nested aliases: refused with
    their line, quickly, not a RecursionError or minutes of expansion."""
    recursive = EXCERPT.replace("definitions:\n", "definitions:\n  loop: &loop\n    - *loop\n", 1)
    laughs = EXCERPT.replace(
        "definitions:\n",
        "definitions:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 9)),
        1,
    )
    definitions = EXCERPT[: EXCERPT.index("definitions:\n")].count("\n") + 1
    for text in (recursive, laughs):
        try:
            parse_rulebook(text, "aliases.yaml")
        except RulebookError as error:
            (problem,) = error.problems
            assert_problem(problem, "aliases.yaml", text)
            # on the alias that loops, or the list that grows too big
            assert definitions < problem.line <= definitions + 10, str(problem)
        else:
            raise AssertionError("loaded")


def test_loader_reports_a_control_character_on_its_line():
    text = EXCERPT.replace("threshold: 1.0", "threshold: 1.0\x00", 1)
    line = text[: text.index("\x00")].count("\n") + 1
    try:
        parse_rulebook(text, "nul.yaml")
    except RulebookError as error:
        (problem,) = error.problems
        assert_problem(problem, "nul.yaml", text)
        assert problem.line == line and "U+0000" in problem.message, str(problem)
    else:
        raise AssertionError("loaded")


@settings(LOADER, max_examples=6)
@given(
    edits=st.lists(text_mutations(EXCERPT) | data_mutations(EXCERPT), min_size=1, max_size=3),
    not_utf8=st.booleans(),
)
def test_rules_check_prints_every_problem_in_the_agreed_form(tmp_path_factory, edits, not_utf8):
    folder = tmp_path_factory.mktemp("check")
    paths = []
    for n, (text, _) in enumerate(edits):
        path = folder / f"book{n}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    if not_utf8:
        paths.append(folder / "latin1.yaml")
        paths[-1].write_bytes(EXCERPT.encode("utf-8") + "# café\n".encode("latin-1"))
    result = CliRunner().invoke(cli, ["rules", "check", *map(str, paths)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    loaded, reported = set(), set()
    for line in result.output.splitlines():
        ok = re.fullmatch(r"(.+): ok, \d+ rules", line)
        if ok:
            loaded.add(ok[1])
            continue
        found = re.match(r"(.+?\.yaml):(\d+): (\S+): (.+?): (.+)$", line)
        assert found, f"not a problem line: {line!r}\n{result.output}"
        assert int(found[2]) >= 1, line
        reported.add(found[1])
    # each file is either ok or has its problems listed, and the exit status says which
    assert not loaded & reported and loaded | reported == set(map(str, paths)), result.output
    assert result.exit_code == (2 if reported else 0), result.output
    if not_utf8:
        assert f"{paths[-1]}:1: -: -: cannot read rulebook: not UTF-8 text" in result.output
