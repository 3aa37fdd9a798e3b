"""Which labels Hark puts on a GitHub issue, and what to change on one without fighting a
person; pure code (the write-back job in ``services.github_bot`` reads and writes).

Hark labels an issue with its kind (``bug``, ``feature``, ``question``), its priority
(``P0``..``P3``) and its category (``area: installation``...). It remembers what it wrote
(``Written``) and reads the issue's labels before each change:

- a kind or category label Hark wrote once is never added again: if it is gone, a person
  took it off;
- the priority label is Hark's only while the issue's priority labels are exactly the one
  Hark last wrote (or is writing): then a new triage (an edited issue) may swap it. Any
  other priority label, or Hark's taken off, is a person's decision, and Hark adds no
  priority label from then on. What a person did is also told by the webhook
  (``Written.person``, which wins over what the labels suggest, so a stale read of the
  issue cannot make Hark put back a label a person just took off);
- when a person chose a priority, Hark's own earlier priority label, if still on the issue
  beside theirs, comes off: one priority per issue, the person's.
"""

from __future__ import annotations

from dataclasses import dataclass

PRIORITIES = ("P0", "P1", "P2", "P3")
KINDS = {"bug": "bug", "feature": "feature", "question": "question"}  # praise, other: none
CATEGORY_PREFIX = "area: "
UNLABELLED_CATEGORIES = {"other"}

# GitHub wants six hex digits, no "#".
COLORS = {
    "P0": "b60205",
    "P1": "d93f0b",
    "P2": "fbca04",
    "P3": "0e8a16",
    "bug": "d73a4a",
    "feature": "a2eeef",
    "question": "d876e3",
}
CATEGORY_COLOR = "c5def5"
DESCRIPTIONS = {
    "P0": "Caro is unusable or unsafe: answered within 1 hour",
    "P1": "A large part is broken: answered within 4 business hours",
    "P2": "One narrow case is broken: answered within 24 business hours",
    "P3": "A wish, a question, a docs suggestion: answered within 48 business hours",
    "bug": "Something does not work as it should",
    "feature": "A new feature or a change asked for",
    "question": "A question about using Caro",
}


@dataclass(frozen=True)
class Wanted:
    """The labels a triage gives an issue."""

    priority: str
    others: tuple[str, ...]  # kind and category

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.others, self.priority)


@dataclass(frozen=True)
class Written:
    """What Hark wrote on one issue: every label it ever added, its priority label the last
    time one was confirmed, and the one it is adding (set before the request, so a job that
    dies between the request and the record still knows the label is its own)."""

    labels: frozenset[str] = frozenset()
    priority: str | None = None
    pending: str | None = None
    person: str | None = None  # the priority a person chose on GitHub ("none": took it off)


@dataclass(frozen=True)
class Plan:
    add: tuple[str, ...]
    remove: tuple[str, ...]
    person_priority: str | None  # a priority a person chose, which Hark leaves alone

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


def wanted_labels(priority: str, kind: str, category: str) -> Wanted:
    others = []
    if kind in KINDS:
        others.append(KINDS[kind])
    if category and category not in UNLABELLED_CATEGORIES:
        others.append(CATEGORY_PREFIX + category)
    return Wanted(priority, tuple(others))


def label_style(name: str) -> tuple[str, str]:
    """(colour, description) for a label Hark creates."""
    if name.startswith(CATEGORY_PREFIX):
        return CATEGORY_COLOR, f"Reports about {name.removeprefix(CATEGORY_PREFIX)}"
    return COLORS.get(name, "ededed"), DESCRIPTIONS.get(name, "")


def person_priority(current: set[str], written: Written) -> str | None:
    """The priority a person set on the issue (or "none", if they took Hark's off), else
    None while the issue's priority is Hark's. What the webhook said a person did wins."""
    if written.person is not None:
        return written.person
    on_issue = sorted(current & set(PRIORITIES))
    own = {written.priority, written.pending} - {None}
    if on_issue and not set(on_issue) <= own:
        return next((p for p in on_issue if p not in own), on_issue[0])
    if not on_issue and written.priority is not None:
        return "none"
    return None


def plan_labels(wanted: Wanted, current: set[str], written: Written) -> Plan:
    """What to add and remove so the issue carries ``wanted``, leaving alone what a person
    chose (see the module's docstring)."""
    add = [name for name in wanted.others if name not in current and name not in written.labels]
    remove: list[str] = []
    chosen = person_priority(current, written)
    own = {written.priority, written.pending}
    if chosen is None:
        if wanted.priority not in current:
            add.append(wanted.priority)
        keep = wanted.priority
    else:  # the person's choice stands; Hark's own label beside it comes off
        keep = chosen
    remove = [name for name in current & set(PRIORITIES) if name != keep and name in own]
    return Plan(tuple(add), tuple(sorted(remove)), chosen)
