"""The triage engine: a compiled rulebook that scores any message in one pass.

Compilation puts every keyword and phrase of every rule into one Aho-Corasick automaton
(pyahocorasick) and every distinct regular expression into one RE2 set, so the cost of a
message grows with its length and with what it matches, not with the number of rules.
Only rules with a hit are then evaluated (requirements, exclusions, negations, channel
filter) and scored.

A hit is recorded once per *pattern group* (one literal with one kind of word boundary, or
one regex of one rule), not once per rule using it: "not" may be the negation of hundreds
of rules. Which condition slots and which rules a group concerns is precomputed, so a
message's hits are sorted into its slots in one loop, and explanations are built only for
the rules that fire.

Where the time goes, and why the code looks as it does: the scans are C (the automaton,
RE2, ``str`` methods); the Python left is a loop per hit and a few statements per rule
evaluated. The records are built with ``tuple.__new__`` rather than through the
``NamedTuple`` constructors, which add a Python frame per record, and a regex used by
several rules runs once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial

import ahocorasick

from rules.matchers import MATCHER_TYPES, WORD_CHARS
from rules.normalize import normalize
from rules.regex import LinearRegex, RegexSet, char_offset
from rules.result import FiredRule, Match, Triage
from rules.schema import LEVELS, Condition, Rule, Rulebook

_MAX_MATCHES_SHOWN = 20  # per rule, in the explanation
_MAX_REGEX_MATCHES = 20  # per regular expression and message
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n]")

# The result records, each from one tuple (see the module docstring).
_new_match: Callable[[tuple], Match] = partial(tuple.__new__, Match)
_new_fired_rule: Callable[[tuple], FiredRule] = partial(tuple.__new__, FiredRule)

# A hit: (target id, start, end) in the normalized text.
Hit = tuple[int, int, int]
# A group hit: (group id, start, end).
GroupHit = tuple[int, int, int]
# A literal's groups: ((left bounded, right bounded, group id), ...).
LiteralGroups = tuple[tuple[bool, bool, int], ...]


class _CompiledRule:
    """A rule's conditions as slot numbers (one slot per condition; the negations of a
    rule share one slot, found in the same automaton pass as everything else)."""

    __slots__ = ("channels", "head", "match", "negation", "require", "unless", "window")

    def __init__(self, rule: Rule, slots: dict[str, list[int]]):
        self.match, self.require = tuple(slots["match"]), tuple(slots["require"])
        self.unless = tuple(slots["unless"])
        self.negation = slots["negation"][0] if slots["negation"] else None
        self.window = rule.negation_window
        self.channels = frozenset(rule.channels)
        # The FiredRule's fields but the matches.
        self.head = (rule.id, rule.description, rule.levels, rule.weight, rule.category, rule.kind)


class _RegexHits:
    """The rulebook's regexes: which of them match (one RE2 set pass) and where, as group
    hits, regex by regex in the order the set reports them.

    The set holds each distinct pattern once: the shipped rulebook uses 79 patterns 161
    times, and RE2's set pass takes about half as long over the distinct ones."""

    def __init__(self, entries: Iterable[tuple[str, int]]) -> None:
        groups_of: dict[str, list[int]] = defaultdict(list)
        for pattern, group in entries:
            groups_of[pattern].append(group)
        self.set = RegexSet(list(groups_of))
        self._regexes = [LinearRegex(pattern) for pattern in groups_of]
        self._groups = [tuple(groups) for groups in groups_of.values()]

    def find(self, text: str) -> list[GroupHit]:
        encoded = text.encode("utf-8")  # normalize() has replaced any lone surrogate
        matching = self.set.matching(encoded)
        if not matching:
            return []
        found: list[GroupHit] = []
        ascii_only = len(encoded) == len(text)
        for index in matching:
            spans = self._regexes[index].spans(encoded, _MAX_REGEX_MATCHES)
            if not ascii_only:
                spans = [(char_offset(encoded, a), char_offset(encoded, b)) for a, b in spans]
            found += [(group, start, end) for group in self._groups[index] for start, end in spans]
        return found


