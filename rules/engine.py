"""The triage engine: a compiled rulebook that scores any message in one pass.

Compilation puts every keyword and phrase of every rule into one Aho-Corasick automaton
and every regular expression into one RE2 set, so the cost of a message grows with its
length and with what it matches, not with the number of rules. Only rules with a hit are
then evaluated (requirements, exclusions, negations, channel filter) and scored.

A hit is recorded once per *pattern group* (one literal with one kind of word boundary, or
one regex), not once per rule using it: "not" may be the negation of hundreds of rules.
Which rules a group concerns is precomputed; the hits of one rule's conditions are looked
up only for the rules that are evaluated, and explanations are built only for the rules
that fire.

The per-message work runs in C (rules/_fastpath_src, the module ``rules._fastpath``) on
tables this class compiles; ``classify_reference`` below is the same work in Python, the
readable statement of what the C code computes, held equal to it by
tests/unit/test_fastpath.py, and what runs where the extension could not be built.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict

import ahocorasick

from rules.matchers import MATCHER_TYPES, WORD_CHARS
from rules.normalize import normalize
from rules.regex import LinearRegex, RegexSet, char_offset
from rules.result import FiredRule, Match, Triage
from rules.schema import LEVELS, Condition, Rule, Rulebook

try:  # built by `pip install` from rules/_fastpath_src; without a C compiler, Python does it
    from rules import _fastpath
except ImportError:  # pragma: no cover - tests assert the fast path is there
    _fastpath = None

_MAX_MATCHES_SHOWN = 20  # per rule, in the explanation
_MAX_REGEX_MATCHES = 20  # per regular expression and message
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n]")

_CATEGORY, _KIND = FiredRule._fields.index("category"), FiredRule._fields.index("kind")

# A hit: (target id, start, end) in the normalized text.
Hit = tuple[int, int, int]
# A group hit: (group id, start, end); a group is one literal with one kind of boundary.
GroupHit = tuple[int, int, int]


class _CompiledRule:
    """A rule's conditions as slot numbers (one slot per condition; the negations of a
    rule share one slot, found in the same automaton pass as everything else)."""

    __slots__ = ("channels", "match", "negation", "require", "rule", "unless", "window")

    def __init__(self, rule: Rule, slots: dict[str, list[int]]):
        self.rule = rule
        self.match, self.require = tuple(slots["match"]), tuple(slots["require"])
        self.unless = tuple(slots["unless"])
        self.negation = slots["negation"][0] if slots["negation"] else None
        self.window = rule.negation_window
        self.channels = frozenset(rule.channels)

    def row(self) -> tuple:
        """This rule as the C core reads it (rules/_fastpath_src/tables.c, load_rule)."""
        rule = self.rule
        return (
            self.channels or None,
            self.match,
            self.require,
            self.unless,
            -1 if self.negation is None else self.negation,
            self.window,
            (rule.id, rule.description, rule.levels, rule.weight, rule.category, rule.kind),
        )


class _RegexHits:
    """The rulebook's regexes: which of them match (one RE2 set pass) and where, as group
    hits. The C core calls ``set.matching`` and ``spans``; they hold no reference to the
    Engine, so a dropped engine is freed at once, without waiting for the cycle collector
    (its RE2 set may hold tens of megabytes)."""

    def __init__(self, regexes: list[LinearRegex], groups: list[int]) -> None:
        self.set = RegexSet([regex.pattern for regex in regexes])
        self.regexes = regexes
        self.groups = groups  # the group id of each regex

    def find(self, text: str) -> list[GroupHit]:
        encoded = text.encode("utf-8")  # normalize() has replaced any lone surrogate
        return self.spans(text, encoded, self.set.matching(encoded))

    def spans(self, text: str, encoded: bytes, indexes: list[int]) -> list[GroupHit]:
        """The group hits of the regexes ``RegexSet.matching`` found in ``encoded``."""
        found: list[GroupHit] = []
        ascii_only = len(encoded) == len(text)
        for index in indexes:
            group, regex = self.groups[index], self.regexes[index]
            for start, end in regex.spans(encoded, _MAX_REGEX_MATCHES):
                if not ascii_only:
                    start, end = char_offset(encoded, start), char_offset(encoded, end)
                found.append((group, start, end))
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
        self._regexes: list[tuple[int, int, LinearRegex]] = []  # (slot, target id, regex)
        for rule_index, rule in enumerate(rulebook.rules):
            self._compiled.append(self._compile_rule(rule_index, rule, literals))
        # Per group id: {slot: (target id, ...)}, the slots as a set, the rules it can fire.
        self._group_targets: list[dict[int, tuple[int, ...]]] = []
        self._group_slots: list[frozenset[int]] = []
        self._group_rules: list[frozenset[int]] = []
        self._literal_groups = self._register_literals(literals)
        self._regex_hits = (
            _RegexHits(
                [regex for _, _, regex in self._regexes],
                [self._add_group([(slot, target)]) for slot, target, _ in self._regexes],
            )
            if self._regexes
            else None
        )
        self._pages = {level: rulebook.priorities[level].pages for level in LEVELS}
        self._core = self._fast_core()

    def _add_group(self, targets: list[tuple[int, int]]) -> int:
        """Register a pattern group used by ``(slot, target id)`` pairs; return its id."""
        by_slot: dict[int, list[int]] = defaultdict(list)
        for slot, target in targets:
            by_slot[slot].append(target)
        self._group_targets.append({slot: tuple(ids) for slot, ids in by_slot.items()})
        self._group_slots.append(frozenset(by_slot))
        self._group_rules.append(
            frozenset(self._slot_rule[slot] for slot in by_slot if self._slot_is_match[slot])
        )
        return len(self._group_targets) - 1

    def _register_literals(self, literals: dict[str, dict]) -> list[tuple[str, tuple]]:
        """Every literal with its groups as ``(left bounded, right bounded, group id)``:
        the words of the automaton (the C core builds its own from this list)."""
        return [
            (
                literal,
                tuple(
                    (left, right, self._add_group(targets))
                    for (left, right), targets in by_bounds.items()
                ),
            )
            for literal, by_bounds in literals.items()
        ]

    @functools.cached_property
    def _automaton(self) -> ahocorasick.Automaton | None:
        """The reference path's automaton, built on first use: a word's value is its
        length and its groups."""
        if not self._literal_groups:
            return None
        automaton = ahocorasick.Automaton()
        for literal, groups in self._literal_groups:
            automaton.add_word(literal, (len(literal), groups))
        automaton.make_automaton()
        return automaton

    def _compile_rule(self, rule_index: int, rule: Rule, literals: dict) -> _CompiledRule:
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
                    name = f"{role}[{position}].{matcher}"
                    self._add_patterns(slot, name, matcher, patterns, literals)
        return _CompiledRule(rule, slots)

    def _add_patterns(
        self, slot: int, name: str, matcher: str, patterns: list[str], literals: dict
    ) -> None:
        forms_of = MATCHER_TYPES[matcher].literal_forms
        for pattern in patterns:
            target = len(self._targets)
            self._targets.append((name, pattern))
            if forms_of is None:
                self._regexes.append((slot, target, LinearRegex(pattern)))
                continue
            for form in forms_of(pattern):
                bounds = (form.left_bounded, form.right_bounded)
                literals[form.text][bounds].append((slot, target))

    def _fast_core(self) -> _fastpath.Core | None:
        """The compiled tables handed to the C implementation of ``classify``."""
        if _fastpath is None:
            return None
        book = self.rulebook
        defaults = book.defaults
        return _fastpath.Core(
            literals=self._literal_groups,
            group_pairs=[_flat_pairs(targets) for targets in self._group_targets],
            group_rules=[sorted(rules) for rules in self._group_rules],
            slot_count=len(self._slot_rule),
            regexes=(hits.set.matching, hits.spans) if (hits := self._regex_hits) else None,
            rules=[compiled.row() for compiled in self._compiled],
            targets=self._targets,
            scoring=(
                LEVELS,
                float(book.threshold),
                defaults.priority,
                defaults.category,
                defaults.kind,
                tuple(self._pages[level] for level in LEVELS),
            ),
            types=(Match, FiredRule, Triage),
        )

    @property
    def accelerated(self) -> bool:
        """Whether ``classify`` runs on the C fast path (False: the extension is not built)."""
        return self._core is not None

    def classify(self, text: str, channel: str | None = None) -> Triage:
        """Score one message. ``channel`` is x, github, discord or email when known."""
        if self._core is None:
            return self.classify_reference(normalize(text), channel)
        return self._core.classify(text, channel)

    def classify_reference(self, normalized: str, channel: str | None = None) -> Triage:
        """``classify`` in Python, on normalized text: the statement of what the C fast path
        (rules/_fastpath_src) computes, and what runs where it could not be built."""
        found = self._find_group_hits(normalized)
        fired = []
        if found:
            groups = {group for group, _, _ in found}
            group_slots, group_rules = self._group_slots, self._group_rules
            slots = frozenset().union(*[group_slots[group] for group in groups])
            candidates = frozenset().union(*[group_rules[group] for group in groups])
            for index in sorted(candidates):
                rule = self._evaluate(self._compiled[index], found, slots, normalized, channel)
                if rule is not None:
                    fired.append(rule)
        return self._score(fired)

    def _find_group_hits(self, text: str) -> list[GroupHit]:
        """Every group hit in ``text``, literals in the order they end, then regexes."""
        found: list[GroupHit] = []
        last = len(text) - 1
        word = WORD_CHARS
        for end, (length, groups) in self._automaton.iter(text) if self._automaton else ():
            start = end - length + 1
            before_ok = start == 0 or not word[text[start - 1]]
            after_ok = end == last or not word[text[end + 1]]
            for left_bounded, right_bounded, group in groups:
                if (left_bounded and not before_ok) or (right_bounded and not after_ok):
                    continue
                found.append((group, start, end + 1))
        if self._regex_hits is not None:
            found.extend(self._regex_hits.find(text))
        return found

    def _hits(self, slot: int, found: list[GroupHit]) -> list[Hit]:
        """The hits of one condition slot, in the order they were found."""
        group_targets = self._group_targets
        return [
            (target, start, end)
            for group, start, end in found
            for target in group_targets[group].get(slot, ())
        ]

    def _evaluate(
        self,
        compiled: _CompiledRule,
        found: list[GroupHit],
        slots: frozenset[int],
        text: str,
        channel: str | None,
    ) -> FiredRule | None:
        if compiled.channels and channel not in compiled.channels:
            return None
        for slot in compiled.unless:
            if slot in slots:
                return None
        for slot in compiled.require:
            if slot not in slots:
                return None
        matched = [hit for slot in compiled.match for hit in self._hits(slot, found)]
        negations = self._hits(compiled.negation, found) if compiled.negation in slots else None
        if negations:
            matched = [
                hit for hit in matched if not _negated(text, hit[1], negations, compiled.window)
            ]
            if not matched:
                return None
        required = [self._hits(slot, found)[0] for slot in compiled.require]
        rule = compiled.rule
        shown: dict[tuple[int, int], Hit] = {}  # one entry per span: crash* and crash overlap
        for hit in matched[:_MAX_MATCHES_SHOWN] + required:
            shown.setdefault(hit[1:], hit)
        matches = tuple(
            Match(*self._targets[target], text[start:end], start, end)
            for target, start, end in shown.values()
        )
        return FiredRule(
            rule.id, rule.description, rule.levels, rule.weight, rule.category, rule.kind, matches
        )

    def _score(self, fired: list[FiredRule]) -> Triage:
        book = self.rulebook
        scores = dict.fromkeys(LEVELS, 0.0)
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
            _pick(fired, priority, _CATEGORY) or book.defaults.category,
            _pick(fired, priority, _KIND) or book.defaults.kind,
            scores[priority],
            self._pages[priority],
            scores,
            tuple(fired),
        )


def _flat_pairs(targets: dict[int, tuple[int, ...]]) -> list[int]:
    """A group's ``{slot: (target id, ...)}`` as ``[slot, target, slot, target, ...]``."""
    return [number for slot, ids in targets.items() for target in ids for number in (slot, target)]


def _pick(fired: list[FiredRule], priority: str, field: int) -> str | None:
    """The category (or kind: ``field`` is the FiredRule index) of the strongest rule behind
    the decision: first among the rules that voted for the chosen priority, then among any
    positive rule."""
    best_for_priority = best_any = None
    for rule in fired:
        if rule[field] is None or rule.weight <= 0:
            continue
        if priority in rule.levels and (
            best_for_priority is None or rule.weight > best_for_priority.weight
        ):
            best_for_priority = rule
        if best_any is None or rule.weight > best_any.weight:
            best_any = rule
    best = best_for_priority or best_any
    return best[field] if best else None


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
