"""The triage engine: a compiled rulebook that scores any message in one pass.

Compilation puts every keyword and phrase of every rule into one Aho-Corasick automaton
(pyahocorasick) and every distinct regular expression into one RE2 set, so the cost of a
message grows with its length and with what it matches, not with the number of rules.
``shell`` conditions (destructive commands) are found by ``rules.shell`` in one more pass,
on the text with shell quoting undone, and their hits join the others.
Only rules with a hit are then evaluated (requirements, exclusions, negations, channel
filter) and scored.

Each literal of the automaton (a keyword form or phrase with one kind of word boundary)
and each regex carries, precomputed, its *uses*, the condition slots it satisfies as
``(slot, target, rule)``, and the rules whose ``match`` it can satisfy. A message's hits go
straight into per-slot lists as they are found, in the order they are found (literals in
the order they end, then regexes in the order RE2's set reports them); only the rules
named by a hit are evaluated, and explanations are built only for the rules that fire.

Speed, in Python: the scans are C (the automaton, RE2, ``str`` methods), and the Python
left is a short loop per hit and a few statements per rule evaluated. To keep it short,
rules are unpacked from tuples, the result records are built with ``tuple.__new__``
(the ``NamedTuple`` constructors add a Python frame per record), the common single-hit
explanation skips the de-duplication of spans, and a regex used by several rules runs once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

import ahocorasick

from rules.clauses import TOP, counters_elsewhere, is_model
from rules.matchers import ANY_DESTRUCTIVE, MATCHER_TYPES, WORD_CHARS
from rules.normalize import normalize
from rules.regex import LinearRegex, RegexSet, char_offset
from rules.result import FiredRule, Match, Triage
from rules.schema import LEVELS, Condition, Rule, Rulebook
from rules.second_opinion import SecondOpinion
from rules.shell import find_destructive

_MAX_MATCHES_SHOWN = 20  # per rule, in the explanation
_MAX_REGEX_MATCHES = 20  # per regular expression and message
_CLAUSE_BREAK = re.compile(r"[,.;:!?()\n]")

# The result records, each from one tuple (see the module docstring).
_new_match: Callable[[tuple], Match] = partial(tuple.__new__, Match)
_new_fired_rule: Callable[[tuple], FiredRule] = partial(tuple.__new__, FiredRule)
_new_triage: Callable[[tuple], Triage] = partial(tuple.__new__, Triage)
_category_of = itemgetter(FiredRule._fields.index("category"))
_kind_of = itemgetter(FiredRule._fields.index("kind"))
_end_of = itemgetter(2)  # of a Hit

# A hit: (target id, start, end) in the normalized text; a target is one pattern of one
# condition, named in explanations.
Hit = tuple[int, int, int]
# What a literal or regex satisfies: its uses ((slot, target, rule index), ...) and the
# rules it can fire.
Uses = tuple[tuple[int, int, int], ...]
Reach = tuple[Uses, frozenset[int]]
SlotHits = defaultdict[int, list[Hit]]
# A hit of a literal or regex: (its uses, start, end).
ReachHit = tuple[Uses, int, int]


class _CompiledRule(NamedTuple):
    """A rule's conditions as slot numbers (one slot per condition; the negations of a
    rule share one slot, found in the same pass as everything else)."""

    channels: frozenset[str]
    match: tuple[int, ...]
    require: tuple[int, ...]
    unless: tuple[int, ...]
    negation: int | None
    window: int
    head: tuple[Any, ...]  # the FiredRule's fields but the matches
    model: tuple[str, float] | None  # a ``model`` rule's (priority, min probability)


class _Regexes:
    """The rulebook's regexes: which of them match (one RE2 set pass) and where.

    The set holds each distinct pattern once (when this was written, the shipped rulebook
    used 79 patterns 161 times; RE2's set pass takes about half as long over the distinct
    ones). Hits are added regex by regex in the order the set reports them, so that two
    regexes of one condition are quoted in that order, as they always were."""

    def __init__(self, entries: Iterable[tuple[str, Reach]]) -> None:
        reaches: dict[str, list[Reach]] = defaultdict(list)
        for pattern, reach in entries:
            reaches[pattern].append(reach)
        self.set = RegexSet(list(reaches))
        self._regexes = [LinearRegex(pattern) for pattern in reaches]
        self._reaches = [tuple(pattern_reaches) for pattern_reaches in reaches.values()]

    def add_hits(self, text: str, found: list[ReachHit], candidates: set[int]) -> None:
        """Add the regex hits in ``text`` to ``found``, and the rules they name."""
        encoded = text.encode("utf-8")  # normalize() has replaced any lone surrogate
        matching = self.set.matching(encoded)
        if not matching:
            return
        ascii_only = len(encoded) == len(text)
        for index in matching:
            spans = self._regexes[index].spans(encoded, _MAX_REGEX_MATCHES)
            if not spans:  # the set and the search agree; should they not, no hit
                continue
            if not ascii_only:
                spans = [(char_offset(encoded, a), char_offset(encoded, b)) for a, b in spans]
            for uses, rules in self._reaches[index]:
                candidates |= rules
                found += [(uses, start, end) for start, end in spans]


class MissingSecondOpinion(ValueError):
    """The rulebook has ``model`` rules, and no model was given to the engine."""


class Engine:
    """A rulebook compiled for matching. Build once, call ``classify`` many times.

    ``second_opinion`` is the loaded model that ``model`` rules ask; it is required when
    the rulebook has any."""

    def __init__(self, rulebook: Rulebook, second_opinion: SecondOpinion | None = None) -> None:
        self.rulebook = rulebook
        self.second_opinion = second_opinion
        model_rules = rulebook.model_rules()
        if model_rules and second_opinion is None:
            raise MissingSecondOpinion(
                f"rules {', '.join(rule.id for rule in model_rules)} ask the model"
                f" ({rulebook.model_file}), and no model was loaded"
            )
        self._compiled: list[_CompiledRule] = []
        self._slot_rule: list[int] = []  # slot -> rule index
        self._slot_is_match: list[bool] = []
        self._targets: list[tuple[str, str]] = []  # target id -> (condition name, pattern)
        # literal -> {(left bounded, right bounded): [(slot, target id), ...]}
        literals: dict[str, dict[tuple[bool, bool], list]] = defaultdict(lambda: defaultdict(list))
        regexes: list[tuple[int, int, str]] = []  # (slot, target id, pattern)
        shells: dict[str, list[tuple[int, int]]] = defaultdict(list)  # kind -> (slot, target)
        for rule_index, rule in enumerate(rulebook.rules):
            self._compiled.append(self._compile_rule(rule_index, rule, literals, regexes, shells))
        # ``shell`` conditions: what each kind of destructive command (or any) reaches.
        self._shells = {kind: self._reach(pairs) for kind, pairs in shells.items()}
        self._automaton = self._build_automaton(literals)
        self._regexes = (
            _Regexes((pattern, self._reach([(slot, target)])) for slot, target, pattern in regexes)
            if regexes
            else None
        )
        self._model_rules = frozenset(
            index for index, rule in enumerate(rulebook.rules) if rule.model is not None
        )
        # A P0 is high urgency only when the model agrees, if some rule asks it about P0.
        self._asks_about_top = any(
            rule.model.priority == TOP and rule.weight > 0 for rule in model_rules if rule.model
        )
        self._strong = rulebook.urgency.strong_evidence
        self._clause_counters = frozenset(
            rule.id
            for rule in rulebook.rules
            if rule.weight < 0 and TOP in rule.levels and rule.reach == "clause"
        )
        defaults = rulebook.defaults
        self._threshold = rulebook.threshold
        self._pages = {level: rulebook.priorities[level].pages for level in LEVELS}
        self._quiet = (defaults.priority, defaults.category, defaults.kind)

    def _reach(self, pairs: list[tuple[int, int]]) -> Reach:
        """The uses of a literal or regex used by ``(slot, target)`` pairs, and the rules
        it can fire."""
        slot_rule, is_match = self._slot_rule, self._slot_is_match
        uses = tuple((slot, target, slot_rule[slot]) for slot, target in pairs)
        return uses, frozenset(slot_rule[slot] for slot, _ in pairs if is_match[slot])

    def _build_automaton(self, literals: dict[str, dict]) -> ahocorasick.Automaton | None:
        """One automaton over every literal; a word's value is its length and, for each
        kind of word boundary it is used with, the bounds and what it reaches."""
        if not literals:
            return None
        automaton = ahocorasick.Automaton()
        for literal, by_bounds in literals.items():
            variants = tuple(
                (left, right, *self._reach(pairs)) for (left, right), pairs in by_bounds.items()
            )
            automaton.add_word(literal, (len(literal), variants))
        automaton.make_automaton()
        return automaton

    def _compile_rule(
        self, rule_index: int, rule: Rule, literals: dict, regexes: list, shells: dict
    ) -> _CompiledRule:
        """Give each condition of ``rule`` a slot and register its patterns."""
        slots: dict[str, list[int]] = {"match": [], "require": [], "unless": [], "negation": []}
        conditions = {role: getattr(rule, role) or [] for role in ("match", "require", "unless")}
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
                        if MATCHER_TYPES[matcher].detector:
                            shells[pattern].append((slot, target))
                            continue
                        if forms_of is None:
                            regexes.append((slot, target, pattern))
                            continue
                        for form in forms_of(pattern):
                            bounds = (form.left_bounded, form.right_bounded)
                            literals[form.text][bounds].append((slot, target))
        return _CompiledRule(
            frozenset(rule.channels),
            tuple(slots["match"]),
            tuple(slots["require"]),
            tuple(slots["unless"]),
            slots["negation"][0] if slots["negation"] else None,
            rule.negation_window,
            (rule.id, rule.description, rule.levels, rule.weight, rule.category, rule.kind),
            (rule.model.priority, rule.model.min_probability) if rule.model else None,
        )

    def classify(
        self,
        text: str,
        channel: str | None = None,
        probabilities: dict[str, float] | None = None,
    ) -> Triage:
        """Score one message. ``channel`` is x, github, discord or email when known.
        ``probabilities`` is the second opinion on ``text`` when the caller already has it
        (``classify_batch``); otherwise the model is asked here, if any rule asks it."""
        normalized = normalize(text)
        by_slot, candidates = self._hits(normalized, self._model_rules)
        model = None
        if self._model_rules:
            model = probabilities or self._opinion([text])[0]
        fired = []
        if candidates:
            compiled = self._compiled
            for index in sorted(candidates):
                rule = (
                    self._evaluate_model(compiled[index], by_slot, channel, model)
                    if model is not None and index in self._model_rules
                    else self._evaluate(compiled[index], by_slot, normalized, channel)
                )
                if rule is not None:
                    fired.append(rule)
        return self._score(fired, normalized, model)

    def classify_batch(self, messages: list[tuple[str, str | None]]) -> list[Triage]:
        """``classify`` for many ``(text, channel)`` pairs, asking the model once for all."""
        if not self._model_rules:
            return [self.classify(text, channel) for text, channel in messages]
        opinions = self._opinion([text for text, _ in messages])
        return [
            self.classify(text, channel, opinion)
            for (text, channel), opinion in zip(messages, opinions, strict=True)
        ]

    def _opinion(self, texts: list[str]) -> list[dict[str, float]]:
        assert self.second_opinion is not None  # checked when the engine was built
        return [dict(found) for found in self.second_opinion.probabilities_batch(texts)]

    def _evaluate_model(
        self,
        compiled: _CompiledRule,
        by_slot: SlotHits,
        channel: str | None,
        model: dict[str, float],
    ) -> FiredRule | None:
        """A ``model`` rule fired (its explanation quotes the probability), or None."""
        if compiled.channels and channel not in compiled.channels:
            return None
        if any(slot in by_slot for slot in compiled.unless):
            return None
        assert compiled.model is not None
        level, minimum = compiled.model
        probability = model.get(level, 0.0)
        if probability < minimum:
            return None
        quoted = f"P({level}) = {probability:.2f}"
        match = _new_match(("model", f"P({level}) >= {minimum:g}", quoted, 0, 0))
        return _new_fired_rule((*compiled.head, (match,)))

    def _hits(self, text: str, always: frozenset[int]) -> tuple[SlotHits, set[int]]:
        """The hits of each condition slot with any, in the order they were found, and the
        rules whose ``match`` they satisfy (the candidates to evaluate), with ``always``
        (the ``model`` rules, which no text hit makes candidates).

        Only the slots of candidates are filled: "not", the negation of many rules, is
        found everywhere, but matters only to the rules that are evaluated."""
        found: list[ReachHit] = []
        candidates: set[int] = set(always)
        if self._automaton is not None:
            last = len(text) - 1
            word = WORD_CHARS
            for end, (length, variants) in self._automaton.iter(text):
                start = end - length + 1
                before_ok = start == 0 or text[start - 1] not in word
                after_ok = end == last or text[end + 1] not in word
                for left_bounded, right_bounded, uses, rules in variants:
                    if (before_ok or not left_bounded) and (after_ok or not right_bounded):
                        candidates |= rules
                        found.append((uses, start, end + 1))
        if self._regexes is not None:
            self._regexes.add_hits(text, found, candidates)
        if self._shells:
            self._add_shell_hits(text, found, candidates)
        by_slot: SlotHits = defaultdict(list)
        if candidates:
            for uses, start, end in found:
                for slot, target, rule in uses:
                    if rule in candidates:
                        by_slot[slot].append((target, start, end))
        return by_slot, candidates

    def _add_shell_hits(self, text: str, found: list[ReachHit], candidates: set[int]) -> None:
        """The destructive commands in ``text`` (``rules.shell``), as hits of the ``shell``
        conditions that name their kind or any."""
        shells = self._shells
        for command in find_destructive(text, _MAX_REGEX_MATCHES):
            for kind in (ANY_DESTRUCTIVE, command.kind):
                if kind in shells:
                    uses, rules = shells[kind]
                    candidates |= rules
                    found.append((uses, command.start, command.end))

    def _evaluate(
        self, compiled: _CompiledRule, by_slot: SlotHits, text: str, channel: str | None
    ) -> FiredRule | None:
        """The rule fired, with its explanation; None when it does not fire."""
        channels, match, require, unless, negation, window, head, _ = compiled
        if channels and channel not in channels:
            return None
        for slot in unless:
            if slot in by_slot:
                return None
        for slot in require:
            if slot not in by_slot:
                return None
        if len(match) == 1:
            matched = by_slot[match[0]]  # a candidate: its one match slot was hit
        else:
            matched = [hit for slot in match if slot in by_slot for hit in by_slot[slot]]
        if negation is not None and negation in by_slot:
            negations = by_slot[negation]
            matched = [hit for hit in matched if not _negated(text, hit[1], negations, window)]
            if not matched:
                return None
        if require:  # each requirement's first hit, after the matches
            matched = matched[:_MAX_MATCHES_SHOWN] + [by_slot[slot][0] for slot in require]
        elif len(matched) > _MAX_MATCHES_SHOWN:
            matched = matched[:_MAX_MATCHES_SHOWN]
        targets = self._targets
        matches = tuple(
            [
                _new_match((*targets[target], text[start:end], start, end))
                for target, start, end in (matched if len(matched) == 1 else _per_span(matched))
            ]
        )
        return _new_fired_rule((*head, matches))

    def _score(self, fired: list[FiredRule], text: str, model: dict[str, float] | None) -> Triage:
        """The priority the fired rules' weights reach, with its category, kind and (for
        P0) urgency.

        A counter-signal to P0 counts against it only in the clause of a P0 signal ("it
        would delete ~ if I ran it"); one elsewhere in the message ("it would be great if"
        under a report that ``rm -rf`` ran) leaves the P0 standing at low urgency, so a
        person confirms it rather than nobody hearing of it."""
        scores: dict[str, float] = dict.fromkeys(LEVELS, 0.0)
        if not fired:
            priority, category, kind = self._quiet
            pages = self._pages[priority]
            return _new_triage((priority, category, kind, 0.0, pages, scores, (), None, model, ()))
        far = counters_elsewhere(fired, text, self._clause_counters)
        for rule in fired:
            weight = rule.weight
            for level in rule.levels:
                if level != TOP or rule.id not in far:
                    scores[level] += weight
        priority = self._quiet[0]
        for level in reversed(LEVELS):  # ends on the most urgent level that reached it
            if scores[level]:
                scores[level] = round(scores[level], 3)  # 0.1 + 0.2 must reach 0.3
                if scores[level] >= self._threshold:
                    priority = level
        category = _pick(fired, priority, _category_of) or self._quiet[1]
        kind = _pick(fired, priority, _kind_of) or self._quiet[2]
        score, pages = scores[priority], self._pages[priority]
        urgency = self._urgency(fired, far) if priority == TOP else None
        aside = tuple(rule.id for rule in fired if rule.id in far)
        return _new_triage(
            (priority, category, kind, score, pages, scores, tuple(fired), urgency, model, aside)
        )

    def _urgency(self, fired: list[FiredRule], far: set[str]) -> str:
        """ "high" or "low" for a P0 (see ``rules.schema.Urgency``): strong rules, or rules
        the model agrees with, page at high urgency whatever was set aside; without a
        second opinion, a P0 is high unless a counter-signal was set aside."""
        rules_alone = round(
            sum(r.weight for r in fired if TOP in r.levels and not is_model(r) and r.id not in far),
            3,
        )
        model_agrees = any(is_model(r) and TOP in r.levels and r.weight > 0 for r in fired)
        if rules_alone >= self._strong or (model_agrees and rules_alone >= self._threshold):
            return "high"
        return "high" if not self._asks_about_top and not far else "low"


def _per_span(hits: list[Hit]) -> Iterable[Hit]:
    """The first hit of each span, in order: ``crash*`` and ``crash`` overlap."""
    shown: dict[tuple[int, int], Hit] = {}
    for hit in hits:
        shown.setdefault(hit[1:], hit)
    return shown.values()


def _pick(fired: list[FiredRule], priority: str, field: Callable[[FiredRule], Any]) -> str | None:
    """The ``field`` (category or kind) of the strongest rule behind the decision: first
    among the rules that voted for the chosen priority, then among any positive rule."""
    best_for_priority = best_any = None
    for rule in fired:
        if field(rule) is None or rule.weight <= 0:
            continue
        if priority in rule.levels and (
            best_for_priority is None or rule.weight > best_for_priority.weight
        ):
            best_for_priority = rule
        if best_any is None or rule.weight > best_any.weight:
            best_any = rule
    best = best_for_priority or best_any
    value: str | None = field(best) if best else None
    return value


def _negated(text: str, start: int, negations: list[Hit], window: int) -> bool:
    """True when a negation ("no longer", "not", "不再") ends within ``window`` characters
    before ``start``, in the same clause: "it doesn't work, crashes on launch" is a crash.

    Negations are phrases, found in the order they end: the ones that can count are
    found by bisection, so that a long message full of them stays linear."""
    first = bisect_right(negations, start - window, key=_end_of)  # ends after start - window
    last = bisect_right(negations, start, key=_end_of)  # ends at or before start
    for _, negation_start, negation_end in negations[first:last]:
        if (
            start - window <= negation_start
            and _CLAUSE_BREAK.search(text, negation_end, start) is None
        ):
            return True
    return False
