"""The playbook's Success Metrics targets: the period's value, whether it is met, and in words.

A target is judged only with enough behind it: at least ``MIN_JUDGED`` (10) items measured
(answered items for the response targets, resolved ones for resolution and reopening,
incidents for the escalation rate). With fewer, one late answer moves a share by ten
points or more, and "met at 1 of 1 answered, 217 waiting" says nothing: the verdict is
"too few". One exception: the P0 target is 100%, so a single P0 missed misses it, however
few were measured.

Pure: the blocks ``desk.metrics`` computes in, a JSON-ready dict per target out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

MIN_JUDGED = 10

Verdict = Literal["met", "missed", "too few", "no data"]

# Success Metrics: the targets, and the direction each is met in.
TARGETS: dict[str, dict[str, float]] = {
    "average_first_response": {"target_s": 7200},  # < 2 h
    "first_response_within_sla": {"target_pct": 95.0},  # > 95 %
    "p0_first_response": {"target_s": 3600, "target_pct": 100.0},  # < 1 h, 100 %
    "resolved_within_sla": {"target_pct": 90.0},  # > 90 %
    "reopened_rate": {"target_rate": 0.05},  # < 5 %
    "escalation_rate": {"target_rate": 0.10},  # < 10 %
}


def _below(value: float, target: float) -> bool:
    return value < target


def _above(value: float, target: float) -> bool:
    return value > target


def _all(value: float, target: float) -> bool:
    return value >= target


def _verdict(value: float | None, met: bool | None, measured: int, sure_miss: bool) -> Verdict:
    if value is None:
        return "no data"
    if sure_miss:
        return "missed"
    if measured < MIN_JUDGED:
        return "too few"
    return "met" if met else "missed"


def _row(
    name: str,
    value: float | None,
    test: Callable[[float, float], bool],
    counts: Mapping[str, int],
    *,
    sure_miss: bool = False,
) -> dict[str, Any]:
    """One target: its figures, ``value`` and ``verdict``; ``met`` is True or False only
    when judged (None: no data or too few)."""
    target = TARGETS[name]
    key = next(key for key in ("target_pct", "target_rate", "target_s") if key in target)
    passed = None if value is None else test(value, target[key])
    verdict = _verdict(value, passed, counts["measured"], sure_miss)
    met = {"met": True, "missed": False}.get(verdict)
    return {**target, "value": value, "met": met, "verdict": verdict, **counts}


def targets(
    first_response: Mapping[str, Any],
    resolution: Mapping[str, Any],
    reopened: Mapping[str, Any],
    escalation: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Each playbook target with the period's value, its verdict and what it rests on:
    ``measured`` (items behind the value), ``within`` (of those, in time or escalated or
    reopened), ``waiting`` (not yet answered or resolved and not yet due).
    P0's "<1 hour, 100%" is read from the P0 SLA (its first-response due time is 1 h)."""
    p0 = first_response["p0"]
    answered = first_response["count"]
    waiting = first_response["pending"] + first_response["overdue"]
    return {
        "average_first_response": _row(
            "average_first_response",
            first_response["average_s"],
            _below,
            {"measured": answered, "within": answered, "waiting": waiting},
        ),
        "first_response_within_sla": _row(
            "first_response_within_sla",
            first_response["within_sla_pct"],
            _above,
            _sla_counts(first_response),
        ),
        "p0_first_response": _row(
            "p0_first_response",
            p0["within_sla_pct"],
            _all,
            _sla_counts(p0),
            sure_miss=p0["within_sla"] < p0["sla_counted"],
        ),
        "resolved_within_sla": _row(
            "resolved_within_sla", resolution["within_sla_pct"], _above, _sla_counts(resolution)
        ),
        "reopened_rate": _row(
            "reopened_rate",
            reopened["rate"],
            _below,
            {"measured": reopened["resolved"], "within": reopened["count"], "waiting": 0},
        ),
        "escalation_rate": _row(
            "escalation_rate",
            escalation["rate"],
            _below,
            {"measured": escalation["count"], "within": escalation["escalated"], "waiting": 0},
        ),
    }


def _sla_counts(block: Mapping[str, Any]) -> dict[str, int]:
    """An SLA clock's: measured are the items judged (stopped with a due time, or waiting
    past it), within those in time; waiting, those not yet due."""
    return {
        "measured": block["sla_counted"],
        "within": block["within_sla"],
        "waiting": block["pending"],
        "overdue": block["overdue"],
    }


# --- in words ---------------------------------------------------------------------------

# Per target: what ``within`` counts, what ``measured`` counts, and what none of means.
_NOUNS = {
    "average_first_response": ("answered", "answered", "nothing answered yet"),
    "first_response_within_sla": ("answered within target", "answered", "nothing answered yet"),
    "p0_first_response": (
        "P0 reports answered within 1 h",
        "P0 reports answered",
        "no P0 report answered yet",
    ),
    "resolved_within_sla": ("resolved within target", "resolved", "nothing resolved yet"),
    "reopened_rate": ("reopened", "resolved", "nothing resolved yet"),
    "escalation_rate": ("escalated", "incidents", "no incident"),
}


def verdict_text(name: str, row: Mapping[str, Any]) -> str:
    """The verdict with what it rests on, e.g. "met: 12 of 13 answered within target; 217
    still waiting", "too few answered to judge: 1 of 218", "no data: nothing answered"."""
    counted, judged_noun, nothing = _NOUNS[name]
    measured, within = row.get("measured", 0), row.get("within", 0)
    waiting, overdue = row.get("waiting", 0), row.get("overdue", 0)
    if row["verdict"] == "no data":
        return f"no data: {nothing}"
    if row["verdict"] == "too few":
        if name in ("reopened_rate", "escalation_rate"):
            return f"too few {judged_noun} to judge: {within} of {measured} {counted}"
        answered = measured - overdue
        return f"too few {judged_noun} to judge: {answered} of {measured + waiting}"
    if name == "average_first_response":
        text = f"{row['verdict']}: over {measured} answered"
    elif name in ("reopened_rate", "escalation_rate"):
        text = f"{row['verdict']}: {within} of {measured} {judged_noun} {counted}"
    else:
        text = f"{row['verdict']}: {within} of {measured} {counted}"
    if overdue:
        text += f" ({overdue} unanswered past due)"
    return text + (f"; {waiting} still waiting" if waiting else "")
