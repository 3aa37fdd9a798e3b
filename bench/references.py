"""What the engine is measured beside, run in the same process.

- naive: the baseline, what one writes first: every rule's patterns tried one by one with
  ``re.search`` (keywords and phrases as Python regexes; the rulebook's own regexes, which
  are RE2 syntax, with RE2's search).
- floor, for information: one pass of a single Aho-Corasick automaton holding every literal
  of the rulebook over the same texts, doing nothing else: no normalization, no regexes,
  no evaluation. No goal is stated against it.
"""

from __future__ import annotations

import re

import ahocorasick
import re2

from rules import Rulebook, normalize
from rules.matchers import MATCHER_TYPES
from rules.shell import find_destructive

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.case_sensitive = False


class _ShellDetector:
    """A ``shell:`` condition, searched as the engine does (``rules.shell``): a naive
    implementation has no pattern of its own for it either."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = set(kinds)

    def search(self, normalized: str) -> bool:
        found = find_destructive(normalized)
        return any("destructive" in self.kinds or hit.kind in self.kinds for hit in found)


def _patterns(condition) -> list[re.Pattern | _ShellDetector]:
    """One compiled Python regex per pattern, as a naive implementation would hold them."""
    compiled: list[re.Pattern | _ShellDetector] = []
    for matcher, patterns in condition.matchers():
        if MATCHER_TYPES[matcher].detector:
            compiled.append(_ShellDetector(list(patterns)))
            continue
        forms_of = MATCHER_TYPES[matcher].literal_forms
        for pattern in patterns:
            if forms_of is None:  # rulebook regexes are RE2 syntax (\pL): searched with RE2
                compiled.append(re2.compile(pattern, _RE2_OPTIONS))
            else:
                forms = "|".join(re.escape(form.text) for form in forms_of(pattern))
                compiled.append(re.compile(rf"(?<!\w)(?:{forms})(?!\w)"))
    return compiled


class NaiveClassifier:
    """Fires a rule when one of its match patterns, all of its requirements and none of its
    exclusions are found, trying each pattern with ``re.search`` in turn."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rules = [
            (
                rule.id,
                [p for c in rule.match or [] for p in _patterns(c)],
                [_patterns(c) for c in rule.require],
                [p for c in rule.unless for p in _patterns(c)],
            )
            for rule in rulebook.rules
        ]

    def fired(self, text: str) -> list[str]:
        text = normalize(text)
        fired = []
        for rule_id, match, require, unless in self.rules:
            if not any(p.search(text) for p in match):
                continue
            if not all(any(p.search(text) for p in group) for group in require):
                continue
            if any(p.search(text) for p in unless):
                continue
            fired.append(rule_id)
        return fired


def floor_automaton(rulebook: Rulebook) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for rule in rulebook.rules:
        for condition in (*(rule.match or []), *rule.require, *rule.unless):
            for matcher, patterns in condition.matchers():
                forms_of = MATCHER_TYPES[matcher].literal_forms
                if forms_of is None:  # a regex: no literal for the automaton
                    continue
                for pattern in patterns:
                    for form in forms_of(pattern):
                        automaton.add_word(form.text, form.text)
    automaton.make_automaton()
    return automaton


def floor_pass(automaton: ahocorasick.Automaton, texts: list[str]) -> int:
    found = 0
    for text in texts:
        for _ in automaton.iter(text):
            found += 1
    return found
