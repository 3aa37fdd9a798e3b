"""Parse rulebook YAML into a validated ``Rulebook``, reporting every problem at once.

Each problem names the file, the line, the rule and the field, as
``path:line: rule-id: field: message``, so the author can jump straight to it. The loader
works on text; reading files is the caller's business (``rules/`` does no I/O).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from rules.schema import (
    BusinessHours,
    Condition,
    Defaults,
    ModelCondition,
    PriorityLevel,
    Rule,
    Rulebook,
    Urgency,
)
from rules.yaml_lines import Path, UnusableYaml, field_name, index_lines, load_mapping, locate


@dataclass(frozen=True, order=True)
class Problem:
    source: str
    line: int
    rule_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.rule_id}: {self.field}: {self.message}"


class RulebookError(ValueError):
    """A rulebook that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def parse_rulebook(text: str, source: str = "<rulebook>") -> Rulebook:
    """Validate rulebook YAML; raise ``RulebookError`` listing every problem."""
    try:
        root, data = load_mapping(text, "rulebook")
    except UnusableYaml as error:
        raise RulebookError([Problem(source, error.line, "-", error.field, str(error))]) from None

    lines, duplicate_keys = index_lines(root)
    locate = _Locator(source, data, lines)
    problems = [
        locate.problem(path, f"duplicate key {path[-1]!r}: the later one would silently win", line)
        for path, line in duplicate_keys
    ]
    problems += _cross_checks(data, locate)
    try:
        rulebook = Rulebook.model_validate(data)
    except ValidationError as error:
        raise RulebookError(problems + _validation_problems(error, locate)) from None
    if problems:
        raise RulebookError(problems)
    return rulebook


_ONE_WORD = re.compile(r"[^\s:]+")


class _Locator:
    """Turns a path in the data into a Problem with its line, rule id and field name."""

    def __init__(self, source: str, data: dict, lines: dict[Path, int]) -> None:
        self.source, self.data, self.lines = source, data, lines

    def problem(self, path: Path, message: str, line: int | None = None) -> Problem:
        found_line, path = locate(path, self.lines)
        line = line or found_line
        rule_id, field_path = "-", path
        if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
            rule = self._get(("rules", path[1]))
            raw_id = rule.get("id") if isinstance(rule, dict) else None
            if isinstance(raw_id, str) and _ONE_WORD.fullmatch(raw_id):
                rule_id = raw_id
            else:  # no usable id: "a b: c" would break the line
                rule_id = f"rules[{path[1]}]"
            field_path = path[2:]
        return Problem(self.source, line, rule_id, field_name(field_path), message)

    def _get(self, path: Path) -> Any:
        value: Any = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value


def _cross_checks(data: dict, locate: _Locator) -> list[Problem]:
    """Checks that span several places: duplicate ids, undeclared categories and kinds."""
    problems = []
    rules = data.get("rules")
    rules = rules if isinstance(rules, list) else []
    ids = Counter(
        rule["id"] for rule in rules if isinstance(rule, dict) and isinstance(rule.get("id"), str)
    )  # an id of another type (a list: unhashable) is the schema's to report
    holders: list[tuple[Path, Any]] = [(("defaults",), data.get("defaults"))]
    holders += [(("rules", index), rule) for index, rule in enumerate(rules)]
    for path, holder in holders:
        if not isinstance(holder, dict):
            continue
        if path[0] == "rules" and holder.get("model") is not None and not data.get("model_file"):
            message = "this rule asks the model, and the rulebook names no 'model_file'"
            problems.append(locate.problem((*path, "model"), message + _TRAIN_HINT))
        if path[0] == "rules" and isinstance(holder.get("id"), str) and ids[holder["id"]] > 1:
            problems.append(locate.problem((*path, "id"), f"duplicate rule id {holder['id']!r}"))
        for field, name in (("category", "categories"), ("kind", "kinds")):
            value, allowed = holder.get(field), data.get(name)
            if isinstance(value, str) and isinstance(allowed, list) and value not in allowed:
                choices = ", ".join(map(str, allowed)) or "(none declared)"
                message = f"{value!r} is not one of the rulebook's {name}: {choices}"
                problems.append(locate.problem((*path, field), message))
    return problems


_TRAIN_HINT = " (the file `hark model train` writes, relative to the rulebook)"

_MODELS_BY_DEPTH: dict[tuple[str, int], type[BaseModel]] = {
    ("rules", 3): Rule,
    ("rules", 5): Condition,
    ("rules", 4): ModelCondition,
    ("urgency", 2): Urgency,
    ("priorities", 3): PriorityLevel,
    ("defaults", 2): Defaults,
    ("business_hours", 2): BusinessHours,
    ("", 1): Rulebook,
}


def _validation_problems(error: ValidationError, locate: _Locator) -> list[Problem]:
    problems, seen = [], set()
    for detail in error.errors():
        path = tuple(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = _unknown_key_message(path)
        elif detail["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        problem = locate.problem(path, message)
        where = (problem.line, problem.rule_id, problem.field)
        if where not in seen:  # a union reports each alternative; the first says it best
            seen.add(where)
            problems.append(problem)
    return problems


def _unknown_key_message(path: Path) -> str:
    key = str(path[-1])
    top = str(path[0]) if len(path) > 1 else ""
    model = _MODELS_BY_DEPTH.get((top, len(path)))
    if model is None:
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}: {hint}allowed keys are {', '.join(allowed)}"
