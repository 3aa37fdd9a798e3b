"""The period's problems, named for people: the top issues and the knowledge-base candidates.

Pure, like ``desk.metrics`` (which calls these): the period's stored mentions and what the
metrics read of its incidents (``IncidentFacts``) in, JSON-ready lists out.

- **Top issues.** Each incident is one problem, named by its title and counted by its
  reports; the mentions no incident holds are counted by the rulebook's category and kind,
  named in words ("Installation questions"), never by a rule id. Praise and the catch-all
  (category and kind both "other") are not issues.
- **KB candidates** (the playbook's KB Update Process: "Issue reported 3+ times"): an
  incident with 3+ reports (22 reports of one crash are one candidate of 22), and 3+
  mentions outside any incident alike in words under the same top rule: repeated
  questions, and problems that never paged.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from desk.records import StoredMention
from rules.result import TriageRecord
from vocabulary.redact import redact

PRIORITIES = ("P0", "P1", "P2", "P3")
TOP_ISSUES = 10
KB_MIN_REPORTS = 3  # playbook, KB Update Process: "Issue reported 3+ times"
KB_EXAMPLES = 3
KB_SIMILAR = 0.3  # Jaccard similarity of signatures that makes two reports one problem
KB_WORDS = 6
NAME_CHARS = 90  # a repeated question is named by its first asking, cut at a word
NOT_ISSUES = frozenset({"praise"})
CATCH_ALL = "other"
KIND_NOUNS = {
    "bug": "bugs",
    "question": "questions",
    "feature": "feature requests",
    "other": "reports",
}

_URL_OR_HANDLE = re.compile(r"https?://\S+|\S+@\S+|@\w+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORDS = frozenset(
    """
    the and for with that this these those from have has had not but are was were been
    being you your yours our ours they them their its can cant could would should will
    wont just any all some what when where which who whom why how does did doesnt dont
    didnt isnt arent wasnt get got gets getting into onto out about after before then than
    there here also very too still even again please thank thanks help anyone someone hey
    hello caro now today like know need want since only more most much many yes yet ever
    because while been really something anything nothing way
    """.split()
)


@dataclass(frozen=True)
class IncidentFacts:
    """What the metrics read of an incident (the desk does not know on-call's records:
    ``services.support_report`` fills these in)."""

    opened_at: datetime
    status: str
    escalations: int = 0  # times it was escalated to the next level
    events: tuple[str, ...] = ()  # its timeline's event names, oldest first
    id: str = ""
    title: str = ""
    priority: str = "P0"
    category: str = CATCH_ALL
    mention_ids: tuple[str, ...] = ()  # its reports, the first one first

    @property
    def escalated(self) -> bool:
        return self.escalations > 0 or self.status == "escalated" or "escalated" in self.events

    @property
    def reports(self) -> int:
        return max(1, len(self.mention_ids))


# --- names ------------------------------------------------------------------------------


def category_name(category: str) -> str:
    """A rulebook category id in words: "command-generation" -> "Command generation"."""
    return category.replace("-", " ").replace("_", " ").strip().capitalize() or "Other"


def problem_name(category: str, kind: str) -> str:
    """What the mentions of a category and kind are about: "Installation questions"."""
    return f"{category_name(category)} {KIND_NOUNS.get(kind, f'{kind} reports')}"


def short_text(text: str, limit: int = NAME_CHARS) -> str:
    """The first line of a report, redacted, cut at a word with "…" when too long."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    words = " ".join(redact(line).split())
    if len(words) <= limit:
        return words
    cut = words[: limit + 1].rsplit(" ", 1)[0] if " " in words[:limit] else words[:limit]
    return cut.rstrip(" ,.;:-") + "…"


# --- ranking ----------------------------------------------------------------------------


def _rank(priority: str | None) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


def _mode(priorities: Counter[str]) -> str:
    """The most common priority; a tie goes to the more severe one."""
    return min(priorities, key=lambda priority: (-priorities[priority], _rank(priority)))


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (-row["count"], _rank(row["priority"]), row["name"]))


def _filed(incidents: Sequence[IncidentFacts]) -> frozenset[str]:
    return frozenset(mention for incident in incidents for mention in incident.mention_ids)


def _incident_row(incident: IncidentFacts) -> dict[str, Any]:
    return {
        "name": incident.title,
        "count": incident.reports,
        "priority": incident.priority,
        "incident_id": incident.id,
        "category": incident.category,
        "kind": None,
    }


# --- top issues -------------------------------------------------------------------------


