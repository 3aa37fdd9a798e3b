"""The triage engine: a compiled rulebook that scores any message in one pass.

Compilation puts every keyword and phrase of every rule into one Aho-Corasick automaton
and every regular expression into one RE2 set, so the cost of a message grows with its
length and with what it matches, not with the number of rules. Only rules with a hit are
then evaluated (requirements, exclusions, negations, channel filter) and scored.

The matching loop is the hot path of every worker: it keeps plain tuples and builds the
explanation objects only for the rules that fire.
"""

from __future__ import annotations

import re
from collections import defaultdict

import ahocorasick
import re2

from rules.matchers import MATCHER_TYPES, RE2_OPTIONS, compile_regex, is_word_char
from rules.normalize import normalize
from rules.schema import LEVELS, Rule, Rulebook
from rules.triage import FiredRule, Match, Triage

_MAX_MATCHES_PER_CONDITION = 5
_LAST_CLAUSE_BREAK = re.compile(r".*[,.;:!?()\n]", re.DOTALL)

# A hit: (target id, start, end) in the normalized text.
Hit = tuple[int, int, int]


class _CompiledRule:
    """A rule's conditions as slot numbers (one slot per condition)."""

    __slots__ = ("channels", "match", "negations", "require", "rule", "unless", "window")

    def __init__(self, rule: Rule, match: list[int], require: list[int], unless: list[int]):
        self.rule = rule
        self.match, self.require, self.unless = tuple(match), tuple(require), tuple(unless)
        self.negations = tuple(normalize(n) for n in rule.negated_by)
        self.window = rule.negation_window
        self.channels = frozenset(rule.channels)


