"""Broken YAML files that say what they must produce (elastalert2's style): each opens
with lines ``# expect: <line>: <owner>: <field>: <message part>``, where the owner is the
rule or template id (``-`` for none). Shared by the rulebook and reply-template tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EXPECT = re.compile(r"^# expect: (?P<line>\d+): (?P<owner>\S+): (?P<field>\S+): (?P<message>.+)$")


@dataclass(frozen=True)
class Expected:
    line: int
    owner: str
    field: str
    message: str

    def matches(self, problem: Any) -> bool:
        """``problem`` has ``line``, ``field``, ``message`` and a ``rule_id`` or
        ``template_id``."""
        owner = getattr(problem, "rule_id", None) or getattr(problem, "template_id", None)
        return (problem.line, owner, problem.field) == (self.line, self.owner, self.field) and (
            self.message in problem.message
        )

    def __str__(self) -> str:
        return f"{self.line}: {self.owner}: {self.field}: ...{self.message}..."


def assert_exactly(expected: list[Expected], problems: list, source: str) -> None:
    """Every expected problem is reported, nothing else is, and all name ``source``."""
    report = "\n".join(str(problem) for problem in problems) or "(no problem)"
    missing = [str(e) for e in expected if not any(e.matches(p) for p in problems)]
    unexpected = [str(p) for p in problems if not any(e.matches(p) for e in expected)]
    assert not missing, f"not reported: {missing}\nreported:\n{report}"
    assert not unexpected, f"not expected: {unexpected}\nreported:\n{report}"
    assert all(problem.source == source for problem in problems)


def expectations(text: str) -> list[Expected]:
    found = []
    for line in text.splitlines():
        if line.startswith("# expect:"):
            parsed = EXPECT.match(line.rstrip())
            assert parsed, f"malformed expect line: {line!r}"
            found.append(
                Expected(int(parsed["line"]), parsed["owner"], parsed["field"], parsed["message"])
            )
    return found