class Engine:
    """A rulebook compiled for matching. Build once, call ``classify`` many times."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._compiled: list[_CompiledRule] = []
        self._slot_rule: list[int] = []  # slot -> rule index
        self._slot_is_match: list[bool] = []
        self._targets: list[tuple[str, str]] = []  # target id -> (condition name, pattern)
        # literal -> {(left bounded, right bounded): [(slot, target id), ...]}
        literals: dict[str, dict[tuple[bool, bool], list]] = defaultdict(lambda: defaultdict(list))
        regexes: list[tuple[int, int, str]] = []  # (slot, target id, pattern)
        for rule_index, rule in enumerate(rulebook.rules):
            self._compiled.append(self._compile_rule(rule_index, rule, literals, regexes))
        # Per group id: ((slot, target id), ...), and the rules whose match it can satisfy.
        self._group_pairs: list[tuple[tuple[int, int], ...]] = []
        self._group_rules: list[frozenset[int]] = []
        self._automaton = self._build_automaton(literals)
        self._regex_hits = (
            _RegexHits(
                (pattern, self._add_group([(slot, target)])) for slot, target, pattern in regexes
            )
            if regexes
            else None
        )
        self._pages = {level: rulebook.priorities[level].pages for level in LEVELS}

    def _add_group(self, pairs: list[tuple[int, int]]) -> int:
        """Register a pattern group used by ``(slot, target id)`` pairs; return its id."""
        self._group_pairs.append(tuple(pairs))
        self._group_rules.append(
            frozenset(self._slot_rule[slot] for slot, _ in pairs if self._slot_is_match[slot])
        )
        return len(self._group_pairs) - 1

    def _build_automaton(self, literals: dict[str, dict]) -> ahocorasick.Automaton | None:
        """One automaton over every literal; a word's value is its length and its groups."""
        if not literals:
            return None
        automaton = ahocorasick.Automaton()
        for literal, by_bounds in literals.items():
            groups: LiteralGroups = tuple(
                (left, right, self._add_group(pairs)) for (left, right), pairs in by_bounds.items()
            )
            automaton.add_word(literal, (len(literal), groups))
        automaton.make_automaton()
        return automaton

    def _compile_rule(
        self, rule_index: int, rule: Rule, literals: dict, regexes: list
    ) -> _CompiledRule:
        """Give each condition of ``rule`` a slot and register its patterns."""
        slots: dict[str, list[int]] = {"match": [], "require": [], "unless": [], "negation": []}
        conditions = {role: getattr(rule, role) for role in ("match", "require", "unless")}
        if rule.negated_by:
            conditions["negation"] = [Condition(phrase=rule.negated_by)]
        for role, role_conditions in conditions.items():
            for position, condition in enumerate(role_conditions):
                slot = len(self._slot_rule)
                self._slot_rule.append(rule_index)
                self._slot_is_match.append(role == "match")
                slots[role].append(slot)
                for matcher, patterns in condition.matchers():
                    forms_of = MATCHER_TYPES[matcher].literal_forms
                    for pattern in patterns:
                        target = len(self._targets)
                        self._targets.append((f"{role}[{position}].{matcher}", pattern))
                        if forms_of is None:
                            regexes.append((slot, target, pattern))
                            continue
                        for form in forms_of(pattern):
                            bounds = (form.left_bounded, form.right_bounded)
                            literals[form.text][bounds].append((slot, target))
        return _CompiledRule(rule, slots)

    def classify(self, text: str, channel: str | None = None) -> Triage:
        """Score one message. ``channel`` is x, github, discord or email when known."""
        normalized = normalize(text)
        found = self._group_hits(normalized)
        if not found:
            return self._score([])
        candidates: set[int] = set()
        group_rules = self._group_rules
        for group, _, _ in found:
            candidates |= group_rules[group]
        if not candidates:
            return self._score([])
        by_slot = self._slot_hits(found)
        fired = []
        for index in sorted(candidates):
            rule = self._evaluate(self._compiled[index], by_slot, normalized, channel)
            if rule is not None:
                fired.append(rule)
        return self._score(fired)

    def _group_hits(self, text: str) -> list[GroupHit]:
        """Every group hit in ``text``: literals in the order they end (the longest first
        at one end), then regexes."""
        found: list[GroupHit] = []
        if self._automaton is not None:
            last = len(text) - 1
            word = WORD_CHARS
            for end, (length, groups) in self._automaton.iter(text):
                start = end - length + 1
                before_ok = start == 0 or text[start - 1] not in word
                after_ok = end == last or text[end + 1] not in word
                for left_bounded, right_bounded, group in groups:
                    if (before_ok or not left_bounded) and (after_ok or not right_bounded):
                        found.append((group, start, end + 1))
        if self._regex_hits is not None:
            found += self._regex_hits.find(text)
        return found

    def _slot_hits(self, found: list[GroupHit]) -> dict[int, list[Hit]]:
        """The hits of each condition slot that has any, in the order they were found."""
        by_slot: defaultdict[int, list[Hit]] = defaultdict(list)
        group_pairs = self._group_pairs
        for group, start, end in found:
            for slot, target in group_pairs[group]:
                by_slot[slot].append((target, start, end))
        return by_slot

    def _evaluate(
        self,
        compiled: _CompiledRule,
        by_slot: dict[int, list[Hit]],
        text: str,
        channel: str | None,
    ) -> FiredRule | None:
        if compiled.channels and channel not in compiled.channels:
            return None
        for slot in compiled.unless:
            if slot in by_slot:
                return None
        for slot in compiled.require:
            if slot not in by_slot:
                return None
        matched = [hit for slot in compiled.match if slot in by_slot for hit in by_slot[slot]]
        if compiled.negation in by_slot:
            negations = by_slot[compiled.negation]
            window = compiled.window
            matched = [hit for hit in matched if not _negated(text, hit[1], negations, window)]
            if not matched:
                return None
        shown: dict[tuple[int, int], Hit] = {}  # one entry per span: crash* and crash overlap
        for hit in matched[:_MAX_MATCHES_SHOWN]:
            shown.setdefault(hit[1:], hit)
        for slot in compiled.require:
            hit = by_slot[slot][0]
            shown.setdefault(hit[1:], hit)
        targets = self._targets
        matches = tuple(
            [
                _new_match((*targets[target], text[start:end], start, end))
                for target, start, end in shown.values()
            ]
        )
        return _new_fired_rule((*compiled.head, matches))

    def _score(self, fired: list[FiredRule]) -> Triage:
        book = self.rulebook
        scores: dict[str, float] = {level: 0.0 for level in LEVELS}
        for rule in fired:
            for level in rule.levels:
                scores[level] += rule.weight
        priority = book.defaults.priority
        for level in reversed(LEVELS):  # ends on the most urgent level that reached it
            scores[level] = round(scores[level], 3)  # 0.1 + 0.2 must reach 0.3
            if scores[level] >= book.threshold:
                priority = level
        return Triage(
            priority,
            _pick(fired, priority, "category") or book.defaults.category,
            _pick(fired, priority, "kind") or book.defaults.kind,
            scores[priority],
            self._pages[priority],
            scores,
            tuple(fired),
        )


def _pick(fired: list[FiredRule], priority: str, field: str) -> str | None:
    """The ``field`` (category or kind) of the strongest rule behind the decision: first
    among the rules that voted for the chosen priority, then among any positive rule."""
    best_for_priority = best_any = None
    for rule in fired:
        if getattr(rule, field) is None or rule.weight <= 0:
            continue
        if priority in rule.levels and (
            best_for_priority is None or rule.weight > best_for_priority.weight
        ):
            best_for_priority = rule
        if best_any is None or rule.weight > best_any.weight:
            best_any = rule
    best = best_for_priority or best_any
    value: str | None = getattr(best, field) if best else None
    return value


def _negated(text: str, start: int, negations: list[Hit], window: int) -> bool:
    """True when a negation ("no longer", "not", "不再") ends within ``window`` characters
    before ``start``, in the same clause: "it doesn't work, crashes on launch" is a crash."""
    for _, negation_start, negation_end in negations:
        if (
            start - window <= negation_start
            and negation_end <= start
            and _CLAUSE_BREAK.search(text, negation_end, start) is None
        ):
            return True
    return False