def top_issues(
    mentions: Sequence[StoredMention], incidents: Sequence[IncidentFacts]
) -> list[dict[str, Any]]:
    """The period's most reported problems: its incidents and, for the mentions outside
    them, their category and kind; each with its count and usual priority."""
    filed = _filed(incidents)
    rows = [_incident_row(incident) for incident in incidents if incident.title]
    groups: dict[tuple[str, str], Counter[str]] = {}
    for mention in mentions:
        category, kind = mention.triage.category, mention.triage.kind
        if mention.id in filed or kind in NOT_ISSUES or (category, kind) == (CATCH_ALL,) * 2:
            continue
        groups.setdefault((category, kind), Counter())[mention.priority] += 1
    rows += [
        {
            "name": problem_name(category, kind),
            "count": counts.total(),
            "priority": _mode(counts),
            "incident_id": None,
            "category": category,
            "kind": kind,
        }
        for (category, kind), counts in groups.items()
    ]
    return _ranked(rows)[:TOP_ISSUES]


# --- KB candidates ----------------------------------------------------------------------


def top_rule(triage: TriageRecord) -> str | None:
    """The rule behind the chosen priority: the highest positive weight among the rules
    naming that priority (the first on a tie), as incidents group by."""
    rules = [rule for rule in triage.rules if triage.priority in rule.levels and rule.weight > 0]
    return max(rules, key=lambda rule: rule.weight).id if rules else None


def _stem(word: str) -> str:
    """A crude English stem: crashes, crashed, crashing -> crash."""
    for suffix in ("ing", "ed", "es", "s"):
        stem = word.removesuffix(suffix)
        if stem != word and len(stem) >= 3:
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                continue  # issues -> issue (by "s"), fixes -> fix
            if suffix == "s" and stem.endswith(("s", "u", "i", "o")):
                continue  # class, status, analysis, macos
            return stem
    return word


def signature(text: str) -> frozenset[str]:
    """The content words of a report: NFKC, case folded, links, addresses and handles
    dropped, letters-only words of 3+ characters, stop words removed, crudely stemmed."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    text = _URL_OR_HANDLE.sub(" ", text.replace("n't", "nt"))
    words = (_stem(word) for word in _WORD.findall(text) if word not in _STOPWORDS)
    return frozenset(word for word in words if word not in _STOPWORDS)


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class ReportGroup:
    """Reports of one problem: under one top rule, alike in words to its first report."""

    rule: str | None
    words: frozenset[str]
    members: list[StoredMention]


def _group_reports(mentions: Iterable[StoredMention]) -> list[ReportGroup]:
    """Oldest first, each report joins the most similar group of its top rule (compared
    with the group's first report) or starts one. Praise is not an issue."""
    groups: list[ReportGroup] = []
    ordered = sorted(mentions, key=lambda mention: (_utc(mention.received_at), mention.id))
    for mention in ordered:
        words = signature(mention.text)
        if mention.triage.kind in NOT_ISSUES or not words:
            continue
        rule = top_rule(mention.triage)
        scored = [
            (similarity(words, group.words), -index, group)
            for index, group in enumerate(groups)
            if group.rule == rule
        ]
        best = max(scored, key=lambda entry: entry[:2], default=None)
        if best is not None and best[0] >= KB_SIMILAR:
            best[2].members.append(mention)
        else:
            groups.append(ReportGroup(rule, words, [mention]))
    return groups


def _common_words(members: list[StoredMention]) -> list[str]:
    """Words in at least half of the group's reports, most common first."""
    counts = Counter(word for member in members for word in signature(member.text))
    common = [word for word, n in counts.items() if 2 * n >= len(members)]
    return sorted(common, key=lambda word: (-counts[word], word))[:KB_WORDS]


def _group_row(group: ReportGroup) -> dict[str, Any]:
    kinds = Counter(member.triage.kind for member in group.members)
    return {
        "name": short_text(group.members[0].text),
        "count": len(group.members),
        "priority": _mode(Counter(member.priority for member in group.members)),
        "incident_id": None,
        "source": "question" if kinds.most_common(1)[0][0] == "question" else "problem",
        "rule": group.rule,
        "words": _common_words(group.members),
        "example_mention_ids": [member.id for member in group.members[:KB_EXAMPLES]],
    }


def kb_candidates(
    mentions: Sequence[StoredMention], incidents: Sequence[IncidentFacts]
) -> list[dict[str, Any]]:
    """Problems reported 3+ times: incidents by their reports, then repeated questions and
    problems among the mentions no incident holds. Most reported first."""
    rows = [
        {
            **_incident_row(incident),
            "source": "incident",
            "rule": None,
            "words": [],
            "example_mention_ids": list(incident.mention_ids[:KB_EXAMPLES]),
        }
        for incident in incidents
        if incident.title and incident.reports >= KB_MIN_REPORTS
    ]
    filed = _filed(incidents)
    groups = _group_reports(mention for mention in mentions if mention.id not in filed)
    rows += [_group_row(group) for group in groups if len(group.members) >= KB_MIN_REPORTS]
    return _ranked(rows)
