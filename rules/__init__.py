"""The pure rule engine: rulebook schema, loader, matchers, scoring and explanation."""

from rules.engine import Engine
from rules.loader import Problem, RulebookError, parse_rulebook
from rules.normalize import normalize
from rules.result import FiredRule, Match, Triage, TriageRecord
from rules.schema import LEVELS, Rule, Rulebook

__all__ = [
    "LEVELS",
    "Engine",
    "FiredRule",
    "Match",
    "Problem",
    "Rule",
    "Rulebook",
    "RulebookError",
    "Triage",
    "TriageRecord",
    "normalize",
    "parse_rulebook",
]
