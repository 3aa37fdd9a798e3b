"""Which open incident a P0 report joins.

Launch day brings forty "crashes on launch" posts; they must page once. A report joins an
open incident (or reopens a recently resolved one) when it arrives within the grouping
window and either fired the same top rule, or has the same category and similar words;
and when nothing it says sets it apart (``oncall.signatures``): a report about another Caro
version than the incident's reports, or naming another cause (a config panic, an
``sw_vers`` panic, a binary killed at launch, against the generic crash), is another
problem even when the same rule fired.

Matching reads an incident as its stored JSON (``facts``), not as an ``Incident``: it needs
four of its fields, and validating whole records (a launch-day incident holds hundreds of
reports) for each P0 was most of a worker's time at volume. Reading the incidents in the
window is ``oncall.incidents.IncidentStore``'s part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from oncall.records import IncidentReport
from rules import normalize
from rules.result import TriageRecord

SIMILAR = 0.3  # Jaccard similarity of content words that groups same-category reports
_WORD = re.compile(r"[^\W\d_]{3,}")


def content_words(text: str) -> set[str]:
    return set(_WORD.findall(normalize(text))[:200])


def similarity(left: set[str], right: set[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


def sets_apart(report: IncidentReport, facts: dict[str, Any]) -> bool:
    """Whether the report is about another problem than the incident whose stored JSON is
    ``facts``: another Caro version than any of its reports are about, or another cause
    than the one its first report named (the generic crash names none). What neither
    says (no version, no cause stored before these existed) sets nothing apart."""
    version, versions = report.version, facts.get("versions") or []
    if version and versions and version not in versions:
        return True
    return report.cause != facts.get("cause") and "versions" in facts


def top_rule(triage: TriageRecord) -> str | None:
    """The heaviest positive rule at the triage's priority: the rule an incident is known by."""
    rules = [r for r in triage.rules if triage.priority in r.levels and r.weight > 0]
    return max(rules, key=lambda r: r.weight).id if rules else None


def closest_incident(
    report: IncidentReport, triage: TriageRecord, candidates: Iterable[tuple[str, dict[str, Any]]]
) -> str | None:
    """The id of the incident this report belongs to among ``candidates`` (id and stored
    JSON of each incident in the window): the same top rule, or the same category and
    similar words; the most similar wins, the earlier candidate on a tie. A merged
    incident, or one the report is set apart from, never matches."""
    words = content_words(report.text)
    rule, category = top_rule(triage), triage.category
    best_id, best_score = None, 0.0
    for incident_id, facts in candidates:
        if facts.get("merged_into") or sets_apart(report, facts):
            continue
        score = similarity(words, set(facts["words"]))
        same_rule = rule is not None and rule == facts.get("rule")
        if (same_rule or (category == facts["category"] and score >= SIMILAR)) and (
            best_id is None or score > best_score
        ):
            best_id, best_score = incident_id, score
    return best_id
