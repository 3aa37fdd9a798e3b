"""The triage engine: a compiled rulebook that scores any message in one pass.

Compilation puts every keyword and phrase of every rule into one Aho-Corasick automaton
and every regular expression into one RE2 set, so the cost of a message grows with its
length and with what it matches, not with the number of rules. Only rules with a hit are
then evaluated (requirements, exclusions, negations, channel filter) and scored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import ahocorasick
import re2

from rules.matchers import MATCHER_TYPES, RE2_OPTIONS, compile_regex, is_word_char
from rules.normalize import normalize
from rules.schema import LEVELS, Rule, Rulebook
from rules.triage import FiredRule, Match, Triage

_MAX_MATCHES_PER_CONDITION = 5
_LAST_CLAUSE_BREAK = re.compile(r".*[,.;:!?()\n]", re.DOTALL)


@dataclass(frozen=True)
class _Slot:
    """One condition of one rule."""

    rule_index: int
    role: str  # "match", "require" or "unless"


@dataclass(frozen=True)
class _LiteralTarget:
    slot: int
    name: str  # e.g. "match[0].keyword", for explanations
    pattern: str
    left_bounded: bool
    right_bounded: bool


class Engine:
    """A rulebook compiled for matching. Build once, call ``classify`` many times."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._rules: list[Rule] = list(rulebook.rules)
        self._slots: list[_Slot] = []
        self._negations = [[normalize(n) for n in rule.negated_by] for rule in self._rules]
        literals: dict[str, list[_LiteralTarget]] = defaultdict(list)
        self._regexes: list[tuple[int, str, str, re2._Regexp]] = []
        self._slot_ranges: list[range] = []
        for rule_index, rule in enumerate(self._rules):
            first_slot = len(self._slots)
            for role in ("match", "require", "unless"):
                for position, condition in enumerate(getattr(rule, role)):
                    slot = len(self._slots)
                    self._slots.append(_Slot(rule_index, role))
                    for matcher, patterns in condition.matchers():
                        name = f"{role}[{position}].{matcher}"
                        self._add_patterns(slot, name, matcher, patterns, literals)
            self._slot_ranges.append(range(first_slot, len(self._slots)))
        self._automaton = _build_automaton(literals)
        self._regex_set = _build_regex_set(pattern for _, _, pattern, _ in self._regexes)

    def _add_patterns(
        self,
        slot: int,
        name: str,
        matcher: str,
        patterns: list[str],
        literals: dict[str, list[_LiteralTarget]],
    ) -> None:
        forms_of = MATCHER_TYPES[matcher].literal_forms
        for pattern in patterns:
            if forms_of is None:
                self._regexes.append((slot, name, pattern, compile_regex(pattern)))
                continue
            for form in forms_of(pattern):
                literals[form.text].append(
                    _LiteralTarget(slot, name, pattern, form.left_bounded, form.right_bounded)
                )

    def classify(self, text: str, channel: str | None = None) -> Triage:
        """Score one message. ``channel`` is x, github, discord or email when known."""
        normalized = normalize(text)
        hits = self._find_hits(normalized)
        candidates = sorted(
            {self._slots[slot].rule_index for slot in hits if self._slots[slot].role == "match"}
        )
        fired = [
            rule
            for rule in (self._evaluate(i, hits, normalized, channel) for i in candidates)
            if rule is not None
        ]
        return self._score(fired)

    def _find_hits(self, text: str) -> dict[int, list[Match]]:
        hits: dict[int, list[Match]] = defaultdict(list)
        for end, (length, targets) in self._automaton.iter(text) if self._automaton else ():
            start = end - length + 1
            before_ok = start == 0 or not is_word_char(text[start - 1])
            after_ok = end + 1 == len(text) or not is_word_char(text[end + 1])
            for target in targets:
                if (before_ok or not target.left_bounded) and (
                    after_ok or not target.right_bounded
                ):
                    found = hits[target.slot]
                    if len(found) < _MAX_MATCHES_PER_CONDITION:
                        found.append(
                            Match(
                                target.name, target.pattern, text[start : end + 1], start, end + 1
                            )
                        )
        if self._regex_set is not None:
            for index in self._regex_set.Match(text) or ():
                slot, name, pattern, compiled = self._regexes[index]
                for number, found in enumerate(compiled.finditer(text)):
                    if number == _MAX_MATCHES_PER_CONDITION:
                        break
                    hits[slot].append(Match(name, pattern, found.group(), *found.span()))
        return hits

    def _evaluate(self, index: int, hits: dict, text: str, channel: str | None) -> FiredRule | None:
        rule = self._rules[index]
        if rule.channels and channel not in rule.channels:
            return None
        by_role: dict[str, list[list[Match]]] = defaultdict(list)
        for slot_index in self._slot_ranges[index]:
            by_role[self._slots[slot_index].role].append(hits.get(slot_index, []))
        if any(by_role["unless"]):
            return None
        if not all(by_role["require"]):
            return None
        negations = self._negations[index]
        matched = [
            match
            for found in by_role["match"]
            for match in found
            if not _negated(text, match.start, negations, rule.negation_window)
        ]
        if not matched:
            return None
        required = [found[0] for found in by_role["require"]]
        return FiredRule(
            rule.id,
            rule.description,
            rule.levels,
            rule.weight,
            rule.category,
            rule.kind,
            tuple(matched + required),
        )

    def _score(self, fired: list[FiredRule]) -> Triage:
        book = self.rulebook
        scores = dict.fromkeys(LEVELS, 0.0)
        for rule in fired:
            for level in rule.levels:
                scores[level] += rule.weight
        scores = {level: round(score, 3) for level, score in scores.items()}
        reached = [level for level in LEVELS if scores[level] >= book.threshold]
        priority = reached[0] if reached else book.defaults.priority
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
    for eligible in (
        [rule for rule in fired if priority in rule.levels and rule.weight > 0],
        [rule for rule in fired if rule.weight > 0],
    ):
        best = max(
            (rule for rule in eligible if getattr(rule, field)),
            key=lambda rule: rule.weight,
            default=None,
        )
        if best is not None:
            return getattr(best, field)
    return None


def _negated(text: str, start: int, negations: list[str], window: int) -> bool:
    """True when a negation ("no longer", "not", "不再") ends within ``window`` characters
    before ``start``, standing as whole words."""
    if not negations:
        return False
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


def _build_automaton(literals: dict[str, list[_LiteralTarget]]) -> ahocorasick.Automaton | None:
    if not literals:
        return None
    automaton = ahocorasick.Automaton()
    for literal, targets in literals.items():
        automaton.add_word(literal, (len(literal), tuple(targets)))
    automaton.make_automaton()
    return automaton


def _build_regex_set(patterns) -> re2.Set | None:
    regex_set = re2.Set.SearchSet(RE2_OPTIONS)
    count = 0
    for pattern in patterns:
        regex_set.Add(pattern)
        count += 1
    if not count:
        return None
    regex_set.Compile()
    return regex_set