class Engine:
    """A rulebook compiled for matching. Build once, call ``classify`` many times."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._compiled: list[_CompiledRule] = []
        self._slot_rule: list[int] = []  # slot -> rule index
        self._slot_is_match: list[bool] = []
        self._targets: list[tuple[str, str]] = []  # target id -> (condition name, pattern)
        literals: dict[str, list[tuple[int, int, bool, bool]]] = defaultdict(list)
        self._regexes: list[tuple[int, int, re2._Regexp]] = []  # (slot, target id, regex)
        for rule_index, rule in enumerate(rulebook.rules):
            slots: dict[str, list[int]] = {"match": [], "require": [], "unless": []}
            for role, role_slots in slots.items():
                for position, condition in enumerate(getattr(rule, role)):
                    slot = len(self._slot_rule)
                    self._slot_rule.append(rule_index)
                    self._slot_is_match.append(role == "match")
                    role_slots.append(slot)
                    for matcher, patterns in condition.matchers():
                        name = f"{role}[{position}].{matcher}"
                        self._add_patterns(slot, name, matcher, patterns, literals)
            self._compiled.append(_CompiledRule(rule, **slots))
        self._automaton = _build_automaton(literals)
        self._regex_set = _build_regex_set([regex.pattern for _, _, regex in self._regexes])

    def _add_patterns(
        self, slot: int, name: str, matcher: str, patterns: list[str], literals: dict
    ) -> None:
        forms_of = MATCHER_TYPES[matcher].literal_forms
        for pattern in patterns:
            target = len(self._targets)
            self._targets.append((name, pattern))
            if forms_of is None:
                self._regexes.append((slot, target, compile_regex(pattern)))
                continue
            for form in forms_of(pattern):
                literals[form.text].append((slot, target, form.left_bounded, form.right_bounded))

    def classify(self, text: str, channel: str | None = None) -> Triage:
        """Score one message. ``channel`` is x, github, discord or email when known."""
        normalized = normalize(text)
        hits = self._find_hits(normalized)
        slot_rule, slot_is_match = self._slot_rule, self._slot_is_match
        candidates = sorted({slot_rule[slot] for slot in hits if slot_is_match[slot]})
        fired = []
        for index in candidates:
            rule = self._evaluate(self._compiled[index], hits, normalized, channel)
            if rule is not None:
                fired.append(rule)
        return self._score(fired)

    def _find_hits(self, text: str) -> dict[int, list[Hit]]:
        hits: dict[int, list[Hit]] = {}
        last = len(text) - 1
        for end, (length, targets) in self._automaton.iter(text) if self._automaton else ():
            start = end - length + 1
            before_ok = start == 0 or not is_word_char(text[start - 1])
            after_ok = end == last or not is_word_char(text[end + 1])
            for slot, target, left_bounded, right_bounded in targets:
                if (before_ok or not left_bounded) and (after_ok or not right_bounded):
                    found = hits.get(slot)
                    if found is None:
                        hits[slot] = [(target, start, end + 1)]
                    elif len(found) < _MAX_MATCHES_PER_CONDITION:
                        found.append((target, start, end + 1))
        if self._regex_set is not None:
            for index in self._regex_set.Match(text) or ():
                slot, target, regex = self._regexes[index]
                found = hits.setdefault(slot, [])
                for number, match in enumerate(regex.finditer(text)):
                    if number == _MAX_MATCHES_PER_CONDITION:
                        break
                    found.append((target, *match.span()))
        return hits

    def _evaluate(
        self, compiled: _CompiledRule, hits: dict[int, list[Hit]], text: str, channel: str | None
    ) -> FiredRule | None:
        if compiled.channels and channel not in compiled.channels:
            return None
        if any(slot in hits for slot in compiled.unless):
            return None
        if not all(slot in hits for slot in compiled.require):
            return None
        matched = [hit for slot in compiled.match for hit in hits.get(slot, ())]
        if compiled.negations:
            matched = [
                hit
                for hit in matched
                if not _negated(text, hit[1], compiled.negations, compiled.window)
            ]
            if not matched:
                return None
        required = [hits[slot][0] for slot in compiled.require]
        rule = compiled.rule
        matches = tuple(
            Match(*self._targets[target], text[start:end], start, end)
            for target, start, end in matched + required
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
        for level in LEVELS:
            scores[level] = round(scores[level], 3)  # 0.1 + 0.2 must reach 0.3
        reached = (level for level in LEVELS if scores[level] >= book.threshold)
        priority = next(reached, book.defaults.priority)
        return Triage(
            priority=priority,
            category=_pick(fired, priority, "category") or book.defaults.category,
            kind=_pick(fired, priority, "kind") or book.defaults.kind,
            score=scores[priority],
            pages=book.priorities[priority].pages,
            scores=scores,
            rules=tuple(fired),
        )


def _pick(fired: list[FiredRule], priority: str, field: str) -> str | None:
    """The category (or kind) of the strongest rule behind the decision: first among the
    rules that voted for the chosen priority, then among any positive rule."""
    best_for_priority = best_any = None
    for rule in fired:
        value = getattr(rule, field)
        if value is None or rule.weight <= 0:
            continue
        if priority in rule.levels and (
            best_for_priority is None or rule.weight > best_for_priority.weight
        ):
            best_for_priority = rule
        if best_any is None or rule.weight > best_any.weight:
            best_any = rule
    best = best_for_priority or best_any
    return getattr(best, field) if best else None


def _negated(text: str, start: int, negations: tuple[str, ...], window: int) -> bool:
    """True when a negation ("no longer", "not", "不再") stands as whole words within
    ``window`` characters before ``start``, in the same clause."""
    before = text[max(0, start - window) : start]
    clause = _LAST_CLAUSE_BREAK.match(before)
    if clause:  # "it doesn't work, crashes on launch": the negation is in another clause
        before = before[clause.end() :]
    for negation in negations:
        position = before.find(negation)
        while position != -1:
            end = position + len(negation)
            left_ok = position == 0 or not is_word_char(before[position - 1])
            right_ok = end == len(before) or not is_word_char(before[end])
            if left_ok and right_ok:
                return True
            position = before.find(negation, position + 1)
    return False


def _build_automaton(literals: dict[str, list]) -> ahocorasick.Automaton | None:
    if not literals:
        return None
    automaton = ahocorasick.Automaton()
    for literal, targets in literals.items():
        automaton.add_word(literal, (len(literal), tuple(targets)))
    automaton.make_automaton()
    return automaton


def _build_regex_set(patterns: list[str]) -> re2.Set | None:
    if not patterns:
        return None
    regex_set = re2.Set.SearchSet(RE2_OPTIONS)
    for pattern in patterns:
        regex_set.Add(pattern)
    regex_set.Compile()
    return regex_set
